package bfd

import (
	"math/rand/v2"
	"time"
)

// RFC 5880 4.1 diagnostic codes govrrp sets.
const (
	DiagNone         uint8 = 0
	DiagTimeExpired  uint8 = 1 // Control Detection Time Expired
	DiagNeighborDown uint8 = 3 // Neighbor Signaled Session Down
	DiagAdminDown    uint8 = 7 // Administratively Down
)

// output is what a session does to the world; the manager implements it.
type output interface {
	send(s *session, p *Packet)
	emit(e Event)
}

// session is one RFC 5880 session's variables (6.8.1) and timers. It is
// owned by the manager's loop goroutine.
type session struct {
	cfg  Config
	conn sessionConn

	state       State
	remoteState State
	localDisc   uint32
	remoteDisc  uint32
	localDiag   uint8

	// What the peer last told us (6.8.1 bfd.Remote*).
	remoteMinRx     time.Duration // bfd.RemoteMinRxInterval, 1 µs until heard
	remoteDesiredTx time.Duration
	remoteMult      uint8
	remoteDemand    bool // bfd.RemoteDemandMode
	heard           bool // a packet was received since the last Down by timeout (passive)

	// advTx/advRx are the intervals advertised in our packets; useTx/useRx
	// the ones the timers run on. They differ only while a Poll sequence
	// (6.5, 6.8.3) defers a change: an increased Desired Min TX or a
	// reduced Required Min RX waits for the Final.
	advTx, advRx time.Duration
	useTx, useRx time.Duration
	polling      bool
	finalDue     bool // answer a received Poll with the next packet, now

	nextTx   time.Time // zero: nothing scheduled
	lastTx   time.Time // the last periodic (or answering) packet
	detectAt time.Time // zero: no detection timer

	since    time.Time
	lastDiag uint8
	rx, tx   uint64
	txErrors uint64
	dropped  map[string]uint64
	rng      *rand.Rand
}

func newSession(cfg Config, disc uint32, conn sessionConn, now time.Time, rng *rand.Rand) *session {
	s := &session{cfg: cfg, conn: conn, state: Down, localDisc: disc, remoteMinRx: time.Microsecond,
		since: now, dropped: map[string]uint64{}, rng: rng}
	s.advTx, s.advRx = s.desiredTx(), cfg.MinRx
	s.useTx, s.useRx = s.advTx, s.advRx
	if !cfg.Passive {
		s.nextTx = now // the first packet leaves at once
	}
	return s
}

// desiredTx is bfd.DesiredMinTxInterval for the current state: min_tx when
// Up, else at least idle_tx (6.8.3's "not less than one second", which
// keepalived names idle_tx; 2.2.7 advertises 1000 ms in Down and Init).
func (s *session) desiredTx() time.Duration {
	if s.state == Up {
		return s.cfg.MinTx
	}
	return max(s.cfg.MinTx, s.cfg.IdleTx)
}

// txInterval is 6.8.7's max(bfd.DesiredMinTxInterval, bfd.RemoteMinRxInterval).
func (s *session) txInterval() time.Duration { return max(s.useTx, s.remoteMinRx) }

// detectTime is 6.8.4 (asynchronous mode): the remote Detect Mult times the
// agreed interval max(bfd.RequiredMinRxInterval, last received Desired Min TX).
func (s *session) detectTime() time.Duration {
	if !s.heard {
		return 0
	}
	return time.Duration(s.remoteMult) * max(s.useRx, s.remoteDesiredTx)
}

// jitter applies 6.8.7: the interval reduced by 0-25 %, or by 10-25 % when
// bfd.DetectMult is 1.
func (s *session) jitter(d time.Duration) time.Duration {
	lo, span := 75, 25
	if s.cfg.Multiplier == 1 {
		span = 15
	}
	pct := lo + s.rng.IntN(span+1)
	if pct == 100 && span == 25 {
		pct = 99
	}
	return d * time.Duration(pct) / 100
}

// sending reports whether periodic packets flow: not while passive and
// unheard, nor when the peer asked for none (Required Min RX 0, 6.8.7).
func (s *session) sending() bool {
	if s.cfg.Passive && !s.heard {
		return false
	}
	// 6.8.7: a peer in Demand mode with both sides Up gets no periodic
	// packets, except those of a Poll sequence.
	if s.remoteDemand && s.state == Up && s.remoteState == Up && !s.polling {
		return false
	}
	return s.remoteMinRx != 0 || s.state == AdminDown
}

// packet builds the next control packet.
func (s *session) packet() Packet {
	p := Packet{Version: version, Diag: s.localDiag, State: s.state, DetectMult: s.cfg.Multiplier,
		MyDisc: s.localDisc, YourDisc: s.remoteDisc, DesiredMinTx: s.advTx, RequiredMinRx: s.advRx}
	if s.finalDue {
		p.Final = true
	} else if s.polling {
		p.Poll = true
	}
	return p
}

// transmit sends one packet now and schedules the next periodic one.
func (s *session) transmit(out output, now time.Time) {
	p := s.packet()
	s.finalDue = false
	out.send(s, &p)
	s.tx++
	s.lastTx = now
	s.schedule(now)
}

// reschedule moves the next packet after an interval change: one jittered
// new interval after the last packet, but not in the past. A shorter
// interval brings it forward; a longer one (the peer asking for fewer)
// pushes it back, so no gap is below the new interval's jitter bound, and
// none is stretched by a re-draw from now (FRR raises its Required Min RX
// from 1 s to 100 ms on Up: re-drawing from the change gave 1.3 s gaps).
func (s *session) reschedule(now time.Time) {
	if !s.sending() {
		s.nextTx = time.Time{}
		return
	}
	if s.lastTx.IsZero() {
		s.nextTx = now
		return
	}
	next := s.lastTx.Add(s.jitter(s.txInterval()))
	if next.Before(now) {
		next = now
	}
	s.nextTx = next
}

func (s *session) schedule(now time.Time) {
	if !s.sending() {
		s.nextTx = time.Time{}
		return
	}
	s.nextTx = now.Add(s.jitter(s.txInterval()))
}

// setTimers recomputes the advertised intervals after a state or
// configuration change and starts a Poll sequence when Up (6.8.3).
func (s *session) setTimers(now time.Time) {
	tx, rx := s.desiredTx(), s.cfg.MinRx
	if tx == s.advTx && rx == s.advRx {
		return
	}
	oldTx, oldRx := s.useTx, s.useRx
	s.advTx, s.advRx = tx, rx
	if s.state != Up {
		// Not Up: no Poll needed, the values take effect at once.
		s.useTx, s.useRx = tx, rx
		return
	}
	s.polling = true
	// A faster transmit rate and a longer detection time are safe at once;
	// the others wait for the Final.
	s.useTx, s.useRx = min(oldTx, tx), max(oldRx, rx)
	if tx < oldTx && !s.nextTx.IsZero() {
		s.reschedule(now)
	}
}

// finishPoll ends a Poll sequence on receipt of a Final (6.5).
func (s *session) finishPoll() {
	s.polling = false
	s.useTx, s.useRx = s.advTx, s.advRx
}

func (s *session) setState(out output, st State, diag uint8, now time.Time) {
	if st == s.state {
		return
	}
	was := s.state
	s.state, s.localDiag, s.since = st, diag, now
	if diag != DiagNone {
		s.lastDiag = diag
	}
	if st != Up {
		s.polling = false
	}
	s.setTimers(now)
	switch {
	case st == Up:
		out.emit(Event{Name: s.cfg.Name, Up: true, State: st, Diag: diag, At: now})
	case was == Up:
		out.emit(Event{Name: s.cfg.Name, Up: false, State: st, Diag: diag, At: now})
	}
}

// receive runs 6.8.6 for a packet that passed Decode and demultiplexing.
func (s *session) receive(out output, p *Packet, now time.Time) {
	s.rx++
	s.remoteDisc = p.MyDisc
	s.remoteState = p.State
	s.remoteDesiredTx = p.DesiredMinTx
	s.remoteMult = p.DetectMult
	demandChanged := s.remoteDemand != p.Demand
	s.remoteDemand = p.Demand
	rateChanged := s.remoteMinRx != p.RequiredMinRx
	s.remoteMinRx = p.RequiredMinRx
	first := !s.heard
	s.heard = true
	if p.Final && s.polling {
		slower := s.advTx > s.useTx
		s.finishPoll()
		rateChanged = rateChanged || slower
	}
	if s.state == AdminDown {
		return
	}
	switch {
	case p.State == AdminDown:
		if s.state != Down {
			s.setState(out, Down, DiagNeighborDown, now)
		}
	case s.state == Down && p.State == Down:
		s.setState(out, Init, DiagNone, now)
	case s.state == Down && p.State == Init, s.state == Init && (p.State == Init || p.State == Up):
		s.setState(out, Up, DiagNone, now)
	case s.state == Up && p.State == Down:
		s.setState(out, Down, DiagNeighborDown, now)
	}
	if d := s.detectTime(); d > 0 {
		s.detectAt = now.Add(d)
	}
	if p.Poll {
		// 6.8.7: a Final as soon as practicable, regardless of the timer. It
		// carries our current values, which may end our own pending Poll's
		// purpose (6.8.3 "MAY be carried in packets with the Final bit set");
		// keepalived 2.2.7 does exactly that when a Poll brings it Up.
		s.finalDue = true
		if s.polling && p.State == Up {
			s.finishPoll()
		}
		s.transmit(out, now)
		return
	}
	switch {
	case first && s.cfg.Passive:
		s.transmit(out, now) // a passive session answers at once
	case rateChanged || demandChanged || s.nextTx.IsZero():
		s.reschedule(now)
	}
}

// expire handles a passed detection time: Init or Up go Down with diag 1
// (6.8.4); the remote discriminator is forgotten (6.8.1) and a passive
// session waits again to be spoken to.
func (s *session) expire(out output, now time.Time) {
	s.detectAt = time.Time{}
	if s.state != Init && s.state != Up {
		return
	}
	s.remoteDisc = 0
	s.remoteMinRx = time.Microsecond
	s.remoteDesiredTx, s.remoteMult = 0, 0
	if s.cfg.Passive {
		s.heard = false
	}
	s.setState(out, Down, DiagTimeExpired, now)
	// Tell the peer at once, as keepalived 2.2.7 does (its Down diag 1
	// packet leaves at the expiry): a one-way failure then ends on both
	// sides together. A passive session, now unheard, stays silent.
	if s.sending() {
		s.transmit(out, now)
	} else {
		s.nextTx = time.Time{}
	}
}

// tick runs the timers due at now.
func (s *session) tick(out output, now time.Time) {
	if !s.detectAt.IsZero() && !now.Before(s.detectAt) {
		s.expire(out, now)
	}
	if !s.nextTx.IsZero() && !now.Before(s.nextTx) {
		s.transmit(out, now)
	}
}

// next is the earliest timer of s, or the zero Time.
func (s *session) next() time.Time {
	switch {
	case s.nextTx.IsZero():
		return s.detectAt
	case s.detectAt.IsZero():
		return s.nextTx
	}
	return minTime(s.nextTx, s.detectAt)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// reconfigure applies a changed Config in place (same identity): new
// intervals go through Poll when Up.
func (s *session) reconfigure(cfg Config, now time.Time) {
	s.cfg = cfg
	s.setTimers(now)
	if s.polling && s.state == Up {
		// Start the Poll sequence with the next packet, not a full interval on.
		s.nextTx = now
	}
	if cfg.Passive && !s.heard {
		s.nextTx = time.Time{}
	} else if s.nextTx.IsZero() && s.sending() {
		s.nextTx = now
	}
}

// adminDown tells the peer the session is administratively down
// (6.8.16, diag 7): a few copies at once, since nobody will repeat them.
func (s *session) adminDown(out output, now time.Time) {
	if s.tx == 0 {
		return // the peer never heard of us (passive, unheard)
	}
	s.state, s.localDiag, s.polling, s.finalDue = AdminDown, DiagAdminDown, false, false
	for range adminDownCopies {
		p := s.packet()
		out.send(s, &p)
		s.tx++
	}
}

const adminDownCopies = 3

func (s *session) status() SessionStatus {
	d := make(map[string]uint64, len(s.dropped))
	for k, v := range s.dropped {
		d[k] = v
	}
	return SessionStatus{Config: s.cfg, State: s.state, RemoteDisc: s.remoteDisc, LocalDisc: s.localDisc,
		TxInterval: s.txInterval(), DetectTime: s.detectTime(), LastDiag: s.lastDiag, Since: s.since,
		RxPackets: s.rx, TxPackets: s.tx, TxErrors: s.txErrors, Dropped: d,
		RemoteState: s.remoteState, Polling: s.polling}
}
