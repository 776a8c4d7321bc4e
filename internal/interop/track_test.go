package interop

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// Tracking tests: a (prio 150) is master, b (100) backup, VRRPv3 IPv4 at
// 100 ms; something a tracks breaks and is repaired. Every test runs for
// every pairing; keepalived↔keepalived validates the test body, and the
// govrrp pairings skip while `govrrp run` refuses tracking keywords.
//
// Two shapes:
//   - weighted (weight -60): a's effective priority drops to 90 < 100, b
//     takes over after its master-down interval, a preempts back once the
//     track is repaired;
//   - fault (weight 0, or the instance's own interface): a goes FAULT and
//     drops its VIP at once, b takes over (at once when a could still send
//     its priority-0 advert), a returns through BACKUP to MASTER.

// trackCase is one tracked object of a on its way down and up again.
type trackCase struct {
	name            string // the track's name: reasons and status "tracks" must mention it
	breakIt, repair func(t testing.TB)
	// breakReact/repairReact bound how long the tracker may take to see the
	// change (script fall/rise counts; 0 for event-driven links and files);
	// breakMin/repairMin are protocol lower bounds (0: none).
	breakReact, repairReact time.Duration
	breakMin, repairMin     time.Duration
	// valueTrack: the object stays readable while it lowers the priority
	// (a track_file holding 60), so its status "ok" is not asserted.
	valueTrack bool
}

// okWhen is the status "ok" expected of the track: nil when not asserted.
func (tc trackCase) okWhen(v bool) *bool {
	if tc.valueTrack {
		return nil
	}
	return ptr(v)
}

// startPair starts a (tracking per spec, prio 150) and b (plain, 100) and
// waits for a to be the only master.
func startPair(t *testing.T, tl *trackLab, spec trackSpec) {
	t.Helper()
	a, b := tl.a, tl.b
	a.startTracked(t, a.trackConf(b, prioHigh, spec), prioHigh)
	b.startTracked(t, b.trackConf(a, prioLow, trackSpec{}), prioLow)
	converge(t, trackSc, a, b, a, b)
	b.expect(t, want{state: "BACKUP", eff: prioLow}, a, b)
}

// runWeighted: breaking the weighted track moves the VIP to b within the
// tracker's reaction plus b's master-down interval; repairing it brings
// the VIP back within the reaction plus a's master-down interval
// (preemption).
func runWeighted(t *testing.T, tl *trackLab, tc trackCase) {
	a, b := tl.a, tl.b
	a.expect(t, want{state: "MASTER", eff: prioHigh, track: tc.name, trackOK: tc.okWhen(true)}, a, b)

	tc.breakIt(t)
	start := time.Now()
	took := waitOnly(t, "b", start, tc.breakReact+trackSc.masterDown(prioLow)+slack, tc.name+" broken on a", a, b)
	notBefore(t, took, tc.breakMin, "VIP moved to b", a, b)
	a.expect(t, want{state: "BACKUP", eff: prioHigh + trackWeight, why: tc.name, track: tc.name, trackOK: tc.okWhen(false)}, a, b)
	b.expect(t, want{state: "MASTER", eff: prioLow}, a, b)
	t.Logf("%s broken: VIP on b after %v (bound %v + master-down %v)", tc.name, took.Round(time.Millisecond),
		tc.breakReact, trackSc.masterDown(prioLow))

	tc.repair(t)
	start = time.Now()
	took = waitOnly(t, "a", start, tc.repairReact+trackSc.masterDown(prioHigh)+slack, tc.name+" repaired on a", a, b)
	notBefore(t, took, tc.repairMin, "VIP back on a", a, b)
	a.expect(t, want{state: "MASTER", eff: prioHigh, track: tc.name, trackOK: tc.okWhen(true)}, a, b)
	b.expect(t, want{state: "BACKUP", eff: prioLow}, a, b)
	t.Logf("%s repaired: a preempted back after %v (bound %v + master-down %v)", tc.name, took.Round(time.Millisecond),
		tc.repairReact, trackSc.masterDown(prioHigh))
	stopBoth(t, trackSc, a, b)
}

// runFault: breaking the track puts a in FAULT: its VIP goes at once. With
// prio0 (a can still reach b) a sends a priority-0 advert, so b takes over
// within skew time, below its master-down interval; the capture must show
// it. Without (a lost its own link) b waits out master-down. Repairing the
// track takes a FAULT → BACKUP → MASTER (preemption).
func runFault(t *testing.T, tl *trackLab, tc trackCase, prio0 bool) {
	a, b := tl.a, tl.b
	a.expect(t, want{state: "MASTER", eff: prioHigh}, a, b)
	var capture *netlab.Capture
	if prio0 {
		var err error
		if capture, err = b.host.Capture(ifname, "ip proto 112"); err != nil {
			fail(t, err.Error(), a, b)
		}
	}

	tc.breakIt(t)
	start := time.Now()
	tA := waitVIP(t, a, false, start, tc.breakReact+faultBound, "a in FAULT ("+tc.name+")", a, b)
	notBefore(t, tA, tc.breakMin, "a dropped its VIP", a, b)
	tB := waitVIP(t, b, true, start, tA+trackSc.masterDown(prioLow)+slack, "b takes over from faulted a", a, b)
	a.expect(t, want{state: "FAULT", why: tc.name, track: tc.name, trackOK: tc.okWhen(false)}, a, b)
	b.expect(t, want{state: "MASTER", eff: prioLow}, a, b)
	t.Logf("%s broken: a's VIP gone after %v, on b after %v (b's master-down %v)", tc.name,
		tA.Round(time.Millisecond), tB.Round(time.Millisecond), trackSc.masterDown(prioLow))
	if prio0 {
		if tB-tA >= trackSc.masterDown(prioLow) {
			fail(t, fmt.Sprintf("b took over %v after a dropped its VIP, not below master-down %v: priority-0 advert on FAULT not sent or not honoured [%s]",
				tB-tA, trackSc.masterDown(prioLow), loadAvg()), a, b)
		}
		checkPriorityZero(t, capture, a, b)
	}

	before := transitionsOf(t, a)
	tc.repair(t)
	start = time.Now()
	took := waitOnly(t, "a", start, tc.repairReact+trackSc.masterDown(prioHigh)+slack, tc.name+" repaired on a", a, b)
	notBefore(t, took, tc.repairMin, "VIP back on a", a, b)
	a.expect(t, want{state: "MASTER", eff: prioHigh, track: tc.name, trackOK: tc.okWhen(true)}, a, b)
	b.expect(t, want{state: "BACKUP", eff: prioLow}, a, b)
	if after := transitionsOf(t, a); a.impl == govrrp && after[0]-before[0] != 2 {
		fail(t, fmt.Sprintf("a made %d transitions from FAULT to MASTER, want 2 (FAULT→BACKUP→MASTER)", after[0]-before[0]), a, b)
	}
	t.Logf("%s repaired: a MASTER again after %v (bound %v + master-down %v)", tc.name, took.Round(time.Millisecond),
		tc.repairReact, trackSc.masterDown(prioHigh))
	stopBoth(t, trackSc, a, b)
}

// scriptCase is a's check.sh failing and passing again.
func scriptCase(a *node) trackCase {
	return trackCase{
		name:        "chk",
		breakIt:     func(t testing.TB) { a.setHealthy(t, false) },
		repair:      func(t testing.TB) { a.setHealthy(t, true) },
		breakReact:  scriptReact(scriptFall),
		repairReact: scriptReact(scriptRise),
		breakMin:    scriptNotBefore(scriptFall),
		repairMin:   scriptNotBefore(scriptRise),
	}
}

// scriptSpec tracks vrrp_script chk with weight; govrrp nodes get the
// definition after the instance (order-free resolution), keepalived nodes
// before it (2.2.7 ignores late definitions, see checkLateScriptIgnored).
func scriptSpec(t *testing.T, a *node, weight int) trackSpec {
	return trackSpec{
		defs:     []string{vrrpScript("chk", a.checkScript(t), weight)},
		instance: []string{"track_script {\n    chk\n}"},
		lateDefs: a.impl == govrrp,
	}
}

// checkLateScriptIgnored documents why keepalived nodes get vrrp_script
// first: keepalived 2.2.7 drops the track_script reference to a script
// defined further down, so the instance would track nothing.
func checkLateScriptIgnored(t *testing.T, a, b *node, spec trackSpec) {
	t.Helper()
	spec.lateDefs = true
	out := a.keepalivedConfigTest(t, a.trackConf(b, prioHigh, spec))
	if !strings.Contains(out, "track script chk not found") {
		t.Fatalf("keepalived -t on a config with vrrp_script after its vrrp_instance no longer says it ignores the reference (govrrp's order-free resolution is then no longer a difference):\n%s", out)
	}
}

// TestTrackScriptFailover: vrrp_script chk (interval 1 s, fall 2, rise 2,
// weight -60) on a fails: the VIP moves to b; it passes again: a preempts.
func TestTrackScriptFailover(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			tl := newTrackLab(t, p, false)
			spec := scriptSpec(t, tl.a, trackWeight)
			if tl.a.impl == keepalived {
				checkLateScriptIgnored(t, tl.a, tl.b, spec)
			}
			startPair(t, tl, spec)
			runWeighted(t, tl, scriptCase(tl.a))
		})
	}
}

// TestTrackScriptWeightZeroFault: the same script with weight 0: failing
// puts a in FAULT (VIP gone, priority-0 advert), passing brings it back.
func TestTrackScriptWeightZeroFault(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			tl := newTrackLab(t, p, false)
			startPair(t, tl, scriptSpec(t, tl.a, 0))
			runFault(t, tl, scriptCase(tl.a), true)
		})
	}
}

// TestOwnInterfaceFault: a's eth0 loses carrier (its switch port goes
// down). By default the instance tracks its own interface: a goes FAULT
// and drops the VIP at once, b takes over after its master-down interval
// (no advert crosses a dead link), carrier back brings a through BACKUP to
// MASTER. With dont_track_primary a ignores the link: it stays MASTER
// with the VIP while b, hearing nothing, becomes master too; once the link
// is back b hears a's higher priority and yields.
func TestOwnInterfaceFault(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			t.Run("track_primary", func(t *testing.T) {
				t.Parallel()
				tl := newTrackLab(t, p, false)
				startPair(t, tl, trackSpec{})
				runFault(t, tl, carrierCase(tl.a, tl.lan, ifname), false)
			})
			t.Run("dont_track_primary", func(t *testing.T) {
				t.Parallel()
				tl := newTrackLab(t, p, false)
				startPair(t, tl, trackSpec{instance: []string{"dont_track_primary"}})
				runDontTrackPrimary(t, tl)
			})
		})
	}
}

// carrierCase is host a's ifname, wired to seg, losing and regaining
// carrier. Each step returns once the kernel reports the change (IFF_RUNNING)
// — the moment the daemons' netlink sockets are told — so the clocks of
// the runners start there: the kernel's linkwatch defers a non-urgent
// carrier event by up to a second (linkwatchMax), and a veth whose
// ifindex happens to equal its peer's (eth1 ↔ the wan switch port, both
// 3) counts as non-urgent. Past that point link tracking is event-driven:
// no reaction time beyond slack.
func carrierCase(a *node, seg *netlab.Segment, ifn string) trackCase {
	set := func(t testing.TB, up bool) {
		t.Helper()
		cut := time.Now()
		if err := a.host.SetCarrier(seg, ifn, up); err != nil {
			t.Fatal(err)
		}
		if err := a.host.WaitCarrier(context.Background(), ifn, up, linkwatchMax+slack); err != nil {
			t.Fatal(err)
		}
		t.Logf("a %s carrier up=%v seen by the kernel after %v", ifn, up, time.Since(cut).Round(time.Millisecond))
	}
	return trackCase{
		name:    ifn,
		breakIt: func(t testing.TB) { set(t, false) },
		repair:  func(t testing.TB) { set(t, true) },
	}
}

// runDontTrackPrimary: with dont_track_primary a keeps MASTER and its VIP
// through a carrier loss of its own interface (both nodes master while
// partitioned); with carrier back b yields within an advert interval.
func runDontTrackPrimary(t *testing.T, tl *trackLab) {
	a, b := tl.a, tl.b
	a.expect(t, want{state: "MASTER", eff: prioHigh}, a, b)
	tc := carrierCase(a, tl.lan, ifname)

	tc.breakIt(t)
	start := time.Now()
	took := waitOnly(t, "a,b", start, trackSc.masterDown(prioLow)+slack, "a's carrier cut with dont_track_primary", a, b)
	if _, err := holdOwner(3*trackSc.advert, sampleEvery(trackSc.advert), vip4, "a,b", a, b); err != nil {
		fail(t, "partitioned with dont_track_primary: "+err.Error(), a, b)
	}
	a.expect(t, want{state: "MASTER", eff: prioHigh}, a, b)
	b.expect(t, want{state: "MASTER", eff: prioLow}, a, b)
	t.Logf("dont_track_primary: carrier cut, a kept the VIP, b master too after %v (master-down %v)",
		took.Round(time.Millisecond), trackSc.masterDown(prioLow))

	tc.repair(t)
	start = time.Now()
	took = waitOnly(t, "a", start, trackSc.advert+slack, "a's carrier back", a, b)
	a.expect(t, want{state: "MASTER", eff: prioHigh}, a, b)
	b.expect(t, want{state: "BACKUP", eff: prioLow}, a, b)
	t.Logf("dont_track_primary: carrier back, b yielded after %v (advert interval %v)", took.Round(time.Millisecond), trackSc.advert)
	stopBoth(t, trackSc, a, b)
}

// TestTrackInterface: a tracks eth1 (on a second segment). With weight -60
// its carrier loss moves the VIP to b; with no weight (0) a goes FAULT.
func TestTrackInterface(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			t.Run("weight-60", func(t *testing.T) {
				t.Parallel()
				tl := newTrackLab(t, p, true)
				startPair(t, tl, trackSpec{instance: []string{fmt.Sprintf("track_interface {\n    %s weight %d\n}", wanIf, trackWeight)}})
				runWeighted(t, tl, carrierCase(tl.a, tl.wan, wanIf))
			})
			t.Run("weight0", func(t *testing.T) {
				t.Parallel()
				tl := newTrackLab(t, p, true)
				startPair(t, tl, trackSpec{instance: []string{fmt.Sprintf("track_interface {\n    %s\n}", wanIf)}})
				runFault(t, tl, carrierCase(tl.a, tl.wan, wanIf), true)
			})
		})
	}
}

// TestTrackFile: track_file tf_prio (weight -1) on a: writing 60 makes the
// effective priority 150 + 60×(-1) = 90 < 100 and the VIP moves to b;
// writing 0 brings it back. Files are watched (inotify): no reaction time
// beyond slack.
func TestTrackFile(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			tl := newTrackLab(t, p, false)
			a := tl.a
			path := a.file("prio")
			writeFile(t, path, "0\n", 0o644)
			startPair(t, tl, trackSpec{
				defs:     []string{trackFileBlock("tf_prio", path, -1)},
				instance: []string{"track_file {\n    tf_prio\n}"},
			})
			runWeighted(t, tl, trackCase{
				name:       "tf_prio",
				valueTrack: true,
				breakIt:    func(t testing.TB) { writeFile(t, path, fmt.Sprintf("%d\n", -trackWeight), 0o644) },
				repair:     func(t testing.TB) { writeFile(t, path, "0\n", 0o644) },
			})
		})
	}
}

// TestNotifyArgs: both nodes run notify_master/backup/fault/stop and a
// generic notify script that log their argv; a then b go through start-up
// (BACKUP → MASTER for a alone, BACKUP for b), a FAULT (track_file weight
// 0) and its recovery (BACKUP → MASTER by preemption), and a stop each.
// Every node's argv log must equal what keepalived 2.2.7 writes for the
// same role (notifyGolden, which the keepalived↔keepalived run proves).
func TestNotifyArgs(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			runNotify(t, p)
		})
	}
}
