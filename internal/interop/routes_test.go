package interop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// virtual_routes / virtual_rules / virtual_ipaddress_excluded and static_*
// in namespaces, against keepalived 2.2.7 as the peer with the same file.
// keepalived–keepalived runs first: it validates the test body.

// routesAdvert: 1 s adverts, so the master-down interval a bound comes
// from is 3 s + skew (< 4 s).
const (
	routesAdvert   = time.Second
	routesMoveTime = 4*routesAdvert + 2*time.Second // master-down interval + polling and start slack
)

func routesConf(name string, prio int) string {
	return fmt.Sprintf(`global_defs {
    router_id routes_%s
}
static_routes {
    198.51.100.32/27 dev %[3]s
}
static_rules {
    from 198.51.100.32/27 table 200 preference 300
}
vrrp_instance VI_1 {
    state BACKUP
    interface %[3]s
    virtual_router_id %[4]d
    priority %[2]d
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
    virtual_ipaddress_excluded {
        192.0.2.101/24
    }
    virtual_routes {
        198.51.100.0/24 via 192.0.2.254 dev %[3]s
        blackhole 198.51.100.128/25
    }
    virtual_rules {
        from 192.0.2.100 table 100 priority 100
    }
}
`, name, prio, ifname, vrid)
}

// The master's routes and rules as keepalived 2.2.7 shows them.
var (
	routesVirtual = []string{
		"198.51.100.0/24 via 192.0.2.254 dev eth0 proto keepalived",
		"blackhole 198.51.100.128/25 proto keepalived",
	}
	routesStatic   = []string{"198.51.100.32/27 dev eth0 proto keepalived"}
	rulesVirtual   = []string{"100:\tfrom 192.0.2.100 lookup 100 proto keepalived"}
	rulesStatic    = []string{"300:\tfrom 198.51.100.32/27 lookup 200 proto keepalived"}
	routesOnMaster = sortedUnion(routesVirtual, routesStatic, rulesVirtual, rulesStatic, []string{"addr 192.0.2.100/24", "addr 192.0.2.101/24"})
	routesOnBackup = sortedUnion(routesStatic, rulesStatic)
)

func sortedUnion(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return out
}

// routeState is what n holds of the test's routes, rules and addresses,
// sorted, in `ip` text.
func routeState(n *node) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []string
	keep := func(args []string, match func(string) string) error {
		b, err := n.host.Exec(ctx, append([]string{"ip"}, args...)...)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if s := match(strings.TrimSpace(l)); s != "" {
				out = append(out, s)
			}
		}
		return nil
	}
	if err := keep([]string{"route", "show", "table", "all"}, func(l string) string {
		if strings.Contains(l, "198.51.100.") && !strings.HasPrefix(l, "local") && !strings.HasPrefix(l, "broadcast") {
			return l
		}
		return ""
	}); err != nil {
		return nil, err
	}
	if err := keep([]string{"rule"}, func(l string) string {
		if strings.Contains(l, "proto keepalived") {
			return strings.Replace(l, ": ", ":\t", 1)
		}
		return ""
	}); err != nil {
		return nil, err
	}
	if err := keep([]string{"-4", "-o", "addr", "show", "dev", ifname}, func(l string) string {
		for _, a := range []string{"192.0.2.100/24", "192.0.2.101/24"} {
			if strings.Contains(l, " "+a+" ") {
				return "addr " + a
			}
		}
		return ""
	}); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// waitRoutes polls until n holds exactly want.
func waitRoutes(timeout time.Duration, n *node, want []string) error {
	return netlab.WaitFor(context.Background(), timeout, 50*time.Millisecond, func() (bool, error) {
		got, err := routeState(n)
		if err != nil {
			return false, err
		}
		if slices.Equal(got, want) {
			return true, nil
		}
		return false, fmt.Errorf("%s holds %q, want %q", n.name, got, want)
	})
}

func TestVirtualRoutesInterop(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel() // a lab of its own; routes and rules live in its namespaces
			runRoutes(t, p)
		})
	}
}

func runRoutes(t *testing.T, p pairing) {
	_, a, b := twoHosts(t, p.a, p.b)
	a.start(routesConf("a", 150), 150)
	b.start(routesConf("b", 100), 100)
	t.Cleanup(func() { _ = a.kill(); _ = b.kill() })
	check := checker(t, a, b)
	check(waitOwner(startupMargin+routesMoveTime, 50*time.Millisecond, vip4, "a", a, b), "election")
	// Only the master has the virtual ones; both have static_*.
	check(waitRoutes(routesMoveTime, a, routesOnMaster), "master")
	check(waitRoutes(routesMoveTime, b, routesOnBackup), "backup")

	// A watched virtual route, then a virtual rule, deleted on the master:
	// it leaves MASTER and takes it back, everything back on a only. A
	// static route, then a static rule, deleted on b: restored in place.
	flapOnDelete(t, a, b, "virtual route", "ip", "route", "del", "198.51.100.0/24")
	flapOnDelete(t, a, b, "virtual rule", "ip", "rule", "del", "pref", "100")
	restoredOnDelete(t, a, b, "static route", "ip", "route", "del", "198.51.100.32/27")
	restoredOnDelete(t, a, b, "static rule", "ip", "rule", "del", "pref", "300")

	// Graceful stop of the master: everything moves to b, a keeps nothing.
	check(a.signal(syscall.SIGTERM), "stop a")
	check(a.waitExit(10*time.Second), "a's exit")
	check(waitRoutes(routesMoveTime, b, routesOnMaster), "new master")
	check(waitRoutes(time.Second, a, nil), "stopped node")
	check(b.signal(syscall.SIGTERM), "stop b")
	check(b.waitExit(10*time.Second), "b's exit")
	check(waitRoutes(time.Second, b, nil), "both stopped")
}

func checker(t *testing.T, a, b *node) func(error, string) {
	return func(err error, what string) {
		t.Helper()
		if err != nil {
			fail(t, what+": "+err.Error(), a, b)
		}
	}
}

// flapOnDelete runs argv on the master a and wants what keepalived 2.2.7
// does: a leaves MASTER (the VIP goes) and takes it back with everything
// after its own Skew_Time, before b's runs out, so b never holds the VIP.
func flapOnDelete(t *testing.T, a, b *node, what string, argv ...string) {
	t.Helper()
	check := checker(t, a, b)
	before, err := a.transitions() // -1 for keepalived
	check(err, "transitions")
	deleted := time.Now()
	_, err = a.host.Exec(context.Background(), argv...)
	check(err, "delete the "+what)
	check(waitOwner(routesMoveTime, 10*time.Millisecond, vip4, "", a, b), "VIP gone after the "+what+" deletion")
	gone := time.Since(deleted)
	check(netlab.WaitFor(context.Background(), routesMoveTime, 10*time.Millisecond, func() (bool, error) {
		who, err := vipOwners(vip4, a, b)
		switch {
		case err != nil:
			return false, err
		case who != "" && who != "a":
			return false, netlab.Permanent(fmt.Errorf("VIP held by %q while a was out of MASTER: a must win back after its own Skew_Time, before b's", who))
		}
		got, err := routeState(a)
		return err == nil && slices.Equal(got, routesOnMaster), err
	}), "a master again after the "+what+" deletion")
	t.Logf("measured: %s deleted on a (%s) -> VIP gone after %v, a master again with everything after %v", what, a.impl,
		gone.Round(10*time.Millisecond), time.Since(deleted).Round(10*time.Millisecond))
	if before >= 0 { // restored by leaving MASTER and winning again, not in place
		after, err := a.transitions()
		check(err, "transitions")
		if after < before+2 {
			fail(t, fmt.Sprintf("a's transitions %d -> %d across the %s deletion, want it to leave MASTER and return", before, after, what), a, b)
		}
	}
	check(waitRoutes(routesMoveTime, b, routesOnBackup), "backup after a's flap")
}

// restoredOnDelete runs argv on the backup b and wants the line back there.
func restoredOnDelete(t *testing.T, a, b *node, what string, argv ...string) {
	t.Helper()
	check := checker(t, a, b)
	deleted := time.Now()
	_, err := b.host.Exec(context.Background(), argv...)
	check(err, "delete the "+what)
	check(waitRoutes(routesMoveTime, b, routesOnBackup), what+" after deletion")
	t.Logf("measured: %s deleted on b (%s) -> restored after %v", what, b.impl, time.Since(deleted).Round(10*time.Millisecond))
}
