package daemon

import (
	"slices"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/vip"
)

// leaseOps is the part of internal/vip's Manager that renews leased VIPs.
// The policy (lifetime, period, what a renewal does) is vip's; the daemon
// only runs the timer on its loop and repairs what lapsed.
type leaseOps interface {
	Lease() vip.Lease
	Refresh([]vip.Address) (missing []vip.Address, err error)
}

// leaseTimer is the daemon-wide renewal timer, owned by the loop. It runs
// while some instance may hold VIPs (armed when VIPs are added, re-armed by
// each tick that found a master) and posts a typed leaseTick event, so a
// frozen or wedged loop stops renewing: that is the point of the lease.
type leaseTimer struct {
	timer *time.Timer
	armed bool
	last  time.Time // the last renewal (or the add that armed the timer)
	// confirm holds masters that re-added VIPs after a stall and announce
	// them at the next renewal if still master (renewLease).
	confirm map[*instance]bool
}

// vipManager is the production address manager: leased unless the operator
// asked for keepalived's forever addresses (--no-vip-lease).
func vipManager(o Options) addrOps {
	m := vip.NewManager(nil)
	if o.NoVIPLease {
		return m
	}
	leased, err := m.WithLease(vip.DefaultLease())
	if err != nil {
		panic("vip.DefaultLease is invalid: " + err.Error()) // a programming error, caught by every test
	}
	return leased
}

// leaser is the renewal seam and its lease, when addresses are leased.
func (d *Daemon) leaser() (leaseOps, vip.Lease, bool) {
	lo, ok := d.addrs.(leaseOps)
	if !ok || !lo.Lease().Enabled() {
		return nil, vip.Lease{}, false
	}
	return lo, lo.Lease(), true
}

// armLease starts the renewal timer unless it runs (called after VIPs are
// added).
func (d *Daemon) armLease() {
	_, l, ok := d.leaser()
	if !ok || d.lease.armed {
		return
	}
	d.lease.armed, d.lease.last = true, time.Now()
	if d.lease.timer == nil {
		d.lease.timer = time.AfterFunc(l.Refresh, func() { d.post(loopEvent{leaseTick: true}) })
		return
	}
	d.lease.timer.Reset(l.Refresh)
}

// stopLease stops the renewal timer (at exit).
func (d *Daemon) stopLease() {
	if d.lease.timer != nil {
		d.lease.timer.Stop()
	}
	d.lease.armed = false
}

// onLeaseTick renews the VIPs of every master, re-adds and announces what
// lapsed, and re-arms while some instance is master (measuring the next
// period from after this renewal).
func (d *Daemon) onLeaseTick() {
	d.lease.armed = false
	lo, l, ok := d.leaser()
	if !ok {
		return
	}
	stalled := false
	if since := time.Since(d.lease.last); l.Overdue(since) {
		stalled = true
		d.log.Warn("VIP lease renewal is late (the daemon was stopped or starved): the kernel may have expired VIPs; re-adding any that are gone",
			"since_last", since.Round(time.Millisecond), "lifetime", l.Lifetime)
	}
	// A master removed by a reload that still waits for its successor
	// (release.go) lives only in d.releasing: its VIPs stay leased too.
	held := slices.Clone(d.instances)
	for _, in := range d.releasing { // at shutdown they are in both
		if !slices.Contains(held, in) {
			held = append(held, in)
		}
	}
	for in := range d.lease.confirm { // removed by a reload meanwhile
		if !slices.Contains(held, in) {
			delete(d.lease.confirm, in)
		}
	}
	var renew []*instance
	var all []vip.Address
	masters := 0
	for _, in := range held {
		if !holdsVIPs(in.machine.State()) {
			delete(d.lease.confirm, in)
			continue
		}
		// A master without VIPs keeps the timer running: a reload may
		// give it some (reconfigure adds them without a transition).
		masters++
		if len(in.vips) > 0 {
			renew = append(renew, in)
			all = append(all, in.vips...)
		}
	}
	if len(all) > 0 {
		// One Refresh for every master: one address dump per interface
		// per tick, not one per instance (255 instances on a link made
		// the per-instance dumps the daemon's largest cost).
		missing, err := lo.Refresh(all)
		if err != nil {
			d.log.Error("cannot renew VIP lease", "instances", len(renew), "err", err)
		}
		for _, in := range renew {
			d.renewLease(in, missingOf(in, missing), stalled)
		}
	}
	if masters > 0 {
		d.armLease()
	}
}

// missingOf is the part of missing that belongs to in.
func missingOf(in *instance, missing []vip.Address) []vip.Address {
	var out []vip.Address
	for _, a := range missing {
		if slices.Contains(in.vips, a) {
			out = append(out, a)
		}
	}
	return out
}

// renewLease handles in's renewal (Refresh has renewed what the kernel
// still had; missing is what it lacked). A VIP the kernel no longer has while we are
// master is added again and announced, as after a transition. A stopped
// master waiting for its successor (Releasing) only renews: what is gone is
// the successor's now.
//
// After a stall (the renewal came later than the lease: SIGSTOP, a paused
// VM) the machine's MASTER is stale news: a backup may have taken over
// meanwhile. The VIPs are re-added at once, which only restores what a
// frozen master without a lease would hold anyway, but announced one renewal
// later, and only if still master: by then our first advert after the stall
// has gone out, and a higher-priority master answers a lower-priority advert
// at once (RFC 9568), so a master we should yield to has made us backup. An
// immediate announcement would point the clients at us just before we yield,
// and nobody would point them back.
func (d *Daemon) renewLease(in *instance, missing []vip.Address, stalled bool) {
	if in.machine.State() != fsm.Master {
		return
	}
	if d.lease.confirm[in] {
		delete(d.lease.confirm, in)
		d.log.Info("still master after the stall: announcing the re-added VIPs", "instance", in.name)
		d.announceVIPs(in)
	}
	if len(missing) == 0 || d.readd(in, missing) == 0 {
		return
	}
	if stalled {
		if d.lease.confirm == nil {
			d.lease.confirm = map[*instance]bool{}
		}
		d.lease.confirm[in] = true
		return
	}
	d.announceVIPs(in)
}

// readd adds missing VIPs again and returns how many it could.
func (d *Daemon) readd(in *instance, missing []vip.Address) int {
	n := 0
	for _, a := range missing {
		if err := d.addrs.Add(a); err != nil {
			d.log.Error("cannot re-add VIP", "instance", in.name, "vip", a.String(), "err", err)
			continue
		}
		n++
		d.log.Warn("VIP was gone while master (lease expired or deleted); re-added", "instance", in.name, "vip", a.String())
	}
	return n
}

// holdsVIPs reports whether an instance in state s has its VIPs installed:
// a master, and a stopped master waiting for the new one to take them over
// (release.go), whose VIPs must not lapse during the wait.
func holdsVIPs(s fsm.State) bool { return s == fsm.Master || s == fsm.Releasing }
