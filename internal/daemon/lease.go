package daemon

import (
	"slices"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/vip"
)

// leaseOps is the part of internal/vip's Manager that renews leased VIPs.
// The policy (lifetime, period, what a renewal does) is vip's; the daemon
// runs the timer on its loop, the renewals on the renewer, and repairs what
// lapsed on the loop.
type leaseOps interface {
	Lease() vip.Lease
	RefreshGated([]vip.Address, vip.Gate) (missing []vip.Address, err error)
}

// leaseTimer is the daemon-wide renewal timer, owned by the loop. It runs
// while some instance may hold VIPs (armed when VIPs are added, re-armed by
// each tick that found a master) and posts a typed leaseTick event. The tick
// itself is cheap (no netlink): it hands the renewer (renewer.go) what to
// renew. A frozen or wedged loop posts no ticks and the renewer renews
// nothing: that is the point of the lease.
type leaseTimer struct {
	timer *time.Timer
	armed bool
	last  time.Time // the last tick (or the add that armed the timer)
	// confirm holds masters that re-added VIPs after a stall and announce
	// them at the next tick if still master (onLeaseTick).
	confirm map[*instance]bool
	r       *renewer   // started with the first armLease
	fence   leaseFence // what the renewer may renew; removals narrow it first
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
	return &leasedManager{Manager: leased}
}

// leasedManager is the leased vip.Manager whose removals are fenced against
// the renewer running beside the loop (leaseFence).
type leasedManager struct {
	*vip.Manager
	fence *leaseFence // set on the loop before the renewer starts
}

// Remove first stops the renewer from renewing a (a renewal of a removed
// VIP would create it again), then removes it.
func (m *leasedManager) Remove(a vip.Address) error {
	if m.fence != nil {
		m.fence.revoke(a)
	}
	return m.Manager.Remove(a)
}

func (m *leasedManager) setFence(f *leaseFence) { m.fence = f }

// The wrapper must keep every side of the manager the daemon asks for.
var (
	_ addrOps  = (*leasedManager)(nil)
	_ routeOps = (*leasedManager)(nil)
	_ leaseOps = (*leasedManager)(nil)
	_ fenced   = (*leasedManager)(nil)
	_ unleased = (*leasedManager)(nil)
)

type unleased interface{ Unleased() *vip.Manager } // routes.go staticAddrOps

// fenced is an address manager whose Remove revokes the address from a
// fence first (leasedManager, and the tests' fakes).
type fenced interface{ setFence(*leaseFence) }

// isKernelAddrs reports whether a talks to the kernel (not a test's fake).
func isKernelAddrs(a addrOps) bool {
	switch a.(type) {
	case *vip.Manager, *leasedManager:
		return true
	}
	return false
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
// added), and the renewer with the first one.
func (d *Daemon) armLease() {
	lo, l, ok := d.leaser()
	if !ok || d.lease.armed {
		return
	}
	if d.lease.r == nil {
		d.startRenewer(lo)
	}
	d.lease.armed, d.lease.last = true, time.Now()
	if d.lease.timer == nil {
		d.lease.timer = time.AfterFunc(l.Refresh, func() { d.post(loopEvent{leaseTick: true}) })
		return
	}
	d.lease.timer.Reset(l.Refresh)
}

// stopLease stops the renewal timer and the renewer (at exit).
func (d *Daemon) stopLease() {
	if d.lease.timer != nil {
		d.lease.timer.Stop()
	}
	d.lease.armed = false
	if d.lease.r != nil {
		d.lease.r.stop()
		d.lease.r = nil
	}
}

// onLeaseTick hands the renewer the VIPs of every instance that holds them,
// announces what masters re-added after a stall (if still master), and
// re-arms while some instance holds VIPs (measuring the next period from
// this tick). The netlink work is the renewer's, off the loop.
func (d *Daemon) onLeaseTick() {
	d.lease.armed = false
	_, l, ok := d.leaser()
	if !ok {
		return
	}
	stalled := false
	if since := time.Since(d.lease.last); l.Overdue(since) {
		stalled = true
		d.log.Warn("VIP lease renewal is late (the daemon was stopped or starved): the kernel may have expired VIPs; re-adding any that are gone",
			"since_last", since.Round(time.Millisecond), "lifetime", l.Lifetime)
	}
	held := d.leaseHolders()
	d.confirmReadded(held)
	var grants []leaseGrant
	masters := 0
	for _, in := range held {
		if !holdsVIPs(in.machine.State()) {
			continue
		}
		// A master without VIPs keeps the timer running: a reload may
		// give it some (reconfigure adds them without a transition).
		masters++
		if len(in.vips) > 0 {
			grants = append(grants, leaseGrant{in: in, vips: slices.Clone(in.vips)})
		}
	}
	if len(grants) > 0 {
		// One renewal pass for every holder: one address dump per
		// interface per tick, not one per instance.
		d.lease.fence.set(grants)
		d.lease.r.kick(renewJob{grants: grants, stalled: stalled})
	}
	if masters > 0 {
		d.armLease()
	}
}

// leaseHolders is every instance that may hold VIPs: the running ones and a
// master removed by a reload that still waits for its successor (release.go),
// which lives only in d.releasing.
func (d *Daemon) leaseHolders() []*instance {
	held := slices.Clone(d.instances)
	for _, in := range d.releasing { // at shutdown they are in both
		if !slices.Contains(held, in) {
			held = append(held, in)
		}
	}
	return held
}

// confirmReadded announces the VIPs masters re-added after a stall, one
// tick later, if they are still master (renewLease says why).
func (d *Daemon) confirmReadded(held []*instance) {
	for in := range d.lease.confirm {
		delete(d.lease.confirm, in)
		if !slices.Contains(held, in) || in.machine.State() != fsm.Master {
			continue // removed by a reload, or no longer master
		}
		d.log.Info("still master after the stall: announcing the re-added VIPs", "instance", in.name)
		d.announceVIPs(in)
	}
}

// onLeaseReport takes the renewer's report of VIPs the kernel lacked.
func (d *Daemon) onLeaseReport(r *leaseReport) {
	held := d.leaseHolders()
	for _, g := range r.missing {
		if !slices.Contains(held, g.in) {
			continue // removed by a reload meanwhile
		}
		d.renewLease(g.in, missingOf(g.in, g.vips), r.stalled)
	}
}

// missingOf is the part of missing that still belongs to in (a reload may
// have taken a VIP away since the renewal started).
func missingOf(in *instance, missing []vip.Address) []vip.Address {
	var out []vip.Address
	for _, a := range missing {
		if slices.Contains(in.vips, a) {
			out = append(out, a)
		}
	}
	return out
}

// renewLease handles what the renewer found missing of in's VIPs (it has
// renewed what the kernel still had). A VIP the kernel no longer has while we are
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
	if len(missing) > 0 {
		d.acceptRefresh(in) // a re-created link has a new index (accept.go)
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
