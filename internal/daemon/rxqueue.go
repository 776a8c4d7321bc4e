package daemon

import (
	"sync"

	"github.com/govrrp/govrrp/internal/fsm"
)

// The advert backlog (issue 11: govrrp did not settle at 1,020 instances).
//
// Adverts the socket readers accept wait here, not on d.events, so that a
// burst of them can never delay the loop's own clocks: advert ticks, VIP
// lease ticks, timer expiries, track results and control requests (all on
// d.events) are served first. Before, 4,096 queued lower-priority adverts
// (each a re-advert and an NA burst on the master) held the masters' advert
// ticks back past the backups' master-down interval, the backups took over,
// their adverts filled the queue again and the lease ticks came seconds
// late: VIPs lapsed. A positive feedback loop.
//
// Invariants:
//   - Readers only append (under mu) and wake the loop through ready (one
//     slot: many appends, one wake-up); the loop takes the whole pending
//     slice at once into its backlog and serves it in arrival order.
//   - At most rxQueueLen adverts wait to be taken and at most rxQueueLen
//     have been taken (the loop takes only when it has served what it took
//     before): beyond, they are dropped and counted (queue_full), never
//     blocking a reader.
//   - The loop serves at most rxChunk adverts before it looks at d.events
//     again, so a tick waits for at most rxChunk adverts' work, except
//     behind a master-down expiry's drain (below), bounded by the queue.
//   - Causality: an expiry of a master-down timer is served only after the
//     adverts that arrived before it (drainAdverts), as FIFO would: an
//     advert that came in time must not lose to the timer it should have
//     reset. All of them, not only the instance's: measured at 1,020
//     instances, draining only the instance's own (and serving advert ticks
//     before everything) left a saturated master's start-up transitions
//     behind the backup's and it never settled; draining all settles.
type rxQueue struct {
	mu      sync.Mutex
	pending []loopEvent   // guarded by mu: appended by readers
	ready   chan struct{} // 1-buffered: pending became non-empty

	backlog []loopEvent // the loop's: taken from pending, served from next
	next    int
}

const (
	// rxQueueLen bounds the adverts waiting for the loop to take them (as
	// eventQueueLen did when they shared d.events).
	rxQueueLen = eventQueueLen
	// rxChunk is how many adverts the loop serves between looks at its
	// other inputs.
	rxChunk = 8
)

func newRxQueue() *rxQueue { return &rxQueue{ready: make(chan struct{}, 1)} }

// push queues one advert from a reader; false when the queue is full.
func (q *rxQueue) push(e loopEvent) bool {
	q.mu.Lock()
	n := len(q.pending)
	if n >= rxQueueLen {
		q.mu.Unlock()
		return false
	}
	q.pending = append(q.pending, e)
	q.mu.Unlock()
	if n == 0 {
		select {
		case q.ready <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
	return true
}

// take hands the loop what readers queued, once it has served what it took
// before (loop only): the backlog never holds more than rxQueueLen.
func (q *rxQueue) take() {
	if q.next < len(q.backlog) {
		return
	}
	q.mu.Lock()
	// Swap: the readers refill the slice the loop has served (pop cleared
	// it), so the steady state allocates nothing.
	q.backlog, q.pending, q.next = q.pending, q.backlog[:0], 0
	q.mu.Unlock()
}

// waiting is how many adverts the loop has taken but not served.
func (q *rxQueue) waiting() int { return len(q.backlog) - q.next }

// pop returns the next advert of the backlog (loop only).
func (q *rxQueue) pop() (loopEvent, bool) {
	if q.next == len(q.backlog) {
		return loopEvent{}, false
	}
	e := q.backlog[q.next]
	q.backlog[q.next] = loopEvent{} // drop the references
	q.next++
	return e, true
}

// serveAdverts serves up to max adverts of the backlog, taking what the
// readers queued first when the backlog is empty.
func (d *Daemon) serveAdverts(max int) {
	d.rx.take()
	for range max {
		e, ok := d.rx.pop()
		if !ok {
			return
		}
		d.serve(e)
	}
}

// drainAdverts serves every advert that arrived so far. Bounded: by rxQueueLen
// plus what arrives while it runs, at most two takes.
func (d *Daemon) drainAdverts() {
	for range 2 {
		d.rx.take()
		for {
			e, ok := d.rx.pop()
			if !ok {
				break
			}
			d.serve(e)
		}
	}
}

// needsDrain reports whether serving e must wait for the queued adverts.
func needsDrain(e loopEvent) bool {
	return e.in != nil && e.ev.Kind == fsm.EvTimer && e.ev.Timer == fsm.TimerMasterDown
}

// queued is how many adverts wait to be taken (tests).
func (q *rxQueue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}
