package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkBackupSide (issue 11, backup CPU) measures only the BACKUP side
// of the scale row: one govrrp master (GOVRRP_BIN) runs BENCH_SCALE
// instances at 10 ms for the whole run, and in its lab the backup node is
// started in turn with keepalived 2.2.7, the default govrrp and every
// BENCH_BACKUP_BINS="label=path [flags],..." build (a wrapper script that
// execs govrrp, e.g. with GOMAXPROCS set, works too), BENCH_ROUNDS rounds
// alternating, idle and with 8 busy loops, BENCH_WINDOW (at most 60 s)
// each. Per window: the backup's CPU-seconds (utime+stime of every process)
// divided by the IP packets its namespace received (Ip InReceives: the
// master's adverts), so a shared, noisy machine compares the variants by
// cost per advert in the same run, with the load average beside it. With
// BENCH_PERF set, `perf stat` counts the backup's context switches and
// migrations in each idle window; BENCH_PERF=record records govrrp's
// backup instead (BENCH_OUT/perf-gv-backup.{data,txt}: one govrrp variant
// per run, the file is shared). Run with -benchtime=1x.
//
// Not issue 11's ratio: here keepalived's backup hears govrrp's aligned
// bursts (cheaper to read than its own master's spread-out adverts: ~3-4 µs
// per advert here, ~9 µs in the keepalived pair of BenchmarkSideBySide), so
// compare govrrp builds with each other; the side-by-side gives the ratio.
func BenchmarkBackupSide(b *testing.B) {
	if testing.Short() {
		b.Skip("bench: namespaces and real daemons, skipped in -short mode")
	}
	env := readBenchEnv()
	window := min(env.window, 60*time.Second)
	_, a, bk := twoHosts(b, govrrp, govrrp)
	a.startScale(scaleConf("iop_a", env.scale, prioHigh), prioHigh)
	if err := waitHeld(a, env.scale, 60*time.Second); err != nil {
		fail(b, err.Error(), a)
	}
	variants := backupVariants(b)
	res := &benchResults{}
	for round := range env.rounds {
		kaPerAdv := map[string]float64{} // keepalived's µs per advert this round, by load
		for _, v := range variants {
			b.Run(fmt.Sprintf("%s/round%d", v.name(), round+1), func(b *testing.B) {
				backupCell(b, v, env.scale, window, res, kaPerAdv, a, bk)
			})
		}
	}
	report := fmt.Sprintf("backup side, %d instances, %d rounds of %v windows, %s at the end\n", env.scale, env.rounds, window, loadAvg()) + res.table()
	b.Logf("backup side:\n%s", report)
	fmt.Fprint(os.Stdout, "\n"+report)
	_ = a.signal(syscall.SIGTERM)
	_ = a.waitExit(exitTimeout)
}

// backupVariant is keepalived (bin empty) or one govrrp build.
type backupVariant struct {
	label string
	bin   memBin
	ka    bool
}

func (v backupVariant) name() string {
	if v.ka {
		return "keepalived"
	}
	if v.label == "" {
		return "govrrp"
	}
	return "govrrp-" + v.label
}

func backupVariants(tb testing.TB) []backupVariant {
	vs := []backupVariant{{ka: true}, {bin: memBin{path: govrrpBin(tb)}}}
	for _, s := range strings.Split(os.Getenv("BENCH_BACKUP_BINS"), ",") {
		l, p, ok := strings.Cut(strings.TrimSpace(s), "=")
		if f := strings.Fields(p); ok && len(f) > 0 {
			vs = append(vs, backupVariant{label: l, bin: memBin{l, f[0], f[1:]}})
		}
	}
	return vs
}

// waitHeld waits until nd holds all n scale VIPs.
func waitHeld(nd *node, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		h, err := scaleHeld(nd, n)
		if err == nil && h == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s holds %d of %d VIPs (%v)", nd.name, h, n, err)
		}
		time.Sleep(20 * time.Millisecond) // a poll bounded by the deadline above
	}
}

// backupCell starts the backup variant on bk, lets it settle (a keeps all
// VIPs: it started first at the higher priority), measures an idle and a
// loaded window and stops it.
func backupCell(b *testing.B, v backupVariant, n int, window time.Duration, res *benchResults, kaPerAdv map[string]float64, a, bk *node) {
	bk.impl = govrrp
	if v.ka {
		bk.impl = keepalived
	}
	conf := scaleConf("iop_b", n, prioLow)
	if v.ka {
		bk.startScale(conf, prioLow)
	} else {
		p, err := bk.host.StartGovrrp(v.bin.path, conf, v.bin.args...)
		if err != nil {
			b.Fatalf("bench: start %s: %v", v.name(), err)
		}
		bk.proc, bk.prio = p, prioLow
		bk.procs = append(bk.procs, p)
	}
	defer func() {
		_ = bk.signal(syscall.SIGTERM)
		if err := bk.waitExit(exitTimeout); err != nil {
			b.Logf("bench: %v", err)
		}
		bk.proc = nil
	}()
	pids := daemonPids(b, bk)
	// Settling: the backup's first Master_Down_Interval (~3 adverts) plus
	// start-up; the window only starts once it has heard a second's worth.
	warm := time.NewTimer(2 * time.Second)
	<-warm.C
	for _, loaded := range []bool{false, true} {
		label := "idle"
		if loaded {
			label = "8 busy loops"
		}
		var stop func()
		if loaded {
			stop = busyLoops(b, 8, window)
		}
		w := watchTakeovers(b, bk)
		in0, u0 := ipInReceives(b, bk), scaleUsage(b, pids, a, bk)
		t := time.NewTimer(window)
		var perfOut string
		switch mode := os.Getenv("BENCH_PERF"); {
		case loaded || mode == "":
		case mode == "record" && !v.ka:
			benchPerf(b, impl(v.name()), window-time.Second, map[string][]int{"backup": pids})
		default:
			perfOut = perfStat(window, pids)
		}
		<-t.C
		in1, u1 := ipInReceives(b, bk), scaleUsage(b, pids, a, bk)
		if stop != nil {
			stop()
		}
		w.stop()
		takeovers, _ := w.count()
		adverts := in1 - in0
		cpuS := float64(u1.ticks-u0.ticks) / userHZ
		perAdv := 0.0
		if adverts > 0 {
			perAdv = cpuS / float64(adverts) * 1e6
		}
		im, suffix := govrrp, ""
		if v.ka {
			im = keepalived
		} else if v.label != "" {
			suffix = " (" + v.label + ")"
		}
		res.add("backup CPU "+label+suffix, unitPct, im, cpuPct(u0, u1))
		res.add("backup µs CPU per advert "+label+suffix, unitMs, im, perAdv)
		res.add("adverts received/s "+label+suffix, unitCount, im, float64(adverts)/u1.at.Sub(u0.at).Seconds())
		res.add("spurious takeovers "+label+suffix, unitCount, im, float64(takeovers))
		if v.ka {
			kaPerAdv[label] = perAdv
		} else if ka := kaPerAdv[label]; ka > 0 {
			res.add("per advert / keepalived's, same round "+label+suffix, unitCount, govrrp, perAdv/ka)
		}
		b.Logf("%s %s: CPU %.1f%%, %d adverts, %.2f µs per advert, %d takeovers, %s %s",
			v.name(), label, cpuPct(u0, u1), adverts, perAdv, takeovers, loadAvg(), perfOut)
	}
}

// ipInReceives is the Ip InReceives counter of nd's namespace.
func ipInReceives(tb testing.TB, nd *node) int64 {
	tb.Helper()
	out, err := nd.host.Exec(context.Background(), "cat", "/proc/net/snmp")
	if err != nil {
		fail(tb, err.Error(), nd)
	}
	var head []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Ip:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i, h := range head {
			if h == "InReceives" && i < len(f) {
				v, _ := strconv.ParseInt(f[i], 10, 64)
				return v
			}
		}
	}
	fail(tb, "bench: no Ip InReceives in /proc/net/snmp", nd)
	return 0
}

// perfStat counts context switches and migrations of pids for d (perf
// stat); the summary line, or why there is none.
func perfStat(d time.Duration, pids []int) string {
	var ps []string
	for _, p := range pids {
		ps = append(ps, strconv.Itoa(p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+10*time.Second)
	defer cancel()
	secs := strconv.FormatFloat(d.Seconds()-0.5, 'f', 1, 64)
	out, err := exec.CommandContext(ctx, "perf", "stat", "-x", ",", "-e", "context-switches,cpu-migrations,task-clock",
		"-p", strings.Join(ps, ","), "--", "sleep", secs).CombinedOutput()
	if err != nil {
		return "perf stat: " + err.Error()
	}
	var parts []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) >= 3 {
			parts = append(parts, f[2]+"="+f[0])
		}
	}
	return "perf: " + strings.Join(parts, " ")
}
