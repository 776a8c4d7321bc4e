package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

// nsTable is a Table acting inside a fresh namespace (root; skipped
// otherwise), and the host to inspect it with.
func nsTable(t *testing.T, cfg Config) (*Table, *netlab.Host) {
	t.Helper()
	netlab.Require(t, "nft")
	lab := netlab.New(t)
	h := lab.AddHost("fw")
	if err := h.Do(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	tb, err := New(cfg, NFT{Command: []string{"ip", "netns", "exec", h.Name(), "nft"}})
	if err != nil {
		t.Fatal(err)
	}
	return tb.WithLookup(nsLookup(h)), h
}

// nsLookup resolves interface indexes inside h's namespace.
func nsLookup(h *netlab.Host) Lookup {
	return func(ifname string) (int, error) {
		var i int
		err := h.Do(func() error {
			var err error
			i, err = InterfaceIndex(ifname)
			return err
		})
		return i, err
	}
}

// ruleset is `nft -j list ruleset` in h: table names (family name) and the
// elements of every set, by "table/set".
func ruleset(t *testing.T, h *netlab.Host) (tables []string, sets map[string][]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Exec(ctx, "nft", "-j", "list", "ruleset")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("nft -j: %v: %s", err, out)
	}
	sets = map[string][]string{}
	for _, obj := range doc.Nftables {
		if raw, ok := obj["table"]; ok {
			var tb struct{ Family, Name string }
			_ = json.Unmarshal(raw, &tb)
			tables = append(tables, tb.Family+" "+tb.Name)
		}
		if raw, ok := obj["set"]; ok {
			var s struct {
				Table, Name string
				Elem        []json.RawMessage `json:"elem"`
			}
			_ = json.Unmarshal(raw, &s)
			var elems []string
			for _, e := range s.Elem {
				var c bytes.Buffer
				_ = json.Compact(&c, e)
				elems = append(elems, c.String())
			}
			sets[s.Table+"/"+s.Name] = elems
		}
	}
	slices.Sort(tables)
	return tables, sets
}

func TestNetnsReplaceAndDelete(t *testing.T) {
	tb, h := nsTable(t, Config{Priority: DefaultPriority})
	ctx := context.Background()
	// Someone else's table: never touched.
	if out, err := h.Exec(ctx, "nft", "add", "table", "inet", "other"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// lo%fe80::1 by index (lo is 1 in every namespace), eth0%fe80::2 by name
	// (eth0 need not exist), gone0%fe80::3 by index of a missing link: left
	// out rather than failing the batch.
	ds := append(drops("192.0.2.100", "2001:db8::100", "lo%fe80::1", "gone0%fe80::3"), Drop{Addr: netip.MustParseAddr("fe80::2"), Ifname: "eth0", ByName: true})
	if err := tb.Replace(ctx, ds); err != nil {
		t.Fatal(err)
	}
	tables, sets := ruleset(t, h)
	if diff := cmp.Diff([]string{"inet govrrp", "inet other"}, tables); diff != "" {
		t.Errorf("tables after Replace (-want +got):\n%s", diff)
	}
	want := map[string][]string{
		"govrrp/vips4":        {`"192.0.2.100"`},
		"govrrp/vips6":        {`"2001:db8::100"`},
		"govrrp/vips6ll":      {`{"concat":["fe80::1","lo"]}`},
		"govrrp/vips6ll_name": {`{"concat":["fe80::2","eth0"]}`},
	}
	if diff := cmp.Diff(want, sets); diff != "" {
		t.Errorf("sets (-want +got):\n%s", diff)
	}
	// A second Replace is the new state, not an addition.
	if err := tb.Replace(ctx, drops("192.0.2.101")); err != nil {
		t.Fatal(err)
	}
	if _, sets := ruleset(t, h); !cmp.Equal(sets["govrrp/vips4"], []string{`"192.0.2.101"`}) || len(sets["govrrp/vips6"]) != 0 {
		t.Errorf("after second Replace: %v", sets)
	}
	if err := tb.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if tables, _ := ruleset(t, h); !cmp.Equal(tables, []string{"inet other"}) {
		t.Errorf("tables after Delete: %v, want only inet other", tables)
	}
	if err := tb.Delete(ctx); err != nil {
		t.Errorf("Delete of an absent table: %v", err)
	}
}

// A table left by a killed run (here: different sets, an extra chain that
// drops everything) is replaced whole by the first batch.
func TestNetnsStaleTableReplaced(t *testing.T) {
	tb, h := nsTable(t, Config{Priority: DefaultPriority})
	ctx := context.Background()
	stale := "table inet govrrp {\n set vips4 { type ipv4_addr; elements = { 192.0.2.99 } }\n set junk { type ipv4_addr; }\n" +
		" chain extra { type filter hook input priority 5; policy drop; }\n}\n"
	if out, err := h.Exec(ctx, "sh", "-c", "printf '%s' \"$0\" | nft -f -", stale); err != nil {
		t.Fatalf("stale table: %v: %s", err, out)
	}
	if err := tb.Replace(ctx, drops("192.0.2.100")); err != nil {
		t.Fatal(err)
	}
	_, sets := ruleset(t, h)
	if diff := cmp.Diff(map[string][]string{"govrrp/vips4": {`"192.0.2.100"`}, "govrrp/vips6": nil, "govrrp/vips6ll": nil, "govrrp/vips6ll_name": nil}, sets); diff != "" {
		t.Errorf("sets after replacing a stale table (-want +got):\n%s", diff)
	}
	out, err := h.Exec(ctx, "nft", "list", "table", "inet", "govrrp")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.Contains(string(out), "extra") || strings.Contains(string(out), "policy drop") {
		t.Errorf("stale chain survived:\n%s", out)
	}
}

// BenchmarkNetnsReplace measures one batch (an nft process, the kernel's
// transaction) as the daemon's loop pays it on each state change.
func BenchmarkNetnsReplace(b *testing.B) {
	for _, n := range []int{1, 2, 100} {
		b.Run(strconv.Itoa(n)+"vips", func(b *testing.B) {
			netlab.Require(b, "nft")
			lab := netlab.New(b)
			h := lab.AddHost("fwb")
			tb, err := New(Config{Priority: DefaultPriority}, NFT{Command: []string{"ip", "netns", "exec", h.Name(), "nft"}})
			if err != nil {
				b.Fatal(err)
			}
			var ds []Drop
			for i := range n {
				ds = append(ds, Drop{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})})
			}
			b.ResetTimer()
			for b.Loop() {
				if err := tb.Replace(context.Background(), ds); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = tb.Delete(context.Background())
		})
	}
}
