package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkSideBySide is `make bench`: keepalived 2.2.7 and govrrp in the
// same run, BENCH_ROUNDS rounds of every failover row (graceful stop,
// preemption, link death at VRRPv2 1 s, v3 50 ms, v3 10 ms) and of the
// scale rows (BENCH_SCALE instances at 10 ms, BENCH_WINDOW per measuring
// window, idle and with 8 busy loops). It prints one table (median
// [min–max]) and writes BENCH_OUT/bench.txt and bench.png. Run it with
// -benchtime=1x: the rounds are its own. Nothing is asserted beyond the
// events happening at all; figures are for the report.
func BenchmarkSideBySide(b *testing.B) {
	if testing.Short() {
		b.Skip("bench: namespaces and real daemons, skipped in -short mode")
	}
	env := readBenchEnv()
	res := &benchResults{}
	started := time.Now()
	protos := benchProtos
	if env.quick {
		protos = []scenario{benchProtos[1], benchProtos[2]}
	}
	for _, sc := range protos {
		for _, im := range []impl{keepalived, govrrp} {
			b.Run("failover/"+sc.name+"/"+im.short(), func(b *testing.B) {
				benchFailoverCell(b, sc, im, env.rounds, res)
			})
		}
	}
	for round := range env.rounds {
		for _, im := range []impl{keepalived, govrrp} {
			b.Run(fmt.Sprintf("scale/%d/%s/round%d", env.scale, im.short(), round+1), func(b *testing.B) {
				benchScaleCell(b, im, env.scale, env.window, res)
			})
		}
		// The VIP lease (renewing every VIP every 250 ms) is a third of the
		// master's CPU in the profile at 255 VIPs: the same rows without it.
		b.Run(fmt.Sprintf("scale/%d/gv-nolease/round%d", env.scale, round+1), func(b *testing.B) {
			benchScaleCell(b, govrrp, env.scale, env.window, res, "--no-vip-lease")
		})
	}
	if env.links {
		for round := range env.rounds {
			for _, im := range []impl{keepalived, govrrp} {
				b.Run(fmt.Sprintf("links/%dx%d/%s/round%d", benchLinks, env.scale, im.short(), round+1), func(b *testing.B) {
					benchLinksCell(b, im, env.scale, env.window, res)
				})
			}
		}
	}
	report := benchHeader(env, started) + res.table()
	b.Logf("side by side:\n%s", report)
	fmt.Fprint(os.Stdout, "\n"+report)
	dir := writeBenchFile(b, env, "bench.txt", report)
	if err := res.chartPNG(filepath.Join(dir, "bench.png"), unitMs, unitPct); err != nil {
		b.Fatalf("bench: chart: %v", err)
	}
	b.Logf("bench: wrote %s/bench.txt and bench.png", dir)
}

// writeBenchFile writes text to BENCH_OUT/name (BENCH_OUT relative to the
// module root) and returns the directory.
func writeBenchFile(b *testing.B, env benchEnv, name, text string) string {
	dir := env.out
	if !filepath.IsAbs(dir) {
		if root, err := moduleRoot(); err == nil {
			dir = filepath.Join(root, dir)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatalf("bench: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		b.Fatalf("bench: %v", err)
	}
	return dir
}

// benchHeader says when, where and how noisy.
func benchHeader(env benchEnv, started time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "date %s, took %v; %d rounds, scale %d, window %v, quick %v\n", started.UTC().Format(time.RFC3339),
		time.Since(started).Round(time.Second), env.rounds, env.scale, env.window, env.quick)
	fmt.Fprintf(&b, "machine: %d CPUs, %s, %s; %s at the end\n", runtime.NumCPU(), kernelRelease(), cpuModel(), loadAvg())
	return b.String()
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "kernel unknown"
	}
	return "Linux " + strings.TrimSpace(string(b))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "CPU unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "CPU unknown"
}
