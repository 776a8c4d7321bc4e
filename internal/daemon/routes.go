package daemon

import (
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// virtual_routes / virtual_rules follow an instance's VIPs exactly: they go
// on right after the VIPs (keepalived 2.2.7's order: VIPs, E-VIPs, routes,
// rules) and come off right before them (rules, routes, VIPs), from the same
// addVIPs / removeVIPs calls, so the make-before-break Releasing state and
// every other path that holds VIPs holds the routes too. static_* are
// installed by every apply (start-up and reload: Add is idempotent, so a
// reload also restores what was deleted) and removed at stop, as keepalived
// does.

// routeOps is what the daemon needs from internal/vip for routes and rules;
// *vip.Manager has it, test fakes may.
type routeOps interface {
	AddRoute(kaconf.Route) error
	RemoveRoute(kaconf.Route) error
	HasRoute(kaconf.Route) (bool, error)
	AddRule(kaconf.Rule) error
	RemoveRule(kaconf.Rule) error
	HasRule(kaconf.Rule) (bool, error)
}

// staticState is what the last apply installed of static_*; a reload
// removes what the new file no longer has, stop removes all.
type staticState struct {
	routes []kaconf.Route
	rules  []kaconf.Rule
	addrs  []vip.Address
	watch  *routeWatch // nil until a configuration has routes or rules
}

// routeOps is the address manager's route side, nil when it has none.
func (d *Daemon) routeOps() routeOps {
	ro, _ := d.addrs.(routeOps)
	return ro
}

// staticAddrOps installs static_ipaddress forever: a leased manager would
// let them lapse, since only VIPs are renewed.
func (d *Daemon) staticAddrOps() addrOps {
	if u, ok := d.addrs.(interface{ Unleased() *vip.Manager }); ok {
		return u.Unleased()
	}
	return d.addrs
}

// addVirtualRoutes installs the instance's virtual_routes then virtual_rules.
func (d *Daemon) addVirtualRoutes(in *instance) {
	d.addRoutes(in.name, in.cfg.VirtualRouteSpecs, in.cfg.VirtualRuleSpecs)
}

// removeVirtualRoutes removes the instance's virtual_rules then virtual_routes.
func (d *Daemon) removeVirtualRoutes(in *instance) {
	d.removeRoutes(in.name, in.cfg.VirtualRouteSpecs, in.cfg.VirtualRuleSpecs)
}

func (d *Daemon) addRoutes(owner string, routes []kaconf.Route, rules []kaconf.Rule) {
	ro := d.routeOps()
	if ro == nil {
		return
	}
	for _, r := range routes {
		if err := ro.AddRoute(r); err != nil {
			d.log.Error("cannot add route", "owner", owner, "route", r.Dst.String(), "at", r.Pos.String(), "err", err)
		}
	}
	for _, r := range rules {
		if err := ro.AddRule(r); err != nil {
			d.log.Error("cannot add rule", "owner", owner, "pref", r.Pref, "at", r.Pos.String(), "err", err)
		}
	}
}

func (d *Daemon) removeRoutes(owner string, routes []kaconf.Route, rules []kaconf.Rule) {
	ro := d.routeOps()
	if ro == nil {
		return
	}
	for _, r := range rules {
		if err := ro.RemoveRule(r); err != nil {
			d.log.Error("cannot remove rule", "owner", owner, "pref", r.Pref, "at", r.Pos.String(), "err", err)
		}
	}
	for _, r := range routes {
		if err := ro.RemoveRoute(r); err != nil {
			d.log.Error("cannot remove route", "owner", owner, "route", r.Dst.String(), "at", r.Pos.String(), "err", err)
		}
	}
}

// rerouteReloaded brings a kept instance's routes and rules to its new
// configuration: on a master, those gone come off and new ones go on (the
// VIPs have just been changed the same way); otherwise nothing is installed.
func (d *Daemon) rerouteReloaded(in *instance, old *kaconf.Instance, master bool) {
	if !master {
		return
	}
	goneRoutes, freshRoutes := diffSpecs(old.VirtualRouteSpecs, in.cfg.VirtualRouteSpecs, routeKey)
	goneRules, freshRules := diffSpecs(old.VirtualRuleSpecs, in.cfg.VirtualRuleSpecs, ruleKey)
	d.removeRoutes(in.name, goneRoutes, goneRules)
	d.addRoutes(in.name, freshRoutes, freshRules)
}

// applyStatic installs cfg's static_ipaddress, static_routes and
// static_rules and removes what the previous apply installed that cfg no
// longer has.
func (d *Daemon) applyStatic(cfg *kaconf.Config) {
	addrs := staticAddresses(cfg)
	goneRoutes, _ := diffSpecs(d.static.routes, cfg.StaticRouteSpecs, routeKey)
	goneRules, _ := diffSpecs(d.static.rules, cfg.StaticRuleSpecs, ruleKey)
	d.removeRoutes("static", goneRoutes, goneRules)
	ao := d.staticAddrOps()
	for _, a := range d.static.addrs {
		if !slices.Contains(addrs, a) {
			d.logErr(ao.Remove(a), "cannot remove static address", a)
		}
	}
	for _, a := range addrs {
		d.logErr(ao.Add(a), "cannot add static address", a)
	}
	d.addRoutes("static", cfg.StaticRouteSpecs, cfg.StaticRuleSpecs)
	d.static = staticState{routes: cfg.StaticRouteSpecs, rules: cfg.StaticRuleSpecs, addrs: addrs, watch: d.static.watch}
	d.startRouteWatch(cfg)
}

// removeStatic takes static_* off at stop (keepalived 2.2.7 does too).
func (d *Daemon) removeStatic() {
	d.removeRoutes("static", d.static.routes, d.static.rules)
	ao := d.staticAddrOps()
	for _, a := range d.static.addrs {
		d.logErr(ao.Remove(a), "cannot remove static address", a)
	}
	d.static = staticState{watch: d.static.watch}
}

func (d *Daemon) logErr(err error, msg string, a vip.Address) {
	if err != nil {
		d.log.Error(msg, "address", a.String(), "err", err)
	}
}

// staticAddresses are cfg's static_ipaddress lines; one without dev is on
// default_interface, as in keepalived.
func staticAddresses(cfg *kaconf.Config) []vip.Address {
	var out []vip.Address
	for _, v := range cfg.StaticIPAddresses {
		dev := v.Dev
		if dev == "" {
			dev = cfg.Global.DefaultInterface
		}
		out = append(out, vip.Address{Prefix: v.Prefix, Dev: dev, Label: v.Label, Scope: v.Scope, Broadcast: v.Broadcast})
	}
	return out
}

// routeKey and ruleKey compare specs without their position: a line that
// only moved in the file is the same route.
func routeKey(r kaconf.Route) string {
	r.Pos = kaconf.Pos{}
	return fmtKey(r)
}

func ruleKey(r kaconf.Rule) string {
	r.Pos = kaconf.Pos{}
	return fmtKey(r)
}

func fmtKey(v any) string { return fmt.Sprintf("%+v", v) }

// diffSpecs lists the specs of old not in cur, and of cur not in old.
func diffSpecs[T any](old, cur []T, key func(T) string) (gone, fresh []T) {
	in := func(list []T, k string) bool {
		return slices.ContainsFunc(list, func(x T) bool { return key(x) == k })
	}
	for _, x := range old {
		if !in(cur, key(x)) {
			gone = append(gone, x)
		}
	}
	for _, x := range cur {
		if !in(old, key(x)) {
			fresh = append(fresh, x)
		}
	}
	return gone, fresh
}

// excludedVIPs are virtual_ipaddress_excluded: installed and removed with
// the VIPs (so leased, announced and released alike) but never carried in
// adverts, which newInstance builds from c.VIPs alone.
func excludedVIPs(c *kaconf.Instance, ifname string) []vip.Address {
	var out []vip.Address
	for _, v := range c.ExcludedVIPs {
		dev := v.Dev
		if dev == "" {
			dev = ifname
		}
		out = append(out, vip.Address{Prefix: v.Prefix, Dev: dev, Label: v.Label, Scope: v.Scope, Broadcast: v.Broadcast})
	}
	return out
}

// A route or rule deleted by someone else is handled as keepalived 2.2.7
// does (observed in a namespace): a static one (and a static_ipaddress) is
// restored at once ("Restoring deleted static route"); a virtual one makes its master leave
// MASTER (priority-0 advert, everything removed, BACKUP), and the election
// that follows puts everything back on whichever node wins. Lines with
// no_track, and routes without a dev (keepalived cannot track them; the
// config check warns), are not watched.

// routeWatch coalesces the kernel's deletion reports into one recheck;
// dsts is the set of watched route destinations, replaced by every apply
// (read by the watch goroutine).
type routeWatch struct {
	pending atomic.Bool
	dsts    atomic.Pointer[map[netip.Prefix]bool]
}

// watchedDsts is every destination of a watched static or virtual route.
func watchedDsts(cfg *kaconf.Config) map[netip.Prefix]bool {
	set := map[netip.Prefix]bool{}
	add := func(rs []kaconf.Route) {
		for _, r := range rs {
			if watched(r) {
				set[r.Dst] = true
			}
		}
	}
	add(cfg.StaticRouteSpecs)
	for _, in := range cfg.Instances {
		add(in.VirtualRouteSpecs)
	}
	return set
}

// watchDeletions is the kernel watch; a variable so tests can stand in.
var watchDeletions = vip.WatchDeletions

// startRouteWatch starts the deletion watch once, when the address manager
// is the kernel's and some configuration has routes or rules.
func (d *Daemon) startRouteWatch(cfg *kaconf.Config) {
	if w := d.static.watch; w != nil {
		dsts := watchedDsts(cfg)
		w.dsts.Store(&dsts)
		return
	}
	if !hasRoutes(cfg) {
		return
	}
	if !isKernelAddrs(d.addrs) { // lease.go
		return
	}
	w := &routeWatch{}
	dsts := watchedDsts(cfg)
	w.dsts.Store(&dsts)
	d.static.watch = w
	ctx := d.ctx
	d.trackWG.Add(1) // ends with d.ctx, like the trackers
	go func() {
		defer d.trackWG.Done()
		interest := func(p netip.Prefix) bool { return (*w.dsts.Load())[p] }
		err := watchDeletions(ctx, interest, func() {
			if w.pending.CompareAndSwap(false, true) {
				d.post(loopEvent{routesDeleted: true})
			}
		})
		if err != nil {
			d.log.Error("route watch stopped: deleted routes and rules are no longer noticed", "err", err)
		}
	}()
}

func hasRoutes(cfg *kaconf.Config) bool {
	if len(cfg.StaticRouteSpecs)+len(cfg.StaticRuleSpecs) > 0 {
		return true
	}
	return slices.ContainsFunc(cfg.Instances, func(in *kaconf.Instance) bool {
		return len(in.VirtualRouteSpecs)+len(in.VirtualRuleSpecs) > 0
	})
}

// recheckRoutes runs on the loop after deletions were reported.
func (d *Daemon) recheckRoutes() {
	if d.static.watch != nil {
		d.static.watch.pending.Store(false)
	}
	ro := d.routeOps()
	if ro == nil {
		return
	}
	routes, rules := missing(ro, d.static.routes, d.static.rules)
	for _, r := range routes {
		d.log.Warn("restoring deleted static route", "route", r.Dst.String(), "at", r.Pos.String())
	}
	for _, r := range rules {
		d.log.Warn("restoring deleted static rule", "pref", r.Pref, "at", r.Pos.String())
	}
	ao := d.staticAddrOps()
	for _, a := range d.static.addrs {
		if has, err := ao.Has(a); err == nil && !has {
			d.log.Warn("restoring deleted static address", "address", a.String())
			d.logErr(ao.Add(a), "cannot add static address", a)
		}
	}
	d.addRoutes("static", routes, rules)
	for _, in := range d.instances {
		if in.machine.State() != fsm.Master {
			continue
		}
		if what := missingVirtual(ro, in.cfg); what != "" {
			d.log.Warn("leaving MASTER: "+what, "instance", in.name)
			d.leaveMaster(in, what)
		}
	}
}

// leaveMaster is keepalived 2.2.7's answer to a deleted virtual route or
// rule, as seen in a namespace against a lower-priority peer: priority-0
// advert ("sent 0 priority"), everything removed, BACKUP, and MASTER again
// after its own Skew_Time, which is shorter than the peer's, so the peer
// never takes over and everything is back on this node in well under a
// second. The machine's ForceBackup (a sync group's, which sends no
// priority 0 and waits a whole Master_Down_Interval) is run with its
// master-down timer cut to Skew_Time.
func (d *Daemon) leaveMaster(in *instance, why string) {
	d.sendAdvert(in, 0)
	skew := time.Duration(256-int(in.machine.EffectivePriority())) * in.machine.MasterAdverInt() / 256
	d.actBuf = in.machine.Handle(fsm.ForceBackup(why), d.actBuf[:0])
	for i, a := range d.actBuf {
		if a.Kind == fsm.ActArmTimer && a.Timer == fsm.TimerMasterDown && a.After > skew {
			d.actBuf[i].After = skew
		}
	}
	d.execute(in, d.actBuf)
	in.publishDynamic()
	d.syncFlush()
}

// missingVirtual names the first watched virtual route or rule of c that
// is gone, "" when none is.
func missingVirtual(ro routeOps, c *kaconf.Instance) string {
	routes, rules := missing(ro, c.VirtualRouteSpecs, c.VirtualRuleSpecs)
	switch {
	case len(routes) > 0:
		return fmt.Sprintf("virtual route %s (%s) deleted", routes[0].Dst, routes[0].Pos)
	case len(rules) > 0:
		return fmt.Sprintf("virtual rule pref %d (%s) deleted", rules[0].Pref, rules[0].Pos)
	}
	return ""
}

// missing lists the watched routes and rules the kernel no longer has. A
// lookup error counts as present: only a deletion seen is acted on.
func missing(ro routeOps, routes []kaconf.Route, rules []kaconf.Rule) ([]kaconf.Route, []kaconf.Rule) {
	var mr []kaconf.Route
	var ml []kaconf.Rule
	for _, r := range routes {
		if watched(r) {
			if has, err := ro.HasRoute(r); err == nil && !has {
				mr = append(mr, r)
			}
		}
	}
	for _, r := range rules {
		if !r.NoTrack {
			if has, err := ro.HasRule(r); err == nil && !has {
				ml = append(ml, r)
			}
		}
	}
	return mr, ml
}

// watched: keepalived tracks a route that is not no_track and names a dev.
func watched(r kaconf.Route) bool {
	if r.NoTrack {
		return false
	}
	return r.Dev != "" || slices.ContainsFunc(r.Nexthops, func(h kaconf.Nexthop) bool { return h.Dev != "" })
}
