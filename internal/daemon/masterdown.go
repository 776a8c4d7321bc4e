package daemon

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
)

// One master-down timer per socket (issue 11, backup CPU at scale).
//
// A BACKUP re-arms Master_Down_Timer on every advert of its master. With the
// fast path (fastpath.go) the reader only stamps "heard" and the timer, when
// it fires, re-arms itself for the time left. With one time.Timer per
// instance that still meant 255 timers at 10 ms adverts each firing every
// ~30 ms at slightly different moments: ~8,500 runtime timer expiries, as
// many goroutines and a thread wake-up per distinct deadline, every second.
// Instead the master-down timers of the instances of one socket are entries
// of that socket's downSched: one time.Timer set for the earliest deadline.
// When it fires it scans every entry: an entry heard since it was armed
// moves its deadline to heard+interval (the reader's stamps are read here,
// never written); an entry whose deadline has passed with nothing heard is
// taken off and its expiry posted to the loop, exactly as its own timer
// would have posted it. So the takeover still comes exactly one
// Master_Down_Interval after the last advert (RFC 5798 6.4.2), and a socket
// of backups whose masters all advertise costs one wake-up per
// Master_Down_Interval minus Advertisement_Interval.
//
// Invariants:
//   - downSched.mu guards the entries, each entry's arm time/interval, and
//     the timer's deadline. The loop takes it to arm and stop (the loop
//     alone decides what is armed and for how long); the timer callback
//     takes it to scan. Expiries are posted after it is released (d.post
//     may wait for the loop, and the loop may wait for mu).
//   - An instance is an entry of at most one schedule, and of none while its
//     master-down timer is stopped or has expired.
//   - The timer is never later than the earliest entry's deadline: arm
//     pulls it earlier when needed; the scan sets it to the earliest it
//     computed. A deadline only moves later between scans (heard stamps), so
//     an early firing costs one scan, never a late takeover.
//   - The generation posted is the one the loop armed; the loop drops stale
//     ones (fsm generations, instance.timerDue) as for any timer.
//   - Cost: a scan is O(entries of the socket), ~10 ns each.
//   - Silence is only declared on what the reader has seen. When an entry's
//     deadline has passed but the socket still holds unread adverts, or its
//     reader is dispatching a batch (transport.ReadProgress), the expiry
//     waits, re-checked every catchUpPoll, until the reader has once found
//     the queue empty: an advert that arrived before the deadline then has
//     its heard stamp, as it would have with a reader that never lags. The
//     wait ends after at most the entry's own Master_Down_Interval (a
//     reader that stopped must not stop the takeover).

// downState is the daemon's set of master-down schedules, one per socket.
// The map is the loop's.
type downState struct {
	scheds map[*transport.Mux]*downSched
}

// downSched is the master-down schedule of one socket.
type downSched struct {
	mux  *transport.Mux  // the key in downState.scheds
	post func(loopEvent) // the daemon's post: set at creation

	mu      sync.Mutex
	timer   *time.Timer // nil until the first arm
	at      time.Time   // when timer fires; zero when stopped or firing
	entries []*instance
	fires   uint64 // scans run (tests, profiles)

	// behindSince is when a scan first held expiries back because the
	// reader was behind (zero: not waiting), behindDrains the reader's
	// drain count then; waits counts those holds (tests, status).
	behindSince  time.Time
	behindDrains uint64
	waits        uint64
	waitsMetric  prometheus.Counter // govrrp_master_down_reader_waits_total; nil without metrics
}

// catchUpPoll is how often a held-back expiry looks again whether the
// reader has caught up (it takes about one recvmmsg of 32 adverts).
const catchUpPoll = time.Millisecond

// downEntry is an instance's place on a schedule. loopSched is the loop's
// (the schedule it last armed the instance on, so the loop knows whose mu
// to take); the rest is guarded by that schedule's mu (the scan takes an
// expired entry off: sched nil).
type downEntry struct {
	loopSched *downSched
	sched     *downSched
	idx       int           // position in sched.entries
	armedAt   int64         // ns since fastPath.base when armed or last heard
	armDown   time.Duration // the interval the loop armed it for
	gen       uint64        // the generation the loop armed
}

// armMasterDown arms in's master-down timer on its socket's schedule for
// after, with generation gen. Loop only.
func (d *Daemon) armMasterDown(in *instance, after time.Duration, gen uint64) {
	s := d.downSchedFor(in.mux)
	if old := in.fast.down.loopSched; old != nil && old != s {
		d.stopMasterDown(in) // reattached to another socket
	}
	in.fast.down.loopSched = s
	t := &in.timers[fsm.TimerMasterDown]
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t.gen.Store(gen)
	t.due = now.Add(after)
	e := &in.fast.down
	if e.sched == nil {
		e.sched, e.idx = s, len(s.entries)
		s.entries = append(s.entries, in)
	}
	e.armedAt, e.armDown, e.gen = int64(now.Sub(in.fast.base)), after, gen
	if s.at.IsZero() || t.due.Before(s.at) {
		s.reset(now, t.due)
	}
}

// stopMasterDown takes in off its schedule. Loop only.
func (d *Daemon) stopMasterDown(in *instance) {
	in.timers[fsm.TimerMasterDown].gen.Store(0)
	s := in.fast.down.loopSched
	if s == nil {
		return
	}
	in.fast.down.loopSched = nil
	s.mu.Lock()
	s.remove(in)
	empty := len(s.entries) == 0
	if empty && s.timer != nil {
		s.timer.Stop()
		s.at = time.Time{}
	}
	s.mu.Unlock()
	if empty && d.downs.scheds[s.mux] == s {
		delete(d.downs.scheds, s.mux)
	}
}

// downSchedFor is m's schedule, created on first use. Loop only.
func (d *Daemon) downSchedFor(m *transport.Mux) *downSched {
	if s := d.downs.scheds[m]; s != nil {
		return s
	}
	if d.downs.scheds == nil {
		d.downs.scheds = map[*transport.Mux]*downSched{}
	}
	s := &downSched{mux: m, post: d.post}
	if u := d.socks[m]; u != nil && d.metrics != nil {
		s.waitsMetric = d.metrics.MasterDownWaits(u.stats.Interface, u.stats.Family)
	}
	d.downs.scheds[m] = s
	return s
}

// reset sets the timer for due; mu held.
func (s *downSched) reset(now, due time.Time) {
	s.at = due
	if s.timer == nil {
		s.timer = time.AfterFunc(due.Sub(now), s.fire)
		return
	}
	s.timer.Reset(due.Sub(now))
}

// remove takes in off the entries; mu held.
func (s *downSched) remove(in *instance) {
	e := &in.fast.down
	if e.sched != s {
		return
	}
	last := len(s.entries) - 1
	moved := s.entries[last]
	s.entries[e.idx] = moved
	moved.fast.down.idx = e.idx
	s.entries[last] = nil
	s.entries = s.entries[:last]
	e.sched = nil
}

// expiry is one master-down expiry to post.
type expiry struct {
	in  *instance
	gen uint64
}

// fire is the timer callback: one scan, then the expiries posted.
func (s *downSched) fire() {
	s.mu.Lock()
	out := s.scan(time.Now())
	s.mu.Unlock()
	for _, x := range out {
		s.post(loopEvent{in: x.in, ev: fsm.TimerFired(fsm.TimerMasterDown, x.gen)})
	}
}

// scan moves every entry's deadline to its last heard advert, takes off
// the expired ones and sets the timer for the earliest deadline left; mu
// held. Allocates only when something expires.
func (s *downSched) scan(now time.Time) []expiry {
	s.fires++
	s.at = time.Time{}
	var out []expiry
	var next time.Time
	behind := behindUnknown
	for i := 0; i < len(s.entries); {
		in := s.entries[i]
		e := &in.fast.down
		if heard := in.fast.heard.Load(); heard > e.armedAt {
			e.armedAt = heard // an advert absorbed since: the interval restarts there
		}
		due := in.fast.base.Add(time.Duration(e.armedAt) + e.armDown)
		if !due.After(now) {
			if behind == behindUnknown {
				behind = s.readerBehind(now)
			}
			if behind == behindYes && now.Sub(due) < e.armDown {
				due = now.Add(catchUpPoll) // held back: look again soon
			} else {
				out = append(out, expiry{in: in, gen: e.gen})
				s.remove(in) // the last entry moved to i: look at i again
				continue
			}
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
		i++
	}
	if behind != behindYes {
		s.behindSince = time.Time{} // nothing held back: the next hold asks afresh
	}
	if !next.IsZero() {
		s.reset(now, next)
	}
	return out
}

// behindness is readerBehind's answer, computed at most once per scan.
type behindness uint8

const (
	behindUnknown behindness = iota
	behindNo
	behindYes
)

// readerBehind says whether adverts that arrived by now may still lack
// their heard stamps: the reader has not found the socket's queue empty
// since the first scan that asked (or, on the first asking, something is
// queued or being dispatched). mu held.
func (s *downSched) readerBehind(now time.Time) behindness {
	p, ok := s.mux.ReadProgress()
	if !ok {
		return behindNo
	}
	if s.behindSince.IsZero() {
		if !p.Pending {
			return behindNo
		}
		s.behindSince, s.behindDrains = now, p.Drains
		s.waits++
		if s.waitsMetric != nil {
			s.waitsMetric.Inc()
		}
		return behindYes
	}
	if p.Drains != s.behindDrains {
		return behindNo // drained since: the stamps read in this scan are final
	}
	return behindYes
}

// catchUpWaits is how many times expiries were held back for the reader
// (tests).
func (s *downSched) catchUpWaits() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waits
}

// scans is how many times the schedule's timer fired (tests).
func (s *downSched) scans() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fires
}
