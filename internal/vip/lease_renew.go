package vip

import (
	"net/netip"
	"time"
)

// Each VIP renewed once per Lease.Renew, not on every pass (issue 11: the
// lease renewer was the master's largest cost at 1,020 IPv6 VIPs, all of
// it the kernel's work per RTM_NEWADDR).
//
// Invariants:
//   - A VIP's renewal is never later than Renew (+ half a pass of jitter)
//     after its previous one, or after the pass that first saw it; the pass
//     that first sees a VIP counts its age as slot·Refresh (slot = its place
//     on its interface, modulo Renew/Refresh), which is at least its real
//     age when it was added at most a pass earlier, so the VIPs added
//     together are renewed in Renew/Refresh slices, not in one burst.
//   - Only Refresh reads or writes the times, on the renewer's goroutine;
//     a VIP missing from the kernel or from the pass is forgotten, so a
//     re-added one starts over.

// renewKey is a VIP's identity for the renewal times (the kernel's: IPv6
// is the address alone, IPv4 address and prefix length; plus the device).
type renewKey struct {
	dev string
	pfx netip.Prefix
}

func renewKeyOf(a Address) renewKey {
	p := a.Prefix
	if p.Addr().Is6() {
		p = netip.PrefixFrom(p.Addr(), 128)
	}
	return renewKey{dev: a.Dev, pfx: p}
}

// renewTimes is when each VIP was last renewed.
type renewTimes struct {
	last map[renewKey]time.Time
}

// due reports whether a, present in the kernel, is renewed by the pass at
// now; slot is its index among its interface's VIPs of this pass.
func (r *renewTimes) due(l Lease, now time.Time, a Address, slot int) bool {
	every := l.renewEvery()
	if every <= l.Refresh {
		return true // renewed on every pass
	}
	if r.last == nil {
		r.last = map[renewKey]time.Time{}
	}
	k := renewKeyOf(a)
	t, ok := r.last[k]
	if !ok {
		slots := int(every / l.Refresh)
		t = now.Add(-time.Duration(slot%slots) * l.Refresh)
		r.last[k] = t
	}
	// Half a pass early rather than one pass late: passes jitter.
	return now.Sub(t)+l.Refresh/2 >= every
}

func (r *renewTimes) mark(a Address, now time.Time) {
	if r.last != nil {
		r.last[renewKeyOf(a)] = now
	}
}

func (r *renewTimes) forget(a Address) { delete(r.last, renewKeyOf(a)) }

// prune forgets every VIP the pass did not ask for (no longer held).
func (r *renewTimes) prune(pass []Address) {
	if len(r.last) == 0 {
		return
	}
	keep := make(map[renewKey]bool, len(pass))
	for _, a := range pass {
		keep[renewKeyOf(a)] = true
	}
	for k := range r.last {
		if !keep[k] {
			delete(r.last, k)
		}
	}
}

// clock is the Manager's time (tests stand in).
func (m *Manager) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}
