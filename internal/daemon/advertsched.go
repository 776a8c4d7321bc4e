package daemon

import (
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
)

// One wake-up per socket per aligned tick (issue 11, cost at scale).
//
// Aligned masters (align.go) of one socket do not each own a time.Timer:
// their Adver_Timers are entries of the socket's advertSched, whose one
// timer fires at the earliest due entry and posts ONE loop event. The loop
// then takes every entry that is due and runs each instance's FSM
// TimerFired exactly as an own timer would (generation and due checks
// included), with the adverts the machines send collected and written in
// one batch per socket (advertbatch.go). The FSM re-arms its Adver_Timer
// while handling the expiry, which puts the instance back on the schedule.
//
// Invariants:
//   - Owned by the loop: entries are read and written only on the loop
//     goroutine; the timer callback touches nothing but the pointer it posts.
//   - An instance is on at most one schedule, and on none while its advert
//     timer is stopped or runs unaligned (stopTimer and armTimer take it off).
//   - Due times are computed on the schedule's own grid (epoch + k·interval),
//     so instances of one interval share one due time exactly and one expiry
//     serves them all; an entry is never due later than one interval after
//     it was armed (RFC 9568 6.4.3 asks for an advert every interval).

// advertState is the daemon's set of schedules, one per shared socket.
type advertState struct {
	scheds map[*transport.Mux]*advertSched
	due    []*instance // reused by every tick
	batch  advertBatch // the tick's adverts, written together (advertbatch.go)
	ticks  uint64      // schedule expiries served (tests)
	// senders write the batches of reservable sockets off the loop
	// (advertsend.go), one per socket with a schedule.
	senders map[transport.Conn]*sockSender
}

// advertSched is the advert schedule of one socket.
type advertSched struct {
	mux     *transport.Mux
	epoch   time.Time // on a whole wall-clock second: the grid of every interval dividing it
	timer   *time.Timer
	armedAt time.Time // when timer fires; zero when stopped
	entries []schedEntry
	index   map[*instance]int // position in entries
}

type schedEntry struct {
	in  *instance
	due time.Time
}

// schedAdvert puts in's advert timer on its socket's schedule when it is
// aligned and reports whether it did; otherwise it takes in off any
// schedule and the caller arms the instance's own timer, as before.
func (d *Daemon) schedAdvert(in *instance, kind fsm.TimerKind, after time.Duration, gen uint64) bool {
	if kind != fsm.TimerAdvert {
		return false
	}
	if !d.aligns(in, after) {
		d.unschedAdvert(in)
		return false
	}
	t := &in.timers[kind]
	if t.timer != nil {
		t.timer.Stop() // the schedule fires it from now on
	}
	s := d.schedFor(in.mux)
	now := time.Now()
	due := s.next(now, after)
	t.gen.Store(gen)
	t.due = due
	s.put(in, due)
	if !s.armedAt.IsZero() && !s.armedAt.After(due) && s.armedAt.After(now) {
		return true // the timer fires in time for it already: no scan
	}
	s.arm(d, now)
	return true
}

// unschedAdvert takes in off its socket's schedule, if it is on it; a
// schedule left empty stops its timer and is forgotten.
func (d *Daemon) unschedAdvert(in *instance) {
	if in.mux == nil {
		return
	}
	s := d.adverts.scheds[in.mux]
	if s == nil || !s.remove(in) {
		return
	}
	if len(s.entries) == 0 {
		d.forgetSched(s)
	}
}

// forgetSched drops an emptied schedule and the senders no schedule's
// socket uses any more (its own, and one of a socket the mux replaced).
func (d *Daemon) forgetSched(s *advertSched) {
	s.stop()
	delete(d.adverts.scheds, s.mux)
	for c := range d.adverts.senders {
		if !d.schedUses(c) {
			d.stopSender(c)
		}
	}
}

func (d *Daemon) schedUses(c transport.Conn) bool {
	for m := range d.adverts.scheds {
		if m.Conn() == c {
			return true
		}
	}
	return false
}

func (d *Daemon) schedFor(m *transport.Mux) *advertSched {
	if s := d.adverts.scheds[m]; s != nil {
		return s
	}
	if d.adverts.scheds == nil {
		d.adverts.scheds = map[*transport.Mux]*advertSched{}
	}
	now := time.Now()
	s := &advertSched{
		mux:   m,
		epoch: now.Add(-time.Duration(now.UnixNano() % int64(time.Second))),
		index: map[*instance]int{},
	}
	d.adverts.scheds[m] = s
	return s
}

// next is the last grid point of period not later than now+period: in
// (now, now+period].
func (s *advertSched) next(now time.Time, period time.Duration) time.Time {
	k := int64(now.Add(period).Sub(s.epoch) / period)
	due := s.epoch.Add(time.Duration(k) * period)
	if !due.After(now) { // a clock far from the epoch: never fire in the past
		return now.Add(period)
	}
	return due
}

func (s *advertSched) put(in *instance, due time.Time) {
	if i, ok := s.index[in]; ok {
		s.entries[i].due = due
		return
	}
	s.index[in] = len(s.entries)
	s.entries = append(s.entries, schedEntry{in: in, due: due})
}

func (s *advertSched) remove(in *instance) bool {
	i, ok := s.index[in]
	if !ok {
		return false
	}
	last := len(s.entries) - 1
	if i != last {
		s.entries[i] = s.entries[last]
		s.index[s.entries[i].in] = i
	}
	s.entries[last] = schedEntry{}
	s.entries = s.entries[:last]
	delete(s.index, in)
	return true
}

// takeDue moves the entries due at now (in schedule order) to out.
func (s *advertSched) takeDue(now time.Time, out []*instance) []*instance {
	kept := s.entries[:0]
	for _, e := range s.entries {
		if e.due.After(now) {
			s.index[e.in] = len(kept)
			kept = append(kept, e)
			continue
		}
		delete(s.index, e.in)
		out = append(out, e.in)
	}
	clear(s.entries[len(kept):])
	s.entries = kept
	return out
}

// arm makes the timer fire at the earliest entry; schedAdvert calls it
// only when the timer would fire too late or not at all, so re-arming the
// 255 entries of one tick resets the timer once.
func (s *advertSched) arm(d *Daemon, now time.Time) {
	if len(s.entries) == 0 {
		return
	}
	first := s.entries[0].due
	for _, e := range s.entries[1:] {
		if e.due.Before(first) {
			first = e.due
		}
	}
	if !s.armedAt.IsZero() && !s.armedAt.After(first) && s.armedAt.After(now) {
		return // fires in time already
	}
	s.armedAt = first
	if s.timer == nil {
		s.timer = time.AfterFunc(first.Sub(now), func() { d.post(loopEvent{advertTick: s}) })
		return
	}
	s.timer.Reset(first.Sub(now))
}

func (s *advertSched) stop() {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.armedAt = time.Time{}
}

// onAdvertTick serves one schedule expiry: every due instance's Adver_Timer
// fires, in one pass, and their adverts leave in one batch per socket.
func (d *Daemon) onAdvertTick(s *advertSched) {
	if d.adverts.scheds[s.mux] != s {
		return // emptied and forgotten since it fired
	}
	d.adverts.ticks++
	now, dueAt := time.Now(), s.armedAt
	s.armedAt = time.Time{} // spent
	due := s.takeDue(now, d.adverts.due[:0])
	d.adverts.batch.begin(dueAt)
	for _, in := range due {
		t := &in.timers[fsm.TimerAdvert]
		// Another instance's actions (a sync group) may have stopped or
		// re-armed this one since it was taken, or a reload detached it
		// from the socket: the same checks as serve's, and the socket's.
		if gen := t.gen.Load(); gen != 0 && in.mux == s.mux && in.timerDue(fsm.TimerAdvert) {
			d.handle(in, fsm.TimerFired(fsm.TimerAdvert, gen))
		}
	}
	d.flushAdverts()
	clear(due)
	d.adverts.due = due[:0]
	if d.adverts.scheds[s.mux] != s {
		return
	}
	if len(s.entries) == 0 { // nobody re-armed: every master left
		d.forgetSched(s)
		return
	}
	s.arm(d, time.Now())
}
