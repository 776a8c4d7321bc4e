package daemon

import (
	"fmt"
	"slices"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/vip"
)

// Make before break. A master that is stopped (SIGTERM, or removed by a
// reload) sends its priority-0 advert at once but keeps its VIPs, and the
// kernel keeps answering for them, until the new master's first advert shows
// it has taken them over: the client never sees the backup's Skew_Time as an
// outage. The wait is the machine's Releasing state; here it is loop state
// (d.releasing) and events like any other: adverts still arrive through the
// instance's receiver, the deadline is the machine's own timer, and a stop
// that runs out of budget ends the wait with fsm.ReleaseNow.

// ReleasePolicy says when a master that is stopped removes its VIPs.
type ReleasePolicy string

// Release policies (`govrrp run --release-vips`).
const (
	// ReleaseAfterTakeover (the default, also ""): keep the VIPs until
	// another node advertises with priority > 0, or Master_Down_Interval
	// or the stop budget passes with none.
	ReleaseAfterTakeover ReleasePolicy = "after-takeover"
	// ReleaseImmediate: remove them with the priority-0 advert, as RFC
	// 3768 / RFC 5798 describe and keepalived does.
	ReleaseImmediate ReleasePolicy = "immediate"
)

// ParseReleasePolicy reads a --release-vips value.
func ParseReleasePolicy(s string) (ReleasePolicy, error) {
	switch p := ReleasePolicy(s); p {
	case ReleaseAfterTakeover, ReleaseImmediate:
		return p, nil
	}
	return "", fmt.Errorf("release policy %q: want %s or %s", s, ReleaseAfterTakeover, ReleaseImmediate)
}

// fsmMode is the machine's ReleaseMode for the policy.
func (p ReleasePolicy) fsmMode() fsm.ReleaseMode {
	if p == ReleaseImmediate {
		return fsm.ReleaseImmediate
	}
	return fsm.ReleaseAfterTakeover
}

// releaseBudget bounds how long a stopped master holds its VIPs waiting for
// the new master; the rest of shutdownBudget is for removing them and for
// notify_stop.
const releaseBudget = shutdownBudget - time.Second

// releaseSlack is how long after releaseBudget the daemon's stop ends the
// waits itself, should a machine's deadline not have fired.
const releaseSlack = 500 * time.Millisecond

// stopInstance sends the instance its Shutdown. A master that now waits in
// Releasing keeps its timers (the deadline is one) and its socket; anything
// else is stopped for good at once. It reports whether it waits.
func (d *Daemon) stopInstance(in *instance) bool {
	d.handle(in, fsm.ShutdownWithin(releaseBudget))
	if in.machine.State() != fsm.Releasing {
		d.stopTimers(in)
		return false
	}
	d.stopGarp(in) // no more announcements: the new master's GARP must win
	if !slices.Contains(d.releasing, in) {
		d.releasing = append(d.releasing, in)
	}
	return true
}

// released is called when an instance leaves Releasing (its VIPs are gone):
// a removed instance now finishes its removal.
func (d *Daemon) released(in *instance) {
	d.releasing = slices.DeleteFunc(d.releasing, func(x *instance) bool { return x == in })
	if in.deleting {
		d.finishRemoval(in)
	}
}

// finishRemoval ends an instance removed by a reload.
func (d *Daemon) finishRemoval(in *instance) {
	d.stopTimers(in)
	d.detach(in)
	d.metrics.ForgetInstance(in.name)
}

// releaseConflicting ends the wait of removed instances that the new
// configuration runs again (same virtual router) or whose VIPs a new
// instance uses: the new one must own the socket registration and the
// addresses.
func (d *Daemon) releaseConflicting(added []*instance) {
	for _, old := range slices.Clone(d.releasing) {
		if !old.deleting {
			continue
		}
		for _, nw := range added {
			if old.identity() == nw.identity() || sharesVIP(old, nw) {
				d.handle(old, fsm.ReleaseNow("the new configuration runs instance "+nw.name+" on the same virtual router or addresses; VIPs released"))
				break
			}
		}
	}
}

func sharesVIP(a, b *instance) bool {
	for _, v := range a.vips {
		if slices.ContainsFunc(b.vips, func(w vip.Address) bool { return w.Prefix == v.Prefix }) {
			return true
		}
	}
	return false
}

// awaitReleases serves the loop while stopped masters wait for their
// successors, until none waits. by bounds it: then every wait still running
// ends with ReleaseNow. Control-socket reloads are refused meanwhile.
func (d *Daemon) awaitReleases(by time.Time, watchdog <-chan time.Time) {
	if len(d.releasing) == 0 {
		return
	}
	d.log.Info("stopped masters keep their VIPs until the new master advertises", "instances", len(d.releasing), "at_most", time.Until(by).Round(time.Millisecond))
	deadline := time.NewTimer(time.Until(by))
	defer deadline.Stop()
	d.drainAdverts() // what the loop had taken but not served (rxqueue.go)
	for len(d.releasing) > 0 {
		select {
		case e := <-d.events:
			if e.reload != nil {
				e.reload <- reloadOutcome{err: fmt.Errorf("govrrp is stopping")}
				continue
			}
			d.serveEvent(e)
			d.serveSelf() // what serving it posted to the loop (loop.go)
		case <-d.rx.ready: // the successor's adverts (rxqueue.go)
			d.drainAdverts()
		case <-watchdog:
			d.sdNotify("WATCHDOG=1")
		case <-deadline.C:
			d.releaseAllNow("stop budget spent before a new master advertised; VIPs released")
			return
		}
	}
}

// releaseAllNow ends every wait at once.
func (d *Daemon) releaseAllNow(reason string) {
	for _, in := range slices.Clone(d.releasing) {
		d.handle(in, fsm.ReleaseNow(reason))
	}
	for _, in := range slices.Clone(d.releasing) { // a machine that did not leave Releasing
		d.log.Error("VIPs removed without the state machine", "instance", in.name)
		d.removeVIPs(in)
		d.released(in)
	}
}
