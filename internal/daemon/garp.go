package daemon

import (
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
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

// stopGarp cancels every pending follow-up of in (it is no longer master,
// or is releasing: the new master's announcements must win).
func (d *Daemon) stopGarp(in *instance) {
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
	}
}

// announceVIPs sends the first gratuitous ARP / NA burst now and schedules
// the second one (garp_master_delay) and, when configured, the periodic
// refresh (garp_master_refresh).
func (d *Daemon) announceVIPs(in *instance) {
	d.burst(in, masterRepeat(in))
	d.stopGarp(in)
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

func refreshRepeat(in *instance) int {
	if r := in.cfg.GarpMasterRefreshRepeat; r > 0 {
		return r
	}
	return 1
}

func (d *Daemon) burst(in *instance, repeat int) {
	if err := d.announce.AnnounceBurst(d.ctx, in.vips, repeat); err != nil {
		d.log.Warn("gratuitous ARP/NA failed", "instance", in.name, "err", err)
	}
}
