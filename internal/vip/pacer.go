package vip

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Pacer spaces gratuitous ARPs and unsolicited NAs per interface, as
// keepalived's vrrp_garp_interval / vrrp_gna_interval and garp_group do, so an
// upstream switch that cannot take a flood of them is not flooded when many
// instances become master at once.
//
// Invariants:
//
//   - Two GARPs leave one pacing budget at least its GARP interval apart, two
//     NAs at least its NA interval apart, whatever burst (master transition,
//     second burst, refresh, lower-priority, extra interface) they belong to.
//     A budget is one interface, or every interface of one garp_group (the
//     group shares ONE budget: switch-wide limits). ARP and NA budgets are
//     separate (keepalived 2.2.7, observed: a GARP and an NA 3 ms apart under
//     a 200 ms garp_interval).
//   - The first announcement on an idle budget leaves at once (keepalived
//     does not delay it either); later ones wait in the budget's queue.
//   - An address is queued at most once per budget: a repeat of an address
//     that is still waiting merges with it (keepalived 2.2.7's
//     garp_gna_pending: with an interval, garp_master_repeat 3 gives one
//     GARP now and one queued, not three). So a queue never holds more
//     entries than there are VIPs on its interfaces.
//   - AnnounceBurst never sleeps: what is due is written by the caller (as
//     today without pacing), the rest by the Pacer's own goroutine. The
//     daemon's loop keeps sending adverts while hundreds of GARPs are paced.
//   - Interval 0 is no spacing: such interfaces go straight to the sender,
//     every repeat back to back, exactly as without a Pacer.
//   - Cancel drops what is still queued for some addresses (their instance
//     is no longer master: a late GARP would steal the VIP back).
type Pacer struct {
	out     sender
	onError atomic.Pointer[func(error)] // a paced send that failed (the caller is gone)

	mu      sync.Mutex
	closed  bool
	pacing  Pacing
	byIf    map[string]*[2]*budget // interface → its [ARP, NA] budgets
	budgets []*budget              // every budget with a non-zero interval
	seq     uint64                 // bursts so far: the queue order

	kick chan struct{} // wakes the worker (buffered 1)
	stop chan struct{}
	done chan struct{}

	// Counters, read with Stats.
	sentNow, sentPaced, merged, cancelled atomic.Uint64
}

// sender is what the Pacer writes through: the Announcer (a test seam).
type sender interface {
	AnnounceBurst(ctx context.Context, addrs []Address, repeat int) error
	Announce(a Address) error
	Close() error
}

// Pacing is the spacing configuration: keepalived's global intervals for
// interfaces in no group, and the garp_group blocks.
type Pacing struct {
	Default Interval
	Groups  []PacingGroup
	// Alias paces an interface as another one: a VMAC as its base interface
	// (keepalived applies the base's garp_group to it).
	Alias map[string]string
}

// Interval is the minimum spacing of GARPs and of NAs; 0 = none.
type Interval struct {
	GARP, NA time.Duration
}

// PacingGroup is one garp_group: its interfaces share one budget.
type PacingGroup struct {
	Interfaces []string
	Interval   Interval
}

// PacerStats counts announcements: sent by the caller at once, sent later by
// the Pacer, merged into one already queued, and dropped by Cancel.
type PacerStats struct {
	SentNow, SentPaced, Merged, Cancelled uint64
}

// budget is one pacing budget of one family.
type budget struct {
	every time.Duration
	next  time.Time // the earliest moment the next announcement may leave
	queue []queued  // waiting, in queue order, each address once
}

// queued is one waiting announcement. key orders the queue as keepalived's
// scan does (burst, then address within it), whatever repeat queued it.
type queued struct {
	a   Address
	key [2]uint64
}

// famOf indexes a budget pair: 0 ARP (IPv4), 1 NA (IPv6).
func famOf(a Address) int {
	if a.Prefix.Addr().Is4() {
		return 0
	}
	return 1
}

// NewPacer paces announcements written through out; onError (may be nil)
// hears about paced sends that failed. Close stops it and closes out.
func NewPacer(out sender, onError func(error)) *Pacer {
	p := &Pacer{out: out, byIf: map[string]*[2]*budget{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	p.OnError(onError)
	go p.run()
	return p
}

// OnError sets who hears about paced sends that failed (nil: nobody).
func (p *Pacer) OnError(f func(error)) {
	if f == nil {
		f = func(error) {}
	}
	p.onError.Store(&f)
}

// SetPacing replaces the configuration (start-up and reload). Queued
// announcements move to their interface's new budget (sent at once when it
// is no longer paced); a new budget does not send before any old budget of
// its interfaces would have.
func (p *Pacer) SetPacing(cfg Pacing) {
	p.mu.Lock()
	old := p.byIf
	var pending []queued
	for _, b := range p.budgets {
		pending = append(pending, b.queue...)
	}
	p.pacing = cfg
	p.byIf, p.budgets = map[string]*[2]*budget{}, nil
	for _, g := range cfg.Groups {
		pair := p.newPair(g.Interval)
		for _, name := range g.Interfaces {
			if _, dup := p.byIf[name]; !dup { // keepalived: the first group wins
				p.byIf[name] = pair
			}
		}
	}
	for name, o := range old {
		n := p.pairLocked(name)
		for f := range 2 {
			if n[f].every > 0 && o[f].next.After(n[f].next) {
				n[f].next = o[f].next
			}
		}
	}
	var now []Address
	for _, q := range pending {
		b := p.budgetLocked(q.a)
		if b.every == 0 {
			now = append(now, q.a)
			continue
		}
		b.insert(q)
	}
	p.mu.Unlock()
	p.write(now, &p.sentPaced)
	p.wake()
}

// newPair makes the ARP and NA budgets of one group (or lone interface).
func (p *Pacer) newPair(iv Interval) *[2]*budget {
	pair := &[2]*budget{{every: max(iv.GARP, 0)}, {every: max(iv.NA, 0)}}
	for _, b := range pair {
		if b.every > 0 {
			p.budgets = append(p.budgets, b)
		}
	}
	return pair
}

// pairLocked is the budget pair of an interface; one in no group gets its
// own with the default intervals on first use.
func (p *Pacer) pairLocked(name string) *[2]*budget {
	if base, ok := p.pacing.Alias[name]; ok && base != "" {
		name = base
	}
	pair, ok := p.byIf[name]
	if !ok {
		pair = p.newPair(p.pacing.Default)
		p.byIf[name] = pair
	}
	return pair
}

func (p *Pacer) budgetLocked(a Address) *budget { return p.pairLocked(a.Dev)[famOf(a)] }

// AnnounceBurst sends `repeat` announcements of every address, paced: on
// unpaced interfaces all of them now (the sender's burst order, a1 a2 a1
// a2 ...), on paced ones what the budget allows now, the rest queued. It
// returns the errors of what was sent now; later failures go to onError.
func (p *Pacer) AnnounceBurst(ctx context.Context, addrs []Address, repeat int) error {
	if repeat <= 0 || len(addrs) == 0 {
		return nil
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.seq++
	var direct, now []Address
	for _, a := range addrs {
		if p.budgetLocked(a).every == 0 {
			direct = append(direct, a)
		}
	}
	// After two rounds every paced address waits in its queue, so later
	// repeats can only merge: counted, not looped (repeat may be 2^32-1).
	if paced := len(addrs) - len(direct); repeat > 2 && paced > 0 {
		p.merged.Add(uint64(repeat-2) * uint64(paced))
	}
	at := time.Now()
	for range min(repeat, 2) {
		for i, a := range addrs {
			b := p.budgetLocked(a)
			if b.every == 0 {
				continue
			}
			switch {
			case b.pending(a):
				p.merged.Add(1)
			case len(b.queue) == 0 && !at.Before(b.next):
				b.next = at.Add(b.every)
				now = append(now, a)
			default:
				b.insert(queued{a: a, key: [2]uint64{p.seq, uint64(i)}})
			}
		}
	}
	p.mu.Unlock()
	var errs []error
	if len(direct) > 0 {
		errs = append(errs, p.out.AnnounceBurst(ctx, direct, repeat))
		p.sentNow.Add(uint64(len(direct) * repeat))
	}
	for _, a := range now {
		errs = append(errs, p.out.Announce(a))
		p.sentNow.Add(1)
		p.written(a)
	}
	p.wake()
	return errors.Join(errs...)
}

// Cancel drops every queued announcement of addrs (their instance is no
// longer master, or is releasing them to the new master).
func (p *Pacer) Cancel(addrs []Address) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.budgets {
		n := len(b.queue)
		b.queue = slices.DeleteFunc(b.queue, func(q queued) bool { return slices.Contains(addrs, q.a) })
		p.cancelled.Add(uint64(n - len(b.queue)))
	}
}

// Stats returns the counters so far.
func (p *Pacer) Stats() PacerStats {
	return PacerStats{SentNow: p.sentNow.Load(), SentPaced: p.sentPaced.Load(),
		Merged: p.merged.Load(), Cancelled: p.cancelled.Load()}
}

// Queued is how many announcements wait (all budgets).
func (p *Pacer) Queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, b := range p.budgets {
		n += len(b.queue)
	}
	return n
}

// Close stops the worker, drops what is queued and closes the sender.
func (p *Pacer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	return p.out.Close()
}

func (p *Pacer) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// run is the worker: it sends each budget's queue head once the budget
// allows, and sleeps until the earliest one does (or something new comes).
func (p *Pacer) run() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		due, wait := p.takeDue(time.Now())
		p.write(due, &p.sentPaced)
		if len(due) > 0 {
			continue // sending took time: look again before sleeping
		}
		var fire <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-p.stop:
			timer.Stop()
			return
		case <-p.kick:
			timer.Stop()
		case <-fire:
		}
	}
}

// takeDue pops, from every budget whose next moment has come, its queue
// head, and says how long until the next one is due (0: nothing queued).
func (p *Pacer) takeDue(now time.Time) (due []Address, wait time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, 0
	}
	for _, b := range p.budgets {
		if a, ok := b.take(now); ok {
			due = append(due, a)
		}
		if len(b.queue) > 0 {
			if w := b.next.Sub(now); wait == 0 || w < wait {
				wait = max(w, time.Nanosecond)
			}
		}
	}
	return due, wait
}

func (p *Pacer) write(addrs []Address, counter *atomic.Uint64) {
	for _, a := range addrs {
		if err := p.out.Announce(a); err != nil {
			(*p.onError.Load())(err)
		}
		counter.Add(1)
		p.written(a)
	}
}

// written moves a's budget one interval past the moment its write returned,
// so the spacing holds between the writes themselves, not only between the
// decisions to write (the write can take a while: a socket opened first).
func (p *Pacer) written(a Address) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.budgetLocked(a); b.every > 0 && now.Add(b.every).After(b.next) {
		b.next = now.Add(b.every)
	}
}

// pending reports whether a waits in b already.
func (b *budget) pending(a Address) bool {
	return slices.ContainsFunc(b.queue, func(q queued) bool { return q.a == a })
}

// insert queues q in key order (keepalived sends the pending addresses of
// its instances in list order, not in the order their repeats came).
func (b *budget) insert(q queued) {
	if b.pending(q.a) {
		return
	}
	i, _ := slices.BinarySearchFunc(b.queue, q.key, func(e queued, k [2]uint64) int {
		switch {
		case e.key[0] != k[0]:
			return cmpU(e.key[0], k[0])
		default:
			return cmpU(e.key[1], k[1])
		}
	})
	b.queue = slices.Insert(b.queue, i, q)
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// take pops the queue head if the budget allows a send at now, and moves
// the budget's next moment one interval past now.
func (b *budget) take(now time.Time) (Address, bool) {
	if len(b.queue) == 0 || now.Before(b.next) {
		return Address{}, false
	}
	a := b.queue[0].a
	b.queue = slices.Delete(b.queue, 0, 1)
	b.next = now.Add(b.every)
	return a, true
}
