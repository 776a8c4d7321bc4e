package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// vrrp_track_process and track_src_ip on a govrrp master a (prio 150)
// with a keepalived or govrrp backup b (100): VRRPv3, IPv4, 100 ms, the
// two-host lab of track_test.go. Only govrrp is ever on a: keepalived
// 2.2.7 cannot do either in this lab (see each test).

// procScanEvery is govrrp's /proc scan interval for vrrp_track_process
// inside a network namespace, where the kernel's process events connector
// refuses subscriptions: internal/track's unexported procScanEvery (1 s).
// With no fork_delay/terminate_delay a start or an exit is reported at
// the first scan after it, so at most this late.
const procScanEvery = time.Second

// gvPairings are the pairings with govrrp on a.
var gvPairings = []pairing{{govrrp, keepalived}, {govrrp, govrrp}}

// trackedProc is a long sleep under a name of its own (a copy of sleep
// named gvtrk-<random>, 14 bytes: within the 15 of /proc/PID/comm) run
// in a host's namespace. The name must be unique: a network namespace
// does not isolate processes, every daemon's /proc scan sees every lab's.
type trackedProc struct {
	host *netlab.Host
	name string // comm, and what `process` in vrrp_track_process matches
	path string
	proc *netlab.Proc // nil while not running
}

func newTrackedProc(t testing.TB, h *netlab.Host) *trackedProc {
	t.Helper()
	src, err := netlab.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("gvtrk-%08x", rand.Uint32())
	path := filepath.Join(h.Lab().Dir(), name)
	if err := copyFile(src, path, 0o755); err != nil {
		t.Fatalf("interop: %v", err)
	}
	return &trackedProc{host: h, name: name, path: path}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// start runs it (a netlab.Proc: the lab SIGKILLs it at Close, on every
// path) and returns once the exec is done, i.e. once /proc shows its
// comm — the moment a scan can see it.
func (p *trackedProc) start(t testing.TB) {
	t.Helper()
	proc, err := p.host.Start("gvtrk", p.path, "3600")
	if err != nil {
		t.Fatal(err)
	}
	p.proc = proc
	comm := fmt.Sprintf("/proc/%d/comm", proc.Pid())
	err = netlab.WaitFor(context.Background(), startupMargin, 5*time.Millisecond, func() (bool, error) {
		if proc.Exited() {
			return false, netlab.Permanent(fmt.Errorf("%s exited: %s", p.name, proc.Log()))
		}
		b, err := os.ReadFile(comm)
		if err != nil {
			return false, err
		}
		got := strings.TrimSpace(string(b))
		return got == p.name, fmt.Errorf("comm %q, want %q", got, p.name)
	})
	if err != nil {
		t.Fatalf("interop: %s on %s: %v", p.name, p.host.Short(), err)
	}
}

// stop SIGKILLs it and returns once it is reaped (gone from /proc).
func (p *trackedProc) stop(t testing.TB) {
	t.Helper()
	if err := p.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	p.proc = nil
}

// trackRow is a "tracks" entry of `govrrp status --json` with the method.
type trackRow struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	OK     *bool  `json:"ok"`
	Detail string `json:"detail"`
	Method string `json:"method"`
}

// trackRowOf returns the status row of a govrrp node's track name; it
// fails when status has no "tracks" or no such row (the tracking tests'
// want.check tolerates a daemon without "tracks"; these do not).
func trackRowOf(t testing.TB, n *node, name string, all ...*node) trackRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.host.Exec(ctx, govrrpBin(t), "status", "--socket", n.host.GovrrpSocket(), "--json")
	if err != nil {
		fail(t, fmt.Sprintf("status of %s: %v: %s", n.name, err, out), all...)
	}
	var doc struct {
		Instances []struct {
			Tracks []trackRow `json:"tracks"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Instances) != 1 {
		fail(t, fmt.Sprintf("status of %s: %v: %s", n.name, err, out), all...)
	}
	for _, r := range doc.Instances[0].Tracks {
		if r.Name == name {
			return r
		}
	}
	fail(t, fmt.Sprintf("status of %s has no track %q: %s", n.name, name, out), all...)
	return trackRow{}
}

// TestTrackProcess: a tracks `vrrp_track_process chk_proc { process
// gvtrk-… weight -60 }`, the process running in a's namespace before
// govrrp starts. Killing it drops a's effective priority to 90 < 100: the
// VIP moves to b within a scan interval plus b's master-down interval;
// starting it again brings a back by preemption within a scan interval
// plus a's master-down interval. Status shows chk_proc (method
// proc-scan: no connector in a namespace) ok false and 90 meanwhile.
//
// Only govrrp carries the track. keepalived 2.2.7 in a network namespace
// logs "Failed to set/clear process event listen - errno 111 - Connection
// refused" (the kernel serves process events to the initial network
// namespace only), never scans /proc instead and treats the process as not
// running although it is: with weight -60 it logs "Changing effective
// priority from 150 to 90" at start-up and stays there for good (with
// weight 0 it logs "entering FAULT state (tracked process chk_proc quorum
// not achieved)" and stays in FAULT). The ka-ka subtest checks exactly
// that: with the process running, keepalived a logs both lines and b
// (100) ends up with the VIP.
func TestTrackProcess(t *testing.T) {
	t.Parallel()
	t.Run("ka-ka", func(t *testing.T) {
		t.Parallel()
		checkKeepalivedProcTrackRefused(t)
	})
	for _, p := range gvPairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			tl := newTrackLab(t, p, false)
			sp := newTrackedProc(t, tl.a.host)
			sp.start(t)
			startPair(t, tl, procSpec(sp))
			a := tl.a
			if r := trackRowOf(t, a, "chk_proc", tl.a, tl.b); r.Method != "proc-scan" {
				fail(t, fmt.Sprintf("chk_proc method %q (%s), want proc-scan inside a network namespace", r.Method, r.Detail), tl.a, tl.b)
			}
			runProcess(t, tl, sp)
		})
	}
}

// procSpec tracks sp with weight -60.
func procSpec(sp *trackedProc) trackSpec {
	return trackSpec{
		defs:     []string{fmt.Sprintf("vrrp_track_process chk_proc {\n    process %s\n    weight %d\n}\n", sp.name, trackWeight)},
		instance: []string{"track_process {\n    chk_proc\n}"},
	}
}

// runProcess is runWeighted with the "tracks" row required.
func runProcess(t *testing.T, tl *trackLab, sp *trackedProc) {
	a, b := tl.a, tl.b
	a.expect(t, want{state: "MASTER", eff: prioHigh, track: "chk_proc", trackOK: ptr(true)}, a, b)

	sp.stop(t)
	start := time.Now()
	took := waitOnly(t, "b", start, procScanEvery+trackSc.masterDown(prioLow)+slack, sp.name+" killed on a", a, b)
	a.expect(t, want{state: "BACKUP", eff: prioHigh + trackWeight, why: "chk_proc", track: "chk_proc", trackOK: ptr(false)}, a, b)
	b.expect(t, want{state: "MASTER", eff: prioLow}, a, b)
	r := trackRowOf(t, a, "chk_proc", a, b)
	if r.OK == nil || *r.OK {
		fail(t, fmt.Sprintf("chk_proc row %+v with %s dead, want ok false", r, sp.name), a, b)
	}
	t.Logf("%s killed: VIP on b after %v (bound scan %v + master-down %v); chk_proc %q", sp.name,
		took.Round(time.Millisecond), procScanEvery, trackSc.masterDown(prioLow), r.Detail)

	sp.start(t)
	start = time.Now()
	took = waitOnly(t, "a", start, procScanEvery+trackSc.masterDown(prioHigh)+slack, sp.name+" started again on a", a, b)
	a.expect(t, want{state: "MASTER", eff: prioHigh, track: "chk_proc", trackOK: ptr(true)}, a, b)
	b.expect(t, want{state: "BACKUP", eff: prioLow}, a, b)
	t.Logf("%s started again: a preempted back after %v (bound scan %v + master-down %v)", sp.name,
		took.Round(time.Millisecond), procScanEvery, trackSc.masterDown(prioHigh))
	stopBoth(t, trackSc, a, b)
}

// checkKeepalivedProcTrackRefused: keepalived a with the running process
// tracked (weight -60) is refused the connector and sits at 90, so plain
// keepalived b (100) is the master.
func checkKeepalivedProcTrackRefused(t *testing.T) {
	tl := newTrackLab(t, pairing{keepalived, keepalived}, false)
	a, b := tl.a, tl.b
	sp := newTrackedProc(t, a.host)
	sp.start(t)
	a.start(a.trackConf(b, prioHigh, procSpec(sp)), prioHigh)
	b.start(b.trackConf(a, prioLow, trackSpec{}), prioLow)
	lines := []string{
		"Failed to set/clear process event listen - errno 111",
		fmt.Sprintf("Changing effective priority from %d to %d", prioHigh, prioHigh+trackWeight),
	}
	err := netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		log := a.proc.Log()
		for _, l := range lines {
			if !strings.Contains(log, l) {
				return false, fmt.Errorf("keepalived a has not logged %q", l)
			}
		}
		return true, nil
	})
	if err != nil {
		fail(t, fmt.Sprintf("keepalived 2.2.7 tracking a running process in a network namespace no longer behaves as documented (then govrrp's proc-scan is no longer a difference): %v", err), a, b)
	}
	// b (100) wins over a's effective 90: each may have been master first.
	timeout := startupMargin + trackSc.masterDown(prioHigh+trackWeight) + trackSc.masterDown(prioLow)
	if err := waitOwner(timeout, sampleEvery(trackSc.advert), vip4, "b", a, b); err != nil {
		fail(t, "keepalived b (100) never the only VIP holder against keepalived a at 90: "+err.Error(), a, b)
	}
	if _, err := holdOwner(3*trackSc.advert, sampleEvery(trackSc.advert), vip4, "b", a, b); err != nil {
		fail(t, "keepalived a at 90 with its tracked process running: "+err.Error(), a, b)
	}
	t.Logf("keepalived a: connector refused, effective priority 90 with %s running; b master", sp.name)
	stopBoth(t, trackSc, a, b)
}

// srcIP is a's extra address on eth0, the source of its adverts
// (mcast_src_ip), tracked with track_src_ip. 192.0.2.11 stays primary, so
// this is a secondary address: deleting it removes nothing else.
var srcIP = netip.MustParsePrefix("192.0.2.21/24")

// setSrcIP adds or deletes srcIP on a's eth0 (`ip addr add|del`).
func setSrcIP(t testing.TB, n *node, present bool) {
	t.Helper()
	ip, err := netlab.LookPath("ip")
	if err != nil {
		t.Fatal(err)
	}
	op := "del"
	if present {
		op = "add"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := n.host.Exec(ctx, ip, "addr", op, srcIP.String(), "dev", ifname); err != nil {
		t.Fatalf("interop: %v: %s", err, out)
	}
}

// TestTrackSrcIP: a sends its adverts from srcIP (mcast_src_ip) and has
// track_src_ip. Deleting the address puts a in FAULT at once: VIP gone,
// a priority-0 advert (from the missing address: the wire shows it), so b
// takes over within its skew time (+ event delivery), below the
// master-down − advert it would take without it; a stays silent while
// FAULT. Adding the address back takes a FAULT →
// BACKUP → MASTER, the last step by preemption after a's master-down
// interval.
//
// Deliberate difference: keepalived 2.2.7 does nothing of this. With the
// same config (mcast_src_ip 192.0.2.21 + track_src_ip) keepalived a stays
// MASTER with the VIP when the address is deleted, logs nothing, and goes
// on sending priority-150 adverts from the absent 192.0.2.21 (it builds
// the IP header itself). The same holds when the address is the
// interface's only IPv4 address (it logs "Deassigned address 192.0.2.21
// from interface eth0" and stays MASTER) and when it is missing at start-up
// (keepalived becomes MASTER sending from it). keepalived's netlink code
// downs a track_src_ip instance only on deletion of what it holds as the
// interface's sole address, and in 2.2.7 not even then. So there is no
// ka-ka reference here, and no ka on a: govrrp implements what
// keepalived.conf(5) promises ("if the source IP address is removed ...
// the instance goes to fault state").
func TestTrackSrcIP(t *testing.T) {
	t.Parallel()
	for _, p := range gvPairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			tl := newTrackLab(t, p, false)
			setSrcIP(t, tl.a, true)
			startPair(t, tl, trackSpec{instance: []string{"mcast_src_ip " + srcIP.Addr().String(), "track_src_ip"}})
			runSrcIP(t, tl)
		})
	}
}

// runSrcIP is runFault for srcIP, with the wire checked for the source
// of a's adverts, its priority-0 advert and its silence in FAULT.
func runSrcIP(t *testing.T, tl *trackLab) {
	a, b := tl.a, tl.b
	name := "addr:" + srcIP.Addr().String() // track.AddrResultName
	a.expect(t, want{state: "MASTER", eff: prioHigh, track: name, trackOK: ptr(true)}, a, b)
	if r := trackRowOf(t, a, name, a, b); r.OK == nil || !*r.OK {
		fail(t, fmt.Sprintf("%s row %+v with the address present, want ok true", name, r), a, b)
	}
	capture, err := b.host.Capture(ifname, "ip proto 112")
	if err != nil {
		fail(t, err.Error(), a, b)
	}
	// a keeps the VIP for 3 advert intervals: the capture holds adverts of
	// a at 150 from srcIP, and b's master-down timer was just restarted.
	if _, err := holdOwner(3*trackSc.advert, sampleEvery(trackSc.advert), vip4, "a", a, b); err != nil {
		fail(t, "a master from "+srcIP.Addr().String()+": "+err.Error(), a, b)
	}

	setSrcIP(t, a, false)
	start := time.Now()
	tA := waitVIP(t, a, false, start, faultBound, "a in FAULT ("+name+" deleted)", a, b)
	tB := waitVIP(t, b, true, start, tA+trackSc.masterDown(prioLow)+slack, "b takes over from faulted a", a, b)
	a.expect(t, want{state: "FAULT", why: srcIP.Addr().String(), track: name, trackOK: ptr(false)}, a, b)
	b.expect(t, want{state: "MASTER", eff: prioLow}, a, b)
	r := trackRowOf(t, a, name, a, b)
	if r.OK == nil || *r.OK {
		fail(t, fmt.Sprintf("%s row %+v with the address deleted, want ok false", name, r), a, b)
	}
	// Without a priority-0 advert b takes over master-down after a's last
	// advert, which came at most one interval before the deletion: not
	// before master-down − advert. With it, after b's skew time.
	if bound := trackSc.masterDown(prioLow) - trackSc.advert; tB >= bound {
		fail(t, fmt.Sprintf("b took over %v after the deletion, not below master-down − advert %v (skew %v): priority-0 advert on FAULT not sent or not honoured [%s]",
			tB, bound, time.Duration(256-prioLow)*trackSc.advert/256, loadAvg()), a, b)
	}
	if _, err := holdOwner(3*trackSc.advert, sampleEvery(trackSc.advert), vip4, "b", a, b); err != nil {
		fail(t, "a in FAULT: "+err.Error(), a, b)
	}
	checkSrcIPWire(t, capture, a, b)
	t.Logf("%s deleted: a's VIP gone after %v, on b after %v (b's master-down %v); %s %q", srcIP,
		tA.Round(time.Millisecond), tB.Round(time.Millisecond), trackSc.masterDown(prioLow), name, r.Detail)

	before := transitionsOf(t, a)
	setSrcIP(t, a, true)
	start = time.Now()
	took := waitOnly(t, "a", start, trackSc.masterDown(prioHigh)+slack, srcIP.String()+" back on a", a, b)
	notBefore(t, took, trackSc.masterDown(prioHigh)-trackSc.advert/10, "a preempted from BACKUP", a, b)
	a.expect(t, want{state: "MASTER", eff: prioHigh, track: name, trackOK: ptr(true)}, a, b)
	b.expect(t, want{state: "BACKUP", eff: prioLow}, a, b)
	if after := transitionsOf(t, a); after[0]-before[0] != 2 {
		fail(t, fmt.Sprintf("a made %d transitions from FAULT to MASTER, want 2 (FAULT→BACKUP→MASTER)", after[0]-before[0]), a, b)
	}
	t.Logf("%s back: a MASTER again after %v (master-down %v)", srcIP, took.Round(time.Millisecond), trackSc.masterDown(prioHigh))
	stopBoth(t, trackSc, a, b)
}

// checkSrcIPWire wants the capture on b (from before the deletion until
// a has been FAULT for 3 advert intervals) to show a advertising from
// srcIP at 150, then one priority-0 advert from srcIP, then nothing from a.
func checkSrcIPWire(t testing.TB, c *netlab.Capture, all ...*node) {
	t.Helper()
	path, err := c.Stop()
	if err != nil {
		fail(t, err.Error(), all...)
	}
	text, err := netlab.ReadPcap(path)
	if err != nil {
		fail(t, err.Error(), all...)
	}
	// The priority-0 advert cannot leave from the deleted address: govrrp
	// sends it from a's primary address instead. Nothing from a after it.
	from := func(src netip.Addr) string {
		return fmt.Sprintf(" %s > 224.0.0.18: VRRPv3, Advertisement, vrid %d, prio ", src, vrid)
	}
	var seen150, seen0, afterZero int
	for _, line := range strings.Split(text, "\n") {
		_, rest, fromSrc := strings.Cut(line, from(srcIP.Addr()))
		_, restPrimary, fromPrimary := strings.Cut(line, from(aPrimary))
		switch {
		case !fromSrc && !fromPrimary:
		case seen0 > 0:
			afterZero++
		case fromSrc && strings.HasPrefix(rest, fmt.Sprintf("%d,", prioHigh)):
			seen150++
		case strings.HasPrefix(rest, "0,"), strings.HasPrefix(restPrimary, "0,"):
			seen0++
		}
	}
	if seen150 == 0 || seen0 != 1 || afterZero != 0 {
		fail(t, fmt.Sprintf("adverts from %s: %d at prio %d; priority 0 from it or %s: %d, then %d more; want >0, 1, 0; capture:\n%s",
			srcIP.Addr(), seen150, prioHigh, aPrimary, seen0, afterZero, tailLines(text, 30)), all...)
	}
}

// aPrimary is a's primary address on the front segment.
var aPrimary = netip.MustParseAddr("192.0.2.11")
