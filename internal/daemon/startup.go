package daemon

import (
	"time"
)

// global_defs vrrp_startup_delay, as keepalived 2.2.7: for that long after
// the daemon starts, instances stay in INIT — they neither send nor act on
// adverts — and then start together. Instances a reload adds during the
// delay wait for its end too; once it is over, instances start at once. The
// delay's end is one daemon-wide typed startupTick event on the loop.

// startupDelay holds the instances waiting for the delay to end.
type startupDelay struct {
	timer   *time.Timer
	waiting []*instance
}

// startupPending reports whether in must wait for vrrp_startup_delay, and
// queues it (arming the delay's timer once) if so.
func (d *Daemon) startupPending(in *instance) bool {
	delay := d.cfg.Global.VRRPStartupDelay
	if delay <= 0 {
		return false
	}
	left := time.Until(d.start.Add(delay))
	if left <= 0 && d.startup.timer == nil {
		return false
	}
	if d.startup.timer == nil {
		d.log.Info("vrrp_startup_delay: instances start later", "delay", delay, "left", left.Round(time.Millisecond))
		d.startup.timer = time.AfterFunc(left, func() { d.post(loopEvent{startupTick: true}) })
	}
	d.startup.waiting = append(d.startup.waiting, in)
	return true
}

// onStartupTick starts every waiting instance that is still configured.
func (d *Daemon) onStartupTick() {
	waiting := d.startup.waiting
	d.startup.waiting = nil
	d.startup.timer = nil
	for _, in := range waiting {
		if d.hasInstance(in) {
			d.startInstance(in)
		}
	}
}

func (d *Daemon) hasInstance(in *instance) bool {
	for _, x := range d.instances {
		if x == in {
			return true
		}
	}
	return false
}
