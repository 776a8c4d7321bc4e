package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/firewall"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
)

// fakeFirewall is the kernel's nftables as far as govrrp's tables go.
type fakeFirewall struct {
	mu       sync.Mutex
	tables   map[string][]string // table -> dropped VIPs
	cfgs     map[string]firewall.Config
	calls    []string
	failing  bool  // Replace fails (nft missing or refusing)
	checkErr error // what Check reports
	// watch, when set, is the node's address table: a batch that leaves a
	// present VIP in watched undropped is recorded in exposed.
	watch   *fakeAddrs
	watched []string // VIP prefixes
	exposed []string
}

// expose records the watched VIPs present but not in drops; f.mu held.
func (f *fakeFirewall) expose(call string, drops []string) {
	if f.watch == nil {
		return
	}
	for _, p := range f.watched {
		if f.watch.holds(p) && !slices.Contains(drops, netip.MustParsePrefix(p).Addr().String()) {
			f.exposed = append(f.exposed, call+": "+p)
		}
	}
}

// Check is what nftFirewall.Check reports (nft missing, here: checkErr).
func (f *fakeFirewall) Check() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checkErr
}

func newFakeFirewall() *fakeFirewall {
	return &fakeFirewall{tables: map[string][]string{}, cfgs: map[string]firewall.Config{}}
}

func (f *fakeFirewall) Replace(_ context.Context, cfg firewall.Config, drops []firewall.Drop) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := firewall.Script(cfg, drops); err != nil {
		return err // what the real one refuses, the fake refuses
	}
	var list []string
	for _, d := range drops {
		list = append(list, d.Addr.String())
	}
	f.calls = append(f.calls, "replace "+cfg.Table+" "+strings.Join(list, ","))
	if f.failing {
		return errors.New("nft: failing")
	}
	f.tables[cfg.Table], f.cfgs[cfg.Table] = list, cfg
	f.expose("replace", list)
	return nil
}

func (f *fakeFirewall) Delete(_ context.Context, table string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "delete "+table)
	delete(f.tables, table)
	f.expose("delete", nil)
	return nil
}

// state is every table and its drops, e.g. {"govrrp": ["192.0.2.100"]}.
func (f *fakeFirewall) state() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for k, v := range f.tables {
		out[k] = slices.Clone(v)
	}
	return out
}

func (f *fakeFirewall) drops(a netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.tables {
		if slices.Contains(l, a.String()) {
			return true
		}
	}
	return false
}

func (f *fakeFirewall) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// guardedAddrs fails the test when a no_accept VIP goes on before the
// firewall drops it: there must be no moment where it answers.
type guardedAddrs struct {
	*fakeAddrs
	fw      *fakeFirewall
	guarded map[netip.Addr]bool
	mu      sync.Mutex
	leaks   []string
}

func (g *guardedAddrs) Add(a vip.Address) error {
	if g.guarded[a.Prefix.Addr()] && !g.fw.drops(a.Prefix.Addr()) {
		g.mu.Lock()
		g.leaks = append(g.leaks, a.Prefix.String())
		g.mu.Unlock()
	}
	return g.fakeAddrs.Add(a)
}

func (g *guardedAddrs) leaked() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.leaks)
}

// acceptNode starts a node with a fake firewall; guarded VIPs must be
// dropped before they are added.
func acceptNode(t *testing.T, seg *transport.Segment, src, conf string, guarded ...string) (*node, *fakeFirewall, *guardedAddrs) {
	t.Helper()
	fw := newFakeFirewall()
	var g *guardedAddrs
	n := newNode(t, seg, src, conf, func(dp *deps) {
		g = &guardedAddrs{fakeAddrs: dp.addrs.(*fakeAddrs), fw: fw, guarded: map[netip.Addr]bool{}}
		for _, a := range guarded {
			g.guarded[netip.MustParseAddr(a)] = true
		}
		dp.addrs = g
	})
	n.d.accept.fw = fw
	n.start()
	return n, fw, g
}

func acceptConf(global, state string, prio int, extra string) string {
	return fmt.Sprintf("global_defs {\n%s}\n", global) + fmt.Sprintf(twoNodeConf, state, prio, "1", extra)
}

// Who drops what, by configuration (keepalived 2.2.7's rules: no_accept
// drops unless priority 255; strict_mode without accept/no_accept means
// no_accept for a non-owner).
func TestAcceptModeDrops(t *testing.T) {
	for _, tc := range []struct {
		name, global, extra string
		prio                int
		drops               bool
	}{
		{name: "accept is the default", prio: 100},
		{name: "accept", extra: "accept", prio: 100},
		{name: "no_accept", extra: "no_accept", prio: 100, drops: true},
		{name: "no_accept owner", extra: "no_accept", prio: 255},
		{name: "vrrp_strict implies no_accept", global: "vrrp_strict\n", extra: "version 3", prio: 100, drops: true},
		{name: "strict_mode implies no_accept", extra: "version 3\nstrict_mode", prio: 100, drops: true},
		{name: "strict_mode v3 with accept", extra: "version 3\nstrict_mode\naccept", prio: 100},
		{name: "strict_mode owner", extra: "version 3\nstrict_mode", prio: 255},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				a, fw, g := acceptNode(t, seg, "192.0.2.11", acceptConf(tc.global, "MASTER", tc.prio, tc.extra), "192.0.2.100")
				time.Sleep(5 * time.Second) // master-down interval (3 s + skew) and then some
				if a.state() != "MASTER" || !a.addrs.holds("192.0.2.100/24") {
					t.Fatalf("state %s, VIPs %v: want MASTER holding the VIP", a.state(), a.addrs.list())
				}
				want := map[string][]string{}
				if tc.drops {
					want["govrrp"] = []string{"192.0.2.100"}
					if l := g.leaked(); len(l) > 0 {
						t.Errorf("VIPs added before the firewall dropped them: %v", l)
					}
				}
				if diff := cmp.Diff(want, fw.state()); diff != "" {
					t.Errorf("firewall while master (-want +got):\n%s\ncalls %q", diff, fw.callLog())
				}
				a.stop(t)
				if got := fw.state(); len(got) != 0 {
					t.Errorf("after stop the firewall still has %v", got)
				}
				// Start-up always replaces a stale table first: deleted when
				// nothing drops, else dropping every no_accept VIP until the
				// instances have started.
				first := "delete govrrp"
				if tc.drops {
					first = "replace govrrp 192.0.2.100"
				}
				if calls := fw.callLog(); len(calls) == 0 || calls[0] != first {
					t.Errorf("firewall calls %q, want the first to be %q", calls, first)
				}
			})
		})
	}
}

// A no_accept master that loses to a higher priority drops nothing any
// more (the table goes with its VIPs); one batch per change, none for an
// unchanged list.
func TestAcceptFollowsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, fw, _ := acceptNode(t, seg, "192.0.2.11", acceptConf("", "MASTER", 100, "no_accept"), "192.0.2.100")
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" || !cmp.Equal(fw.state()["govrrp"], []string{"192.0.2.100"}) {
			t.Fatalf("a %s, firewall %v: want MASTER dropping the VIP", a.state(), fw.state())
		}
		b := startNode(t, seg, "192.0.2.12", acceptConf("", "BACKUP", 200, ""))
		time.Sleep(5 * time.Second)
		if a.state() != "BACKUP" {
			t.Fatalf("a = %s after b (priority 200) came, want BACKUP", a.state())
		}
		if got := fw.state(); len(got) != 0 {
			t.Errorf("a is backup, but its firewall still drops %v", got)
		}
		want := []string{
			"replace govrrp 192.0.2.100", // start-up: a stale VIP may be on
			"delete govrrp",              // started as backup, holds nothing
			"replace govrrp 192.0.2.100", // master
			"delete govrrp",              // backup again
		}
		if diff := cmp.Diff(want, fw.callLog()); diff != "" {
			t.Errorf("firewall calls (-want +got):\n%s", diff)
		}
		b.stop(t)
		a.stop(t)
	})
}

// A reload takes the new accept mode and table settings into a running
// master: accept -> no_accept starts dropping, a new table name replaces
// the old table, no_accept -> accept deletes it.
func TestAcceptReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, fw, _ := acceptNode(t, seg, "192.0.2.11", acceptConf("", "MASTER", 100, ""))
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" || len(fw.state()) != 0 {
			t.Fatalf("a %s, firewall %v: want MASTER dropping nothing", a.state(), fw.state())
		}
		steps := []struct {
			name, conf string
			want       map[string][]string
		}{
			{"no_accept", acceptConf("", "MASTER", 100, "no_accept"), map[string][]string{"govrrp": {"192.0.2.100"}}},
			{"table renamed", acceptConf("nftables other\nnftables_priority -5\nnftables_counters\n", "MASTER", 100, "no_accept"), map[string][]string{"other": {"192.0.2.100"}}},
			{"accept again", acceptConf("nftables other\n", "MASTER", 100, "accept"), map[string][]string{}},
		}
		for _, st := range steps {
			if out := reloadNode(t, a, st.conf); out.err != nil {
				t.Fatalf("%s: %v", st.name, out.err)
			}
			synctest.Wait()
			if diff := cmp.Diff(st.want, fw.state()); diff != "" {
				t.Errorf("%s: firewall (-want +got):\n%s", st.name, diff)
			}
		}
		if a.state() != "MASTER" {
			t.Errorf("a = %s after the reloads, want MASTER throughout", a.state())
		}
		fw.mu.Lock()
		cfg := fw.cfgs["other"]
		fw.mu.Unlock()
		if cfg.Priority != -5 || !cfg.Counters {
			t.Errorf("table settings %+v, want priority -5 with counters", cfg)
		}
		a.stop(t)
	})
}

// A reload that adds no_accept on a host without nft is refused before it
// commits: the running configuration (accept, nothing dropped) stays, and
// the master stays master.
func TestAcceptReloadRefusedWithoutNft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, fw, _ := acceptNode(t, seg, "192.0.2.11", acceptConf("", "MASTER", 100, ""))
		time.Sleep(5 * time.Second)
		fw.mu.Lock()
		fw.checkErr = errors.New("no nft command")
		fw.mu.Unlock()
		out := reloadNode(t, a, acceptConf("", "MASTER", 100, "no_accept"))
		if out.err == nil || !strings.Contains(out.err.Error(), "no_accept (vrrp_instance VI_1) cannot be enforced") {
			t.Fatalf("reload error %v, want no_accept refused", out.err)
		}
		synctest.Wait()
		if got := fw.state(); len(got) != 0 {
			t.Errorf("refused reload left firewall %v", got)
		}
		if acc := a.d.cfg.Instances[0].Accept; acc != nil {
			t.Errorf("refused reload replaced the running configuration (accept %v)", *acc)
		}
		if a.state() != "MASTER" {
			t.Errorf("a = %s after the refused reload, want MASTER", a.state())
		}
		a.stop(t)
	})
}

// A failed batch is logged, not fatal, and retried on the next change
// (here: the next state change).
func TestAcceptRetriesAfterFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		fw := newFakeFirewall()
		fw.failing = true
		n := newNode(t, seg, "192.0.2.11", acceptConf("", "MASTER", 100, "no_accept"), nil)
		n.d.accept.fw = fw
		n.start()
		time.Sleep(5 * time.Second)
		if n.state() != "MASTER" || len(fw.state()) != 0 {
			t.Fatalf("a %s, firewall %v: want MASTER, nothing installed", n.state(), fw.state())
		}
		fw.mu.Lock()
		fw.failing = false
		fw.mu.Unlock()
		n.d.events <- loopEvent{do: func() { n.d.acceptSync() }}
		synctest.Wait()
		if got := fw.state(); !cmp.Equal(got, map[string][]string{"govrrp": {"192.0.2.100"}}) {
			t.Errorf("after the failure cleared: %v", got)
		}
		n.stop(t)
	})
}

func TestAcceptModeRules(t *testing.T) {
	for _, tc := range []struct {
		conf  string
		drops bool
	}{
		{"vrrp_instance V { interface eth0\nvirtual_router_id 1\npriority 100\nvirtual_ipaddress { 192.0.2.1 } }", false},
		{"vrrp_instance V { interface eth0\nvirtual_router_id 1\npriority 100\nno_accept\nvirtual_ipaddress { 192.0.2.1 } }", true},
		{"vrrp_instance V { interface eth0\nvirtual_router_id 1\npriority 255\nno_accept\nvirtual_ipaddress { 192.0.2.1 } }", false},
		{"vrrp_instance V { interface eth0\nvirtual_router_id 1\nstate MASTER\nno_accept\nvirtual_ipaddress { 192.0.2.1 } }", false}, // MASTER without priority is the owner
	} {
		cfg := loadConf(t, tc.conf)
		if got := dropsTraffic(cfg.Instances[0]); got != tc.drops {
			t.Errorf("%q: dropsTraffic %v, want %v", tc.conf, got, tc.drops)
		}
	}
}

// After kill -9 + restart a stale VIP may still be on while the instance
// starts as backup: it stays dropped until the instance's start has removed
// it, and then the table goes (nothing is held).
func TestAcceptStaleVIPStaysDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		b := startNode(t, seg, "192.0.2.12", acceptConf("", "MASTER", 200, ""))
		time.Sleep(5 * time.Second)
		fw := newFakeFirewall()
		a := newNode(t, seg, "192.0.2.11", acceptConf("", "BACKUP", 100, "no_accept"), nil, "192.0.2.100/24")
		fw.watch, fw.watched = a.addrs, []string{"192.0.2.100/24"}
		fw.tables["govrrp"] = []string{"192.0.2.100", "192.0.2.99"} // the killed run's table
		a.d.accept.fw = fw
		a.start()
		time.Sleep(5 * time.Second)
		if a.state() != "BACKUP" || a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("a %s holding %v: want BACKUP, stale VIP removed", a.state(), a.addrs.list())
		}
		fw.mu.Lock()
		exposed := slices.Clone(fw.exposed)
		fw.mu.Unlock()
		if len(exposed) > 0 {
			t.Errorf("stale VIP present but not dropped after %q (calls %q)", exposed, fw.callLog())
		}
		if got := fw.state(); len(got) != 0 {
			t.Errorf("backup holding nothing still has %v (calls %q)", got, fw.callLog())
		}
		a.stop(t)
		b.stop(t)
	})
}

// A configuration whose no_accept cannot be enforced (no nft command, a
// table name nft cannot take) is refused at start-up, by name; one without
// a dropping instance starts without nft.
func TestAcceptRefusedWithoutNft(t *testing.T) {
	for _, tc := range []struct {
		name, global, extra string
		nft                 error
		want                string // "" = starts
	}{
		{name: "no nft", extra: "no_accept", nft: errors.New("no nft command"), want: "no_accept (vrrp_instance VI_1) cannot be enforced: no nft command"},
		{name: "bad table name", global: "nftables \"a b\"\n", extra: "no_accept", want: "nftables (global_defs)"},
		{name: "accept needs no nft", nft: errors.New("no nft command")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				fw := newFakeFirewall()
				fw.checkErr = tc.nft
				n := newNode(t, seg, "192.0.2.11", acceptConf(tc.global, "MASTER", 100, tc.extra), nil)
				n.d.accept.fw = fw
				n.start()
				if tc.want == "" {
					time.Sleep(time.Second)
					n.stop(t)
					return
				}
				err := <-n.done
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("start-up error %v, want one containing %q", err, tc.want)
				}
				if got := fw.state(); len(got) != 0 {
					t.Errorf("refused start-up left %v", got)
				}
			})
		})
	}
}
