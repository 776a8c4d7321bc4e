package interop

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// The chaos soak (issue 9, `make soak`): three nodes on one bridge, VRRPv3
// at 100 ms, one VIP, priorities 150/100/50, and one seeded schedule of
// faults that every trio (keepalived x3, govrrp x3, govrrp+govrrp+keepalived)
// replays. A sampler reads every ~20 ms which nodes hold the VIP; the
// report (soak_report_test.go) splits the time with exactly one holder,
// none, and two or more by fault kind and by phase: during the fault,
// within the protocol's bound after it, later.
//
// Environment: GOVRRP_SOAK=1 runs it (skipped otherwise, so `make test`
// does not); SOAK_DURATION (default 60s) of faults per trio; SOAK_SEED
// (default 1); SOAK_TRIOS (comma list of trio names, default all);
// SOAK_OUT (default bin/soak-report.txt); SOAK_LOGS (default
// bin/soak-logs: every daemon log, config, the fault timeline and each
// interval without exactly one holder, per trio); GOVRRP_SOAK_ENFORCE=1
// fails the test when a target line says FAIL.

const (
	soakAdvert = 100 * time.Millisecond
	soakVRID   = 51
	// soakEvery is the sampler period; each sample counts for the time
	// until the next one.
	soakEvery = 20 * time.Millisecond
	// soakAllowance is added to the slowest backup's master-down interval
	// to give the "after" phase: process scheduling on a shared 2-core
	// machine, a restarted daemon's start-up, netlink.
	soakAllowance = 500 * time.Millisecond
	// soakTargetAfter: the target, no holder-less or split time
	// later than this after a fault ends (outside the next fault).
	soakTargetAfter = 500 * time.Millisecond
	// soakHoldMin..+soakHoldSpan is how long a fault lasts, and the same
	// for the quiet time after it: one fault every 1–3 s.
	soakHoldMin  = 500 * time.Millisecond
	soakHoldSpan = time.Second
	// soakTail is sampled after the last fault ended.
	soakTail = 3 * time.Second
	// soakClockStep is the CLOCK_MONOTONIC/BOOTTIME offset of the time
	// namespace a "clock" fault restarts the daemon in (10 days).
	soakClockStep = 10 * 24 * time.Hour
	// soakSeriesEvery: n2's resources are also read about this often, to
	// tell steady growth from a plateau.
	soakSeriesEvery = time.Minute
	// soakMetrics is where govrrp serves metrics inside its namespace.
	soakMetrics = "127.0.0.1:9650"
	// soakTrackWeight: 150-60 < 100 and 100-60 < 50, so a failing script
	// on the master hands the VIP to the next node.
	soakTrackWeight = -60
	soakIf          = "eth0"
)

var (
	soakSc   = scenario{name: "soak-v3-ipv4-100ms", version: 3, advert: soakAdvert}
	soakVIP  = netip.MustParseAddr("192.0.2.100")
	soakVIP2 = netip.MustParseAddr("192.0.2.101") // added by the reload fault
	// soakSpecs: n1 is the master when all is well.
	soakSpecs = []struct {
		name string
		prio int
		addr netip.Prefix
	}{
		{"n1", 150, netip.MustParsePrefix("192.0.2.11/24")},
		{"n2", 100, netip.MustParsePrefix("192.0.2.12/24")},
		{"n3", 50, netip.MustParsePrefix("192.0.2.13/24")},
	}
)

// soakBound is the end of the "after" phase: the slowest backup's
// master-down interval plus the allowance.
func soakBound() time.Duration { return soakSc.masterDown(soakSpecs[2].prio) + soakAllowance }

// soakBoundFor adds what a fault kind needs beyond the VRRP timers: a
// restored track script is seen at its next run, up to one script
// interval (rise 1) after the file changed.
func soakBoundFor(k soakKind) time.Duration {
	if k == kTrack {
		return soakBound() + soakScriptInterval
	}
	return soakBound()
}

// soakTrio is one run: which implementation each of n1, n2, n3 runs.
type soakTrio struct {
	name  string
	impls [3]impl
}

var soakTrios = []soakTrio{
	{"ka-ka-ka", [3]impl{keepalived, keepalived, keepalived}},
	{"gv-gv-gv", [3]impl{govrrp, govrrp, govrrp}},
	{"gv-gv-ka", [3]impl{govrrp, govrrp, keepalived}},
}

// soakKind is a fault kind of the schedule.
type soakKind int

const (
	kLinkCut soakKind = iota // switch-side veth down: the node loses carrier
	kStop                    // SIGSTOP the daemon's process group, SIGCONT at the end
	kKill                    // SIGKILL the group, restart at the end
	kLoss                    // nftables: 50 % of VRRP dropped each way
	kDup                     // nftables: every VRRP packet sent twice
	kReload                  // config gains a second VIP + SIGHUP; the end reverts it + SIGHUP
	kTrack                   // the node's vrrp_script (weight -60) flaps every soakFlap
	kClock                   // restart in a time namespace with CLOCK_MONOTONIC +10 days; end: back at +0
	nSoakKinds
)

var soakKindNames = [nSoakKinds]string{"linkcut", "sigstop", "sigkill", "loss50", "dup", "reload", "trackflap", "clock"}

func (k soakKind) String() string { return soakKindNames[k] }

// soakFlap is how often the track fault toggles the script's file; the
// script runs every soakScriptInterval (keepalived takes whole seconds).
const (
	soakFlap           = 400 * time.Millisecond
	soakScriptInterval = time.Second
)

// soakFault is one entry of the schedule.
type soakFault struct {
	kind        soakKind
	node        int // index into soakSpecs
	hold, quiet time.Duration
}

// soakSchedule derives the fault list from the seed alone, so every trio
// replays the same one. Restarting faults (kill, clock) never hit n2: its
// daemon lives through the whole run, so its RSS and goroutine count at
// the start and at the end compare one process.
func soakSchedule(seed uint64, total time.Duration) []soakFault {
	rng := rand.New(rand.NewPCG(seed, 0x50a4))
	var out []soakFault
	var sum time.Duration
	maxFaults := int(total/(2*soakHoldMin)) + 1 // each fault takes at least that long
	for len(out) < maxFaults && sum < total {
		f := soakFault{kind: soakKind(rng.IntN(int(nSoakKinds)))}
		if f.kind == kKill || f.kind == kClock {
			f.node = []int{0, 2}[rng.IntN(2)]
		} else {
			f.node = []int{0, 0, 1, 2}[rng.IntN(4)] // the master half the time
		}
		f.hold = soakHoldMin + time.Duration(rng.Int64N(int64(soakHoldSpan/time.Millisecond)))*time.Millisecond
		f.quiet = soakHoldMin + time.Duration(rng.Int64N(int64(soakHoldSpan/time.Millisecond)))*time.Millisecond
		out = append(out, f)
		sum += f.hold + f.quiet
	}
	return out
}

// soakSettings are the environment knobs.
type soakSettings struct {
	duration time.Duration
	seed     uint64
	trios    []soakTrio
	out      string
	logs     string
	enforce  bool
}

func soakEnv(t *testing.T) soakSettings {
	t.Helper()
	s := soakSettings{duration: 60 * time.Second, seed: 1, enforce: os.Getenv("GOVRRP_SOAK_ENFORCE") == "1"}
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("soak: SOAK_DURATION=%q: want a positive Go duration such as 60s or 10m", v)
		}
		s.duration = d
	}
	if v := os.Getenv("SOAK_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("soak: SOAK_SEED=%q: want an unsigned integer", v)
		}
		s.seed = n
	}
	s.trios = soakTrios
	if v := os.Getenv("SOAK_TRIOS"); v != "" {
		s.trios = nil
		for _, name := range strings.Split(v, ",") {
			found := false
			for _, tr := range soakTrios {
				if tr.name == strings.TrimSpace(name) {
					s.trios, found = append(s.trios, tr), true
				}
			}
			if !found {
				t.Fatalf("soak: SOAK_TRIOS: unknown trio %q (have ka-ka-ka, gv-gv-gv, gv-gv-ka)", name)
			}
		}
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	s.out = filepath.Join(root, "bin", "soak-report.txt")
	if v := os.Getenv("SOAK_OUT"); v != "" {
		s.out = v
	}
	s.logs = filepath.Join(root, "bin", "soak-logs")
	if v := os.Getenv("SOAK_LOGS"); v != "" {
		s.logs = v
	}
	return s
}

// TestSoak runs every trio, one after the other (they share the machine's
// two cores and must not disturb each other), then prints and writes the
// report and evaluates the targets.
func TestSoak(t *testing.T) {
	if os.Getenv("GOVRRP_SOAK") == "" {
		t.Skip("soak: set GOVRRP_SOAK=1 (or run `make soak`)")
	}
	if testing.Short() {
		t.Skip("soak: not in -short mode")
	}
	netlab.Require(t, "ip", "keepalived", "nft", "unshare")
	set := soakEnv(t)
	sched := soakSchedule(set.seed, set.duration)
	perTrio := set.duration + soakTail + 2*time.Minute // set-up, convergence, stop
	if dl, ok := t.Deadline(); ok && time.Until(dl) < time.Duration(len(set.trios))*perTrio {
		t.Fatalf("soak: %d trios of %v need about %v; the test deadline is in %v (raise -timeout / SOAK_TIMEOUT)",
			len(set.trios), set.duration, time.Duration(len(set.trios))*perTrio, time.Until(dl).Round(time.Second))
	}
	var results []*soakResult
	for _, tr := range set.trios {
		t.Run(tr.name, func(t *testing.T) {
			res := runSoakTrio(t, tr, sched, set, perTrio)
			results = append(results, res)
		})
	}
	rep := soakReport(set, sched, results)
	t.Log("\n" + rep.text)
	if err := os.MkdirAll(filepath.Dir(set.out), 0o755); err == nil {
		err = os.WriteFile(set.out, []byte(rep.text), 0o644)
		if err != nil {
			t.Errorf("soak: write %s: %v", set.out, err)
		}
	} else {
		t.Errorf("soak: %v", err)
	}
	if set.enforce && rep.failed {
		t.Error("soak: a target FAILed (GOVRRP_SOAK_ENFORCE=1); see the report above")
	}
}

// soakNode is one node of a trio and its current daemon.
type soakNode struct {
	idx      int
	name     string
	impl     impl
	prio     int
	host     *netlab.Host
	bin      string        // govrrp binary (govrrp nodes)
	proc     *netlab.Proc  // current daemon; nil while the harness has it down
	offset   time.Duration // time-namespace offset of the current daemon
	extraVIP bool          // the reload fault's second VIP is configured
	starts   int
	exits    []soakExit // daemon exits the harness did not cause
}

// soakExit is a daemon that ended on its own.
type soakExit struct {
	at   time.Duration
	code int
	tail string
}

func (n *soakNode) file(base string) string {
	return filepath.Join(n.host.Lab().Dir(), n.name+"-"+base)
}

func (n *soakNode) confPath() string { return n.file("soak.conf") }

// conf renders the node's keepalived.conf (both implementations read it).
func (n *soakNode) conf() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id soak_%s\n}\n\n", n.name)
	fmt.Fprintf(&b, "vrrp_script chk_soak {\n    script \"%s\"\n    interval %d\n    fall 1\n    rise 1\n    weight %d\n}\n\n",
		n.file("check.sh"), int(soakScriptInterval/time.Second), soakTrackWeight)
	b.WriteString("vrrp_instance VI_SOAK {\n")
	line := func(format string, args ...any) { fmt.Fprintf(&b, "    "+format+"\n", args...) }
	line("state BACKUP")
	line("interface %s", soakIf)
	line("virtual_router_id %d", soakVRID)
	line("version 3")
	line("priority %d", n.prio)
	line("advert_int %s", strconv.FormatFloat(soakAdvert.Seconds(), 'f', -1, 64))
	line("virtual_ipaddress {")
	line("    %s/24", soakVIP)
	if n.extraVIP {
		line("    %s/24", soakVIP2)
	}
	line("}")
	line("track_script {")
	line("    chk_soak")
	line("}")
	b.WriteString("}\n")
	return b.String()
}

// writeConf rewrites the file in place (the daemon re-reads it on SIGHUP).
func (n *soakNode) writeConf() error {
	return os.WriteFile(n.confPath(), []byte(n.conf()), 0o644)
}

// setHealthy decides what the node's check script reports next.
func (n *soakNode) setHealthy(ok bool) error {
	if ok {
		return os.WriteFile(n.file("healthy"), nil, 0o644)
	}
	if err := os.Remove(n.file("healthy")); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// start runs the daemon inside `unshare --time` with the node's current
// clock offset (0 unless a clock fault is active). unshare execs, so the
// process netlab reports is the daemon itself.
func (n *soakNode) start() error {
	if err := n.writeConf(); err != nil {
		return err
	}
	unshare, err := netlab.LookPath("unshare")
	if err != nil {
		return err
	}
	off := strconv.FormatInt(int64(n.offset/time.Second), 10)
	argv := []string{unshare, "--time", "--monotonic", off, "--boottime", off}
	switch n.impl {
	case govrrp:
		_ = os.Remove(n.host.GovrrpSocket()) // a killed daemon leaves it behind
		argv = append(argv, n.bin, "run", "-f", n.confPath(), "--socket", n.host.GovrrpSocket(),
			"--pid-file", n.host.GovrrpPidFile(), "--metrics-listen", soakMetrics)
	case keepalived:
		bin, err := netlab.LookPath("keepalived")
		if err != nil {
			return err
		}
		p1, p2, p3 := n.host.KeepalivedPidFiles()
		for _, f := range []string{p1, p2, p3} {
			_ = os.Remove(f) // a stale pid file from a killed run blocks start-up
		}
		argv = append(argv, bin, "-n", "-l", "-D", "-P", "-f", n.confPath(), "-p", p1, "-r", p2, "-c", p3, "--no-syslog")
	}
	p, err := n.host.Start(string(n.impl), argv...)
	if err != nil {
		return err
	}
	n.proc = p
	n.starts++
	return nil
}

// stopGraceful SIGTERMs the daemon and waits for it (bounded).
func (n *soakNode) stopGraceful() error {
	if n.proc == nil {
		return nil
	}
	p := n.proc
	n.proc = nil
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if _, err := p.Wait(exitTimeout); err != nil {
		_ = p.Kill()
		return err
	}
	return nil
}

// groupSignal signals the daemon's whole process group (keepalived's VRRP
// child too; govrrp's scripts run in groups of their own).
func (n *soakNode) groupSignal(sig syscall.Signal) error {
	if n.proc == nil || n.proc.Exited() {
		return fmt.Errorf("soak: %s: no daemon to signal %v", n.name, sig)
	}
	return syscall.Kill(-n.proc.Pid(), sig)
}

// checkExit records (and restarts) a daemon that ended on its own.
func (n *soakNode) checkExit(at time.Duration) error {
	if n.proc == nil || !n.proc.Exited() {
		return nil
	}
	code, _ := n.proc.Wait(time.Second)
	n.exits = append(n.exits, soakExit{at: at, code: code, tail: tailLines(n.proc.Log(), 15)})
	n.proc = nil
	return n.start()
}

// soakLab is a trio's lab.
type soakLab struct {
	lab   *netlab.Lab
	seg   *netlab.Segment
	nodes []*soakNode
}

func newSoakLab(t *testing.T, tr soakTrio) *soakLab {
	t.Helper()
	sl := &soakLab{lab: netlab.New(t)}
	sl.seg = sl.lab.AddSegment("lan", lanV4, netip.Prefix{})
	for i, sp := range soakSpecs {
		h := sl.lab.AddHost(sp.name)
		if err := h.Connect(sl.seg, soakIf, sp.addr, netip.Prefix{}); err != nil {
			t.Fatalf("soak: connect %s: %v", sp.name, err)
		}
		n := &soakNode{idx: i, name: sp.name, impl: tr.impls[i], prio: sp.prio, host: h}
		if n.impl == govrrp {
			n.bin = govrrpBin(t)
		}
		script := fmt.Sprintf("#!/bin/sh\nexec test -e %s\n", n.file("healthy"))
		if err := os.WriteFile(n.file("check.sh"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := n.setHealthy(true); err != nil {
			t.Fatal(err)
		}
		sl.nodes = append(sl.nodes, n)
	}
	return sl
}

// runSoakTrio builds the lab, starts the daemons, waits for n1 to be the
// only holder, then replays the schedule while the sampler runs.
func runSoakTrio(t *testing.T, tr soakTrio, sched []soakFault, set soakSettings, budget time.Duration) *soakResult {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	t.Cleanup(cancel)
	sl := newSoakLab(t, tr)
	res := &soakResult{trio: tr}
	// Cleanups run last-in first-out: the logs are copied before the lab
	// (registered first, in newSoakLab) is torn down, also on failure.
	t.Cleanup(func() { sl.saveLogs(t, filepath.Join(set.logs, tr.name), res) })

	smp, err := newSoakSampler(sl.nodes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(smp.close)
	for _, n := range sl.nodes {
		if err := n.start(); err != nil {
			t.Fatalf("soak: start %s on %s: %v", n.impl, n.name, err)
		}
	}
	if err := smp.waitOnly(ctx, 0, startupMargin+3*soakSc.masterDown(50), time.Second); err != nil {
		t.Fatalf("soak %s: never converged on n1: %v%s", tr.name, err, sl.tails())
	}
	res.resStart = sl.resources(ctx)

	run := smp.run(ctx)
	t0 := run.t0
	res.t0 = t0
	lastSeries := t0
	for i, f := range sched {
		if ctx.Err() != nil {
			t.Errorf("soak %s: out of time after %d of %d faults", tr.name, i, len(sched))
			break
		}
		rec := soakRecord{soakFault: f, start: time.Since(t0)}
		if err := sl.begin(ctx, f); err != nil {
			rec.err = err.Error()
			t.Logf("soak %s: fault %d %s on %s: start: %v", tr.name, i, f.kind, soakSpecs[f.node].name, err)
		}
		if err := sl.hold(ctx, f); err != nil && rec.err == "" {
			rec.err = err.Error()
		}
		if err := sl.end(f); err != nil {
			rec.err += " end: " + err.Error()
			t.Logf("soak %s: fault %d %s on %s: end: %v", tr.name, i, f.kind, soakSpecs[f.node].name, err)
		}
		rec.end = time.Since(t0)
		res.faults = append(res.faults, rec)
		if time.Since(lastSeries) >= soakSeriesEvery {
			lastSeries = time.Now()
			res.series = append(res.series, soakPoint{at: time.Since(t0), res: sl.resources(ctx)[1]})
		}
		sl.sleep(ctx, f.quiet, t0, res)
	}
	sl.sleep(ctx, soakTail, t0, res)
	res.samples, res.readErrs = run.stop()
	res.total = time.Since(t0)
	res.resEnd = sl.resources(ctx)
	sl.checkExits(time.Since(t0), res)
	for _, n := range sl.nodes {
		if err := n.stopGraceful(); err != nil {
			t.Errorf("soak %s: stop %s: %v", tr.name, n.name, err)
		}
		for _, e := range n.exits {
			res.exits = append(res.exits, fmt.Sprintf("%s (%s) exited %d at %v on its own:\n%s",
				n.name, n.impl, e.code, e.at.Round(time.Millisecond), e.tail))
		}
		res.starts = append(res.starts, n.starts)
	}
	return res
}

// sleep waits d (the schedule's quiet time, not a synchronisation), looking
// for daemons that died on their own every sampler period or so.
func (sl *soakLab) sleep(ctx context.Context, d time.Duration, t0 time.Time, res *soakResult) {
	end := time.Now().Add(d)
	for i := 0; i < int(d/(5*soakEvery))+2 && time.Now().Before(end); i++ {
		sl.checkExits(time.Since(t0), res)
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(5*soakEvery, time.Until(end))):
		}
	}
}

func (sl *soakLab) checkExits(at time.Duration, res *soakResult) {
	for _, n := range sl.nodes {
		if err := n.checkExit(at); err != nil {
			res.harnessErrs = append(res.harnessErrs, fmt.Sprintf("restart %s after it exited: %v", n.name, err))
		}
	}
}

// begin starts fault f.
func (sl *soakLab) begin(ctx context.Context, f soakFault) error {
	n := sl.nodes[f.node]
	switch f.kind {
	case kLinkCut:
		return n.host.SetCarrier(sl.seg, soakIf, false)
	case kStop:
		return n.groupSignal(syscall.SIGSTOP)
	case kKill:
		if n.proc == nil {
			return fmt.Errorf("soak: %s: no daemon to kill", n.name)
		}
		err := n.proc.Kill()
		n.proc = nil
		return err
	case kLoss:
		return n.host.Impair(soakIf, netlab.Impairment{Proto: 112, LossMod: 2})
	case kDup:
		return n.host.Impair(soakIf, netlab.Impairment{Proto: 112, Dup: true})
	case kReload:
		n.extraVIP = true
		return n.reload()
	case kTrack:
		return n.setHealthy(false)
	case kClock:
		err := n.stopGraceful()
		n.offset = soakClockStep
		if serr := n.start(); serr != nil {
			return serr
		}
		return err
	}
	return fmt.Errorf("soak: unknown fault kind %d", f.kind)
}

// hold lets the fault last f.hold; the track fault flaps its file meanwhile.
func (sl *soakLab) hold(ctx context.Context, f soakFault) error {
	n := sl.nodes[f.node]
	end := time.Now().Add(f.hold)
	healthy := false
	for i := 0; i < int(f.hold/soakFlap)+2 && time.Now().Before(end); i++ {
		step := time.Until(end)
		if f.kind == kTrack {
			step = min(step, soakFlap)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(step):
		}
		if f.kind == kTrack && time.Now().Before(end) {
			healthy = !healthy
			if err := n.setHealthy(healthy); err != nil {
				return err
			}
		}
	}
	return nil
}

// end ends fault f (always attempted, even if begin failed).
func (sl *soakLab) end(f soakFault) error {
	n := sl.nodes[f.node]
	switch f.kind {
	case kLinkCut:
		return n.host.SetCarrier(sl.seg, soakIf, true)
	case kStop:
		return n.groupSignal(syscall.SIGCONT)
	case kKill:
		return n.start()
	case kLoss, kDup:
		return n.host.ClearImpair(soakIf)
	case kReload:
		n.extraVIP = false
		return n.reload()
	case kTrack:
		return n.setHealthy(true)
	case kClock:
		err := n.stopGraceful()
		n.offset = 0
		if serr := n.start(); serr != nil {
			return serr
		}
		return err
	}
	return fmt.Errorf("soak: unknown fault kind %d", f.kind)
}

// reload rewrites the config and sends SIGHUP (keepalived's parent and
// govrrp both reload on it).
func (n *soakNode) reload() error {
	if err := n.writeConf(); err != nil {
		return err
	}
	if n.proc == nil {
		return fmt.Errorf("soak: %s: no daemon to reload", n.name)
	}
	return n.proc.Signal(syscall.SIGHUP)
}

// tails is the end of every daemon log, for a failure message.
func (sl *soakLab) tails() string {
	var b strings.Builder
	for _, n := range sl.nodes {
		if n.proc != nil {
			fmt.Fprintf(&b, "\n--- %s (%s) ---\n%s", n.name, n.impl, tailLines(n.proc.Log(), 20))
		}
	}
	return b.String()
}

// saveLogs copies the lab's logs and configs, and writes the fault timeline
// and the bad intervals, to dir (replacing an older run's).
func (sl *soakLab) saveLogs(t *testing.T, dir string, res *soakResult) {
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("soak: logs: %v", err)
		return
	}
	files, _ := filepath.Glob(filepath.Join(sl.lab.Dir(), "*"))
	for _, f := range files {
		if !strings.HasSuffix(f, ".log") && !strings.HasSuffix(f, ".conf") {
			continue
		}
		if b, err := os.ReadFile(f); err == nil {
			_ = os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "timeline.txt"), []byte(res.timeline()), 0o644)
	t.Logf("soak: logs, configs and timeline of %s in %s", res.trio.name, dir)
}
