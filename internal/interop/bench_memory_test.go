package interop

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// The memory rows of issue 11 ("RSS at most keepalived's two processes
// together"): the scale configuration (N VRRPv3 instances at 10 ms on one
// link, master a and backup b, the same file for both implementations),
// settled, then after a dwell /proc/PID/smaps_rollup of every process of
// each daemon (keepalived's parent and VRRP child, govrrp's one process),
// summed per node.
//
// Rss counts a page once per process that maps it, so keepalived's parent
// and child, which share the pages of the fork and the libraries, count
// them twice; Pss divides each page among the processes that map it (the
// parent, the child and every other process using the same libc), so the
// node's Pss is what the daemon costs the host. Both are reported.
//
// The page-level rows (pageGroup) count each physical page once: "distinct"
// is what the daemon's processes together keep resident, the fair figure
// for keepalived's two processes against govrrp's one. "daemon-only" are
// the distinct pages no other process maps; in this lab both nodes run the
// same binary (and other tests run keepalived), so file pages are rarely
// daemon-only here, although on a host running one daemon its own binary's
// pages would be.
//
// BENCH_MEM_BINS="label=path [flags],..." runs further govrrp binaries (or
// wrapper scripts that exec one, e.g. with GOGC set) in the same run, rows
// suffixed "(label)"; a label holds no "=".

// smapsRollup reads /proc/PID/smaps_rollup into kB values by field.
func smapsRollup(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return nil, fmt.Errorf("interop: %w", err)
	}
	defer f.Close()
	return parseSmapsRollup(f)
}

// parseSmapsRollup reads "Field:   N kB" lines (the range header and
// non-numeric lines are skipped).
func parseSmapsRollup(r io.Reader) (map[string]int64, error) {
	m := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
			m[k] = n
		}
	}
	return m, sc.Err()
}

// smapsByMapping sums Rss (kB) of /proc/PID/smaps by what is mapped (see
// parseSmapsByMapping).
func smapsByMapping(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return nil, fmt.Errorf("interop: %w", err)
	}
	defer f.Close()
	return parseSmapsByMapping(f)
}

// parseSmapsByMapping sums the Rss lines of smaps by mapping: the file's
// base name and permissions ("libc.so.6 r-xp"), [heap], [stack], or "anon"
// for anonymous mappings (the Go heap arenas, runtime metadata).
func parseSmapsByMapping(r io.Reader) (map[string]int64, error) {
	m := map[string]int64{}
	cur := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fs := strings.Fields(line)
		if len(fs) >= 5 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			cur = "anon"
			if len(fs) >= 6 {
				cur = filepath.Base(fs[5])
				if !strings.HasPrefix(cur, "[") {
					cur += " " + fs[1]
				}
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			m[cur] += n
		}
	}
	return m, sc.Err()
}

// memSample sums smaps_rollup over pids.
func memSample(tb testing.TB, pids []int, all ...*node) map[string]int64 {
	tb.Helper()
	sum := map[string]int64{}
	for _, pid := range pids {
		m, err := smapsRollup(pid)
		if err != nil {
			fail(tb, err.Error(), all...)
		}
		for k, v := range m {
			sum[k] += v
		}
	}
	return sum
}

// addMemRows records one node's memory rows under role (master, backup).
func addMemRows(res *benchResults, row func(string) string, im impl, role string, m map[string]int64) {
	mb := func(kb int64) float64 { return float64(kb) / 1024 }
	res.add(row(role+" Rss"), unitMB, im, mb(m["Rss"]))
	res.add(row(role+" Pss"), unitMB, im, mb(m["Pss"]))
	res.add(row(role+" Rss anon"), unitMB, im, mb(m["Anonymous"]))
	res.add(row(role+" Rss file"), unitMB, im, mb(m["Rss"]-m["Anonymous"]))
	res.add(row(role+" Pss anon"), unitMB, im, mb(m["Pss_Anon"]))
	res.add(row(role+" Pss file"), unitMB, im, mb(m["Pss_File"]))
	res.add(row(role+" private"), unitMB, im, mb(m["Private_Clean"]+m["Private_Dirty"]))
}

// fmtMappings is one process's Rss by mapping, largest first.
func fmtMappings(pid int) string {
	m, err := smapsByMapping(pid)
	if err != nil {
		return err.Error()
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int { return int(m[b] - m[a]) })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %7d kB  %s\n", m[k], k)
	}
	return b.String()
}

// memBins is the govrrp binaries of the run: the default one, then
// BENCH_MEM_BINS's.
type memBin struct {
	label, path string
	args        []string // after the path, space-separated
}

func memBins(tb testing.TB) []memBin {
	bins := []memBin{{label: "", path: govrrpBin(tb)}}
	for _, s := range strings.Split(os.Getenv("BENCH_MEM_BINS"), ",") {
		l, p, ok := strings.Cut(strings.TrimSpace(s), "=")
		if f := strings.Fields(p); ok && len(f) > 0 {
			bins = append(bins, memBin{l, f[0], f[1:]})
		}
	}
	return bins
}

// BenchmarkMemory is the memory side by side (see above): BENCH_ROUNDS
// rounds, BENCH_SCALE instances on one link and, with BENCH_LINKS (on
// unless BENCH_QUICK; BENCH_LINKS=0 skips), BENCH_SCALE on each of the
// four-link rows' links (1,020 at 255), a dwell of BENCH_WINDOW (at most
// 30 s) after settling. It prints the table and each process's Rss by
// mapping. Run with -benchtime=1x.
func BenchmarkMemory(b *testing.B) {
	if testing.Short() {
		b.Skip("bench: namespaces and real daemons, skipped in -short mode")
	}
	env := readBenchEnv()
	dwell := min(env.window, 30*time.Second)
	res := &benchResults{}
	started := time.Now()
	bins := memBins(b)
	shapes := []memShape{oneLinkShape(env.scale)}
	if env.links {
		shapes = append(shapes, fourLinkShape(env.scale))
	}
	for _, sh := range shapes {
		for round := range env.rounds {
			b.Run(fmt.Sprintf("%s/ka/round%d", sh.name, round+1), func(b *testing.B) {
				benchMemCell(b, keepalived, memBin{}, sh, dwell, res)
			})
			for _, bin := range bins {
				b.Run(fmt.Sprintf("%s/gv%s/round%d", sh.name, bin.label, round+1), func(b *testing.B) {
					benchMemCell(b, govrrp, bin, sh, dwell, res)
				})
			}
		}
	}
	report := benchHeader(env, started) + res.table()
	b.Logf("memory side by side:\n%s", report)
	fmt.Fprint(os.Stdout, "\n"+report)
	writeBenchFile(b, env, "memory.txt", report)
}

// memShape is one configuration of the memory rows: the one-link scale
// pair, or (BENCH_LINKS) the four-link rows' 4 × BENCH_SCALE instances.
type memShape struct {
	name   string                                           // sub-benchmark name
	prefix string                                           // row prefix
	n      int                                              // instances per node
	links  func(b *testing.B, lab *netlab.Lab, a, bk *node) // extra links; nil: none
	conf   func(routerID string, prio int) string
	held   func(nd *node) (int, error)
	settle time.Duration
}

func oneLinkShape(n int) memShape {
	return memShape{name: "scale", prefix: fmt.Sprintf("%d×v3@10ms", n), n: n,
		conf:   func(id string, prio int) string { return scaleConf(id, n, prio) },
		held:   func(nd *node) (int, error) { return scaleHeld(nd, n) },
		settle: 60 * time.Second}
}

// fourLinkShape is bench_links_test.go's topology and file (eth0 IPv4,
// eth1..eth3 IPv6), perLink instances on each.
func fourLinkShape(perLink int) memShape {
	n := benchLinks * perLink
	return memShape{name: "links", prefix: fmt.Sprintf("%d×v3@10ms, %d links", n, benchLinks), n: n,
		links:  addBenchLinks,
		conf:   func(id string, prio int) string { return linksConf(id, perLink, prio) },
		held:   func(nd *node) (int, error) { return linksHeld(nd, perLink) },
		settle: 120 * time.Second}
}

// benchMemCell runs one round for im (govrrp: bin, rows suffixed with its
// label). A govrrp started with --metrics-listen 127.0.0.1:9650 also
// reports the Go runtime's own accounting (go_memstats_*).
func benchMemCell(b *testing.B, im impl, bin memBin, sh memShape, dwell time.Duration, res *benchResults) {
	label, path := bin.label, bin.path
	lab, a, bk := twoHosts(b, im, im)
	if sh.links != nil {
		sh.links(b, lab, a, bk)
	}
	row := func(metric string) string {
		if label != "" {
			metric += " (" + label + ")"
		}
		return sh.prefix + " " + metric
	}
	start := func(nd *node, conf string, prio int) {
		if im == keepalived || path == "" {
			nd.startScale(conf, prio)
			return
		}
		p, err := nd.host.StartGovrrp(path, conf, bin.args...)
		if err != nil {
			b.Fatalf("bench: start %s: %v", path, err)
		}
		nd.proc, nd.prio = p, prio
		nd.procs = append(nd.procs, p)
	}
	start(a, sh.conf("iop_a", prioHigh), prioHigh)
	start(bk, sh.conf("iop_b", prioLow), prioLow)
	settleScale(b, sh.settle, sh.n, sh.held, a, bk)
	// A dwell of steady state, not a wait for a condition: the heap and
	// the touched pages after it are what a running node holds.
	pa, pb := daemonPids(b, a), daemonPids(b, bk)
	ua0, ub0 := scaleUsage(b, pa, a, bk), scaleUsage(b, pb, a, bk)
	t := time.NewTimer(dwell)
	<-t.C
	ua1, ub1 := scaleUsage(b, pa, a, bk), scaleUsage(b, pb, a, bk)
	res.add(row("master CPU"), unitPct, im, cpuPct(ua0, ua1))
	res.add(row("backup CPU"), unitPct, im, cpuPct(ub0, ub1))
	for _, r := range []struct {
		role string
		nd   *node
	}{{"master", a}, {"backup", bk}} {
		pids := daemonPids(b, r.nd)
		m := memSample(b, pids, a, bk)
		addMemRows(res, row, im, r.role, m)
		g, err := pageGroup(pids)
		if err != nil {
			fail(b, err.Error(), a, bk)
		}
		mb := func(kb int64) float64 { return float64(kb) / 1024 }
		res.add(row(r.role+" distinct pages"), unitMB, im, mb(g.distinctAnon+g.distinctFile))
		res.add(row(r.role+" distinct anon"), unitMB, im, mb(g.distinctAnon))
		res.add(row(r.role+" distinct file"), unitMB, im, mb(g.distinctFile))
		res.add(row(r.role+" daemon-only pages"), unitMB, im, mb(g.uniqueAnon+g.uniqueFile))
		res.add(row(r.role+" daemon-only file"), unitMB, im, mb(g.uniqueFile))
		for _, pid := range pids {
			b.Logf("%s%s %s pid %d Rss by mapping:\n%s", im, label, r.role, pid, fmtMappings(pid))
		}
		b.Logf("%s%s %s: %v", im, label, r.role, m)
		if im == govrrp {
			logGCTrace(b, r.nd)
		}
		if slices.Contains(bin.args, floodMetrics) {
			logGoMemstats(b, r.nd)
		}
	}
	for _, nd := range []*node{a, bk} {
		_ = nd.signal(syscall.SIGTERM)
	}
	for _, nd := range []*node{a, bk} {
		if err := nd.waitExit(exitTimeout); err != nil {
			fail(b, err.Error(), a, bk)
		}
	}
}

// goMemstats are the runtime's figures of the Prometheus Go collector.
var goMemstats = []string{"go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes",
	"go_memstats_heap_alloc_bytes", "go_memstats_next_gc_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_mspan_inuse_bytes",
	"go_memstats_mcache_inuse_bytes", "go_memstats_gc_sys_bytes", "go_memstats_other_sys_bytes", "go_memstats_buck_hash_sys_bytes",
	"go_memstats_sys_bytes", "go_goroutines", "go_threads"}

func logGoMemstats(b *testing.B, nd *node) {
	var sb strings.Builder
	for _, name := range goMemstats {
		v, err := metricValue(nd, name)
		if err != nil {
			fmt.Fprintf(&sb, "  %s: %v\n", name, err)
			continue
		}
		if strings.HasSuffix(name, "_bytes") {
			fmt.Fprintf(&sb, "  %-36s %8.0f kB\n", name, v/1024)
		} else {
			fmt.Fprintf(&sb, "  %-36s %8.0f\n", name, v)
		}
	}
	b.Logf("govrrp on %s, Go runtime:\n%s", nd.name, sb.String())
}

// logGCTrace logs the last collections a govrrp started with
// GODEBUG=gctrace=1 wrote (heap before -> after -> live, goal, stacks).
func logGCTrace(b *testing.B, nd *node) {
	var gcs []string
	for _, l := range strings.Split(nd.proc.Log(), "\n") {
		if strings.HasPrefix(l, "gc ") {
			gcs = append(gcs, l)
		}
	}
	if len(gcs) > 0 {
		b.Logf("govrrp on %s: %d collections, the last:\n  %s", nd.name, len(gcs), strings.Join(gcs[max(0, len(gcs)-3):], "\n  "))
	}
}

// groupPages is what the daemon's processes together keep resident, from
// /proc/PID/pagemap (root: page frame numbers) and /proc/kpagecount: each
// physical page counted once however many of the processes map it
// (keepalived's parent and child share the pages of the fork), split into
// anonymous and file-backed, and how many of them no process outside the
// daemon maps (what stopping the daemon frees; shared libraries mapped by
// other programs are not among them). kB.
type groupPages struct {
	distinctAnon, distinctFile int64
	uniqueAnon, uniqueFile     int64
}

// pageGroup reads the resident pages of pids.
func pageGroup(pids []int) (groupPages, error) {
	var g groupPages
	type info struct {
		maps int // mappings by the group's processes
		anon bool
	}
	pages := map[uint64]*info{}
	for _, pid := range pids {
		if err := walkPagemap(pid, func(pfn uint64, anon bool) {
			p := pages[pfn]
			if p == nil {
				p = &info{anon: anon}
				pages[pfn] = p
			}
			p.maps++
		}); err != nil {
			return g, err
		}
	}
	kc, err := os.Open("/proc/kpagecount")
	if err != nil {
		return g, fmt.Errorf("interop: %w", err)
	}
	defer kc.Close()
	buf := make([]byte, 8)
	pageKB := int64(os.Getpagesize() / 1024)
	for pfn, p := range pages {
		if _, err := kc.ReadAt(buf, int64(pfn)*8); err != nil {
			return g, fmt.Errorf("interop: kpagecount: %w", err)
		}
		unique := int(leU64(buf)) <= p.maps
		switch {
		case p.anon:
			g.distinctAnon += pageKB
			if unique {
				g.uniqueAnon += pageKB
			}
		default:
			g.distinctFile += pageKB
			if unique {
				g.uniqueFile += pageKB
			}
		}
	}
	return g, nil
}

func leU64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// walkPagemap calls fn for every present page of pid's mappings with its
// frame number; anon is true for mappings without a file ([heap], [stack]
// and anonymous ones).
func walkPagemap(pid int, fn func(pfn uint64, anon bool)) error {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return fmt.Errorf("interop: %w", err)
	}
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return fmt.Errorf("interop: %w", err)
	}
	defer pm.Close()
	page := uint64(os.Getpagesize())
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || len(f) >= 6 && f[5] == "[vsyscall]" {
			continue
		}
		anon := len(f) < 6 || strings.HasPrefix(f[5], "[")
		n := (end - start) / page
		buf := make([]byte, 8*n)
		if _, err := pm.ReadAt(buf, int64(start/page*8)); err != nil {
			continue // an unreadable range ([vvar]) holds none of ours
		}
		for i := range n {
			e := leU64(buf[8*i:])
			if e&(1<<63) != 0 { // present
				if pfn := e & (1<<55 - 1); pfn != 0 {
					fn(pfn, anon)
				}
			}
		}
	}
	return nil
}

// addBenchLinks connects a and bk to links 1..benchLinks-1 (IPv6 only), for
// the four-link rows and BenchmarkMemory.
func addBenchLinks(b *testing.B, lab *netlab.Lab, a, bk *node) {
	for l := 1; l < benchLinks; l++ {
		seg := lab.AddSegment(fmt.Sprintf("l%d", l), netip.Prefix{}, netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/64", l)))
		for _, c := range []struct {
			n    *node
			host string
		}{{a, "11"}, {bk, "12"}} {
			if err := c.n.host.Connect(seg, linkIf(l), netip.Prefix{}, netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::%s/64", l, c.host))); err != nil {
				b.Fatalf("bench: connect %s to link %d: %v", c.n.name, l, err)
			}
		}
	}
}
