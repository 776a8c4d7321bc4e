package transport

import "sync"

// Reserved writes (issue 11, cost at scale): the daemon's loop encodes one
// socket's batch of adverts and hands the write to a goroutine of that
// socket, so the sendmmsg of four sockets run on both cores while the loop
// goes on. The order of one socket's writes must not change by it (a
// priority-0 advert sent by the loop must not overtake the batch before
// it: the backup would then wait a whole master-down interval instead of
// Skew_Time), so the loop reserves the socket's send side before handing
// the batch off: every write on the Conn after ReserveWrites (WriteTo,
// WriteWithTTL, WriteBatch, another reservation) waits until the
// reservation is released. A reservation is not a queue: a socket holds at
// most one, and its holder writes and releases it.

// BatchReserver is implemented by Conns whose batches can be written on
// another goroutine in the socket's write order (the raw socket, Segment).
type BatchReserver interface {
	// ReserveWrites takes the Conn's send side, waiting while another
	// reservation or write holds it; the Reservation must be released
	// exactly once, on any goroutine (the holder's).
	ReserveWrites() Reservation
}

// Reservation is a Conn's send side, held: writes through it, in order,
// then Release.
type Reservation interface {
	// WriteBatch is BatchWriter's: n messages sent; when fewer than all,
	// err is msgs[n]'s failure.
	WriteBatch(msgs []Message) (n int, err error)
	// Release lets the Conn's other writes go on. Call it exactly once:
	// the raw socket reuses its one reservation value for the next holder.
	Release()
}

// sendLock is a Segment Conn's send side: a one-slot semaphore, which the
// holder of a reservation may release on another goroutine than the one
// that took it, and on which a waiting goroutine is durably blocked for
// testing/synctest (a sync.Mutex waiter is not: a bubble whose loop waits
// for a sender would never advance its clock).
type sendLock struct {
	once sync.Once
	sem  chan struct{}
}

// held is one reservation of a sendLock; released once.
type held struct {
	l    *sendLock
	once sync.Once
}

func (l *sendLock) reserve() *held {
	l.once.Do(func() { l.sem = make(chan struct{}, 1) })
	l.sem <- struct{}{}
	return &held{l: l}
}

func (h *held) release() { h.once.Do(func() { <-h.l.sem }) }

// ReserveWrites takes the Segment Conn's send side (BatchReserver).
func (c *SegmentConn) ReserveWrites() Reservation { return &segReservation{c: c, h: c.send.reserve()} }

type segReservation struct {
	c *SegmentConn
	h *held
}

func (r *segReservation) WriteBatch(msgs []Message) (int, error) {
	for i, m := range msgs {
		if err := r.c.write(m.Buf, m.Src, m.Dst, m.TTL); err != nil {
			return i, err
		}
	}
	return len(msgs), nil
}

func (r *segReservation) Release() { r.h.release() }
