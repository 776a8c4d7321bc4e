package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/control"
)

// TestStatusBFDSessions: the daemon's BFD sessions are a table of their own
// in `govrrp status` and "bfd" in --json; no table without sessions.
func TestStatusBFDSessions(t *testing.T) {
	want := twoNodeStatus()
	since := time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)
	want.BFD = []control.BFDSession{{Name: "to-b", Neighbor: "192.0.2.12", Source: "192.0.2.11", State: "Up", Since: since,
		MinRxUs: 100000, MinTxUs: 100000, IdleTxUs: 1000000, Multiplier: 3, TxUs: 100000, DetectUs: 300000,
		LocalDisc: 7, RemoteDisc: 9, RxPackets: 12, TxPackets: 13}}
	path, _ := serve(t, &fakeDaemon{st: want})

	var out bytes.Buffer
	if _, err := runCLI(context.Background(), &out, "status", "--socket", path); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"BFD   NEIGHBOR    SOURCE      STATE  TX     DETECT  MULT  RX/TX PKTS  SINCE                 LAST DIAG",
		"to-b  192.0.2.12  192.0.2.11  Up     100ms  300ms   3     12/13       2026-12-01T22:00:00Z  -"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("table has no %q:\n%s", s, out.String())
		}
	}

	out.Reset()
	if _, err := runCLI(context.Background(), &out, "status", "--socket", path, "--json"); err != nil {
		t.Fatal(err)
	}
	var top struct {
		BFD []control.BFDSession `json:"bfd"`
	}
	if err := json.Unmarshal(out.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.BFD, top.BFD); diff != "" {
		t.Errorf("--json bfd (-want +got):\n%s", diff)
	}

	out.Reset()
	path, _ = serve(t, &fakeDaemon{st: twoNodeStatus()})
	if _, err := runCLI(context.Background(), &out, "status", "--socket", path); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "NEIGHBOR") {
		t.Errorf("a BFD table without sessions:\n%s", out.String())
	}
}
