package daemon

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/bfd"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/internal/transport"
)

// fakeBFD is the daemon's BFD engine as the test drives it: sessions go
// Up and Down when the test says so, as a bfd.Manager reports them.
type fakeBFD struct {
	mu      sync.Mutex
	sink    bfd.Sink
	applied [][]bfd.Config
	state   map[string]bfd.State
	made    int
	closed  bool
}

func newFakeBFD() *fakeBFD { return &fakeBFD{state: map[string]bfd.State{}} }

func (f *fakeBFD) factory(o bfd.Options) bfdEngine {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sink = o.Sink
	f.made++
	return f
}

func (f *fakeBFD) Apply(cfgs []bfd.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, cfgs)
	for _, c := range cfgs {
		if _, ok := f.state[c.Name]; !ok {
			f.state[c.Name] = bfd.Down
		}
	}
	return nil
}

func (f *fakeBFD) Snapshot() []bfd.SessionStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []bfd.SessionStatus
	for _, c := range f.applied[len(f.applied)-1] {
		out = append(out, bfd.SessionStatus{Config: c, State: f.state[c.Name]})
	}
	return out
}

func (f *fakeBFD) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

// set moves a session to Up or Down (diag 1: detection time expired) and
// reports it as the manager does.
func (f *fakeBFD) set(name string, up bool) {
	f.mu.Lock()
	st, diag := bfd.Down, uint8(1)
	if up {
		st, diag = bfd.Up, 0
	}
	f.state[name] = st
	sink := f.sink
	f.mu.Unlock()
	sink(bfd.Event{Name: name, Up: up, State: st, Diag: diag, At: time.Now()})
}

func (f *fakeBFD) lastApplied() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.applied[len(f.applied)-1] {
		out = append(out, c.Name+" "+c.Neighbor.String())
	}
	return out
}

func withBFD(ft *fakeTrackers, fb *fakeBFD) func(*deps) {
	return func(dp *deps) {
		dp.trackers = ft.factory
		dp.bfd = fb.factory
	}
}

// bfdConf: one instance tracking bfd_instance "peer" with track (the
// track_bfd line), plus an untracked bfd_instance "other".
const bfdConf = `bfd_instance peer {
    neighbor_ip 192.0.2.12
    min_rx 100
    min_tx 100
}
bfd_instance other {
    neighbor_ip 192.0.2.13
}
vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    track_bfd {
        %s
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

// Weight 0: FAULT before the first packet (keepalived 2.2.7 -d: "(VI)
// entering FAULT state" at start with the session down), out of FAULT when
// the session comes Up, FAULT again when it goes Down. Every bfd_instance
// runs, the untracked one too; the engine is closed at stop.
func TestTrackBFDWeightZeroFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft, fb := newFakeTrackers(link("eth0", true)), newFakeBFD()
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(bfdConf, "MASTER", 150, "peer"), withBFD(ft, fb))
		time.Sleep(5 * time.Second)
		if a.state() != "FAULT" || a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("before any BFD packet: %s, want FAULT without the VIP", a.state())
		}
		if diff := cmp.Diff([]string{"other 192.0.2.13", "peer 192.0.2.12"}, fb.lastApplied()); diff != "" {
			t.Errorf("sessions run (-want +got):\n%s", diff)
		}
		sa := a.d.instances[0].snapshot()
		if diff := cmp.Diff([]string{"interface eth0 ok 0", "track_bfd peer down FAULT"}, rowWords(sa)); diff != "" {
			t.Errorf("status tracks (-want +got):\n%s", diff)
		}

		fb.set("peer", true)
		time.Sleep(5 * time.Second) // BACKUP, then master-down (alone on the segment)
		if a.state() != "MASTER" || !a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("session Up: %s, want MASTER with the VIP", a.state())
		}

		fb.set("peer", false)
		time.Sleep(time.Second)
		if a.state() != "FAULT" || a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("session Down: %s, want FAULT without the VIP", a.state())
		}
		if r := a.d.instances[0].snapshot().Reason; !strings.Contains(r, "track_bfd peer down (Down, control detection time expired)") {
			t.Errorf("reason %q does not name the session", r)
		}
		a.stop(t)
		if !fb.closed {
			t.Error("BFD engine not closed at stop")
		}
	})
}

// A negative weight counts while the session is down, from the start: a
// (150, weight -60) starts at 90 below b (100); the session Up takes a
// back to 150 and the VIP with it (preemption); Down hands it to b again.
func TestTrackBFDWeightMovesTheVIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft, fb := newFakeTrackers(link("eth0", true)), newFakeBFD()
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(bfdConf, "BACKUP", 150, "peer weight -60"), withBFD(ft, fb))
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", ""))
		time.Sleep(6 * time.Second)
		if a.state() != "BACKUP" || b.state() != "MASTER" {
			t.Fatalf("session down from the start: a=%s b=%s, want BACKUP MASTER", a.state(), b.state())
		}
		if p := a.d.instances[0].snapshot().EffectivePriority; p != 90 {
			t.Errorf("a's effective priority %d, want 90", p)
		}
		fb.set("peer", true)
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" || !a.addrs.holds("192.0.2.100/24") || b.addrs.holds("192.0.2.100/24") {
			t.Fatalf("session Up: a=%s b=%s, want a MASTER with the VIP", a.state(), b.state())
		}
		fb.set("peer", false)
		time.Sleep(5 * time.Second)
		if a.state() != "BACKUP" || b.state() != "MASTER" || !b.addrs.holds("192.0.2.100/24") {
			t.Fatalf("session Down: a=%s b=%s, want the VIP back on b", a.state(), b.state())
		}
		a.stop(t)
		b.stop(t)
	})
}

// reverse: "weight 0 reverse" is FAULT while the session is Up (keepalived.
// conf(5)); "weight -20 reverse" adds 20 while it is down (keepalived 2.2.7
// -d at start: "Changing effective priority from 100 to 120").
func TestTrackBFDReverse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft, fb := newFakeTrackers(link("eth0", true)), newFakeBFD()
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(bfdConf, "MASTER", 100, "peer weight 0 reverse\n        other weight -20 reverse"), withBFD(ft, fb))
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("both sessions down: %s, want MASTER", a.state())
		}
		if p := a.d.instances[0].snapshot().EffectivePriority; p != 120 {
			t.Errorf("effective priority %d, want 120", p)
		}
		fb.set("other", true)
		fb.set("peer", true)
		time.Sleep(time.Second)
		if a.state() != "FAULT" {
			t.Fatalf("peer Up with weight 0 reverse: %s, want FAULT", a.state())
		}
		if p := a.d.instances[0].snapshot().EffectivePriority; p != 100 {
			t.Errorf("other Up: effective priority %d, want 100", p)
		}
		fb.set("peer", false)
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("peer Down again: %s, want MASTER", a.state())
		}
		a.stop(t)
	})
}

const bfdSyncConf = `bfd_instance peer {
    neighbor_ip 192.0.2.12
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 52
    priority 150
    virtual_ipaddress {
        192.0.2.101/24
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_bfd {
        peer
    }
}
`

// A sync group's track_bfd applies to every member: both FAULT while the
// session is down, both out of it when it comes Up.
func TestTrackBFDSyncGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft, fb := newFakeTrackers(link("eth0", true)), newFakeBFD()
		a := startNodeWith(t, seg, "192.0.2.11", bfdSyncConf, withBFD(ft, fb))
		time.Sleep(5 * time.Second)
		if diff := cmp.Diff([]string{"VI_1=FAULT", "VI_2=FAULT"}, a.states()); diff != "" {
			t.Fatalf("session down (-want +got):\n%s", diff)
		}
		fb.set("peer", true)
		time.Sleep(6 * time.Second)
		if diff := cmp.Diff([]string{"VI_1=MASTER", "VI_2=MASTER"}, a.states()); diff != "" {
			t.Fatalf("session Up (-want +got):\n%s", diff)
		}
		fb.set("peer", false)
		time.Sleep(time.Second)
		if diff := cmp.Diff([]string{"VI_1=FAULT", "VI_2=FAULT"}, a.states()); diff != "" {
			t.Fatalf("session Down (-want +got):\n%s", diff)
		}
		a.stop(t)
	})
}

// A reload keeps the engine and its sessions: an Up session's master stays
// MASTER through it (no transition), and a track_bfd the reload adds on a
// running, Up session takes its state from the engine, not "Down" — while
// one on a new session starts Down (FAULT for weight 0).
func TestTrackBFDReloadKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft, fb := newFakeTrackers(link("eth0", true)), newFakeBFD()
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(bfdConf, "MASTER", 150, "peer"), withBFD(ft, fb))
		time.Sleep(time.Second) // the engine is made at start-up
		fb.set("peer", true)
		fb.set("other", true)
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("session Up: %s, want MASTER", a.state())
		}
		before := a.d.instances[0].snapshot().Transitions

		// Same sessions, "other" now tracked too (it is Up in the engine).
		out := reloadNode(t, a, fmt.Sprintf(bfdConf, "MASTER", 150, "peer\n        other"))
		if out.err != nil {
			t.Fatal(out.err)
		}
		time.Sleep(3 * time.Second)
		s := a.d.instances[0].snapshot()
		if a.state() != "MASTER" || s.Transitions != before {
			t.Fatalf("after reload: %s, %d transitions (was %d), want MASTER without a transition", a.state(), s.Transitions, before)
		}
		if diff := cmp.Diff([]string{"interface eth0 ok 0", "track_bfd peer ok 0", "track_bfd other ok 0"}, rowWords(s)); diff != "" {
			t.Errorf("status tracks (-want +got):\n%s", diff)
		}
		fb.mu.Lock()
		made, applied := fb.made, len(fb.applied)
		fb.mu.Unlock()
		if made != 1 || applied != 2 {
			t.Errorf("engine made %d times, applied %d times; want 1 and 2", made, applied)
		}

		// A new session: Down until it is heard, so weight 0 is FAULT.
		third := strings.Replace(fmt.Sprintf(bfdConf, "MASTER", 150, "peer\n        third"), "bfd_instance other {", "bfd_instance third {\n    neighbor_ip 192.0.2.14\n}\nbfd_instance other {", 1)
		if out := reloadNode(t, a, third); out.err != nil {
			t.Fatal(out.err)
		}
		time.Sleep(time.Second)
		if a.state() != "FAULT" {
			t.Fatalf("new session tracked: %s, want FAULT", a.state())
		}
		a.stop(t)
	})
}

// The forwarder coalesces a burst per session and keeps its last state, so
// a manager never waits on the daemon's loop.
func TestBFDForwarderCoalesces(t *testing.T) {
	f := newBFDForwarder()
	for i := range 1000 {
		f.sink(bfd.Event{Name: "a", Up: i%2 == 0, State: bfd.Up})
		f.sink(bfd.Event{Name: "b", Up: true, State: bfd.Up})
	}
	got := f.take()
	want := []track.Result{{Kind: track.KindBFD, Name: "a", OK: false, Detail: "Up", Method: "bfd"},
		{Kind: track.KindBFD, Name: "b", OK: true, Detail: "Up", Method: "bfd"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(f.take()) != 0 {
		t.Error("results left after take")
	}
}

// Without an engine (keepalived mode's -B) every track_bfd stays down:
// keepalived 2.2.7 -B with a weight-0 track_bfd enters FAULT and stays
// there (seen with -d), a weighted one keeps its down weight.
func TestTrackBFDWithoutEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers(link("eth0", true))
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(bfdConf, "MASTER", 150, "peer\n        other weight -20 reverse"), withTracking(ft, nil))
		time.Sleep(10 * time.Second)
		state := a.state() // drains the loop
		s := a.d.instances[0].snapshot()
		if state != "FAULT" || s.EffectivePriority != 170 {
			t.Fatalf("no BFD engine: %s at %d, want FAULT at 170", state, s.EffectivePriority)
		}
		if a.d.bfdStatus() != nil {
			t.Errorf("sessions in status without an engine: %+v", a.d.bfdStatus())
		}
		a.stop(t)
	})
}
