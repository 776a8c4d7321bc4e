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
		`elements = { fe80::1 . "eth0" }`, // by index: nft resolves the name when it loads
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
		"ip6 daddr fe80::/10 ip6 daddr . iif @vips6ll counter drop",
		"ip6 daddr fe80::/10 ip6 daddr . iifname @vips6ll_name counter drop",
		"ip6 daddr @vips6 counter drop",
		"ip saddr @vips4 counter drop",
		"ip6 saddr fe80::/10 ip6 saddr . oif @vips6ll counter drop",
		"ip6 saddr fe80::/10 ip6 saddr . oifname @vips6ll_name counter drop",
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

// TestScriptLinkLocalMatch: keepalived 2.2.7's two forms, observed with
// `nft list ruleset` on one file with and without nftables_ifindex: a
// link-local VIP is matched as ipv6_addr . iface_index (iif/oif) unless
// its instance has dont_track_primary and nftables_ifindex is not set,
// then as ipv6_addr . ifname (iifname/oifname); both sets exist side by
// side when instances differ.
func TestScriptLinkLocalMatch(t *testing.T) {
	ds := []Drop{
		{Addr: netip.MustParseAddr("fe80::61"), Ifname: "eth0", Ifindex: 7},
		{Addr: netip.MustParseAddr("fe80::62"), Ifname: "eth1", ByName: true},
	}
	s, err := Script(Config{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"type ipv6_addr . iface_index",
		"elements = { fe80::61 . 7 }",
		"type ipv6_addr . ifname",
		`elements = { fe80::62 . "eth1" }`,
	}
	var got []string
	for _, l := range grep(s, "") {
		if strings.HasPrefix(l, "type ipv6_addr .") || strings.HasPrefix(l, "elements = { fe80") {
			got = append(got, l)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("link-local sets (-want +got):\n%s\n%s", diff, s)
	}
}

// TestTableResolvesIndexes: Replace gives each by-index link-local drop
// its interface's current index, so a re-created link (new index) gets the
// new one; a missing interface's drop is left out instead of failing the
// whole batch; by-name drops and other VIPs are never looked up.
func TestTableResolvesIndexes(t *testing.T) {
	r := &recorder{}
	tb, err := New(Config{}, r)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{"eth0": 4}
	var asked []string
	tb.WithLookup(func(name string) (int, error) {
		asked = append(asked, name)
		if i, ok := index[name]; ok {
			return i, nil
		}
		return 0, errors.New("no such interface")
	})
	ds := append(drops("192.0.2.1", "eth0%fe80::1", "gone%fe80::2"), Drop{Addr: netip.MustParseAddr("fe80::3"), Ifname: "eth9", ByName: true})
	if err := tb.Replace(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	index["eth0"] = 9 // deleted and re-created
	if err := tb.Replace(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range r.scripts {
		got = append(got, grep(s, "fe80::")...)
	}
	want := []string{
		"elements = { fe80::1 . 4 }", `elements = { fe80::3 . "eth9" }`,
		"elements = { fe80::1 . 9 }", `elements = { fe80::3 . "eth9" }`,
	}
	var elems []string
	for _, l := range got {
		if strings.HasPrefix(l, "elements") {
			elems = append(elems, l)
		}
	}
	if diff := cmp.Diff(want, elems); diff != "" {
		t.Errorf("elements (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"eth0", "gone", "eth0", "gone"}, asked); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
}

// TestTableUnresolved: Unresolved lists exactly the drops Replace leaves
// out (by-index link-local VIPs whose interface is missing), so the daemon
// can warn about each; a by-name drop, a drop with its index already set
// and a global VIP are never missing.
func TestTableUnresolved(t *testing.T) {
	r := &recorder{}
	tb, err := New(Config{}, r)
	if err != nil {
		t.Fatal(err)
	}
	tb.WithLookup(func(name string) (int, error) {
		if name == "eth0" {
			return 4, nil
		}
		return 0, errors.New("no such interface")
	})
	ds := append(drops("192.0.2.1", "2001:db8::1", "eth0%fe80::1", "gone%fe80::2", "gone%fe80::4"),
		Drop{Addr: netip.MustParseAddr("fe80::3"), Ifname: "gone", ByName: true},
		Drop{Addr: netip.MustParseAddr("fe80::5"), Ifname: "gone", Ifindex: 7})
	var got []string
	for _, d := range tb.Unresolved(ds) {
		got = append(got, d.Ifname+"%"+d.Addr.String())
	}
	if diff := cmp.Diff([]string{"gone%fe80::2", "gone%fe80::4"}, got); diff != "" {
		t.Errorf("unresolved (-want +got):\n%s", diff)
	}
	if err := tb.Replace(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	for _, missing := range got {
		if _, addr, _ := strings.Cut(missing, "%"); strings.Contains(r.scripts[0], addr+" ") {
			t.Errorf("Replace installed %s, which Unresolved reported missing:\n%s", addr, r.scripts[0])
		}
	}
	if !strings.Contains(r.scripts[0], "fe80::1 . 4") || !strings.Contains(r.scripts[0], "fe80::5 . 7") {
		t.Errorf("Replace left out a resolvable drop:\n%s", r.scripts[0])
	}
	if tb.Unresolved(drops("192.0.2.1", "eth0%fe80::1")) != nil {
		t.Error("Unresolved reports drops whose interface exists")
	}
}
