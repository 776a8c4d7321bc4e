package daemon

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/govrrp/govrrp/internal/vip"
)

// The VIP lease's netlink work (one address dump per interface every 250
// ms, one RTM_NEWADDR per VIP once a second: vip.Lease.Renew, a quarter of
// them per pass) runs on the renewer, a goroutine with
// a netlink socket of its own, so that it never delays an advert: at 255
// VIPs on a loaded machine a renewal pass on the loop outlasted a 10 ms
// instance's Master_Down_Interval and the backups took over.
//
// Invariants:
//   - The loop decides, the renewer only renews. Each lease tick the loop
//     hands it an immutable job (which VIPs each holding instance keeps); the
//     renewer posts back a typed leaseReport only when the kernel lacked some
//     of them, and the loop re-adds and announces as before. The renewer
//     never adds, removes or announces, and reads no instance field.
//   - No ticks, no renewals: a wedged loop stops renewing like a frozen one.
//   - A renewal never puts back a VIP the loop removed: the kernel creates a
//     missing address on RTM_NEWADDR whatever the flags, so every renewal runs
//     under leaseFence, and the loop revokes an address from the fence before
//     removing it (leasedManager.Remove). The loop waits at most one renewal
//     of one address (a netlink round trip) there, never a whole pass.
//   - A job the renewer has not started when the next tick comes is replaced
//     by the newer one (coalesced; a stall flag is kept), so a blocked
//     renewer never makes work pile up or the loop wait.

// leaseGrant is what one holding instance keeps. in is only the key the
// report goes back under; the renewer never reads it.
type leaseGrant struct {
	in   *instance
	vips []vip.Address
}

// renewJob is one renewal pass the loop asks for.
type renewJob struct {
	grants  []leaseGrant
	stalled bool // the tick came later than the lease (renewLease)
}

// leaseReport is the renewer's answer when VIPs were missing: per instance,
// what the kernel lacked (the typed loop event leaseReport).
type leaseReport struct {
	missing []leaseGrant
	stalled bool
}

// renewer runs renewal jobs on its own goroutine.
type renewer struct {
	ops    leaseOps
	fence  *leaseFence
	log    *slog.Logger
	events chan<- loopEvent
	closer func() // releases ops' socket (nil: nothing to release)

	mu        sync.Mutex
	pending   *renewJob // the job not started yet (coalesced)
	wake      chan struct{}
	quit      chan struct{}
	done      chan struct{}
	coalesced atomic.Int64 // jobs replaced before they started
	passes    atomic.Int64 // renewal passes completed
}

// startRenewer starts the renewer on a netlink socket of its own when the
// address manager can give one (vip.Manager.Renewer), else on lo itself (the
// zero Handle opens a socket per request, so sharing it is safe; the tests'
// fakes are safe for concurrent use).
func (d *Daemon) startRenewer(lo leaseOps) {
	if f, ok := d.addrs.(fenced); ok {
		f.setFence(&d.lease.fence)
	}
	r := &renewer{ops: lo, fence: &d.lease.fence, log: d.log, events: d.events,
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	if src, ok := d.addrs.(interface {
		Renewer(rcvbuf int, force bool) (*vip.Manager, error)
	}); ok {
		size, force := netlinkCmdRcvBuf(d.cfg)
		m, err := src.Renewer(size, force)
		if err != nil {
			d.log.Error("VIP lease: no netlink socket of its own; renewing through the loop's manager", "err", err)
		} else {
			r.ops, r.closer = m, m.Close
		}
	}
	d.lease.r = r
	go r.run()
}

// kick hands the renewer a job without waiting.
func (r *renewer) kick(j renewJob) {
	r.mu.Lock()
	if r.pending != nil {
		j.stalled = j.stalled || r.pending.stalled
		r.coalesced.Add(1)
	}
	r.pending = &j
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *renewer) take() *renewJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	j := r.pending
	r.pending = nil
	return j
}

// stop ends the renewer and waits for it (a pass in progress finishes).
func (r *renewer) stop() {
	close(r.quit)
	<-r.done
	if r.closer != nil {
		r.closer()
	}
}

func (r *renewer) run() {
	defer close(r.done)
	for {
		select {
		case <-r.quit:
			return
		case <-r.wake:
		}
		if j := r.take(); j != nil {
			r.renew(j)
		}
	}
}

// renew runs one pass and reports what was missing.
func (r *renewer) renew(j *renewJob) {
	var all []vip.Address
	for _, g := range j.grants {
		all = append(all, g.vips...)
	}
	missing, err := r.ops.RefreshGated(all, r.fence.renew)
	r.passes.Add(1)
	if err != nil {
		r.log.Error("cannot renew VIP lease", "instances", len(j.grants), "err", err)
	}
	if len(missing) == 0 {
		return
	}
	rep := &leaseReport{missing: byOwner(j.grants, missing), stalled: j.stalled}
	select {
	case r.events <- loopEvent{leaseReport: rep}:
	case <-r.quit:
	}
}

// byOwner splits missing by the grant that asked for it, in grant order.
func byOwner(grants []leaseGrant, missing []vip.Address) []leaseGrant {
	var out []leaseGrant
	for _, g := range grants {
		var mine []vip.Address
		for _, a := range g.vips {
			for _, m := range missing {
				if m == a {
					mine = append(mine, a)
					break
				}
			}
		}
		if len(mine) > 0 {
			out = append(out, leaseGrant{in: g.in, vips: mine})
		}
	}
	return out
}

// leaseFence is the set of addresses the renewer may renew. The loop sets
// it each tick and narrows it before every removal; the renewer renews one
// address at a time under its lock, so once revoke returns no renewal of
// that address is running or can start until the loop grants it again.
type leaseFence struct {
	mu   sync.Mutex
	kept map[fenceKey]bool
}

// fenceKey is an address's identity for the fence: address and interface
// (wider than the kernel's IPv4 identity, which adds the prefix length: a
// revoke then also holds off a same-address twin until the next tick).
type fenceKey struct {
	addr netip.Addr
	dev  string
}

func keyOf(a vip.Address) fenceKey { return fenceKey{addr: a.Prefix.Addr(), dev: a.Dev} }

// set replaces the kept set (loop).
func (f *leaseFence) set(grants []leaseGrant) {
	kept := map[fenceKey]bool{}
	for _, g := range grants {
		for _, a := range g.vips {
			kept[keyOf(a)] = true
		}
	}
	f.mu.Lock()
	f.kept = kept
	f.mu.Unlock()
}

// revoke takes a out of the kept set (loop, before removing it).
func (f *leaseFence) revoke(a vip.Address) {
	f.mu.Lock()
	delete(f.kept, keyOf(a))
	f.mu.Unlock()
}

// renew is the vip.Gate: the renewal runs only while a is kept.
func (f *leaseFence) renew(a vip.Address, do func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.kept[keyOf(a)] {
		return nil
	}
	return do()
}
