package daemon

import (
	"net/netip"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// global_defs dynamic_interfaces, as keepalived 2.2.7 (observed in a
// namespace): an instance whose interface does not exist at start is not a
// start-up error ("Configuration specifies interface ifz0 which doesn't
// currently exist - will use if created") but FAULT; when the interface
// appears it goes BACKUP (then MASTER by the protocol), and when it is
// deleted it goes FAULT again (priority 0 attempted, VIPs removed) and
// comes back once re-created. Without the keyword a missing interface stays
// a start-up error, as keepalived exits with "Non-existent interface
// specified in configuration".
//
// govrrp's way: an instance whose source address cannot be resolved at
// start waits — no socket, no VIP — and its own-interface track (which
// reports "no such interface") holds it in FAULT. When that track reports
// the interface present the source is resolved again, the instance
// reconfigured with it and its socket opened, before the track's recovery
// reaches the machine; when it reports it gone the socket is released
// after the machine went FAULT. An instance with dont_track_primary has no
// such track, so it cannot wait: its missing interface stays an error.
//
// allow_if_changes only relaxes keepalived's start-up check for duplicate
// VRIDs across interfaces that may change type; govrrp follows interfaces
// by name only, so it changes nothing here (accepted, nothing to do).

// dynState is which instances wait for their interface.
type dynState struct {
	waiting map[*instance]bool
}

// dynamicInstance is resolveInstances' fallback when newInstance failed
// (err): under dynamic_interfaces, an instance built without a source that
// waits for its interface; otherwise err.
func (d *Daemon) dynamicInstance(c *kaconf.Instance, cfg *kaconf.Config, err error) (*instance, error) {
	if !cfg.Global.DynamicInterfaces || c.DontTrackPrimary || c.Interface == "" {
		return nil, err
	}
	unspecified := netip.IPv4Unspecified()
	if c.Family == 6 {
		unspecified = netip.IPv6Unspecified()
	}
	wait := addrLookup{primary: func(string, bool) (netip.Addr, error) { return unspecified, nil }, interfaceOf: d.lookup.interfaceOf}
	in, err2 := newInstance(c, wait, d.opts.ReleaseVIPs.fsmMode())
	if err2 != nil {
		return nil, err
	}
	d.log.Warn("dynamic_interfaces: interface not usable yet; the instance is FAULT until it appears", "instance", c.Name, "interface", c.Interface, "why", err.Error())
	if d.dyn.waiting == nil {
		d.dyn.waiting = map[*instance]bool{}
	}
	d.dyn.waiting[in] = true
	return in, nil
}

// dynamicWaits reports whether in waits for its interface (no socket yet).
func (d *Daemon) dynamicWaits(in *instance) bool { return d.dyn.waiting[in] }

// dynamicAppeared opens the socket of every instance waiting for r's
// interface once r reports it present; called before r reaches the
// machines, so the fault clears with the socket there.
func (d *Daemon) dynamicAppeared(r track.Result) {
	if r.Kind != track.KindInterface || r.Detail == track.LinkMissing {
		return
	}
	for in := range d.dyn.waiting {
		if in.ifname != r.Name || !d.hasInstance(in) {
			continue
		}
		nw, err := newInstance(in.cfg, d.lookup, d.opts.ReleaseVIPs.fsmMode())
		if err != nil {
			d.log.Warn("dynamic_interfaces: interface present but not usable yet", "instance", in.name, "interface", r.Name, "err", err)
			continue
		}
		if nw.src != in.src {
			useMcastGroup(nw, in.cfg, &d.cfg.Global)
			d.reconfigure(in, nw)
		}
		delete(d.dyn.waiting, in) // attach skips waiting instances
		if err := d.attach(in); err != nil {
			d.dyn.waiting[in] = true
			d.log.Error("dynamic_interfaces: cannot open the instance's socket", "instance", in.name, "err", err)
			continue
		}
		d.publishView()
		d.log.Info("dynamic_interfaces: interface appeared; instance attached", "instance", in.name, "interface", r.Name, "src", in.src)
	}
}

// dynamicGone releases the socket of the instances on r's interface once
// r reports it deleted (after the machines saw it: a master went FAULT).
func (d *Daemon) dynamicGone(r track.Result) {
	if !d.cfg.Global.DynamicInterfaces || r.Kind != track.KindInterface || r.Detail != track.LinkMissing {
		return
	}
	for _, in := range d.instances {
		if in.ifname != r.Name || d.dyn.waiting[in] || in.mux == nil || in.cfg.DontTrackPrimary {
			continue
		}
		d.detach(in)
		if d.dyn.waiting == nil {
			d.dyn.waiting = map[*instance]bool{}
		}
		d.dyn.waiting[in] = true
		d.publishView()
		d.log.Warn("dynamic_interfaces: interface deleted; instance waits for it", "instance", in.name, "interface", r.Name)
	}
}

// dynamicForget drops instances no longer configured (after a reload).
func (d *Daemon) dynamicForget() {
	for in := range d.dyn.waiting {
		if !d.hasInstance(in) {
			delete(d.dyn.waiting, in)
		}
	}
}
