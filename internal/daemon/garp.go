package daemon

import (
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/vip"
)

// Gratuitous ARP / unsolicited NA scheduling, as keepalived 2.2.7 does it:
//
//   - on becoming master: garp_master_repeat now, the same again after
//     garp_master_delay, then garp_master_refresh_repeat every
//     garp_master_refresh;
//   - as master, on a lower-priority advert (another master that has not yet
//     seen ours): garp_lower_prio_repeat now and again after
//     garp_lower_prio_delay, so the clients that followed the other master's
//     announcements come back.
//
// Every follow-up is a typed garpTick event on the loop (no closure runs
// there), carrying a generation so a tick of a timer re-armed or stopped
// since is discarded. Follow-ups fire only while still master.

// garpKind names one pending follow-up announcement of an instance.
type garpKind uint8

const (
	garpSecondBurst garpKind = iota // garp_master_delay after becoming master
	garpRefresh                     // every garp_master_refresh while master
	garpLowerPrio                   // garp_lower_prio_delay after a lower-priority advert
	garpExtraIf                     // every garp_extra_if on the other interfaces (garpextra.go)
	numGarpKinds
)

// garpTick is a follow-up announcement's timer expiry.
type garpTick struct {
	in   *instance
	kind garpKind
	gen  uint64
}

// garpTimers are an instance's pending follow-ups; only the loop touches them.
type garpTimers struct {
	lastGen uint64
	pending [numGarpKinds]struct {
		timer *time.Timer
		gen   uint64 // 0: not armed
	}
}

// armGarp (re)arms follow-up kind of in to fire after d.
func (d *Daemon) armGarp(in *instance, kind garpKind, after time.Duration) {
	g := &in.garp
	p := &g.pending[kind]
	if p.timer != nil {
		p.timer.Stop()
	}
	g.lastGen++
	p.gen = g.lastGen
	tick := &garpTick{in: in, kind: kind, gen: p.gen}
	p.timer = time.AfterFunc(after, func() { d.post(loopEvent{garp: tick}) })
}

// stopGarp cancels every pending follow-up of in and whatever of its
// announcements the pacer still holds (it is no longer master, or is
// releasing: the new master's announcements must win).
func (d *Daemon) stopGarp(in *instance) {
	d.stopGarpTimers(in)
	if p, ok := d.announce.(pacedAnnouncer); ok {
		p.Cancel(in.vips)
	}
}

// stopGarpTimers cancels the pending follow-ups only.
func (d *Daemon) stopGarpTimers(in *instance) {
	for k := range in.garp.pending {
		p := &in.garp.pending[k]
		if p.timer != nil {
			p.timer.Stop()
			p.timer = nil
		}
		p.gen = 0
	}
}

// onGarpTick runs a follow-up announcement that is still current.
func (d *Daemon) onGarpTick(t *garpTick) {
	p := &t.in.garp.pending[t.kind]
	if p.gen == 0 || p.gen != t.gen {
		return // stopped or re-armed since
	}
	p.gen, p.timer = 0, nil
	in := t.in
	if in.machine.State() != fsm.Master {
		return
	}
	switch t.kind {
	case garpSecondBurst:
		d.burst(in, masterRepeat(in))
		d.scheduleRefresh(in)
	case garpRefresh:
		d.burst(in, refreshRepeat(in))
		d.scheduleRefresh(in)
	case garpLowerPrio:
		d.burst(in, in.cfg.GarpLowerPrioRepeat)
	case garpExtraIf:
		d.extraIfTick(in)
	}
}

// announceVIPs sends the first gratuitous ARP / NA burst now and schedules
// the second one (garp_master_delay) and, when configured, the periodic
// refresh (garp_master_refresh).
func (d *Daemon) announceVIPs(in *instance) {
	d.burst(in, masterRepeat(in))
	d.stopGarpTimers(in) // not the pacer's queue: it holds this burst
	d.scheduleExtraIf(in)
	if in.cfg.GarpMasterDelay > 0 {
		d.armGarp(in, garpSecondBurst, in.cfg.GarpMasterDelay)
		return
	}
	d.scheduleRefresh(in)
}

// rxLowerPriority: keepalived's garp_lower_prio_repeat burst now and, with
// garp_lower_prio_delay, once more later. Each lower-priority advert re-arms
// the delayed burst, so a stream of them gives one burst per advert now and
// one more after the last.
func (d *Daemon) rxLowerPriority(in *instance) {
	repeat := in.cfg.GarpLowerPrioRepeat
	if repeat <= 0 {
		return
	}
	d.burst(in, repeat)
	if in.cfg.GarpLowerPrioDelay > 0 {
		d.armGarp(in, garpLowerPrio, in.cfg.GarpLowerPrioDelay)
	}
}

func (d *Daemon) scheduleRefresh(in *instance) {
	if every := in.cfg.GarpMasterRefresh; every > 0 {
		d.armGarp(in, garpRefresh, every)
	}
}

func masterRepeat(in *instance) int {
	if r := in.cfg.GarpMasterRepeat; r > 0 {
		return r
	}
	return defaultGarpRepeat
}

// refreshRepeat is garp_master_refresh_repeat. 0 comes only from
// vrrp_min_garp's default: keepalived 2.2.7 then sends nothing at a refresh
// (seen on the wire), and so does govrrp.
func refreshRepeat(in *instance) int { return max(in.cfg.GarpMasterRefreshRepeat, 0) }

func (d *Daemon) burst(in *instance, repeat int) { d.burstOf(in, in.vips, repeat) }

// burstOf announces addrs of in; with a pacer (vip.Pacer) it returns at
// once, what the interface's budget does not allow yet being sent later.
func (d *Daemon) burstOf(in *instance, addrs []vip.Address, repeat int) {
	if repeat <= 0 || len(addrs) == 0 {
		return
	}
	if err := d.announce.AnnounceBurst(d.ctx, addrs, repeat); err != nil {
		d.log.Warn("gratuitous ARP/NA failed", "instance", in.name, "err", err)
	}
}
