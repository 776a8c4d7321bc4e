package interop

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// BenchmarkRealtime is issue 11's "real-time knobs where they pay,
// measured": the scale rows (BENCH_SCALE VRRPv3 instances at 10 ms on one
// link, master a at 150, backup b at 100), idle and with 8 busy loops, for
// keepalived 2.2.7 and govrrp with the same global_defs (rtVariants): none,
// vrrp_rt_priority alone (RLIMIT_RTTIME at keepalived's default 10 ms, as a
// user would leave it), and with vrrp_rlimit_rttime 1 s: alone, with
// vrrp_no_swap, with vrrp_cpu_affinity. Besides CPU and
// spurious takeovers it counts VRRP processes the kernel killed (the
// RLIMIT_RTTIME safety net: keepalived's parent restarts its child; govrrp
// exits). Writes BENCH_OUT/bench-rt.txt. Figures only: nothing asserted.
func BenchmarkRealtime(b *testing.B) {
	if testing.Short() {
		b.Skip("bench: namespaces and real daemons, skipped in -short mode")
	}
	env := readBenchEnv()
	res := &benchResults{}
	started := time.Now()
	for round := range env.rounds {
		for _, v := range rtVariants {
			for _, im := range []impl{keepalived, govrrp} {
				b.Run(fmt.Sprintf("%s/%s/round%d", v.name, im.short(), round+1), func(b *testing.B) {
					benchRTCell(b, im, env.scale, env.window, v, res)
				})
			}
		}
	}
	report := benchHeader(env, started) + res.table()
	b.Logf("real-time knobs:\n%s", report)
	fmt.Fprint(os.Stdout, "\n"+report)
	writeBenchFile(b, env, "bench-rt.txt", report)
}

// rtVariant is one set of process knobs, for both implementations.
type rtVariant struct {
	name    string
	globals []string
}

// rtVariants: with RLIMIT_RTTIME at keepalived's default 10 ms both
// implementations' VRRP processes are killed at this scale (measured), so
// the other real-time rows raise it to 1 s.
var rtVariants = []rtVariant{
	{"default", nil},
	{"rt50", []string{"vrrp_rt_priority 50"}},
	{"rt50+rttime1s", []string{"vrrp_rt_priority 50", "vrrp_rlimit_rttime 1000000"}},
	{"rt50+rttime1s+no_swap", []string{"vrrp_rt_priority 50", "vrrp_rlimit_rttime 1000000", "vrrp_no_swap"}},
	{"rt50+rttime1s+cpu1", []string{"vrrp_rt_priority 50", "vrrp_rlimit_rttime 1000000", "vrrp_cpu_affinity 1"}},
}

// rtScaleConf is scaleConf with the variant's global_defs lines.
func rtScaleConf(routerID string, n, prio int, globals []string) string {
	conf := scaleConf(routerID, n, prio)
	if len(globals) == 0 {
		return conf
	}
	id := "router_id " + routerID + "\n"
	return strings.Replace(conf, id, id+"    "+strings.Join(globals, "\n    ")+"\n", 1)
}

// vrrpPids are the node's current daemon processes (keepalived's VRRP
// child re-read from its pid file: the parent restarts a killed one).
func vrrpPids(n *node) []int {
	pids := []int{n.proc.Pid()}
	if n.impl != keepalived {
		return pids
	}
	_, vp, _ := n.host.KeepalivedPidFiles()
	if b, err := os.ReadFile(vp); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// kills counts VRRP processes the kernel killed so far: keepalived logs
// "exited due to signal 9"; a govrrp that exited was (it never exits alone).
func kills(n *node) int {
	if n.impl == keepalived {
		return strings.Count(n.proc.Log(), "exited due to signal 9")
	}
	if n.proc.Exited() {
		return 1
	}
	return 0
}

// rtUsage sums CPU ticks and RSS of the node's processes now, tolerating a
// process that died in between (its ticks are lost: a killed row's CPU is a
// lower bound).
func rtUsage(n *node) usage {
	u := usage{at: time.Now()}
	for _, pid := range vrrpPids(n) {
		p, err := procUsage(pid)
		if err != nil {
			continue
		}
		u.ticks += p.ticks
		u.rssKB += p.status["VmRSS"]
	}
	return u
}

// benchRTCell is one round of one variant for im.
func benchRTCell(b *testing.B, im impl, n int, window time.Duration, v rtVariant, res *benchResults) {
	_, a, bk := twoHosts(b, im, im)
	row := func(metric string) string { return fmt.Sprintf("%d×v3@10ms %s %s", n, v.name, metric) }
	start := time.Now()
	a.startScale(rtScaleConf("iop_a", n, prioHigh, v.globals), prioHigh)
	bk.startScale(rtScaleConf("iop_b", n, prioLow, v.globals), prioLow)
	err := netlab.WaitFor(context.Background(), 60*time.Second, 10*time.Millisecond, func() (bool, error) {
		if a.proc.Exited() || bk.proc.Exited() {
			return false, netlab.Permanent(fmt.Errorf("a daemon exited during start-up (killed: %d)", kills(a)+kills(bk)))
		}
		ha, err1 := scaleHeld(a, n)
		hb, err2 := scaleHeld(bk, n)
		if err := cmpOr(err1, err2); err != nil {
			return false, err
		}
		return ha == n && hb == 0, fmt.Errorf("a holds %d, b %d of %d VIPs", ha, hb, n)
	})
	settle := time.Since(start)
	settled := 1.0
	if err != nil {
		// Measured, not fatal: a VRRP process killed at start is a result.
		b.Logf("%s %s: did not settle: %v", im, v.name, err)
		settled = 0
	}
	res.add(row("settled (1 = yes, in 60 s)"), unitCount, im, settled)
	res.add(row("settle"), unitS, im, settle.Seconds())
	k0 := kills(a) + kills(bk)
	for _, loaded := range []bool{false, true} {
		label := "idle"
		if loaded {
			label = "8 busy loops"
		}
		w := watchTakeovers(b, bk)
		var stop func()
		if loaded {
			stop = busyLoops(b, 8, window)
		}
		ua0, ub0 := rtUsage(a), rtUsage(bk)
		// The window is a duration of load, not a wait for a condition.
		t := time.NewTimer(window)
		<-t.C
		ua1, ub1 := rtUsage(a), rtUsage(bk)
		if stop != nil {
			stop()
		}
		w.stop()
		takeovers, releases := w.count()
		// A process that died in the window has no usage to speak of: "-".
		// A negative figure is a restarted keepalived child (fewer ticks).
		alive := !a.proc.Exited() && !bk.proc.Exited() && kills(a)+kills(bk) == k0 &&
			cpuPct(ua0, ua1) >= 0 && cpuPct(ub0, ub1) >= 0
		if alive {
			res.add(row("master CPU "+label), unitPct, im, cpuPct(ua0, ua1))
			res.add(row("backup CPU "+label), unitPct, im, cpuPct(ub0, ub1))
			if !loaded {
				res.add(row("master RSS"), unitMB, im, float64(ua1.rssKB)/1024)
			}
		}
		res.add(row("spurious takeovers "+label), unitCount, im, float64(takeovers))
		b.Logf("%s %s %d instances %s over %v: master CPU %.1f%%, backup %.1f%%, RSS %d/%d kB, %d spurious takeovers on b (%d released again), settle %v [%s]",
			im, v.name, n, label, window, cpuPct(ua0, ua1), cpuPct(ub0, ub1), ua1.rssKB, ub1.rssKB, takeovers, releases, settle.Round(time.Millisecond), loadAvg())
	}
	killed := kills(a) + kills(bk)
	res.add(row("VRRP processes killed (RLIMIT_RTTIME)"), unitCount, im, float64(killed))
	if killed > k0 || killed > 0 {
		b.Logf("%s %s: %d VRRP processes killed (%d during start-up)", im, v.name, killed, k0)
	}
	for _, nd := range []*node{a, bk} {
		if !nd.proc.Exited() {
			_ = nd.signal(syscall.SIGTERM)
		}
	}
	for _, nd := range []*node{a, bk} {
		if nd.proc.Exited() {
			nd.proc = nil
			continue
		}
		if err := nd.waitExit(exitTimeout); err != nil {
			fail(b, err.Error(), a, bk)
		}
	}
}
