package daemon

import (
	"fmt"
	"slices"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// track_group: the instances of a group go to FAULT while the interface of
// a static_ipaddress / static_routes / static_rules line naming the group is
// down or gone, and leave FAULT when it is up again, at which point the
// static lines are restored (keepalived 2.2.7, observed in a namespace:
// "Netlink reports veth2 down" -> "(VI_1) Entering FAULT STATE"; "veth2 up"
// -> BACKUP, "Restoring deleted static address/route"). The kernel flushes
// the routes of a downed link without telling anyone, so the restore on
// link-up is what brings them back. Each such interface is an ordinary
// weight-0 interface track of the instance (tracking.go), so status,
// reasons and sync groups see it like any other fault source.

// trackGroupUses lists, once per interface, the interfaces of the static
// lines whose track_group names instance.
func trackGroupUses(cfg *kaconf.Config, instance string) []trackUse {
	out := vipIfaceUses(cfg, instance)
	groups := map[string]bool{}
	for _, g := range cfg.TrackGroupsOf(instance) {
		groups[g.Name] = true
	}
	if len(groups) == 0 {
		return out
	}
	add := func(dev, what, group string) {
		if dev == "" || slices.ContainsFunc(out, func(u trackUse) bool { return u.key.name == dev }) {
			return
		}
		out = append(out, trackUse{key: trackKey{track.KindInterface, dev}, weight: 0,
			static: fmt.Sprintf("%s (track_group %s)", what, group)})
	}
	for _, v := range cfg.StaticIPAddresses {
		if groups[v.TrackGroup] {
			add(staticDev(cfg, v), "static address "+v.Prefix.String(), v.TrackGroup)
		}
	}
	for _, r := range cfg.StaticRouteSpecs {
		if groups[r.TrackGroup] {
			for _, dev := range kaconf.RouteDevs(r) {
				add(dev, "static route "+r.Dst.String(), r.TrackGroup)
			}
		}
	}
	for _, r := range cfg.StaticRuleSpecs {
		if groups[r.TrackGroup] {
			add(r.IIF, fmt.Sprintf("static rule pref %d", r.Pref), r.TrackGroup)
		}
	}
	return out
}

// staticDev is a static address's interface: its dev, else default_interface.
func staticDev(cfg *kaconf.Config, v kaconf.VIP) string {
	if v.Dev != "" {
		return v.Dev
	}
	return cfg.Global.DefaultInterface
}

// restoreStaticOnLinkUp puts back what the kernel dropped while a tracked
// static line's interface was down (or what could not be restored while it
// was gone).
func (d *Daemon) restoreStaticOnLinkUp(key trackKey, r track.Result, changed bool) {
	if !changed || !r.OK || key.kind != track.KindInterface || !d.staticUsesLink(key.name) {
		return
	}
	d.log.Info("interface of tracked static lines is up: restoring them", "interface", key.name)
	d.recheckRoutes()
}

// staticUsesLink: some track_group'd static line is on dev.
func (d *Daemon) staticUsesLink(dev string) bool {
	for _, in := range d.instances {
		if slices.ContainsFunc(in.tracks, func(u trackUse) bool { return u.static != "" && u.key.name == dev }) {
			return true
		}
	}
	return false
}

// vipIfaceUses: keepalived 2.2.7 tracks the interface of every
// virtual_ipaddress and virtual_ipaddress_excluded line on another
// interface than the instance's, as a weight-0 track, unless the line says
// no_track (observed in a namespace: `198.51.100.100/25 dev veth-lo2`, a
// plain VIP, an eVIP or a VIP with its own use_vmac, whose VMAC's parent it
// is: veth-lo2 down -> "(VI_1) Entering FAULT STATE", up -> BACKUP; with
// no_track nothing happens; a VIP on the instance's own interface with
// dont_track_primary is not tracked either). Being ordinary interface
// tracks, interface_up_down_delays holds them and bounds their delays by
// the instance's advert interval (ifaces_delay.go). An interface the
// instance already names in track_interface keeps that line's weight (not
// observed; the explicit line is taken to win).
func vipIfaceUses(cfg *kaconf.Config, instance string) []trackUse {
	i := slices.IndexFunc(cfg.Instances, func(in *kaconf.Instance) bool { return in.Name == instance })
	if i < 0 {
		return nil
	}
	c := cfg.Instances[i]
	own := c.Interface
	if own == "" {
		own = cfg.Global.DefaultInterface
	}
	var out []trackUse
	for _, v := range allVIPs(c) {
		if v.NoTrack || v.Dev == "" || v.Dev == own ||
			slices.ContainsFunc(c.TrackInterfaces, func(r kaconf.TrackRef) bool { return r.Name == v.Dev }) ||
			slices.ContainsFunc(out, func(u trackUse) bool { return u.key.name == v.Dev }) {
			continue
		}
		out = append(out, trackUse{key: trackKey{track.KindInterface, v.Dev}, weight: 0,
			static: "virtual_ipaddress " + v.Prefix.String()})
	}
	return out
}
