package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// identity is what makes a reloaded instance the same virtual router: kept
// in place (state, VIPs, timers) when it is unchanged, replaced otherwise.
type identity struct {
	vrid      uint8
	ipv6      bool
	ifname    string
	multicast bool
	vmac      string     // use_vmac name: another VMAC is another virtual router
	group     netip.Addr // multicast group (mcast.go): another group is another virtual router
}

func (in *instance) identity() identity {
	return identity{in.cfg.VRID, in.sockCfg.IPv6, in.ifname, in.sockCfg.Multicast, in.vmacName(), groupOf(in.sockCfg)}
}

// applyReport says what apply changed, for the log and `govrrp reload`.
type applyReport struct {
	Added, Removed, Kept []string
}

func (r applyReport) String() string {
	return fmt.Sprintf("%d kept, %d added, %d removed", len(r.Kept), len(r.Added), len(r.Removed))
}

// notifyCloseBudget bounds how long a reload waits for the old notifier's
// queued scripts before the new one takes over the FIFOs.
const notifyCloseBudget = 2 * time.Second

// apply makes the running daemon match cfg; start-up and reload both call
// it. Everything that can fail is prepared first (instances resolved,
// scripts resolved), so an error changes nothing. Then: instances gone from
// the file step down (priority 0 if master, VIPs removed), instances whose
// identity is unchanged are reconfigured in place (a master stays master,
// sends no priority 0, runs no notify; VIPs added or removed individually),
// new ones start. Trackers restart only where their configuration changed.
func (d *Daemon) apply(cfg *kaconf.Config) (applyReport, error) {
	var rep applyReport
	startup := d.view.Load() == nil                          // nothing published yet: the first apply
	if err := d.keepNetNamespace(cfg, startup); err != nil { // ifaces_netns.go
		return rep, err
	}
	next, err := d.resolveInstances(cfg)
	if err != nil {
		return rep, err
	}
	if err := d.applyProcess(cfg, startup); err != nil { // procsched.go
		return rep, err
	}
	defer d.holdProcess()() // the work below is not real-time (procsched.go)
	old := d.instances
	byID := map[identity]*instance{}
	for _, in := range old {
		byID[in.identity()] = in
	}
	var final, added []*instance
	for _, nw := range next {
		if in := byID[nw.identity()]; in != nil {
			delete(byID, nw.identity())
			final = append(final, in)
			rep.Kept = append(rep.Kept, nw.name)
			continue
		}
		final = append(final, nw)
		added = append(added, nw)
		rep.Added = append(rep.Added, nw.name)
	}
	specs, err := d.planFor(cfg, next)
	if err != nil {
		return rep, err
	}
	if err := d.acceptCheck(cfg, next); err != nil { // no_accept needs nft (accept.go)
		return rep, err
	}

	// Committed from here on: nothing below refuses the configuration.
	for _, in := range old {
		if byID[in.identity()] == in {
			rep.Removed = append(rep.Removed, in.name)
			d.remove(in)
		}
	}
	d.releaseVMACConflicts(next) // before any new link is made (vmac_addr.go)
	for i, in := range final {
		if !slices.Contains(added, in) {
			d.reconfigure(in, next[i])
		}
	}
	d.cfg = cfg
	d.instances = final
	d.applyReloadSched(cfg, startup) // reload_time_file; start-up's reload_file and config_save_dir (reloadsched.go)

	d.applyLocalIGMP(cfg, startup) // before any socket joins 224.0.0.18 (igmp.go)
	applyProcessMonitorBuf(cfg)    // before trackers start (igmp.go)

	d.applyPacing(cfg) // GARP/NA spacing before any instance announces (garpextra.go)
	d.applyStatic(cfg) // static_* before any instance starts (routes.go)
	d.releaseConflicting(added)
	for _, in := range added {
		if err := d.attach(in); err != nil {
			if startup {
				// Nothing runs yet: a daemon that cannot open an
				// instance's socket must not start without it.
				return rep, err
			}
			d.log.Error("instance not started", "instance", in.name, "err", err)
			d.instances = slices.DeleteFunc(d.instances, func(x *instance) bool { return x == in })
		}
	}
	d.sizeRxBufs() // after attach: shares of new and reloaded instances (rxbufs.go)
	d.applySyncGroups(cfg)
	d.publishView()
	if err := d.acceptApplied(startup); err != nil { // no_accept firewall (accept.go)
		return rep, err
	}
	d.swapNotifier()
	d.applyMail(cfg) // smtp_alert (mail.go)
	d.applySNMP(cfg) // AgentX subagent, after publishView (snmp.go)
	d.planTracking()
	d.planIfaceDelays() // ifaces_delay.go
	d.dynamicForget()   // ifaces_dyn.go
	d.syncTrackers(specs)
	// New tracks report first: a kept master given a new weight-0 script
	// must not go FAULT for the moment before its first result.
	d.awaitInitialTracks()
	for _, in := range final {
		if !slices.Contains(added, in) {
			d.reevaluateAll(in, "configuration reloaded")
		}
	}
	for _, in := range added {
		if slices.Contains(d.instances, in) {
			// Tracks still without a result apply now (a weight-0 script
			// holds FAULT), whether or not any result came in meanwhile.
			d.reevaluateAll(in, "start-up")
			d.startInstance(in)
		}
	}
	d.fifoStatesOnReload(startup, added) // notifyextra.go
	d.applyDBus(cfg, startup)            // dbus.go
	return rep, nil
}

// resolveInstances builds the instances cfg describes, without touching
// anything.
func (d *Daemon) resolveInstances(cfg *kaconf.Config) ([]*instance, error) {
	var next []*instance
	seen := map[identity]string{}
	for _, c := range cfg.Instances {
		in, err := newInstance(c, d.lookup, d.opts.ReleaseVIPs.fsmMode())
		if err != nil {
			if in, err = d.dynamicInstance(c, cfg, err); err != nil { // ifaces_dyn.go
				return nil, err
			}
		}
		useMcastGroup(in, c, &cfg.Global)
		in.changes = &d.changes
		if other, dup := seen[in.identity()]; dup {
			return nil, fmt.Errorf("%s: instances %s and %s are the same virtual router (VRID %d on %s)", c.Pos, other, c.Name, c.VRID, in.ifname)
		}
		seen[in.identity()] = in.name
		next = append(next, in)
	}
	renameIPv6VMACs(next, cfg.Global.VmacPrefix)
	placeAddrVMACs(next, &cfg.Global) // VMACs of VIPs (vmac_addr.go)
	return next, uniqueVMACs(next)
}

// planFor resolves the trackers the new instances need, before anything is
// changed.
func (d *Daemon) planFor(cfg *kaconf.Config, next []*instance) ([]trackerSpec, error) {
	if d.newTrackers == nil {
		return nil, nil
	}
	keys := map[trackKey]bool{}
	for _, nw := range next {
		uses := append(usesOf(nw.cfg, nw.ifname, nw.src), groupUses(cfg, nw.name)...)
		for _, u := range append(uses, trackGroupUses(cfg, nw.name)...) { // trackgroup.go
			keys[u.key] = true
		}
	}
	return d.newTrackers(d.log, cfg, sortedKeys(keys))
}

// startInstance starts a new instance's machine; a node that does not come
// up as master removes VIPs a previous run left behind.
func (d *Daemon) startInstance(in *instance) {
	d.promoteSecondaries(in) // promote.go
	if d.startupPending(in) {
		return // vrrp_startup_delay (startup.go)
	}
	d.log.Info("starting instance", "instance", in.name, "interface", in.ifname, "vrid", in.cfg.VRID,
		"version", in.cfg.Version, "priority", in.cfg.Priority, "src", in.src, "dst", fmt.Sprint(in.dsts))
	d.handle(in, fsm.Startup())
	if in.machine.State() != fsm.Master {
		d.removeStaleVIPs(in)
	}
}

// remove steps an instance down for good: a master sends priority 0 and
// removes its VIPs, with ReleaseAfterTakeover once the new master advertises
// (the instance keeps its socket until then; release.go); notify reports it
// DELETED (keepalived: FAULT unless notify_deleted).
func (d *Daemon) remove(in *instance) {
	d.log.Info("instance removed by reload", "instance", in.name, "vrid", in.cfg.VRID, "interface", in.ifname)
	in.deleting = true
	if !d.stopInstance(in) {
		d.finishRemoval(in)
	}
}

// reconfigure takes nw's configuration into the running in (same identity):
// the machine keeps its state; VIPs are added or removed one by one.
func (d *Daemon) reconfigure(in, nw *instance) {
	master := in.machine.State() == fsm.Master
	oldCfg := in.cfg // for the route diff (routes.go)
	gone, fresh := diffVIPs(in.vips, nw.vips)
	if master {
		for _, a := range gone {
			if err := d.addrs.Remove(a); err != nil {
				d.log.Error("cannot remove VIP", "instance", in.name, "vip", a.String(), "err", err)
			}
		}
	}
	d.reloadAddrVMACs(in, nw, master) // gone VIPs are off, fresh ones not yet on (vmac_addr.go)
	in.name, in.cfg, in.version, in.src, in.dsts, in.vips = nw.name, nw.cfg, nw.version, nw.src, nw.dsts, nw.vips
	in.advert = nw.advert
	in.takeAuth(nw)
	in.rx.Store(nw.rx.Load())
	d.acceptSync() // before fresh VIPs go on (accept.go)
	if master && len(fresh) > 0 {
		for _, a := range fresh {
			if err := d.addrs.Add(a); err != nil {
				d.log.Error("cannot add VIP", "instance", in.name, "vip", a.String(), "err", err)
			}
		}
		d.announceVIPs(in)
	}
	d.rerouteReloaded(in, oldCfg, master)
	in.fast.clear() // the machine's config changes (fastpath.go)
	d.actBuf = in.machine.Reconfigure(nw.machine.Config(), d.actBuf[:0])
	d.execute(in, d.actBuf)
	in.publish(in.identityView)
	in.publishDynamic()
}

// diffVIPs lists the addresses of old not in cur, and of cur not in old.
func diffVIPs(old, cur []vip.Address) (gone, fresh []vip.Address) {
	for _, a := range old {
		if !slices.Contains(cur, a) {
			gone = append(gone, a)
		}
	}
	for _, a := range cur {
		if !slices.Contains(old, a) {
			fresh = append(fresh, a)
		}
	}
	return gone, fresh
}

// sockUse is one shared socket as the daemon uses it.
type sockUse struct {
	stats *socketStats
	users int
	stop  context.CancelFunc // ends the reader watch before the socket closes
}

// attach acquires the instance's shared socket and registers its VRID.
func (d *Daemon) attach(in *instance) error {
	if d.dynamicWaits(in) {
		return nil // dynamic_interfaces: attached when the interface appears (ifaces_dyn.go)
	}
	if err := d.attachVMAC(in); err != nil {
		return err
	}
	mux, err := d.pool.Acquire(d.ctx, in.sockCfg)
	if err != nil {
		d.detachVMAC(in)
		return fmt.Errorf("instance %s: %w", in.name, err)
	}
	if err := mux.Register(in.cfg.VRID, d.receiver(in)); err != nil {
		d.pool.Release(in.sockCfg)
		d.detachVMAC(in)
		return fmt.Errorf("instance %s: virtual_router_id %d on %s: %w", in.name, in.cfg.VRID, in.ifname, err)
	}
	in.mux = mux
	use := d.socks[mux]
	if use == nil {
		use = d.watchSocket(mux, in.sockCfg)
		d.socks[mux] = use
		d.sockets = append(d.sockets, use.stats)
	}
	use.users++
	return nil
}

// watchSocket counts the socket's unowned drops and logs a reader that stops
// while the socket is in use.
func (d *Daemon) watchSocket(mux *transport.Mux, cfg transport.Config) *sockUse {
	ctx, stop := context.WithCancel(d.ctx)
	use := &sockUse{stats: newSocketStats(cfg), stop: stop}
	use.stats.kernelDrops, use.stats.readBuffer = mux.KernelDrops, mux.ReadBufferSize // rxbufs.go
	mux.SetUnknown(d.unknownReceiver(use.stats))
	go func() {
		select {
		case <-mux.Done():
			if ctx.Err() == nil {
				d.log.Error("socket reader stopped; adverts on this interface are no longer received",
					"interface", cfg.Interface, "ipv6", cfg.IPv6, "err", mux.Err())
			}
		case <-ctx.Done():
		}
	}()
	return use
}

// detach unregisters the instance and releases its socket; the last user
// closes it.
func (d *Daemon) detach(in *instance) {
	defer d.detachVMAC(in) // after the socket on it is released
	if in.mux == nil {
		return
	}
	in.mux.Unregister(in.cfg.VRID)
	if use := d.socks[in.mux]; use != nil {
		if use.users--; use.users == 0 {
			use.stop()
			delete(d.socks, in.mux)
			d.sockets = slices.DeleteFunc(d.sockets, func(s *socketStats) bool { return s == use.stats })
		}
	}
	d.pool.Release(in.sockCfg)
	in.mux = nil
}

// swapNotifier replaces the notifier when the notify configuration changed.
// The old one drains first (bounded): both at once would fight over the
// FIFOs.
func (d *Daemon) swapNotifier() {
	if d.newNotifier == nil {
		return
	}
	fp := notifyFingerprint(d.cfg)
	if d.notifyFP != nil && reflect.DeepEqual(fp, *d.notifyFP) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), notifyCloseBudget)
	if err := d.notify.Close(ctx); err != nil && !errors.Is(err, context.Canceled) {
		d.log.Warn("notify scripts of the previous configuration still running", "err", err)
	}
	cancel()
	d.notify = noNotify{}
	n, err := d.newNotifier(d.cfg, d.log)
	switch {
	case err != nil:
		d.log.Error("notifications off: cannot set them up", "err", err)
	case n != nil:
		d.notify = n
	}
	d.notifyFP = &fp
}

// notifyFP is everything in a configuration that notifications depend on.
type notifyFP struct {
	Global    [6]string
	Flags     [2]bool
	RunAs     map[string]kaconf.RunAs
	Instances []notifyInstanceFP
	Groups    []notifyInstanceFP // vrrp_sync_group notify scripts
}

type notifyInstanceFP struct {
	Name    string
	Scripts [7]string
	Flags   [2]bool
	RunAs   map[string]kaconf.RunAs
}

func notifyFingerprint(cfg *kaconf.Config) notifyFP {
	g := cfg.Global
	fp := notifyFP{Global: [6]string{g.NotifyFifo, g.NotifyFifoScript, g.VRRPNotifyFifo, g.VRRPNotifyFifoScript, g.ScriptUser, g.ScriptGroup},
		Flags: [2]bool{g.EnableScriptSecurity, g.VRRPNotifyPriorityChanges}, RunAs: g.RunAs}
	for _, in := range cfg.Instances {
		fp.Instances = append(fp.Instances, notifyInstanceFP{Name: in.Name,
			Scripts: [7]string{in.Notify, in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop, in.NotifyDeleted, in.NotifyMasterRxLowerPri},
			Flags:   [2]bool{in.NotifyDeletedSet, in.NotifyPriorityChanges}, RunAs: in.RunAs})
	}
	for _, g := range cfg.SyncGroups {
		fp.Groups = append(fp.Groups, notifyInstanceFP{Name: g.Name,
			Scripts: [7]string{g.Notify, g.NotifyMaster, g.NotifyBackup, g.NotifyFault, g.NotifyStop}, RunAs: g.RunAs,
			Flags: [2]bool{false, g.NotifyPriorityChanges}})
	}
	return fp
}

// drainUntil serves the loop until done is closed, so a goroutine posting
// to the loop while it ends cannot block on a full queue.
func (d *Daemon) drainUntil(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case e := <-d.events:
			d.serve(e)
		}
	}
}

// reloadOutcome is what a reload did, for the log and `govrrp reload`.
type reloadOutcome struct {
	report applyReport
	err    error
}

// reload re-reads the file and applies it. A file that does not load, or
// that apply refuses, changes nothing: the running configuration stays.
func (d *Daemon) reload(why string) reloadOutcome {
	d.log.Info("reloading", "trigger", why, "config", d.configPath)
	defer d.holdProcess()() // reading the file too is not real-time (procsched.go)
	d.sdReloading()
	defer d.sdReady() // READY=1 also after a rejected file: the old one runs
	running := d.cfg
	markerDone := d.reloadMarker(running) // reload_file while the file is read (configsave.go)
	err := d.reloadCheck(running)         // reload_check_config
	var cfg *kaconf.Config
	if err == nil {
		cfg, err = loadConfig(d.log, d.opts)
	}
	markerDone()
	if err == nil {
		n := d.saved.reloads + 1
		d.saveDump(running, n, "pre") // config_save_dir
		var rep applyReport
		rep, err = d.apply(cfg)
		if err == nil {
			d.saved.reloads = n
			d.saveDump(cfg, n, "post")
			d.saveConfig(cfg)
			d.log.Info("reloaded", "config", d.configPath, "result", rep.String(),
				"added", fmt.Sprint(rep.Added), "removed", fmt.Sprint(rep.Removed))
			return reloadOutcome{report: rep}
		}
	}
	d.log.Error("reload rejected; the running configuration stays in place", "config", d.configPath, "err", err)
	return reloadOutcome{err: err}
}
