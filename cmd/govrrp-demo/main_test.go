package main

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/netlab"
)

func TestConfRenders(t *testing.T) {
	tests := []struct {
		n    node
		want []string // the lines that differ per node or matter to the demo
	}{
		{node{name: "proxy-a", priority: 150}, []string{"router_id proxy-a", "priority 150"}},
		{node{name: "proxy-b", priority: 100}, []string{"router_id proxy-b", "priority 100"}},
	}
	common := []string{"vrrp_version 3", "interface eth0", "virtual_router_id 51", "advert_int 0.1", "192.0.2.100/24"}
	for _, tt := range tests {
		got, err := conf(&tt.n)
		if err != nil {
			t.Fatal(err)
		}
		lines := map[string]bool{}
		for _, l := range strings.Split(got, "\n") {
			lines[strings.TrimSpace(l)] = true
		}
		var missing []string
		for _, w := range append(tt.want, common...) {
			if !lines[w] {
				missing = append(missing, w)
			}
		}
		if diff := cmp.Diff([]string(nil), missing); diff != "" {
			t.Errorf("%s: lines missing from config (-want +got):\n%s\n%s", tt.n.name, diff, got)
		}
	}
}

func TestDemoWithKeepalived(t *testing.T) {
	netlab.Require(t, "ip", "keepalived")
	var out strings.Builder
	code := run([]string{"-keepalived"}, &out)
	if code != 0 {
		t.Fatalf("exit %d, output:\n%s", code, out.String())
	}
	for _, want := range []string{
		"VIP 192.0.2.100 is on proxy-a",
		"failover: VIP 192.0.2.100 is on proxy-b",
		"exited with status 0",
		"preemption: VIP 192.0.2.100 back on proxy-a",
		"done: no namespaces or processes left",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("demo output:\n%s", out.String())
}

func TestDemoMissingBinary(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("preflight checks root first")
	}
	var out strings.Builder
	if code := run([]string{"-bin", t.TempDir() + "/no-such-govrrp"}, &out); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if out.Len() != 0 {
		t.Errorf("stdout should stay empty before any lab exists, got:\n%s", out.String())
	}
}
