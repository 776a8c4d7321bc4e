package daemon

import (
	"context"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// noControl as Options.SocketPath runs without a control socket (tests).
const noControl = "-"

// keepalivedDumpSignals are DATA, STATS, JSON and STATS_CLEAR.
var keepalivedDumpSignals = []os.Signal{sigData, sigStats, sigJSON, sigStatsClear}

// shutdownBudget bounds the graceful stop: priority-0 adverts and VIP
// removal are quick, but a wedged netlink call must not hang systemd.
const shutdownBudget = 5 * time.Second

// signals carries the operator's signals into the loop; nil channels (tests)
// never fire.
type signals struct {
	hup  <-chan os.Signal // reload
	dump <-chan os.Signal // keepalived's data/stats/JSON dumps
}

// notifySignals subscribes to SIGHUP and keepalived's dump signals, whose
// default action would otherwise kill the daemon.
func notifySignals() (signals, func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	dump := make(chan os.Signal, 1)
	signal.Notify(dump, keepalivedDumpSignals...)
	return signals{hup: hup, dump: dump}, func() { signal.Stop(hup); signal.Stop(dump) }
}

// run builds the instances, starts them and serves events until ctx ends.
func (d *Daemon) run(ctx context.Context, o Options, sig signals) error {
	// startup_script before any instance, shutdown_script after the
	// deferred cleanup below removed every VIP (lifecyclescripts.go).
	d.runLifecycleScript(d.cfg, "startup_script")
	defer func() { d.runLifecycleScript(d.cfg, "shutdown_script") }()
	defer d.closeMail() // mail.go
	defer d.snmpClose() // snmp.go
	defer d.bfdClose()  // after the instances stopped: peers hear AdminDown (bfd.go)
	d.ctx, d.cancel = context.WithCancel(context.Background())
	defer d.cancel()

	d.bus = track.SharedSystemBus(d.ctx) // one connection for every unit check
	// Trackers end with d.ctx; wait for them (scripts killed and reaped)
	// before returning, whatever path returns.
	defer func() {
		d.cancel()
		d.trackWG.Wait()
	}()
	defer d.detachAll()
	defer d.stopLease()
	defer d.acceptClose() // runs after shutdown removed the VIPs
	defer d.dbusClose()   // VrrpStopped first of all after the shutdown (dbus.go)

	endStartup := d.holdProcess() // start-up is not real-time (procsched.go)
	if _, err := d.apply(d.cfg); err != nil {
		return err
	}
	if o.SocketPath != noControl {
		ctl, err := startControl(o.SocketPath, d.opts.SocketGroup, d)
		if err != nil {
			return err
		}
		defer ctl.Close()
	}
	d.sdActive = true
	d.sdReady()
	endStartup()
	var watchdog <-chan time.Time
	if every := watchdogEvery(); every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		watchdog = t.C
		d.sdNotify("WATCHDOG=1")
	}

	for {
		// The loop's own inputs before the advert backlog (rxqueue.go):
		// queued adverts must not make advert or lease ticks late.
		d.serveEvents(eventBurst)
		adverts := d.rx.ready
		if d.rx.waiting() > 0 {
			adverts = alwaysReady // a backlog left: serve its next chunk
		}
		var self chan struct{}
		if len(d.selfq) > 0 {
			self = alwaysReady // posted by what was just served: serve next round
		}
		select {
		case <-self:
		case <-ctx.Done():
			d.shutdown(watchdog)
			return nil
		case <-watchdog:
			d.sdNotify("WATCHDOG=1")
		case <-sig.hup:
			d.reload("SIGHUP")
		case s := <-sig.dump:
			d.onDumpSignal(s)
		case e := <-d.events:
			d.serveEvent(e)
		case <-adverts:
			d.serveAdverts(rxChunk)
		}
		d.sdFlushStatus(d.idle()) // one STATUS= per burst (sdnotify.go)
	}
}

// idle reports whether nothing waits for the loop.
func (d *Daemon) idle() bool {
	return len(d.events) == 0 && len(d.selfq) == 0 && d.rx.waiting() == 0 && d.rx.queued() == 0
}

// eventBurst bounds how many queued events the loop serves before it looks
// at signals and the advert backlog again (d.events holds timers, ticks and
// requests: never a sustained flood, but never starve the rest either).
const eventBurst = 256

// alwaysReady is a closed channel: a select case that is always ready.
var alwaysReady = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// serveEvents serves up to max events already queued, without waiting,
// each after the loop's own posts so far (postSelf).
func (d *Daemon) serveEvents(max int) {
	for range max {
		d.serveSelf()
		select {
		case e := <-d.events:
			d.serveEvent(e)
			d.sdFlushStatus(d.idle())
		default:
			return
		}
	}
}

// serveEvent serves one event of d.events. A master-down expiry waits for
// the adverts that arrived before it (rxqueue.go, causality).
func (d *Daemon) serveEvent(e loopEvent) {
	if needsDrain(e) {
		d.drainAdverts()
	}
	d.serve(e)
}

// serve handles one queued input on the loop.
func (d *Daemon) serve(e loopEvent) {
	switch {
	case e.do != nil:
		e.do()
	case e.leaseTick:
		d.onLeaseTick()
	case e.leaseReport != nil:
		d.onLeaseReport(e.leaseReport)
	case e.routesDeleted:
		d.recheckRoutes()
	case e.instancesStarted:
		d.acceptStarted()
	case e.garp != nil:
		d.onGarpTick(e.garp)
	case e.startupTick:
		d.onStartupTick()
	case e.ifaceDelay != nil:
		d.onIfaceDelayTick(*e.ifaceDelay)
	case e.advertTick != nil:
		d.onAdvertTick(e.advertTick)
	case e.dbus != nil:
		d.onDBusCall(*e.dbus) // dbus.go
	case e.reloadSched != nil:
		d.onReloadSched(*e.reloadSched) // reloadsched.go
	case e.result != nil:
		d.observeTrack(*e.result)
		d.onTrackResult(*e.result)
	case e.reload != nil:
		e.reload <- d.reload("control socket")
	case e.ev.Kind == fsm.EvTimer && !e.in.timerDue(e.ev.Timer):
		// an expiry that raced a re-arm
	default:
		d.handle(e.in, e.ev)
	}
}

// handle feeds one event to an instance's machine and carries out the actions.
func (d *Daemon) handle(in *instance, ev fsm.Event) {
	in.fast.clear() // the machine may change: adverts to the loop until republished (fastpath.go)
	d.actBuf = in.machine.Handle(ev, d.actBuf[:0])
	in.noteAdvert(ev, d.actBuf)
	d.execute(in, d.actBuf)
	d.publishFast(in, ev, d.actBuf)
	in.publishDynamic()
	d.syncFlush() // sync group directives the actions queued
}

// detachAll releases every instance's socket (at exit).
func (d *Daemon) detachAll() {
	for _, in := range d.instances {
		d.detach(in)
	}
	d.restorePromote() // promote.go
}

// receiver validates adverts for one instance on the socket's reader
// goroutine and queues the accepted ones for the loop (rxqueue.go). The
// decode buffer is the closure's own, so the valid path allocates nothing.
func (d *Daemon) receiver(in *instance) transport.Handler {
	var adv vrrp.Advert
	adv.Addrs = make([]netip.Addr, 0, decodeAddrsCap(in))
	drops := &dropLogger{log: d.log, attrs: []any{"instance", in.name, "vrid", in.cfg.VRID}}
	var gaps gapWatch // the advert-gap histogram's last advert (metrics.go)
	return func(payload []byte, m transport.Meta) {
		rx := in.rx.Load()
		if rx.peers != nil {
			peer, ok := rx.peers[m.Src.WithZone("")]
			if !ok {
				in.countDrop("not_a_peer")
				drops.dropped(time.Now(), m.Src, "not_a_peer")
				return
			}
			if !peer.accepts(m.TTL) {
				// unicast_peer's min_ttl/max_ttl (the multicast TTL-255
				// rule does not apply to unicast, as in keepalived).
				in.countDrop(vrrp.DropTTL.String())
				drops.dropped(time.Now(), m.Src, vrrp.DropTTL.String())
				return
			}
		}
		if m.Src.WithZone("") == rx.self.WithZone("") {
			// Our own advert looped back (lo, some bridges): a master that
			// took it for a peer's would re-advertise to it without end.
			in.countDrop("own_advert")
			drops.dropped(time.Now(), m.Src, "own_advert")
			return
		}
		res, reason := vrrp.Validate(payload, vrrp.RecvMeta{Family: rx.family, Src: m.Src, Dst: m.Dst, TTL: m.TTL}, rx, &adv)
		if reason != vrrp.DropNone {
			in.countDrop(reason.String())
			d.snmpDrop(in, reason, m.Src) // ProtoErrReason, enable_traps (snmp.go)
			drops.dropped(time.Now(), m.Src, reason.String())
			return
		}
		noteOldChecksum(d.log, rx, res.Checksum, m.Src) // oldchecksum.go
		warning := ""
		if res.Warnings != 0 {
			// Accepted, but not as the RFC would have it (e.g. keepalived's
			// IPv6 adverts list a global address first): counted, not dropped.
			warning = authWarning(res)
		}
		in.countReceived(adv.Priority, warning)
		d.observeGap(in, &gaps, m.Src)
		if in.fast.absorb(in, adv.Priority, adv.AdverInt, m.Src) {
			return // the master as expected: last-heard only (fastpath.go)
		}
		if !d.rx.push(loopEvent{in: in, ev: fsm.Advert(adv.Priority, adv.AdverInt, m.Src)}) {
			in.countDrop("queue_full")
			drops.dropped(time.Now(), m.Src, "queue_full")
		}
	}
}

// unknownReceiver counts packets for VRIDs no instance of this socket runs
// (and ones too short to carry a VRID) against the socket itself.
func (d *Daemon) unknownReceiver(sock *socketStats) transport.Handler {
	drops := &dropLogger{log: d.log, attrs: []any{"interface", sock.Interface, "family", sock.Family}}
	return func(payload []byte, m transport.Meta) {
		reason := vrrp.DropUnknownVRID.String()
		if len(payload) < 2 {
			reason = vrrp.DropTooShort.String()
		}
		sock.countDrop(reason)
		drops.dropped(time.Now(), m.Src, reason)
	}
}

// post queues work for the loop from another goroutine; it waits rather
// than drop, because timer expiries must not be lost. Never from the loop
// itself: with the channel full nothing would drain it (postSelf).
func (d *Daemon) post(e loopEvent) {
	select {
	case d.events <- e:
	case <-d.ctx.Done():
	}
}

// shutdown stops every instance gracefully: every master sends priority 0
// first, so all backups' Skew_Time starts at once. With ReleaseAfterTakeover
// (release.go) the masters keep their VIPs, the loop serving adverts, until
// each one's successor advertises; then (or at once with ReleaseImmediate)
// they remove them. Each instance's notify_stop follows its VIP removal, as
// in keepalived.
func (d *Daemon) shutdown(watchdog <-chan time.Time) {
	d.sdNotify("STOPPING=1")
	d.dbusStopping() // every instance signals STOP at once, as keepalived (dbus.go)
	deadline := time.Now().Add(shutdownBudget)
	for _, in := range d.instances {
		if time.Now().After(deadline) {
			d.log.Error("graceful stop ran out of time; removing VIPs only", "instance", in.name)
			d.removeVIPs(in)
			continue
		}
		d.stopInstance(in)
	}
	d.awaitReleases(deadline.Add(releaseBudget+releaseSlack-shutdownBudget), watchdog)
	d.removeStatic() // keepalived removes static_* at stop too (routes.go)
	// notify_stop and the FIFO lines of the stop get the rest of the budget.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := d.notify.Close(ctx); err != nil {
		d.log.Warn("notify scripts still running at exit", "err", err)
	}
	d.log.Info("stopped")
}

// The loop's event channel (issue 11: its 4,096 slots of ~190 B were the
// largest single item of the live heap at 255 instances).
//
// Invariants:
//   - Other goroutines post with post, which blocks while the channel is
//     full: nothing is lost, a timer's goroutine waits until served.
//   - The loop posts to itself only with postSelf, which appends to a
//     loop-local queue and never blocks, so a full channel cannot deadlock
//     the loop. The queue is served before the channel's next event
//     (serveEvents): a self-post is served right after the event that
//     posted it. Only what apply and event handling post lands there, so
//     it stays a few entries.
//   - The channel is sized at start-up from the configuration (see
//     eventQueueCap). A reload that adds instances keeps the capacity:
//     beyond it posting goroutines wait their turn, which costs them a
//     parked goroutine, not an event.

// eventQueueMin and eventQueueExtra bound the channel for small
// configurations and leave room for the inputs that are not per instance
// (socket schedules, track results, lease, control, D-Bus, reload).
const (
	eventQueueMin   = 256
	eventQueueExtra = 64
)

// eventQueueCap is the event channel's capacity for n instances: one slot
// per instance (in steady state each has at most one expiry outstanding:
// its advert timer as master, its master-down timer as backup, and the
// shared schedules post one tick per socket) plus eventQueueExtra, between
// eventQueueMin and eventQueueLen.
func eventQueueCap(n int) int {
	return min(max(n+eventQueueExtra, eventQueueMin), eventQueueLen)
}

// postSelf queues work the loop posts to itself (loop only); it never
// blocks.
func (d *Daemon) postSelf(e loopEvent) {
	d.selfq = append(d.selfq, e)
}

// serveSelf serves what the loop posted to itself, in order, including
// what those events post in turn, up to eventBurst of them (a chain of
// self-posts cannot starve the channel).
func (d *Daemon) serveSelf() {
	i := 0
	for ; i < len(d.selfq) && i < eventBurst; i++ {
		e := d.selfq[i]
		d.selfq[i] = loopEvent{} // drop the references
		d.serveEvent(e)
	}
	if i == 0 {
		return
	}
	rest := copy(d.selfq, d.selfq[i:])
	clear(d.selfq[rest:])
	d.selfq = d.selfq[:rest]
}

// decodeAddrsCap sizes a receiver's decode buffer to the addresses the
// instance's own adverts carry (its peers send the same list): was 32 for
// every instance, 0.85 MB of the live heap at 1,020 instances. A peer that
// sends more grows it once (vrrp.Decode appends), then it is reused.
func decodeAddrsCap(in *instance) int {
	return max(len(in.advert.Addrs), 1)
}
