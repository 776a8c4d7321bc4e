package interop

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkMasterSide (issue 11, master CPU) measures only the MASTER side
// of the scale row: one govrrp backup (GOVRRP_BIN) runs BENCH_SCALE
// instances at 10 ms for the whole run, and in its lab the master node is
// started in turn with keepalived 2.2.7, the default govrrp and every
// BENCH_MASTER_BINS="label=path [flags],..." build, BENCH_ROUNDS rounds
// alternating, one idle window (BENCH_WINDOW, at most 60 s) each. Per
// window: the master's CPU-seconds (utime+stime of every process) divided
// by the IP packets the backup's namespace received (InReceives: the
// master's adverts; keepalived's IP_HDRINCL sends do not count in the
// sender's OutRequests), so a
// shared, noisy machine compares the variants by cost per advert in the
// same run, with the load average beside it, and keepalived's in the same
// round as the yardstick. The backup's receive work runs in the master's
// sendmmsg on veth (its softirq): the same for every variant. With
// BENCH_PERF set, `perf stat` counts the master's context switches. Run
// with -benchtime=1x.
func BenchmarkMasterSide(b *testing.B) {
	if testing.Short() {
		b.Skip("bench: namespaces and real daemons, skipped in -short mode")
	}
	env := readBenchEnv()
	window := min(env.window, 60*time.Second)
	_, a, bk := twoHosts(b, govrrp, govrrp)
	bk.startScale(scaleConf("iop_b", env.scale, prioLow), prioLow)
	if err := waitHeld(bk, env.scale, 60*time.Second); err != nil {
		fail(b, err.Error(), bk)
	}
	variants := masterVariants(b)
	res := &benchResults{}
	for round := range env.rounds {
		var ka float64 // keepalived's µs per advert this round
		for _, v := range variants {
			b.Run(fmt.Sprintf("%s/round%d", v.name(), round+1), func(b *testing.B) {
				masterCell(b, v, env.scale, window, res, &ka, a, bk)
			})
		}
	}
	report := fmt.Sprintf("master side, %d instances, %d rounds of %v windows, %s at the end\n", env.scale, env.rounds, window, loadAvg()) + res.table()
	b.Logf("master side:\n%s", report)
	fmt.Fprint(os.Stdout, "\n"+report)
	_ = bk.signal(syscall.SIGTERM)
	_ = bk.waitExit(exitTimeout)
}

func masterVariants(tb testing.TB) []backupVariant {
	vs := []backupVariant{{ka: true}, {bin: memBin{path: govrrpBin(tb)}}}
	for _, s := range strings.Split(os.Getenv("BENCH_MASTER_BINS"), ",") {
		l, p, ok := strings.Cut(strings.TrimSpace(s), "=")
		if f := strings.Fields(p); ok && len(f) > 0 {
			vs = append(vs, backupVariant{label: l, bin: memBin{l, f[0], f[1:]}})
		}
	}
	return vs
}

// masterCell starts the master variant on a, waits until it holds every
// VIP (it preempts the backup), measures one idle window and stops it.
func masterCell(b *testing.B, v backupVariant, n int, window time.Duration, res *benchResults, ka *float64, a, bk *node) {
	a.impl = govrrp
	if v.ka {
		a.impl = keepalived
	}
	conf := scaleConf("iop_a", n, prioHigh)
	if v.ka {
		a.startScale(conf, prioHigh)
	} else {
		p, err := a.host.StartGovrrp(v.bin.path, conf, v.bin.args...)
		if err != nil {
			b.Fatalf("bench: start %s: %v", v.name(), err)
		}
		a.proc, a.prio = p, prioHigh
		a.procs = append(a.procs, p)
	}
	defer func() {
		_ = a.signal(syscall.SIGTERM)
		if err := a.waitExit(exitTimeout); err != nil {
			b.Logf("bench: %v", err)
		}
		a.proc = nil
		// The backup takes every VIP back before the next variant starts.
		if err := waitHeld(bk, n, 30*time.Second); err != nil {
			b.Logf("bench: %v", err)
		}
	}()
	if err := waitHeld(a, n, 60*time.Second); err != nil {
		fail(b, err.Error(), a, bk)
	}
	pids := daemonPids(b, a)
	warm := time.NewTimer(2 * time.Second) // past the takeover's GARP bursts
	<-warm.C
	w := watchTakeovers(b, bk)
	in0, u0 := ipInReceives(b, bk), scaleUsage(b, pids, a, bk)
	t := time.NewTimer(window)
	var perfOut string
	if os.Getenv("BENCH_PERF") != "" {
		perfOut = perfStat(window, pids)
	}
	<-t.C
	in1, u1 := ipInReceives(b, bk), scaleUsage(b, pids, a, bk)
	w.stop()
	takeovers, _ := w.count()
	sent := in1 - in0
	cpuS := float64(u1.ticks-u0.ticks) / userHZ
	perAdv := 0.0
	if sent > 0 {
		perAdv = cpuS / float64(sent) * 1e6
	}
	im, suffix := govrrp, ""
	if v.ka {
		im = keepalived
	} else if v.label != "" {
		suffix = " (" + v.label + ")"
	}
	res.add("master CPU idle"+suffix, unitPct, im, cpuPct(u0, u1))
	res.add("master µs CPU per advert idle"+suffix, unitMs, im, perAdv)
	res.add("adverts sent/s idle"+suffix, unitCount, im, float64(sent)/u1.at.Sub(u0.at).Seconds())
	res.add("spurious takeovers idle"+suffix, unitCount, im, float64(takeovers))
	if v.ka {
		*ka = perAdv
	} else if *ka > 0 {
		res.add("per advert / keepalived's, same round"+suffix, unitCount, govrrp, perAdv / *ka)
	}
	b.Logf("%s idle: CPU %.1f%%, %d adverts received by the backup, %.2f µs per advert, %d takeovers, %s %s",
		v.name(), cpuPct(u0, u1), sent, perAdv, takeovers, loadAvg(), perfOut)
}
