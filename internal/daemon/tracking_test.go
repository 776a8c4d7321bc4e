package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// fakeTrackers reports what the test pushes, as if trackers saw it.
type fakeTrackers struct {
	mu      sync.Mutex
	sink    track.Sink
	need    []trackKey
	initial []track.Result
	ready   chan struct{}
	once    sync.Once // a reload that changes the tracked set runs the tracker again
}

func newFakeTrackers(initial ...track.Result) *fakeTrackers {
	return &fakeTrackers{initial: initial, ready: make(chan struct{})}
}

func (f *fakeTrackers) factory(_ *slog.Logger, _ *kaconf.Config, need []trackKey) ([]trackerSpec, error) {
	f.mu.Lock()
	f.need = need
	f.mu.Unlock()
	return []trackerSpec{{id: "fake", fp: fmt.Sprint(need), build: func(context.Context, func() (*dbus.Conn, error)) (track.Tracker, []track.Result) {
		return f, f.initial
	}}}, nil
}

func (f *fakeTrackers) needed() []trackKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.need
}

func (f *fakeTrackers) Run(ctx context.Context, report track.Sink) {
	f.mu.Lock()
	f.sink = report
	f.mu.Unlock()
	f.once.Do(func() { close(f.ready) })
	<-ctx.Done()
}

func (f *fakeTrackers) report(r track.Result) {
	<-f.ready
	f.mu.Lock()
	sink := f.sink
	f.mu.Unlock()
	sink(r)
}

func link(name string, up bool) track.Result {
	detail := "up"
	if !up {
		detail = "carrier down"
	}
	return track.Result{Kind: track.KindInterface, Name: name, OK: up, Detail: detail, Method: "netlink"}
}

func script(name string, ok bool, detail string) track.Result {
	return track.Result{Kind: track.KindScript, Name: name, OK: ok, Detail: detail, Method: "exec"}
}

// fakeNotifier records notifications as keepalived's FIFO would show them.
type fakeNotifier struct {
	mu    sync.Mutex
	lines []string
}

func (f *fakeNotifier) add(s string) {
	f.mu.Lock()
	f.lines = append(f.lines, s)
	f.mu.Unlock()
}

func (f *fakeNotifier) Transition(in, state string, prio int) {
	f.add(fmt.Sprintf("%s %s %d", in, state, prio))
}
func (f *fakeNotifier) MasterRxLowerPri(in string, prio int) {
	f.add(fmt.Sprintf("%s MASTER_RX_LOWER_PRI %d", in, prio))
}
func (f *fakeNotifier) PriorityChanged(in, state string, prio int) {
	f.add(fmt.Sprintf("%s %s_PRIORITY %d", in, state, prio))
}
func (f *fakeNotifier) Close(context.Context) error { return nil }

func (f *fakeNotifier) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

const trackedConf = `vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    track_script {
        chk_apache
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}

! defined after the instance that tracks it: govrrp resolves it anyway
vrrp_script chk_apache {
    script "/usr/bin/systemctl is-active apache2"
    fall 2
    rise 2
    weight %d
}
`

func withTracking(ft *fakeTrackers, fn *fakeNotifier) func(*deps) {
	return func(dp *deps) {
		dp.trackers = ft.factory
		if fn != nil {
			dp.notifier = func(*kaconf.Config, *slog.Logger) (notifier, error) { return fn, nil }
		}
	}
}

// A failing vrrp_script with a negative weight hands the VIP to the backup;
// passing again takes it back by preemption. The reason names the script.
func TestTrackScriptMovesTheVIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ftA := newFakeTrackers(script("chk_apache", true, ""))
		notes := &fakeNotifier{}
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(trackedConf, "MASTER", 150, -60), withTracking(ftA, notes))
		ftA.report(link("eth0", true))
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", ""))
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" || !a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("a = %s, want MASTER with the VIP", a.state())
		}
		if diff := cmp.Diff([]string{"track_script chk_apache", "track_interface eth0"}, keyStrings(ftA.needed())); diff != "" {
			t.Errorf("tracked objects (-want +got):\n%s", diff)
		}

		ftA.report(script("chk_apache", false, "exit 3, 2 of fall 2"))
		// b ignores a's priority-90 adverts and takes over when its
		// master-down interval (3 s + skew) runs out.
		time.Sleep(5 * time.Second)
		if a.state() != "BACKUP" || b.state() != "MASTER" || a.addrs.holds("192.0.2.100/24") || !b.addrs.holds("192.0.2.100/24") {
			t.Fatalf("after the failure: a=%s b=%s, want BACKUP MASTER with the VIP on b", a.state(), b.state())
		}
		sa := a.d.instances[0].snapshot()
		if sa.EffectivePriority != 90 {
			t.Errorf("effective priority = %d, want 90", sa.EffectivePriority)
		}
		if want := "track_script chk_apache failed (exit 3, 2 of fall 2): priority 150 -> 90"; !strings.Contains(sa.Reason, want) {
			t.Errorf("reason = %q, want it to contain %q", sa.Reason, want)
		}
		wantRows := []string{"interface eth0 ok 0", "track_script chk_apache failed -60"}
		if diff := cmp.Diff(wantRows, rowWords(sa)); diff != "" {
			t.Errorf("status tracks (-want +got):\n%s", diff)
		}

		ftA.report(script("chk_apache", true, "exit 0, 2 of rise 2"))
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" || !a.addrs.holds("192.0.2.100/24") || b.addrs.holds("192.0.2.100/24") {
			t.Fatalf("after recovery: a=%s b=%s, want a MASTER again", a.state(), b.state())
		}
		a.stop(t)
		b.stop(t)

		// In order: start-up, mastership, the script's failure seen while
		// master, the demotion, the recovery seen while backup, preemption,
		// stop. (Lower-priority adverts heard as master depend on timing.)
		want := []string{"VI_1 BACKUP 150", "VI_1 MASTER 150", "VI_1 MASTER_PRIORITY 90", "VI_1 BACKUP 90",
			"VI_1 BACKUP_PRIORITY 150", "VI_1 MASTER 150", "VI_1 STOP 150"}
		var got []string
		for _, l := range notes.got() {
			if !strings.Contains(l, "RX_LOWER") {
				got = append(got, l)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
	})
}

func keyStrings(keys []trackKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.String())
	}
	return out
}

func rowWords(s control.Instance) []string {
	var out []string
	for _, r := range s.Tracks {
		out = append(out, r.Kind+" "+r.Name+" "+r.State+" "+r.Effect)
	}
	return out
}

// Carrier loss on the instance's own interface is FAULT at once: the master
// sends priority 0 and drops the VIP without waiting for any timer; the
// link's return makes it BACKUP, and preemption makes it MASTER again.
func TestOwnInterfaceFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers()
		notes := &fakeNotifier{}
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", ""), withTracking(ft, notes))
		ft.report(link("eth0", true))
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", ""))
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("a = %s, want MASTER", a.state())
		}

		ft.report(link("eth0", false))
		if a.state() != "FAULT" || a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("right after carrier loss: a=%s holds VIP=%v, want FAULT without it", a.state(), a.addrs.holds("192.0.2.100/24"))
		}
		if r := a.d.instances[0].snapshot().Reason; r != "fault: interface eth0 down (carrier down)" {
			t.Errorf("reason = %q", r)
		}
		// The priority-0 advert makes b master after its skew time (~0.6 s).
		time.Sleep(time.Second)
		if b.state() != "MASTER" {
			t.Fatalf("b = %s, want MASTER after a's priority-0 advert", b.state())
		}

		ft.report(link("eth0", true))
		if a.state() != "BACKUP" {
			t.Fatalf("after the link returns: a = %s, want BACKUP", a.state())
		}
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" || b.state() != "BACKUP" {
			t.Fatalf("a=%s b=%s, want a to preempt back", a.state(), b.state())
		}
		a.stop(t)
		b.stop(t)
		want := []string{"VI_1 BACKUP 150", "VI_1 MASTER 150", "VI_1 FAULT 150", "VI_1 BACKUP 150", "VI_1 MASTER 150", "VI_1 STOP 150"}
		if diff := cmp.Diff(want, notes.got()); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
	})
}

// dont_track_primary: the instance ignores its own interface.
func TestDontTrackPrimary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers()
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "dont_track_primary"), withTracking(ft, nil))
		time.Sleep(5 * time.Second)
		if len(ft.needed()) != 0 {
			t.Errorf("tracked %v, want nothing", ft.needed())
		}
		if a.state() != "MASTER" {
			t.Fatalf("a = %s, want MASTER", a.state())
		}
		a.stop(t)
	})
}

// An interface that is down at start-up starts the instance in FAULT:
// start-up waits for the first report of interfaces before starting.
func TestStartsInFaultWhenInterfaceIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers()
		notes := &fakeNotifier{}
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", ""), withTracking(ft, notes))
		ft.report(link("eth0", false))
		time.Sleep(5 * time.Second)
		if a.state() != "FAULT" || a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("a = %s, want FAULT without the VIP", a.state())
		}
		a.stop(t)
		if diff := cmp.Diff([]string{"VI_1 FAULT 150", "VI_1 STOP 150"}, notes.got()); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
	})
}

const weightZeroScript = `
vrrp_script chk {
    script "/bin/true"
}
`

// A weight-0 script holds a starting instance in FAULT until its first
// result (keepalived 2.2.7 does too), even when no other track reports.
func TestPendingScriptFaultsAtStartup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers()
		conf := fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "dont_track_primary\n    track_script {\n        chk\n    }") + weightZeroScript
		a := startNodeWith(t, seg, "192.0.2.11", conf, withTracking(ft, nil))
		time.Sleep(5 * time.Second)
		if a.state() != "FAULT" || a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("before the script's first result: a = %s, want FAULT without the VIP", a.state())
		}
		ft.report(script("chk", true, "exit 0, first check"))
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("after it passed: a = %s, want MASTER", a.state())
		}
		a.stop(t)
	})
}

// A reload that adds a weight-0 script to a running master does not put it
// in FAULT for the moment before the script's first result (no flap); the
// result itself counts at once.
func TestReloadAddedScriptCountsFromItsFirstResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers()
		plain := fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "dont_track_primary")
		a := startNodeWith(t, seg, "192.0.2.11", plain, withTracking(ft, nil))
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("a = %s, want MASTER", a.state())
		}
		withScript := fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "dont_track_primary\n    track_script {\n        chk\n    }") + weightZeroScript
		if out := reloadNode(t, a, withScript); out.err != nil {
			t.Fatal(out.err)
		}
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" || !a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("after the reload, before the script reports: a = %s, want MASTER with the VIP", a.state())
		}
		ft.report(script("chk", false, "exit 1, first check"))
		if a.state() != "FAULT" {
			t.Fatalf("after the script failed: a = %s, want FAULT", a.state())
		}
		a.stop(t)
	})
}
