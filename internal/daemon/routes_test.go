package daemon

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// fakeRoutes is an address table that also holds routes and rules, and
// logs every change in order.
type fakeRoutes struct {
	*fakeAddrs
	mu     sync.Mutex
	routes map[string]bool
	rules  map[string]bool
	ops    []string
}

func newFakeRoutes(a *fakeAddrs) *fakeRoutes {
	return &fakeRoutes{fakeAddrs: a, routes: map[string]bool{}, rules: map[string]bool{}}
}

func (f *fakeRoutes) log(op string) {
	f.mu.Lock()
	f.ops = append(f.ops, op)
	f.mu.Unlock()
}

func (f *fakeRoutes) Add(a vip.Address) error {
	f.log("+addr " + a.Prefix.String())
	return f.fakeAddrs.Add(a)
}
func (f *fakeRoutes) Remove(a vip.Address) error {
	f.log("-addr " + a.Prefix.String())
	return f.fakeAddrs.Remove(a)
}

func (f *fakeRoutes) set(m map[string]bool, k string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if on {
		m[k] = true
	} else {
		delete(m, k)
	}
}

func (f *fakeRoutes) has(m map[string]bool, k string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return m[k]
}

func rk(r kaconf.Route) string { return r.Type + " " + r.Dst.String() }
func lk(r kaconf.Rule) string  { return fmt.Sprint(r.Pref) }

func (f *fakeRoutes) AddRoute(r kaconf.Route) error {
	f.log("+route " + rk(r))
	f.set(f.routes, rk(r), true)
	return nil
}
func (f *fakeRoutes) RemoveRoute(r kaconf.Route) error {
	f.log("-route " + rk(r))
	f.set(f.routes, rk(r), false)
	return nil
}
func (f *fakeRoutes) HasRoute(r kaconf.Route) (bool, error) { return f.has(f.routes, rk(r)), nil }
func (f *fakeRoutes) AddRule(r kaconf.Rule) error {
	f.log("+rule " + lk(r))
	f.set(f.rules, lk(r), true)
	return nil
}
func (f *fakeRoutes) RemoveRule(r kaconf.Rule) error {
	f.log("-rule " + lk(r))
	f.set(f.rules, lk(r), false)
	return nil
}
func (f *fakeRoutes) HasRule(r kaconf.Rule) (bool, error) { return f.has(f.rules, lk(r)), nil }

// installed is every route, rule and address present, sorted.
func (f *fakeRoutes) installed() []string {
	var out []string
	for _, a := range f.list() {
		out = append(out, "addr "+a)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.routes {
		out = append(out, "route"+k)
	}
	for k := range f.rules {
		out = append(out, "rule "+k)
	}
	slices.Sort(out)
	return out
}

// takeOps returns and clears the change log.
func (f *fakeRoutes) takeOps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ops := f.ops
	f.ops = nil
	return ops
}

const routesConf = `static_ipaddress {
    198.51.100.200/32 dev eth0
}
static_routes {
    198.51.100.32/27 dev eth0
}
vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
    virtual_ipaddress_excluded {
        192.0.2.101/24
    }
    virtual_routes {
        198.51.100.0/24 via 192.0.2.254 dev eth0
        blackhole 198.51.100.128/25
    }
    virtual_rules {
        from 192.0.2.100 table 100 priority 100
    }
}
`

func routesNode(t *testing.T, seg *transport.Segment, src, state string, prio int) (*node, *fakeRoutes) {
	var fr *fakeRoutes
	n := startNodeWith(t, seg, src, fmt.Sprintf(routesConf, state, prio), func(dp *deps) {
		fr = newFakeRoutes(dp.addrs.(*fakeAddrs))
		dp.addrs = fr
	})
	return n, fr
}

// virtual_routes/rules and the excluded VIP are present only on the master
// and move with the VIP; static_* are on both nodes until they stop; the
// excluded VIP is not in the advert.
func TestVirtualRoutesFollowTheVIPs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, fa := routesNode(t, seg, "192.0.2.11", "MASTER", 150)
		b, fb := routesNode(t, seg, "192.0.2.12", "BACKUP", 100)
		time.Sleep(5 * time.Second)
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
			t.Fatalf("states = %v, want [MASTER BACKUP]", got)
		}
		static := []string{"addr 198.51.100.200/32", "route 198.51.100.32/27"}
		master := append([]string{"addr 192.0.2.100/24", "addr 192.0.2.101/24", "route 198.51.100.0/24", "routeblackhole 198.51.100.128/25", "rule 100"}, static...)
		slices.Sort(master)
		if diff := cmp.Diff(master, fa.installed()); diff != "" {
			t.Errorf("master holds (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(static, fb.installed()); diff != "" {
			t.Errorf("backup holds (-want +got):\n%s", diff)
		}
		// keepalived's order going master: VIPs, E-VIPs, routes, rules.
		opsA := fa.takeOps()
		i := slices.Index(opsA, "+addr 192.0.2.100/24")
		if i < 0 || !cmp.Equal(opsA[i:i+5], []string{"+addr 192.0.2.100/24", "+addr 192.0.2.101/24", "+route  198.51.100.0/24", "+route blackhole 198.51.100.128/25", "+rule 100"}) {
			t.Errorf("master's changes = %q", opsA)
		}
		if got := a.d.instances[0].advert.Addrs; !cmp.Equal(got, []netip.Addr{netip.MustParseAddr("192.0.2.100")}, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })) {
			t.Errorf("advert carries %v, want only the VIP (not the excluded one)", got)
		}

		fb.takeOps()
		a.stop(t)
		if got := fa.installed(); len(got) != 0 {
			t.Errorf("stopped node left %q", got)
		}
		// Leaving master: rules, routes, then VIPs; static_* last.
		want := []string{"-rule 100", "-route  198.51.100.0/24", "-route blackhole 198.51.100.128/25", "-addr 192.0.2.100/24", "-addr 192.0.2.101/24", "-route  198.51.100.32/27", "-addr 198.51.100.200/32"}
		if diff := cmp.Diff(want, fa.takeOps()); diff != "" {
			t.Errorf("stop changes (-want +got):\n%s", diff)
		}
		time.Sleep(time.Second) // Skew_Time after the priority-0 advert
		if b.state() != "MASTER" {
			t.Fatalf("b is %s after a stopped, want MASTER", b.state())
		}
		if diff := cmp.Diff(master, fb.installed()); diff != "" {
			t.Errorf("new master holds (-want +got):\n%s", diff)
		}
		b.stop(t)
	})
}

// A watched virtual route deleted on the master makes it leave MASTER (the
// peer takes over and gets the routes); a deleted static route is restored
// where it is; a no_track / dev-less one is left alone (keepalived 2.2.7).
func TestDeletedRoutesAsKeepalived(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, fa := routesNode(t, seg, "192.0.2.11", "MASTER", 150)
		b, fb := routesNode(t, seg, "192.0.2.12", "BACKUP", 100)
		time.Sleep(5 * time.Second)
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
			t.Fatalf("states = %v, want [MASTER BACKUP]", got)
		}
		recheck := func(n *node) {
			n.d.events <- loopEvent{do: n.d.recheckRoutes}
			synctest.Wait()
		}

		// Not watched: the blackhole has no dev.
		fa.set(fa.routes, "blackhole 198.51.100.128/25", false)
		recheck(a)
		if a.state() != "MASTER" || fa.has(fa.routes, "blackhole 198.51.100.128/25") {
			t.Fatalf("dev-less route deleted: a is %s, route back %v; want MASTER, not restored", a.state(), fa.has(fa.routes, "blackhole 198.51.100.128/25"))
		}

		// Static: restored in place, both nodes.
		fb.set(fb.routes, " 198.51.100.32/27", false)
		recheck(b)
		if !fb.has(fb.routes, " 198.51.100.32/27") || b.state() != "BACKUP" {
			t.Fatalf("static route on b: restored %v, b %s; want restored, BACKUP", fb.has(fb.routes, " 198.51.100.32/27"), b.state())
		}

		// Watched virtual route: a leaves MASTER with priority 0 and takes
		// it back after its own Skew_Time (0.41 s at priority 150), before
		// b's (0.61 s) runs out: b never holds anything virtual.
		fa.set(fa.routes, " 198.51.100.0/24", false)
		recheck(a)
		if a.state() != "BACKUP" || fa.holds("192.0.2.100/24") || fa.has(fa.rules, "100") {
			t.Fatalf("after the deletion a is %s holding VIP %v rule %v; want BACKUP with neither", a.state(), fa.holds("192.0.2.100/24"), fa.has(fa.rules, "100"))
		}
		time.Sleep(time.Duration(256-150) * time.Second / 256)
		synctest.Wait()
		if a.state() != "MASTER" || !fa.has(fa.routes, " 198.51.100.0/24") || !fa.has(fa.routes, "blackhole 198.51.100.128/25") || !fa.has(fa.rules, "100") {
			t.Fatalf("a is %s, route %v, blackhole %v; want MASTER with everything back", a.state(), fa.has(fa.routes, " 198.51.100.0/24"), fa.has(fa.routes, "blackhole 198.51.100.128/25"))
		}
		time.Sleep(3 * time.Second)
		if b.state() != "BACKUP" || fb.holds("192.0.2.100/24") || fb.has(fb.routes, " 198.51.100.0/24") {
			t.Fatalf("b is %s, VIP %v, route %v; want BACKUP without them", b.state(), fb.holds("192.0.2.100/24"), fb.has(fb.routes, " 198.51.100.0/24"))
		}
		a.stop(t)
		b.stop(t)
	})
}

// A reload on a master installs new routes and rules and removes dropped
// ones, leaving the unchanged ones alone.
func TestReloadDiffsRoutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, fa := routesNode(t, seg, "192.0.2.11", "MASTER", 150)
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("a is %s", a.state())
		}
		fa.takeOps()
		conf := strings.Replace(fmt.Sprintf(routesConf, "MASTER", 150), "blackhole 198.51.100.128/25", "unreachable 198.51.100.192/26", 1)
		conf = strings.Replace(conf, "198.51.100.32/27 dev eth0", "198.51.100.16/28 dev eth0", 1)
		if err := os.WriteFile(a.confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		a.d.events <- loopEvent{do: func() { a.d.reload("test") }}
		synctest.Wait()
		ops := fa.takeOps()
		for _, w := range []string{"-route blackhole 198.51.100.128/25", "+route unreachable 198.51.100.192/26", "-route  198.51.100.32/27", "+route  198.51.100.16/28"} {
			if !slices.Contains(ops, w) {
				t.Errorf("reload changes %q lack %q", ops, w)
			}
		}
		for _, no := range []string{"-route  198.51.100.0/24", "-rule 100"} {
			if slices.Contains(ops, no) {
				t.Errorf("reload touched the unchanged %q: %q", no, ops)
			}
		}
		a.stop(t)
		if got := fa.installed(); len(got) != 0 {
			t.Errorf("left after stop: %q", got)
		}
	})
}
