package daemon

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/govrrp/govrrp/internal/bfd"
	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// track_bfd: one bfd.Manager per daemon runs every bfd_instance of the
// configuration, tracked or not (keepalived's BFD process runs every block
// it reads: its keepalived_bfd.data lists an untracked one, sending). Its
// events become track.Results of KindBFD and go through the same weights
// and FAULT rules as track_script (internal/track/weights).
//
// Invariants:
//   - The manager's sink never blocks its loop: events are coalesced per
//     session (the latest state is what weighs) and a forwarder goroutine
//     posts them to the daemon's loop. So Apply, called on the daemon's
//     loop, can never wait on a manager blocked on a full event channel.
//   - A session's state is known from start: keepalived assumes Down
//     before the first packet (weight 0: FAULT at once; "weight -20
//     reverse": +20 at once, seen with keepalived 2.2.7 -d). A track added
//     by a reload takes the running session's state from Snapshot.
//   - A reload applies the new list with Manager.Apply, which keeps
//     unchanged sessions (and their Up state).

// bfdEngine is what the daemon needs of internal/bfd's Manager; a seam for
// tests.
type bfdEngine interface {
	Apply([]bfd.Config) error
	Snapshot() []bfd.SessionStatus
	Close()
}

// bfdFactory makes the daemon's engine; nil in deps: no BFD (tests).
type bfdFactory func(bfd.Options) bfdEngine

func systemBFD(o bfd.Options) bfdEngine { return bfd.NewManager(o) }

// bfdState is the daemon's BFD engine and its forwarder.
type bfdState struct {
	newEngine bfdFactory
	engine    bfdEngine // loop only
	// pub is the engine for the control socket's goroutines.
	pub atomic.Pointer[bfdPub]
	fwd *bfdForwarder
}

type bfdPub struct{ engine bfdEngine }

// bfdForwarder carries the manager's events to the loop.
type bfdForwarder struct {
	mu      sync.Mutex
	latest  map[string]track.Result // guarded by mu
	order   []string                // guarded by mu: names with a pending result, first come first
	wake    chan struct{}
	stopped chan struct{} // closed by bfdClose: nothing more is posted
	done    chan struct{}
}

func newBFDForwarder() *bfdForwarder {
	return &bfdForwarder{latest: map[string]track.Result{}, wake: make(chan struct{}, 1),
		stopped: make(chan struct{}), done: make(chan struct{})}
}

// sink is the manager's Sink: it records and wakes, never waits.
func (f *bfdForwarder) sink(e bfd.Event) {
	r := bfdResult(e)
	f.mu.Lock()
	if _, queued := f.latest[r.Name]; !queued {
		f.order = append(f.order, r.Name)
	}
	f.latest[r.Name] = r
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *bfdForwarder) take() []track.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]track.Result, 0, len(f.order))
	for _, n := range f.order {
		out = append(out, f.latest[n])
	}
	f.order = f.order[:0]
	clear(f.latest)
	return out
}

// run posts pending results until stopped.
func (f *bfdForwarder) run(post func(track.Result) bool) {
	defer close(f.done)
	for {
		select {
		case <-f.wake:
		case <-f.stopped:
			return
		}
		for _, r := range f.take() {
			if !post(r) {
				return
			}
		}
	}
}

// bfdResult is an event as a track result: OK while the session is Up.
func bfdResult(e bfd.Event) track.Result {
	detail := e.State.String()
	if e.Diag != 0 {
		detail += ", " + bfd.DiagName(e.Diag)
	}
	return track.Result{Kind: track.KindBFD, Name: e.Name, OK: e.Up, Detail: detail, Method: "bfd", At: e.At}
}

// bfdConfigs is every bfd_instance of cfg as the engine takes it.
func bfdConfigs(cfg *kaconf.Config) []bfd.Config {
	var out []bfd.Config
	for _, b := range cfg.BFDList() {
		out = append(out, bfd.Config{Name: b.Name, Neighbor: b.Neighbor, Source: b.Source,
			MinRx: b.MinRx, MinTx: b.MinTx, IdleTx: b.IdleTx, Multiplier: uint8(b.Multiplier),
			Passive: b.Passive, TTL: uint8(b.TTL), HopLimit: uint8(b.HopLimit), MaxHops: uint8(b.MaxHops)})
	}
	return out
}

// syncBFD makes the engine run cfg's sessions (start-up and reload, after
// planTracking registered the tracks) and gives every BFD track without a
// result yet its session's current state.
func (d *Daemon) syncBFD(cfg *kaconf.Config) {
	cfgs := bfdConfigs(cfg)
	if d.bfd.engine == nil && len(cfgs) > 0 && d.bfd.newEngine != nil {
		d.startBFD()
	}
	up := map[string]bool{}
	if e := d.bfd.engine; e != nil {
		if err := e.Apply(cfgs); err != nil {
			// The VRRP side is committed by now; the sessions keep their
			// previous list and the tracks their last state.
			d.log.Error("bfd_instance sessions not applied", "err", err)
		}
		for _, s := range e.Snapshot() {
			up[s.Name] = s.State == bfd.Up
		}
	}
	now := time.Now()
	for k, st := range d.tracks {
		if k.kind == track.KindBFD && !st.seen {
			detail := "Down (no packet yet)"
			if up[k.name] {
				detail = "Up"
			}
			d.applyTrackResult(track.Result{Kind: track.KindBFD, Name: k.name, OK: up[k.name], Detail: detail, Method: "bfd", At: now})
		}
	}
}

func (d *Daemon) startBFD() {
	f := newBFDForwarder()
	d.bfd.fwd = f
	d.bfd.engine = d.bfd.newEngine(bfd.Options{Log: d.log.With("component", "bfd"), Sink: f.sink})
	d.bfd.pub.Store(&bfdPub{engine: d.bfd.engine})
	go f.run(func(r track.Result) bool {
		select {
		case d.events <- loopEvent{result: &r}:
			return true
		case <-f.stopped:
		case <-d.ctx.Done():
		}
		return false
	})
}

// bfdClose ends the sessions at stop (peers are told AdminDown) once the
// instances have stopped; nothing it reports reaches the loop any more.
func (d *Daemon) bfdClose() {
	if d.bfd.engine == nil {
		return
	}
	close(d.bfd.fwd.stopped)
	<-d.bfd.fwd.done
	d.bfd.pub.Store(nil)
	d.bfd.engine.Close()
	d.bfd.engine = nil
}

// bfdStatus is what `govrrp status` shows of the sessions (any goroutine).
func (d *Daemon) bfdStatus() []control.BFDSession {
	p := d.bfd.pub.Load()
	if p == nil {
		return nil
	}
	var out []control.BFDSession
	for _, s := range p.engine.Snapshot() {
		out = append(out, bfdSessionRow(s))
	}
	return out
}

func bfdSessionRow(s bfd.SessionStatus) control.BFDSession {
	row := control.BFDSession{Name: s.Name, Neighbor: addrString(s.Neighbor), Source: addrString(s.Source),
		State: s.State.String(), Since: s.Since, MinRxUs: s.MinRx.Microseconds(), MinTxUs: s.MinTx.Microseconds(),
		IdleTxUs: s.IdleTx.Microseconds(), Multiplier: s.Multiplier, TxUs: s.TxInterval.Microseconds(),
		DetectUs: s.DetectTime.Microseconds(), LocalDisc: s.LocalDisc, RemoteDisc: s.RemoteDisc,
		RxPackets: s.RxPackets, TxPackets: s.TxPackets, Dropped: s.Dropped}
	if s.LastDiag != 0 {
		row.LastDiag = bfd.DiagName(s.LastDiag)
	}
	return row
}
