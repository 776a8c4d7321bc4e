package daemon

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// Make before break (release.go): a stopped master keeps its VIPs until the
// new master's first advert. All times below are synctest's fake clock, so
// they are the protocol's own (Skew_Time, Master_Down_Interval) exactly.

// timeline records what happens on the segment and to each node's VIPs and
// notifications, with the fake time since start.
type timeline struct {
	mu     sync.Mutex
	start  time.Time
	events []tlEvent
}

type tlEvent struct {
	at   time.Duration
	what string
}

func newTimeline() *timeline { return &timeline{start: time.Now()} }

func (tl *timeline) add(what string) {
	tl.mu.Lock()
	tl.events = append(tl.events, tlEvent{time.Since(tl.start), what})
	tl.mu.Unlock()
}

// first is when what first happened, false if never.
func (tl *timeline) first(what string) (time.Duration, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, e := range tl.events {
		if e.what == what {
			return e.at, true
		}
	}
	return 0, false
}

// of lists what happened whose text starts with prefix, in order.
func (tl *timeline) of(prefix string) []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []string
	for _, e := range tl.events {
		if strings.HasPrefix(e.what, prefix) {
			out = append(out, e.what)
		}
	}
	return out
}

// recAddrs records a node's VIP additions and removals.
type recAddrs struct {
	addrOps
	tl  *timeline
	who string
}

func (r *recAddrs) Add(a vip.Address) error {
	r.tl.add(r.who + " +" + a.Prefix.String())
	return r.addrOps.Add(a)
}

func (r *recAddrs) Remove(a vip.Address) error {
	r.tl.add(r.who + " -" + a.Prefix.String())
	return r.addrOps.Remove(a)
}

// recNotifier records a node's notifications.
type recNotifier struct {
	fakeNotifier
	tl  *timeline
	who string
}

func (r *recNotifier) Transition(in, state string, prio int) {
	r.tl.add(fmt.Sprintf("%s notify %s %s %d", r.who, in, state, prio))
}

// recording makes a node report to tl under who.
func recording(tl *timeline, who string) func(*deps) {
	return func(dp *deps) {
		dp.addrs = &recAddrs{addrOps: dp.addrs, tl: tl, who: who}
		dp.notifier = func(*kaconf.Config, *slog.Logger) (notifier, error) { return &recNotifier{tl: tl, who: who}, nil }
	}
}

// tapAdverts records every advert on seg as "advert SRC vrid V prio P"
// (the VRRP header's second and third bytes, in v2 and v3 alike) until the
// test ends.
func tapAdverts(t *testing.T, seg *transport.Segment, tl *timeline) {
	conn := seg.Attach(netip.MustParseAddr("192.0.2.99"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, m, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 3 {
				tl.add(fmt.Sprintf("advert %s vrid %d prio %d", m.Src, buf[1], buf[2]))
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
}

const mbbConf = `vrrp_instance VI_%[1]d {
    state %[2]s
    interface eth0
    virtual_router_id %[3]d
    priority %[4]d
    advert_int %[5]s
    %[6]s
    virtual_ipaddress {
        192.0.2.%[3]d/24
    }
}
`

func mbbInstance(n int, state string, prio int, interval, extra string) string {
	return fmt.Sprintf(mbbConf, n, state, 100+n, prio, interval, extra)
}

// stopAsync starts n's graceful stop without waiting for it.
func stopAsync(n *node) { n.cancel() }

// waitDone waits (fake time) at most limit for n's run to return.
func waitDone(t *testing.T, n *node, limit time.Duration) {
	t.Helper()
	select {
	case err := <-n.done:
		if err != nil {
			t.Fatalf("daemon: %v", err)
		}
	case <-time.After(limit):
		t.Fatalf("the stopped daemon still runs after %v", limit)
	}
}

// onLoop runs fn on n's loop (which owns the daemon's fields) and waits.
func onLoop(n *node, fn func()) {
	done := make(chan struct{})
	n.d.events <- loopEvent{do: func() { fn(); close(done) }}
	<-done
}

// counts is how many instances n runs and how many still release.
func counts(n *node) (instances, releasing int) {
	onLoop(n, func() { instances, releasing = len(n.d.instances), len(n.d.releasing) })
	return instances, releasing
}

func running(n *node) bool {
	select {
	case err := <-n.done:
		n.done <- err
		return false
	default:
		return true
	}
}

func TestMakeBeforeBreakHoldsVIPUntilNewMasterAdvertises(t *testing.T) {
	for _, tc := range []struct {
		name, interval, extra string
		skew                  time.Duration // Skew_Time of the priority-100 backup
	}{
		{"v2 1s", "1", "", 609375 * time.Microsecond},
		{"v3 50ms", "0.05", "version 3", 30468750 * time.Nanosecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				tl := newTimeline()
				tapAdverts(t, seg, tl)
				a := startNodeWith(t, seg, "192.0.2.11", mbbInstance(1, "MASTER", 150, tc.interval, tc.extra), recording(tl, "a"))
				b := startNodeWith(t, seg, "192.0.2.12", mbbInstance(1, "BACKUP", 100, tc.interval, tc.extra), recording(tl, "b"))
				time.Sleep(5 * time.Second)
				if a.state() != "MASTER" || b.state() != "BACKUP" {
					t.Fatalf("states %s %s, want MASTER BACKUP", a.state(), b.state())
				}

				stopped := time.Since(tl.start)
				stopAsync(a)
				synctest.Wait()
				if at, ok := tl.first("advert 192.0.2.11 vrid 101 prio 0"); !ok || at != stopped {
					t.Fatalf("priority-0 advert at %v (seen %v), want at the stop %v", at, ok, stopped)
				}
				time.Sleep(tc.skew - time.Millisecond)
				synctest.Wait()
				if !a.addrs.holds("192.0.2.101/24") || b.addrs.holds("192.0.2.101/24") || !running(a) {
					t.Fatalf("before the backup's Skew_Time: VIP on a=%v b=%v, a running %v; want only a, running",
						a.addrs.holds("192.0.2.101/24"), b.addrs.holds("192.0.2.101/24"), running(a))
				}
				waitDone(t, a, 2*time.Millisecond)
				synctest.Wait() // the tap may not have recorded b's advert yet

				takeover, ok := tl.first("advert 192.0.2.12 vrid 101 prio 100")
				released, rok := tl.first("a -192.0.2.101/24")
				if !ok || !rok || takeover != stopped+tc.skew || released != takeover {
					t.Errorf("b's first advert at %v (%v), a's VIP removed at %v (%v); want both at stop %v + skew %v",
						takeover, ok, released, rok, stopped, tc.skew)
				}
				if !b.addrs.holds("192.0.2.101/24") {
					t.Error("the new master has no VIP")
				}
				// keepalived's order: VIPs down, then notify_stop.
				want := []string{"a notify VI_1 BACKUP 150", "a +192.0.2.101/24", "a notify VI_1 MASTER 150", "a -192.0.2.101/24", "a notify VI_1 STOP 150"}
				if d := cmp.Diff(want, tl.of("a ")); d != "" {
					t.Errorf("a's VIPs and notifications (-want +got):\n%s", d)
				}
				b.stop(t)
			})
		})
	}
}

// With nobody to take over, the VIPs go after Master_Down_Interval; with an
// interval long enough that it exceeds the stop budget, after the budget.
func TestMakeBeforeBreakWithoutBackup(t *testing.T) {
	for _, tc := range []struct {
		name, interval string
		want           time.Duration
		reason         string
	}{
		// 3 s + (256-150)/256 s
		{"master-down interval", "1", 3*time.Second + 414062500*time.Nanosecond, "no new master advertised within 3.414s; VIPs released"},
		// 9.414 s would exceed it
		{"stop budget", "3", releaseBudget, "stop budget of 4s spent before a new master advertised; VIPs released"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				tl := newTimeline()
				a := startNodeWith(t, seg, "192.0.2.11", mbbInstance(1, "MASTER", 150, tc.interval, ""), recording(tl, "a"))
				time.Sleep(15 * time.Second)
				if a.state() != "MASTER" {
					t.Fatalf("state %s, want MASTER", a.state())
				}
				stopped := time.Since(tl.start)
				stopAsync(a)
				time.Sleep(tc.want - time.Millisecond)
				synctest.Wait()
				if !a.addrs.holds("192.0.2.101/24") || !running(a) {
					t.Fatalf("VIP gone (%v) or stopped (%v) before %v", !a.addrs.holds("192.0.2.101/24"), !running(a), tc.want)
				}
				waitDone(t, a, 2*time.Millisecond)
				if at, ok := tl.first("a -192.0.2.101/24"); !ok || at != stopped+tc.want {
					t.Errorf("VIP removed at %v (%v), want %v after the stop at %v", at, ok, tc.want, stopped)
				}
				if got := a.d.instances[0].snapshot().Reason; got != tc.reason {
					t.Errorf("reason %q, want %q", got, tc.reason)
				}
			})
		})
	}
}

// --release-vips=immediate: the RFC's stop, VIPs gone with the priority-0
// advert.
func TestReleaseImmediateRemovesWithThePriorityZeroAdvert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		tl := newTimeline()
		tapAdverts(t, seg, tl)
		a := newNode(t, seg, "192.0.2.11", mbbInstance(1, "MASTER", 150, "1", ""), recording(tl, "a"))
		a.d.opts.ReleaseVIPs = ReleaseImmediate
		a.start()
		b := startNodeWith(t, seg, "192.0.2.12", mbbInstance(1, "BACKUP", 100, "1", ""), recording(tl, "b"))
		time.Sleep(5 * time.Second)
		stopped := time.Since(tl.start)
		a.stop(t)
		if at, ok := tl.first("a -192.0.2.101/24"); !ok || at != stopped {
			t.Errorf("VIP removed at %v (%v), want with the priority-0 advert at %v", at, ok, stopped)
		}
		time.Sleep(time.Second)
		if b.state() != "MASTER" {
			t.Errorf("b is %s, want MASTER", b.state())
		}
		b.stop(t)
	})
}

// Several masters stop in parallel: every priority-0 advert goes out at
// once, and each instance lets go when its own successor advertises
// (Skew_Time of a priority-100 and a priority-50 backup), not one after the
// other.
func TestMakeBeforeBreakInstancesReleaseInParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		tl := newTimeline()
		tapAdverts(t, seg, tl)
		a := startNodeWith(t, seg, "192.0.2.11", mbbInstance(1, "MASTER", 150, "1", "")+mbbInstance(2, "MASTER", 150, "1", ""), recording(tl, "a"))
		b := startNodeWith(t, seg, "192.0.2.12", mbbInstance(1, "BACKUP", 100, "1", "")+mbbInstance(2, "BACKUP", 50, "1", ""), recording(tl, "b"))
		time.Sleep(5 * time.Second)
		stopped := time.Since(tl.start)
		stopAsync(a)
		waitDone(t, a, time.Second)
		synctest.Wait() // let the tap record what is on the segment
		for _, c := range []struct {
			vrid int
			skew time.Duration
		}{{101, 609375 * time.Microsecond}, {102, 804687500 * time.Nanosecond}} {
			zero, _ := tl.first(fmt.Sprintf("advert 192.0.2.11 vrid %d prio 0", c.vrid))
			gone, ok := tl.first(fmt.Sprintf("a -192.0.2.%d/24", c.vrid))
			if zero != stopped || !ok || gone != stopped+c.skew {
				t.Errorf("vrid %d: priority 0 at %v, VIP removed at %v (%v); want %v and %v", c.vrid, zero, gone, ok, stopped, stopped+c.skew)
			}
		}
		b.stop(t)
	})
}

// An instance removed by a reload keeps its VIP until the backup takes
// over, then is notified DELETED; the instances kept are untouched.
func TestMakeBeforeBreakOnReloadRemoval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		tl := newTimeline()
		tapAdverts(t, seg, tl)
		vi1 := mbbInstance(1, "MASTER", 150, "1", "")
		a := startNodeWith(t, seg, "192.0.2.11", vi1+mbbInstance(2, "MASTER", 150, "1", ""), recording(tl, "a"))
		b := startNodeWith(t, seg, "192.0.2.12", mbbInstance(2, "BACKUP", 100, "1", ""), recording(tl, "b"))
		time.Sleep(5 * time.Second)
		reloaded := time.Since(tl.start)
		if out := reloadNode(t, a, vi1); out.err != nil {
			t.Fatal(out.err)
		}
		synctest.Wait()
		if ins, rel := counts(a); !a.addrs.holds("192.0.2.102/24") || ins != 1 || rel != 1 {
			t.Fatalf("after the reload: VIP held %v, %d instances, %d releasing; want held, 1, 1",
				a.addrs.holds("192.0.2.102/24"), ins, rel)
		}
		time.Sleep(time.Second)
		takeover, _ := tl.first("advert 192.0.2.12 vrid 102 prio 100")
		gone, ok := tl.first("a -192.0.2.102/24")
		if !ok || gone != takeover || takeover != reloaded+609375*time.Microsecond {
			t.Errorf("b advertised at %v, a's VIP removed at %v (%v); want both at %v + skew", takeover, gone, ok, reloaded)
		}
		want := []string{"a notify VI_2 BACKUP 150", "a +192.0.2.102/24", "a notify VI_2 MASTER 150", "a -192.0.2.102/24", "a notify VI_2 DELETED 150"}
		if d := cmp.Diff(want, slices.DeleteFunc(tl.of("a "), func(s string) bool { return !strings.Contains(s, "102") && !strings.Contains(s, "VI_2") })); d != "" {
			t.Errorf("VI_2 on a (-want +got):\n%s", d)
		}
		if _, rel := counts(a); rel != 0 || a.state() != "MASTER" || !a.addrs.holds("192.0.2.101/24") {
			t.Errorf("after the release: %d releasing, VI_1 %s with VIP %v", rel, a.state(), a.addrs.holds("192.0.2.101/24"))
		}
		// Its VRID is free again: a reload that brings VI_2 back starts it.
		out := reloadNode(t, a, vi1+mbbInstance(2, "BACKUP", 50, "1", ""))
		if ins, _ := counts(a); out.err != nil || ins != 2 {
			t.Fatalf("re-adding VI_2: %v, %d instances", out.err, ins)
		}
		a.stop(t)
		b.stop(t)
	})
}

// A reload that brings a removed instance back while it still holds its
// VIPs ends the wait at once: the new instance needs the VRID and addresses.
func TestMakeBeforeBreakReaddedDuringRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		tl := newTimeline()
		vi1 := mbbInstance(1, "MASTER", 150, "1", "")
		a := startNodeWith(t, seg, "192.0.2.11", vi1+mbbInstance(2, "MASTER", 150, "1", ""), recording(tl, "a"))
		time.Sleep(5 * time.Second)
		if out := reloadNode(t, a, vi1); out.err != nil {
			t.Fatal(out.err)
		}
		synctest.Wait()
		if _, rel := counts(a); rel != 1 {
			t.Fatalf("%d releasing, want 1", rel)
		}
		if out := reloadNode(t, a, vi1+mbbInstance(2, "BACKUP", 100, "1", "")); out.err != nil {
			t.Fatal(out.err)
		}
		synctest.Wait()
		var state string
		onLoop(a, func() {
			if len(a.d.instances) == 2 {
				state = a.d.instances[1].snapshot().State
			}
		})
		if ins, rel := counts(a); rel != 0 || ins != 2 || state != "BACKUP" {
			t.Fatalf("%d releasing, %d instances, VI_2 %q; want 0, 2 and VI_2 BACKUP again", rel, ins, state)
		}
		if a.addrs.holds("192.0.2.102/24") {
			t.Error("the released VIP is still held")
		}
		a.stop(t)
	})
}

// A fault while releasing (a weight-0 track failing, the link going) ends
// the wait: a node that cannot serve lets go at once.
func TestMakeBeforeBreakFaultEndsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		tl := newTimeline()
		a := startNodeWith(t, seg, "192.0.2.11", mbbInstance(1, "MASTER", 150, "1", ""), recording(tl, "a"))
		time.Sleep(5 * time.Second)
		stopAsync(a)
		synctest.Wait()
		var in *instance
		onLoop(a, func() { in = a.d.instances[0] })
		if in.snapshot().State != "RELEASING" {
			t.Fatalf("state %s, want RELEASING", in.snapshot().State)
		}
		faulted := time.Since(tl.start)
		a.d.events <- loopEvent{in: in, ev: fsm.FaultSet("eth0 down")}
		waitDone(t, a, time.Millisecond)
		if at, ok := tl.first("a -192.0.2.101/24"); !ok || at != faulted {
			t.Errorf("VIP removed at %v (%v), want at the fault %v", at, ok, faulted)
		}
	})
}

func TestParseReleasePolicy(t *testing.T) {
	for _, s := range []string{"after-takeover", "immediate"} {
		if p, err := ParseReleasePolicy(s); err != nil || string(p) != s {
			t.Errorf("%q: %q, %v", s, p, err)
		}
	}
	if _, err := ParseReleasePolicy("later"); err == nil || !strings.Contains(err.Error(), "after-takeover or immediate") {
		t.Errorf("bad value: %v", err)
	}
	if ReleasePolicy("").fsmMode() != fsm.ReleaseAfterTakeover || ReleaseImmediate.fsmMode() != fsm.ReleaseImmediate {
		t.Error("the default is not after-takeover")
	}
}

// While stopped masters wait, the loop still serves adverts and timers but
// refuses a reload: the configuration is being torn down.
func TestMakeBeforeBreakRefusesReloadWhileStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a := startNode(t, seg, "192.0.2.11", mbbInstance(1, "MASTER", 150, "1", ""))
		time.Sleep(5 * time.Second)
		stopAsync(a)
		synctest.Wait()
		reply := make(chan reloadOutcome, 1)
		a.d.events <- loopEvent{reload: reply}
		if out := <-reply; out.err == nil || !strings.Contains(out.err.Error(), "stopping") {
			t.Errorf("reload while stopping: %v, want refused", out.err)
		}
		if !a.addrs.holds("192.0.2.101/24") {
			t.Error("the refused reload released the VIP")
		}
		waitDone(t, a, 4*time.Second)
	})
}
