package interop

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

const (
	prioHigh = 150
	prioLow  = 100
	// startupMargin covers process start-up (keepalived forks twice, govrrp
	// may be a fresh `go build`) on a loaded 2-core machine.
	startupMargin = 5 * time.Second
	exitTimeout   = 10 * time.Second
)

// TestInterop runs issue scenarios 1-4 for every pairing and both
// orientations (A high / B low, then swapped), each in its own lab.
func TestInterop(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for _, p := range pairings {
				t.Run(p.String(), func(t *testing.T) {
					t.Parallel()
					for _, swapped := range []bool{false, true} {
						name := "A150-B100"
						if swapped {
							name = "A100-B150"
						}
						t.Run(name, func(t *testing.T) {
							t.Parallel()
							runScenario(t, sc, p, swapped)
						})
					}
				})
			}
		})
	}
}

// runScenario: the higher node wins and stays master, a SIGTERM hands over
// within the master-down interval, a restart preempts back, a stop of both
// leaves no VIP behind.
func runScenario(t *testing.T, sc scenario, p pairing, swapped bool) {
	_, a, b := twoHosts(t, p.a, p.b)
	hi, lo := a, b
	if swapped {
		hi, lo = b, a
	}
	hiConf, loConf := hi.confFor(sc, lo, prioHigh), lo.confFor(sc, hi, prioLow)
	hi.start(hiConf, prioHigh)
	lo.start(loConf, prioLow)

	converge(t, sc, hi, lo, a, b)
	settle(t, sc, hi, lo, a, b)

	took := handover(t, sc, hi, lo, a, b)
	t.Logf("%s %s: graceful handover %s(%s)→%s(%s) took %v (bound %v)", sc.name, p, hi.name, hi.impl,
		lo.name, lo.impl, took.Round(time.Millisecond), sc.masterDown(lo.prio))

	hi.start(hiConf, prioHigh)
	if err := waitOwner(startupMargin+sc.masterDown(prioHigh), sampleEvery(sc.advert), sc.vip(), hi.name, a, b); err != nil {
		fail(t, fmt.Sprintf("restarted %s (prio %d) did not preempt back: %v", hi.name, prioHigh, err), a, b)
	}

	stopBoth(t, sc, a, b)
}

// converge waits until exactly hi holds the VIP. If lo came up first it may
// have been master for a while; hi then preempts after its own master-down.
func converge(t testing.TB, sc scenario, hi, lo *node, all ...*node) {
	t.Helper()
	timeout := startupMargin + sc.masterDown(lo.prio) + sc.masterDown(hi.prio)
	if err := waitOwner(timeout, sampleEvery(sc.advert), sc.vip(), hi.name, all...); err != nil {
		fail(t, fmt.Sprintf("%s (prio %d) never became the only VIP holder: %v", hi.name, hi.prio, err), all...)
	}
}

// settle samples 3 advert intervals: hi keeps the VIP, lo never gets it and
// no govrrp node changes state.
func settle(t testing.TB, sc scenario, hi, lo *node, all ...*node) {
	t.Helper()
	before := transitionsOf(t, all...)
	n, err := holdOwner(3*sc.advert, sampleEvery(sc.advert), sc.vip(), hi.name, all...)
	if err != nil {
		fail(t, fmt.Sprintf("flapping: %v [%s]", err, loadAvg()), all...)
	}
	after := transitionsOf(t, all...)
	for i, nd := range all {
		if before[i] != after[i] {
			fail(t, fmt.Sprintf("%s (govrrp) transitions went %d → %d during a stable window", nd.name, before[i], after[i]), all...)
		}
	}
	t.Logf("settled: %s held the VIP over %d samples in %v; govrrp transitions (-1 = keepalived) %v",
		hi.name, n, 3*sc.advert, after)
	checkRoles(t, hi, lo, all...)
}

// role is the part of `govrrp status` a stable pair must agree on.
type role struct {
	State             string
	Priority          int
	EffectivePriority int
}

// checkRoles wants govrrp nodes to report what the VIP placement shows.
func checkRoles(t testing.TB, hi, lo *node, all ...*node) {
	t.Helper()
	for _, c := range []struct {
		n     *node
		state string
	}{{hi, "MASTER"}, {lo, "BACKUP"}} {
		if c.n.impl != govrrp {
			continue
		}
		st, err := c.n.status()
		if err != nil {
			fail(t, err.Error(), all...)
		}
		want := role{State: c.state, Priority: c.n.prio, EffectivePriority: c.n.prio}
		got := role{State: st.State, Priority: st.Priority, EffectivePriority: st.EffectivePriority}
		if diff := cmp.Diff(want, got); diff != "" {
			fail(t, fmt.Sprintf("govrrp status of %s (-want +got):\n%s", c.n.name, diff), all...)
		}
	}
}

// transitionsOf reads the transition counters (-1 for keepalived).
func transitionsOf(t testing.TB, nodes ...*node) []int64 {
	t.Helper()
	out := make([]int64, len(nodes))
	for i, n := range nodes {
		v, err := n.transitions()
		if err != nil {
			fail(t, err.Error(), nodes...)
		}
		out[i] = v
	}
	return out
}

// handover SIGTERMs from (the master) and measures until to holds the VIP.
// It must be below to's master-down interval: only an honoured priority-0
// advert (skew time) makes it that fast. It also wants from to exit 0
// without the VIP.
func handover(t testing.TB, sc scenario, from, to *node, all ...*node) time.Duration {
	t.Helper()
	vip := sc.vip()
	bound := sc.masterDown(to.prio)
	capture, err := to.host.Capture(ifname, "ip proto 112 or ip6 proto 112")
	if err != nil {
		fail(t, err.Error(), all...)
	}
	start := time.Now()
	if err := from.signal(syscall.SIGTERM); err != nil {
		fail(t, err.Error(), all...)
	}
	err = netlab.WaitFor(context.Background(), bound+2*time.Second, 2*time.Millisecond, func() (bool, error) {
		has, err := to.hasVIP(vip)
		if err != nil {
			return false, err
		}
		return has, fmt.Errorf("%s has no VIP yet", to.name)
	})
	took := time.Since(start)
	if err != nil {
		fail(t, fmt.Sprintf("after SIGTERM of %s: %v", from.name, err), all...)
	}
	if took >= bound {
		fail(t, fmt.Sprintf("handover %s→%s took %v, not below master-down %v: priority-0 advert not honoured (or not sent) [%s]",
			from.name, to.name, took, bound, loadAvg()), all...)
	}
	if err := from.waitExit(exitTimeout); err != nil {
		fail(t, err.Error(), all...)
	}
	if got, err := vipOwners(vip, all...); err != nil || got != to.name {
		fail(t, fmt.Sprintf("after %s exited VIP held by %q (err %v), want only %q", from.name, got, err, to.name), all...)
	}
	checkPriorityZero(t, capture, all...)
	return took
}

// checkPriorityZero wants the wire to show the priority-0 advert (from the
// stopping master) that the handover time already implies.
func checkPriorityZero(t testing.TB, c *netlab.Capture, all ...*node) {
	t.Helper()
	path, err := c.Stop()
	if err != nil {
		fail(t, err.Error(), all...)
	}
	text, err := netlab.ReadPcap(path)
	if err != nil {
		fail(t, err.Error(), all...)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, fmt.Sprintf("vrid %d, prio 0,", vrid)) {
			return
		}
	}
	fail(t, fmt.Sprintf("no priority-0 advert on the wire during the handover; capture:\n%s", tailLines(text, 20)), all...)
}

// loadAvg helps to tell a slow daemon from a starved machine in failures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "load average unknown"
	}
	return "load average " + strings.Join(f[:3], " ")
}

// stopBoth SIGTERMs every node still running and wants them gone with no
// VIP left.
func stopBoth(t testing.TB, sc scenario, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		if n.proc == nil {
			continue
		}
		if err := n.signal(syscall.SIGTERM); err != nil {
			fail(t, err.Error(), nodes...)
		}
	}
	for _, n := range nodes {
		if err := n.waitExit(exitTimeout); err != nil {
			fail(t, err.Error(), nodes...)
		}
	}
	if got, err := vipOwners(sc.vip(), nodes...); err != nil || got != "" {
		fail(t, fmt.Sprintf("after stopping both VIP held by %q (err %v), want nobody", got, err), nodes...)
	}
}
