package interop

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/govrrp/govrrp/internal/netlab"
)

// The scale rows of `make bench`: N VRRPv3 instances at 10 ms adverts on
// one link (VRIDs 1..N), master a at priority 150, backup b at 100, the
// same keepalived.conf for both implementations. Measured: settle time
// (both started → a holds every VIP and b none), CPU of each node over a
// window (utime+stime of every process: keepalived's parent and VRRP
// child), RSS (summed likewise) and spurious takeovers (a VIP appearing on
// b, from its own netlink events), idle and with 8 busy loops competing
// for the cores.

// scaleVIP is instance i's address (1-based): 198.51.100.i, and for the
// 255th, which would be that /24's broadcast, 192.0.2.250.
func scaleVIP(i int) netip.Addr {
	if i == 255 {
		return netip.MustParseAddr("192.0.2.250")
	}
	return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
}

// scaleConf is n instances of advert_int 0.01.
func scaleConf(routerID string, n, prio int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n", routerID)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "vrrp_instance VI_%d {\n    state BACKUP\n    interface %s\n    virtual_router_id %d\n"+
			"    version 3\n    priority %d\n    advert_int 0.01\n    virtual_ipaddress {\n        %s/32\n    }\n}\n",
			i, ifname, i, prio, scaleVIP(i))
	}
	return b.String()
}

// startScale starts n's daemon on conf without the one-instance status
// checks of node.start; govrrp is ready when its socket answers.
func (n *node) startScale(conf string, prio int, extra ...string) {
	n.t.Helper()
	var p *netlab.Proc
	var err error
	if n.impl == keepalived {
		p, err = n.host.StartKeepalived(conf)
	} else {
		p, err = n.host.StartGovrrp(govrrpBin(n.t), conf, extra...)
	}
	if err != nil {
		n.t.Fatalf("bench: start %s on %s: %v", n.impl, n.name, err)
	}
	n.proc, n.prio = p, prio
	n.procs = append(n.procs, p)
}

// startScaleMetrics is startScale, and with BENCH_SCRAPE=1 for govrrp also
// --metrics-listen on the node's loopback, so measureScale can read the
// master's batch lateness per window
// (govrrp_advert_batch_send_lateness_seconds). Off by default: a scrape of
// a 255-instance master costs about 0.1 s of CPU (1.5 MB of text), and
// with 8 busy loops the two scrapes of each window made 4-32 batches 20 ms
// late and 640-792 spurious takeovers, against 0-89 without scraping.
func (n *node) startScaleMetrics(conf string, prio int, extra ...string) {
	n.t.Helper()
	if n.impl == govrrp && os.Getenv("BENCH_SCRAPE") != "" {
		n.benchMetrics = fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(n.t, n.host))
		extra = append(slices.Clip(extra), "--metrics-listen", n.benchMetrics)
	}
	n.startScale(conf, prio, extra...)
}

// lateBatches is, summed over the node's sockets, how many aligned batches
// its govrrp has written so far 20 ms or more after their due time (a 10 ms
// master's backups take over after 26 ms more than an interval). ok is
// false for a node without benchMetrics.
func lateBatches(tb testing.TB, nd *node) (late float64, ok bool) {
	tb.Helper()
	if nd.benchMetrics == "" {
		return 0, false
	}
	resp, err := nd.host.HTTPClient(scrapeTimeout).Get("http://" + nd.benchMetrics + "/metrics")
	if err != nil {
		tb.Logf("bench: scrape %s: %v", nd.name, err)
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		tb.Logf("bench: scrape %s: %v", nd.name, err)
		return 0, false
	}
	sc, err := parseExposition(string(body))
	if err != nil {
		tb.Logf("bench: scrape %s: %v", nd.name, err)
		return 0, false
	}
	var total, onTime float64
	for _, s := range sc.find("govrrp_advert_batch_send_lateness_seconds_count", nil) {
		total += s.value
	}
	for _, s := range sc.find("govrrp_advert_batch_send_lateness_seconds_bucket", map[string]string{"le": "0.02"}) {
		onTime += s.value
	}
	return total - onTime, true
}

// scaleHeld counts how many of the n VIPs the node holds.
func scaleHeld(nd *node, n int) (int, error) {
	addrs, err := nd.host.Addrs(ifname)
	if err != nil {
		return 0, err
	}
	want := map[netip.Addr]bool{}
	for i := 1; i <= n; i++ {
		want[scaleVIP(i)] = true
	}
	held := 0
	for _, p := range addrs {
		if want[p.Addr()] {
			held++
		}
	}
	return held, nil
}

// scaleUsage samples CPU ticks and RSS of pids.
func scaleUsage(tb testing.TB, pids []int, all ...*node) usage {
	tb.Helper()
	u := usage{at: time.Now()}
	for _, pid := range pids {
		p, err := procUsage(pid)
		if err != nil {
			fail(tb, err.Error(), all...)
		}
		u.ticks += p.ticks
		u.rssKB += p.status["VmRSS"]
		u.anonKB += p.status["RssAnon"]
	}
	return u
}

// takeoverWatch counts VIPs appearing on a node that did not hold them
// (RTM_NEWADDR of an absent address; a lease renewal of a held one is not
// counted), from the node's own netlink events.
type takeoverWatch struct {
	mu        sync.Mutex
	held      map[netip.Addr]bool
	takeovers int
	releases  int // RTM_DELADDR of a held address: each takeover ends in one
	stop      func()
}

func watchTakeovers(tb testing.TB, n *node) *takeoverWatch {
	tb.Helper()
	ns, err := netns.GetFromName(n.host.Name())
	if err != nil {
		tb.Fatalf("bench: open netns: %v", err)
	}
	ch := make(chan netlink.AddrUpdate, 4096)
	done := make(chan struct{})
	if err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: &ns}); err != nil {
		ns.Close()
		tb.Fatalf("bench: address subscription: %v", err)
	}
	w := &takeoverWatch{held: map[netip.Addr]bool{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for u := range ch {
			ip, _ := netip.AddrFromSlice(u.LinkAddress.IP)
			ip = ip.Unmap()
			w.mu.Lock()
			if u.NewAddr && !w.held[ip] {
				w.takeovers++
			}
			if !u.NewAddr && w.held[ip] {
				w.releases++
			}
			w.held[ip] = u.NewAddr
			w.mu.Unlock()
		}
	}()
	var once sync.Once
	w.stop = func() { once.Do(func() { close(done); wg.Wait(); ns.Close() }) }
	tb.Cleanup(w.stop)
	return w
}

func (w *takeoverWatch) count() (takeovers, releases int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.takeovers, w.releases
}

// busyLoops starts n busy bash loops, each in a session of its own (as CPU
// hogs on a real host are), that end by themselves after at most limit+5 s
// and get SIGKILL with their parent even if this process dies. The returned
// stop, also run at cleanup, SIGKILLs each session's group and reaps it.
func busyLoops(tb testing.TB, n int, limit time.Duration) func() {
	tb.Helper()
	var mu sync.Mutex
	var cmds []*exec.Cmd
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cmds {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			_ = c.Wait()
		}
		cmds = nil
	}
	tb.Cleanup(stop)
	secs := strconv.Itoa(int((limit + 5*time.Second) / time.Second))
	for range n {
		// The loop is the direct child, bounded by its own clock (bash's
		// SECONDS, a builtin: no fork per turn) and killed with the test
		// binary (Pdeathsig). A `timeout` wrapper died with the binary
		// and left its loop running for good (seen after a killed run).
		c := exec.Command("bash", "-c", "while (( SECONDS < "+secs+" )); do :; done")
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			stop()
			tb.Fatalf("busy loop: %v", err)
		}
		mu.Lock()
		cmds = append(cmds, c)
		mu.Unlock()
	}
	return stop
}

// benchScaleCell runs one round of the scale rows for im; govrrp runs with
// extra flags when given (the rows then say so).
func benchScaleCell(b *testing.B, im impl, n int, window time.Duration, res *benchResults, extra ...string) {
	_, a, bk := twoHosts(b, im, im)
	suffix := ""
	if len(extra) > 0 {
		suffix = " (" + strings.Join(extra, " ") + ")"
	}
	row := func(metric string) string { return fmt.Sprintf("%d×v3@10ms %s%s", n, metric, suffix) }
	start := time.Now()
	a.startScaleMetrics(scaleConf("iop_a", n, prioHigh), prioHigh, extra...)
	bk.startScale(scaleConf("iop_b", n, prioLow), prioLow, extra...)
	settleScale(b, 60*time.Second, n, func(nd *node) (int, error) { return scaleHeld(nd, n) }, a, bk)
	settle := time.Since(start)
	res.add(row("settle"), unitS, im, settle.Seconds())
	procs := []*netlab.Proc{a.proc, bk.proc} // measureScale stops them (waitExit forgets the Proc)
	measureScale(b, im, n, window, settle, row, res, a, bk)
	if im == govrrp {
		logScaleWarnings(b, procs)
	}
}

// logScaleWarnings prints the first warnings and errors of each govrrp
// daemon of a scale round (late renewals, lapsed VIPs, stalls: what to
// look at when a row shows spurious takeovers), and the master's send
// lateness (its writers log it when they end): a takeover with no batch
// later than the backup's Master_Down_Interval was not the master's.
func logScaleWarnings(b *testing.B, procs []*netlab.Proc) {
	for i, p := range procs {
		if p == nil {
			continue
		}
		shown := 0
		for _, l := range strings.Split(p.Log(), "\n") {
			if shown < 12 && (strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR")) ||
				strings.Contains(l, "send lateness") {
				b.Logf("bench: %s %s", [2]string{"master", "backup"}[i], l)
				shown++
			}
		}
	}
}

// settleScale waits until a holds all n VIPs and bk none (held counts a
// node's VIPs).
func settleScale(b *testing.B, limit time.Duration, n int, held func(*node) (int, error), a, bk *node) {
	err := netlab.WaitFor(context.Background(), limit, 10*time.Millisecond, func() (bool, error) {
		ha, err1 := held(a)
		hb, err2 := held(bk)
		if err := cmpOr(err1, err2); err != nil {
			return false, err
		}
		return ha == n && hb == 0, fmt.Errorf("a holds %d, b %d of %d VIPs", ha, hb, n)
	})
	if err != nil {
		fail(b, "bench: scale did not settle: "+err.Error(), a, bk)
	}
}

// measureScale runs the two measuring windows (idle, then 8 busy loops) of
// a settled master a and backup bk with n instances, records the rows
// (named by row) and stops both daemons.
func measureScale(b *testing.B, im impl, n int, window, settle time.Duration, row func(string) string, res *benchResults, a, bk *node) {
	pa, pb := daemonPids(b, a), daemonPids(b, bk)
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
		da0, db0 := rawDrops(b, a), rawDrops(b, bk)
		ua0, ub0 := scaleUsage(b, pa, a, bk), scaleUsage(b, pb, a, bk)
		// The window is a duration of load, not a wait for a condition:
		// a timer bounded by window itself (perf, when asked, runs as long).
		t := time.NewTimer(window)
		probe := startWakeProbe(window)
		late0, lateOK := lateBatches(b, a)
		if !loaded && os.Getenv("BENCH_PERF") != "" {
			benchPerf(b, im, window, map[string][]int{"master": pa, "backup": pb})
		}
		<-t.C
		lateWakes, maxWake := probe.end()
		late1, _ := lateBatches(b, a)
		ua1, ub1 := scaleUsage(b, pa, a, bk), scaleUsage(b, pb, a, bk)
		da1, db1 := rawDrops(b, a), rawDrops(b, bk)
		if stop != nil {
			stop()
		}
		w.stop()
		res.add(row("master CPU "+label), unitPct, im, cpuPct(ua0, ua1))
		res.add(row("backup CPU "+label), unitPct, im, cpuPct(ub0, ub1))
		takeovers, releases := w.count()
		res.add(row("spurious takeovers "+label), unitCount, im, float64(takeovers))
		res.add(row("socket drops, backup "+label), unitCount, im, float64(db1-db0))
		res.add(row("host wake-ups >= 20 ms late "+label), unitCount, im, float64(lateWakes))
		lateNote := ""
		if lateOK {
			res.add(row("master batches >= 20 ms late "+label), unitCount, im, late1-late0)
			lateNote = fmt.Sprintf("; master batches >= 20 ms late: %.0f", late1-late0)
		}
		if !loaded {
			res.add(row("master RSS"), unitMB, im, float64(ua1.rssKB)/1024)
			res.add(row("backup RSS"), unitMB, im, float64(ub1.rssKB)/1024)
			// Pss splits pages shared between processes (keepalived's
			// parent and child, libraries) among them; anonymous is the
			// heap and stacks (bench_memory_test.go has the full split).
			ma, mb := memSample(b, pa, a, bk), memSample(b, pb, a, bk)
			res.add(row("master PSS"), unitMB, im, float64(ma["Pss"])/1024)
			res.add(row("backup PSS"), unitMB, im, float64(mb["Pss"])/1024)
			res.add(row("master RSS anon"), unitMB, im, float64(ma["Anonymous"])/1024)
			res.add(row("backup RSS anon"), unitMB, im, float64(mb["Anonymous"])/1024)
		}
		b.Logf("%s %d instances %s over %v: master CPU %.1f%%, backup %.1f%%, RSS %d/%d kB (anonymous %d/%d), %d spurious takeovers on b (%d VIPs released again); kernel drops on the VRRP sockets a %d, b %d; settle %v; 10 ms sleeps of the bench woken >= 20 ms late: %d (max %v)%s [%s]",
			im, n, label, window, cpuPct(ua0, ua1), cpuPct(ub0, ub1), ua1.rssKB, ub1.rssKB, ua1.anonKB, ub1.anonKB, takeovers, releases, da1-da0, db1-db0, settle.Round(time.Millisecond), lateWakes, maxWake.Round(100*time.Microsecond), lateNote, loadAvg())
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

// wakeProbe is the machine's own wake-up latency during a window: it
// sleeps 10 ms at a time and counts the wake-ups that came 20 ms or more
// late. On this VM an idle vCPU is sometimes woken tens of ms late
// (measured: 2 of 2,824 sleeps 20-50 ms late in 30 s idle, none with two
// busy loops keeping the vCPUs running), and a master woken that late
// misses its backups' Master_Down_Interval (36 ms at 10 ms adverts),
// whichever implementation it is: read a window's spurious takeovers
// beside this row.
type wakeProbe struct {
	stop, done chan struct{}
	late       int
	max        time.Duration
}

// startWakeProbe probes until end is called, for at most limit.
func startWakeProbe(limit time.Duration) *wakeProbe {
	p := &wakeProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		const nap, late = 10 * time.Millisecond, 20 * time.Millisecond
		t := time.NewTimer(nap)
		defer t.Stop()
		deadline := time.Now().Add(limit + time.Second)
		for t0 := time.Now(); t0.Before(deadline); t0 = time.Now() {
			t.Reset(nap)
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			if over := time.Since(t0) - nap; over >= late {
				p.late++
				p.max = max(p.max, over)
			}
		}
	}()
	return p
}

// end stops the probe and returns the late wake-ups and the latest.
func (p *wakeProbe) end() (late int, latest time.Duration) {
	close(p.stop)
	<-p.done
	return p.late, p.max
}

// benchPerf (BENCH_PERF=1) samples the call stacks of each role's
// processes with perf for d and writes `perf report` summaries to
// BENCH_OUT/perf-<impl>-<role>.txt. perf costs CPU itself: the CPU rows of
// a BENCH_PERF run are not the ones to quote.
func benchPerf(tb testing.TB, im impl, d time.Duration, roles map[string][]int) {
	tb.Helper()
	perf, err := exec.LookPath("perf")
	if err != nil {
		tb.Logf("bench: BENCH_PERF set but no perf: %v", err)
		return
	}
	dir := readBenchEnv().out
	if root, err := moduleRoot(); err == nil && !filepathIsAbs(dir) {
		dir = root + "/" + dir
	}
	_ = os.MkdirAll(dir, 0o755)
	var wg sync.WaitGroup
	for role, pids := range roles {
		var ps []string
		for _, p := range pids {
			ps = append(ps, strconv.Itoa(p))
		}
		data := fmt.Sprintf("%s/perf-%s-%s.data", dir, im.short(), role)
		wg.Add(1)
		go func() {
			defer wg.Done()
			secs := strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
			ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
			defer cancel()
			if out, err := exec.CommandContext(ctx, perf, "record", "-q", "-F", "499", "-g", "-o", data, "-p", strings.Join(ps, ","), "--", "sleep", secs).CombinedOutput(); err != nil {
				tb.Logf("bench: perf record %s: %v: %s", role, err, out)
				return
			}
			out, err := exec.CommandContext(ctx, perf, "report", "-i", data, "--stdio", "--no-children", "--percent-limit", "1.5", "-g", "none", "--sort", "dso,symbol").CombinedOutput()
			if err != nil {
				tb.Logf("bench: perf report %s: %v", role, err)
			}
			_ = os.WriteFile(strings.TrimSuffix(data, ".data")+".txt", out, 0o644)
		}()
	}
	wg.Wait()
}

func filepathIsAbs(p string) bool { return strings.HasPrefix(p, "/") }

// rawDrops sums the drops column of the node's protocol-112 raw sockets
// (/proc/net/raw and raw6): adverts the kernel discarded because the
// socket's receive buffer was full.
func rawDrops(tb testing.TB, n *node) int64 {
	tb.Helper()
	out, err := n.host.Exec(context.Background(), "cat", "/proc/net/raw", "/proc/net/raw6")
	if err != nil {
		fail(tb, err.Error(), n)
	}
	var sum int64
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasSuffix(f[1], ":0070") {
			continue
		}
		if v, err := strconv.ParseInt(f[len(f)-1], 10, 64); err == nil {
			sum += v
		}
	}
	return sum
}
