package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/control"
)

// TestStatusMailCounters: the smtp_alert counters the daemon publishes are
// in the table and, as "smtp_alerts", in --json; a status without them
// (no mail configured) prints no mail line.
func TestStatusMailCounters(t *testing.T) {
	want := twoNodeStatus()
	want.Mail = &control.Mail{Queued: 4, Sent: 2, Failed: 1, Dropped: 1}
	path, _ := serve(t, &fakeDaemon{st: want})

	var out bytes.Buffer
	if _, err := runCLI(context.Background(), &out, "status", "--socket", path); err != nil {
		t.Fatal(err)
	}
	if line := "SMTP ALERTS  queued 4  sent 2  failed 1  dropped 1\n"; !strings.Contains(out.String(), line) {
		t.Errorf("table has no %q:\n%s", line, out.String())
	}

	out.Reset()
	if _, err := runCLI(context.Background(), &out, "status", "--socket", path, "--json"); err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	var got control.Mail
	if err := json.Unmarshal(top["smtp_alerts"], &got); err != nil {
		t.Fatalf("--json smtp_alerts: %v in %s", err, out.String())
	}
	if d := cmp.Diff(*want.Mail, got); d != "" {
		t.Errorf("--json smtp_alerts (-want +got):\n%s", d)
	}

	var plain bytes.Buffer
	none := twoNodeStatus()
	printStatus(&plain, &none)
	if strings.Contains(plain.String(), "SMTP") {
		t.Errorf("no mail configured, yet the table shows a mail line:\n%s", plain.String())
	}
}
