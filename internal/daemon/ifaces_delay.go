package daemon

import (
	"strings"
	"time"

	"github.com/govrrp/govrrp/internal/track"
)

// interface_up_down_delays, as keepalived 2.2.7 (observed in a namespace:
// "ifx0: Adding flags change ... delay by 1500000", then "Netlink reports
// ifx0 down" 1.5 s later): a change of an interface's state reaches the
// instances only once it has lasted the delay (down_delay for a loss,
// up_delay for a recovery); a change undone within the delay is forgotten,
// so nothing happens. The first report of an interface is never held: it is
// the state at start, not a change.
//
// A delay must stay below (down_timer_adverts-1) x advert_int of every
// instance using the interface, or a backup that stops hearing this node
// would become master before this node went to FAULT. keepalived resets a
// delay that is not below ("debounce timer(s) not less that 2 * advert_int
// - resetting") to that bound less advert_int/256 (seen: 5 s with a 1 s
// advert_int gave 1.996094 s, 9 s with 2 s gave 3.992188 s); so does govrrp.
//
// Held changes live on the loop; each timer posts a typed ifaceDelayTick
// whose generation discards a timer stopped too late.

// ifaceDelayState is the loop's interface_up_down_delays bookkeeping.
type ifaceDelayState struct {
	// eff: the delays in force per interface (after the reduction).
	eff     map[string]ifaceDelay
	pending map[string]*heldChange
	gen     uint64
}

type ifaceDelay struct{ down, up time.Duration }

// heldChange is an interface state change waiting for its delay.
type heldChange struct {
	r     track.Result
	gen   uint64
	timer *time.Timer
}

// ifaceDelayTick: the delay of a held change of iface ran out.
type ifaceDelayTick struct {
	iface string
	gen   uint64
}

// planIfaceDelays computes the delays in force after a (re)load, warning
// for every instance whose advert interval reduces one.
func (d *Daemon) planIfaceDelays() {
	eff := map[string]ifaceDelay{}
	for name, c := range d.cfg.Ifaces.Delays {
		eff[name] = ifaceDelay{down: c.Down, up: c.Up}
	}
	for _, in := range d.instances {
		mc := in.machine.Config()
		bound := time.Duration(mc.DownTimerAdverts-1) * mc.AdverInt
		for _, ifname := range instanceIfaces(in) {
			dl, ok := eff[ifname]
			if !ok || (dl.down < bound && dl.up < bound) {
				continue
			}
			reset := bound - mc.AdverInt/256
			d.log.Warn("interface_up_down_delays: delay not less than (down_timer_adverts-1) x advert_int; reduced as keepalived does",
				"instance", in.name, "interface", ifname, "down", dl.down, "up", dl.up, "reduced_to", reset,
				"at", d.cfg.Ifaces.Delays[ifname].Pos.String())
			dl.down, dl.up = min(dl.down, reset), min(dl.up, reset)
			eff[ifname] = dl
		}
	}
	d.ifd.eff = eff
}

// instanceIfaces lists the interfaces whose state an instance depends on:
// its own (and a VMAC's parent) and those it tracks.
func instanceIfaces(in *instance) []string {
	out := []string{in.ifname}
	if in.vmac != nil && in.vmac.Parent != "" {
		out = append(out, in.vmac.Parent)
	}
	for _, u := range in.tracks {
		if u.key.kind == track.KindInterface && !strings.HasPrefix(u.key.name, track.AddrResultPrefix) {
			out = append(out, u.key.name)
		}
	}
	return out
}

// holdIfaceChange reports whether r is held back (or dropped) by the
// interface's delay; a result it returns false for is applied at once.
func (d *Daemon) holdIfaceChange(r track.Result) bool {
	if r.Kind != track.KindInterface || strings.HasPrefix(r.Name, track.AddrResultPrefix) {
		return false
	}
	dl, ok := d.ifd.eff[r.Name]
	st := d.tracks[trackKey{r.Kind, r.Name}]
	if !ok || st == nil || !st.seen {
		return false
	}
	if p := d.ifd.pending[r.Name]; p != nil {
		if r.OK == st.last.OK { // back to where it was: nothing happened
			p.timer.Stop()
			delete(d.ifd.pending, r.Name)
			d.log.Info("interface returned to its state within interface_up_down_delays; no change", "interface", r.Name, "state", r.Detail)
			return true
		}
		p.r = r // still changed; the first change's timer runs on
		return true
	}
	if r.OK == st.last.OK {
		return false // detail only (e.g. admin down -> carrier down)
	}
	delay := dl.up
	if !r.OK {
		delay = dl.down
	}
	if delay <= 0 {
		return false
	}
	d.ifd.gen++
	tick := ifaceDelayTick{iface: r.Name, gen: d.ifd.gen}
	p := &heldChange{r: r, gen: tick.gen}
	p.timer = time.AfterFunc(delay, func() { d.post(loopEvent{ifaceDelay: &tick}) })
	if d.ifd.pending == nil {
		d.ifd.pending = map[string]*heldChange{}
	}
	d.ifd.pending[r.Name] = p
	d.log.Info("interface state change held back by interface_up_down_delays", "interface", r.Name, "state", r.Detail, "delay", delay)
	return true
}

// onIfaceDelayTick applies a held change whose delay ran out.
func (d *Daemon) onIfaceDelayTick(t ifaceDelayTick) {
	p := d.ifd.pending[t.iface]
	if p == nil || p.gen != t.gen {
		return // cancelled, or superseded
	}
	delete(d.ifd.pending, t.iface)
	d.applyTrackResult(p.r)
}
