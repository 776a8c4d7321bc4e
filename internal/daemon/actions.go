package daemon

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// keepalived's defaults for gratuitous ARP / unsolicited NA after becoming
// master: a burst of 5, and a second burst 5 s later.
const (
	defaultGarpRepeat = 5
	defaultGarpDelay  = 5 * time.Second
)

// execute carries out a machine's actions in order, on the loop goroutine.
func (d *Daemon) execute(in *instance, acts []fsm.Action) {
	for _, a := range acts {
		switch a.Kind {
		case fsm.ActSendAdvert:
			d.sendAdvert(in, a.Priority)
		case fsm.ActAddVIPs:
			d.addVIPs(in)
		case fsm.ActRemoveVIPs:
			d.removeVIPs(in)
		case fsm.ActAnnounce:
			d.announceVIPs(in)
		case fsm.ActArmTimer:
			d.armTimer(in, a.Timer, a.After, a.Gen)
		case fsm.ActStopTimer:
			d.stopTimer(in, a.Timer)
		case fsm.ActStateChanged:
			d.stateChanged(in, a)
		case fsm.ActWantMaster:
			d.syncWantMaster(in, a.Reason)
		case fsm.ActRxLowerPriority:
			d.rxLowerPriority(in)
			d.notify.MasterRxLowerPri(in.name, int(in.machine.EffectivePriority()))
		}
	}
}

// sendAdvert sends one advert to every destination. The v3 IPv4 checksum
// covers the destination address, so each peer gets its own encoding.
//
// A priority-0 advert that cannot leave from the configured source (the
// address is gone: track_src_ip's FAULT) goes from the interface's primary
// address instead, so the backup still takes over after Skew_Time rather
// than the whole master-down interval.
func (d *Daemon) sendAdvert(in *instance, prio uint8) {
	in.advert.Priority = prio
	if d.queueAdvert(in, prio) {
		return // an aligned tick's advert: written with the others (advertbatch.go)
	}
	for _, dst := range in.dsts {
		err := d.sendTo(in, in.src, dst)
		if err != nil && prio == 0 {
			if alt, lerr := d.lookup.primary(in.ifname, in.family == vrrp.IPv6); lerr == nil && alt != in.src {
				if err = d.sendTo(in, alt, dst); err == nil {
					d.log.Info("priority-0 advert sent from the interface's primary address", "instance", in.name, "src", alt)
				}
			}
		}
		if err != nil {
			d.log.Warn("advert not sent", "instance", in.name, "to", dst, "err", err)
			continue
		}
		in.countSent(prio)
	}
}

// sendTo encodes the advert template for src and dst and sends it.
func (d *Daemon) sendTo(in *instance, src, dst netip.Addr) error {
	buf, err := in.marshalAdvert(in.sendBuf[:0], advertOptions(in, src, dst))
	if err != nil {
		return fmt.Errorf("cannot encode advert: %w", err)
	}
	in.sendBuf = buf
	if ttl := in.unicastTTL(); ttl != 255 {
		w, ok := in.sendConn().(transport.TTLWriter)
		if !ok {
			return fmt.Errorf("unicast_ttl %d: the socket cannot set a TTL per message", ttl)
		}
		return w.WriteWithTTL(buf, src, dst, ttl)
	}
	return in.mux.Conn().WriteTo(buf, src, dst)
}

// unicastTTL is the TTL / hop limit of our adverts: keepalived's unicast_ttl
// for a unicast instance (unset or 0: 255), 255 for multicast (RFC 5798 5.1.1.3).
func (in *instance) unicastTTL() int {
	if in.sockCfg.Multicast || in.cfg.UnicastTTL <= 0 || in.cfg.UnicastTTL > 255 {
		return 255
	}
	return in.cfg.UnicastTTL
}

func (d *Daemon) addVIPs(in *instance) {
	d.acceptHold(in, true) // no_accept drops before the VIPs answer (accept.go)
	for _, a := range in.vips {
		if err := d.addrs.Add(a); err != nil {
			d.log.Error("cannot add VIP", "instance", in.name, "vip", a.String(), "err", err)
		}
	}
	d.addVirtualRoutes(in) // after the VIPs, as keepalived (routes.go)
	d.armLease()           // leased VIPs live only while the loop renews them
}

func (d *Daemon) removeVIPs(in *instance) {
	d.stopGarp(in)
	d.removeVirtualRoutes(in) // before the VIPs, as keepalived (routes.go)
	for _, a := range in.vips {
		if err := d.addrs.Remove(a); err != nil {
			d.log.Error("cannot remove VIP", "instance", in.name, "vip", a.String(), "err", err)
		}
	}
	d.acceptHold(in, false) // after the VIPs are gone (accept.go)
}

// removeStaleVIPs removes configured VIPs that are present although this
// node is not master: a previous run that crashed left them behind.
func (d *Daemon) removeStaleVIPs(in *instance) {
	d.removeVirtualRoutes(in) // absent is success (routes.go)
	for _, a := range in.vips {
		has, err := d.addrs.Has(a)
		if err != nil || !has {
			continue
		}
		if err := d.addrs.Remove(a); err != nil {
			d.log.Error("cannot remove stale VIP", "instance", in.name, "vip", a.String(), "err", err)
			continue
		}
		d.log.Warn("removed stale VIP left by a previous run", "instance", in.name, "vip", a.String())
	}
}

// armTimer (re)arms one of the machine's timers. Each instance keeps one
// time.Timer per kind and resets it, so a backup re-arming its master-down
// timer on every advert allocates nothing. The generation travels with the
// expiry so the machine ignores a timer it has since re-armed; the due time
// catches the one race the generation alone cannot (an expiry already
// running while the loop re-arms, which then reads the new generation).
func (d *Daemon) armTimer(in *instance, kind fsm.TimerKind, after time.Duration, gen uint64) {
	if d.schedAdvert(in, kind, after, gen) {
		return // many masters on one socket: one wake-up (advertsched.go)
	}
	if kind == fsm.TimerMasterDown {
		d.armMasterDown(in, after, gen) // one timer per socket (masterdown.go)
		return
	}
	t := &in.timers[kind]
	t.gen.Store(gen)
	t.due = time.Now().Add(after)
	if t.timer == nil {
		t.timer = time.AfterFunc(after, func() {
			d.post(loopEvent{in: in, ev: fsm.TimerFired(kind, t.gen.Load())})
		})
		return
	}
	t.timer.Reset(after)
}

func (d *Daemon) stopTimer(in *instance, kind fsm.TimerKind) {
	if kind == fsm.TimerAdvert {
		d.unschedAdvert(in) // advertsched.go
	}
	if kind == fsm.TimerMasterDown {
		d.stopMasterDown(in) // masterdown.go
		return
	}
	t := &in.timers[kind]
	if t.timer != nil {
		t.timer.Stop()
	}
	t.gen.Store(0)
}

// timerDue reports whether a timer expiry is genuine: it is not early.
func (in *instance) timerDue(kind fsm.TimerKind) bool {
	return !time.Now().Before(in.timers[kind].due)
}

func (d *Daemon) stopTimers(in *instance) {
	for k := range in.timers {
		d.stopTimer(in, fsm.TimerKind(k))
	}
	d.stopGarp(in)
}

func (d *Daemon) stateChanged(in *instance, a fsm.Action) {
	d.log.Info("state change", "instance", in.name, "from", a.From.String(), "to", a.To.String(), "reason", a.Reason)
	d.metrics.Transition(in.name, a.From.String(), a.To.String())
	now := time.Now()
	in.publish(func(ci *control.Instance) {
		ci.State, ci.Reason, ci.Since = a.To.String(), a.Reason, now
		ci.Transitions++
		if a.To == fsm.Master {
			ci.BecameMaster++
		}
		if a.From == fsm.Master {
			ci.ReleasedMaster++
		}
	})
	// Entering Releasing notifies nothing yet: notify_stop (or DELETED)
	// follows the VIPs' removal when the release ends, in keepalived's order.
	if a.To != fsm.Releasing {
		state := notifyState(a.To)
		if in.deleting && a.To == fsm.Initialize {
			state = "DELETED"
		}
		d.notify.Transition(in.name, state, int(in.machine.EffectivePriority()))
		d.mailTransition(in, a.To) // smtp_alert (mail.go)
	}
	d.sdStatus()
	d.dbusStateChanged(in, a.To) // VrrpStatusChange (dbus.go)
	// enable_traps (snmp.go)
	d.snmpStateChanged(in, a.To, a.Reason)
	if a.From == fsm.Releasing {
		d.released(in)
	}
	d.syncStateChanged(in, a)
}
