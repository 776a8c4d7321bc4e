package firewall

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func drops(addrs ...string) []Drop {
	var ds []Drop
	for _, a := range addrs {
		ifname, addr, ok := strings.Cut(a, "%")
		if !ok {
			addr, ifname = a, ""
		}
		ds = append(ds, Drop{Addr: netip.MustParseAddr(addr), Ifname: ifname})
	}
	return ds
}

// lines returns the script's lines that contain want's keys, for compact
// comparisons.
func grep(script, sub string) []string {
	var out []string
	for _, l := range strings.Split(script, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

func TestScriptSets(t *testing.T) {
	s, err := Script(Config{Priority: DefaultPriority}, drops("192.0.2.101", "192.0.2.100", "2001:db8::100", "eth0%fe80::1", "192.0.2.100", "::ffff:192.0.2.102"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"elements = { 192.0.2.100, 192.0.2.101, 192.0.2.102 }", // sorted, deduplicated, 4in6 unmapped
		"elements = { 2001:db8::100 }",
		`elements = { "eth0" . fe80::1 }`,
	}
	if diff := cmp.Diff(want, grep(s, "elements")); diff != "" {
		t.Errorf("sets (-want +got):\n%s\n%s", diff, s)
	}
	// The batch starts by replacing whatever table is there (stale or ours).
	if !strings.HasPrefix(s, "add table inet govrrp\ndelete table inet govrrp\ntable inet govrrp {\n") {
		t.Errorf("batch does not replace the table:\n%s", s)
	}
}

func TestScriptChains(t *testing.T) {
	s, err := Script(Config{Table: "t1", Priority: -7, Counters: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ip daddr @vips4 counter drop",
		"ip6 daddr fe80::/10 iifname . ip6 daddr @vips6ll counter drop",
		"ip6 daddr @vips6 counter drop",
		"ip saddr @vips4 counter drop",
		"ip6 saddr fe80::/10 oifname . ip6 saddr @vips6ll counter drop",
		"ip6 saddr @vips6 counter drop",
	}
	if diff := cmp.Diff(want, grep(s, "drop")); diff != "" {
		t.Errorf("drop rules (-want +got):\n%s", diff)
	}
	if got := grep(s, "hook"); len(got) != 2 || !strings.Contains(got[0], "hook input priority -7;") || !strings.Contains(got[1], "hook output priority -7;") {
		t.Errorf("base chains: %q", got)
	}
	if got := grep(s, "nd-neighbor-solicit, nd-neighbor-advert } accept"); len(got) != 2 {
		t.Errorf("neighbour discovery must pass in both chains, got %q", got)
	}
	if got := grep(s, "elements"); len(got) != 0 {
		t.Errorf("empty sets must have no elements line (nft refuses `{ }`): %q", got)
	}
	if !strings.Contains(s, "table inet t1 {") {
		t.Errorf("table name not used:\n%s", s)
	}
}

func TestScriptRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		d    []Drop
	}{
		{"table with space", Config{Table: "a b"}, nil},
		{"table with quote", Config{Table: `a"`}, nil},
		{"table starting with digit", Config{Table: "1a"}, nil},
		{"no address", Config{}, []Drop{{}}},
		{"unspecified", Config{}, drops("::")},
		{"multicast", Config{}, drops("224.0.0.18")},
		{"link-local without interface", Config{}, drops("fe80::1")},
		{"link-local, bad interface", Config{}, []Drop{{Addr: netip.MustParseAddr("fe80::1"), Ifname: `e" }`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Script(tc.cfg, tc.d); !errors.Is(err, ErrInvalid) {
				t.Errorf("Script: err %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := New(Config{Table: "x y"}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("New: err %v, want ErrInvalid", err)
	}
}

type recorder struct{ scripts []string }

func (r *recorder) Run(_ context.Context, s string) error {
	r.scripts = append(r.scripts, s)
	return nil
}

func TestTableBatches(t *testing.T) {
	r := &recorder{}
	tb, err := New(Config{}, r)
	if err != nil {
		t.Fatal(err)
	}
	if tb.Name() != DefaultTable {
		t.Errorf("name %q, want %q", tb.Name(), DefaultTable)
	}
	if err := tb.Replace(context.Background(), drops("192.0.2.100")); err != nil {
		t.Fatal(err)
	}
	if err := tb.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.scripts) != 2 {
		t.Fatalf("%d batches, want one per call", len(r.scripts))
	}
	if want := "add table inet govrrp\ndelete table inet govrrp\n"; r.scripts[1] != want {
		t.Errorf("delete batch %q, want %q", r.scripts[1], want)
	}
}
