package daemon

import (
	"slices"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// Pacing (vrrp_garp_interval, vrrp_gna_interval, garp_group) and
// garp_extra_if, as keepalived 2.2.7 does them (README "GARP pacing"):
//
//   - the pacer (vip.Pacer) owns the spacing; the loop only hands it bursts
//     and never waits for it. apply gives it the configuration, a VMAC being
//     paced as its base interface;
//   - garp_extra_if all SECS: while master, every SECS, one GARP (or NA) on
//     each interface other than the instance's that carries one of its
//     virtual_ipaddress entries — for the first such VIP, not for eVIPs
//     (keepalived 2.2.7, tcpdump: 198.51.100.100 every 2 s on eth1, nothing
//     for 198.51.100.102 on eth1 nor for virtual_ipaddress_excluded). The
//     first goes SECS after the transition. Without "all" keepalived sends
//     only on the VMACs of VIPs (use_vmac_addr, a VIP's use_vmac): one for
//     the first address on each, VIP or eVIP (vmac_addr.go, addrVMACTargets).

// pacedAnnouncer is the part of vip.Pacer the daemon needs besides bursts.
type pacedAnnouncer interface {
	SetPacing(vip.Pacing)
	Cancel([]vip.Address)
	OnError(func(error))
}

// applyPacing hands the pacer the configuration (start-up and reload).
func (d *Daemon) applyPacing(cfg *kaconf.Config) {
	if p, ok := d.announce.(pacedAnnouncer); ok {
		p.OnError(func(err error) { d.log.Warn("gratuitous ARP/NA failed", "paced", true, "err", err) })
		p.SetPacing(pacingOf(cfg, d.instances))
	}
	for _, in := range d.instances { // a reload that turned garp_extra_if on for a master
		if in.machine != nil && in.machine.State() == fsm.Master && in.garp.pending[garpExtraIf].gen == 0 {
			d.scheduleExtraIf(in)
		}
	}
}

// pacingOf is cfg's pacing, VMACs of instances paced as their base.
func pacingOf(cfg *kaconf.Config, ins []*instance) vip.Pacing {
	pc := vip.Pacing{Default: vip.Interval{GARP: cfg.Global.GarpInterval, NA: cfg.Global.GnaInterval}}
	for _, g := range cfg.GarpGroups {
		pc.Groups = append(pc.Groups, vip.PacingGroup{Interfaces: slices.Clone(g.Interfaces),
			Interval: vip.Interval{GARP: g.GarpInterval, NA: g.GnaInterval}})
	}
	for _, in := range ins {
		if in.vmac != nil {
			if pc.Alias == nil {
				pc.Alias = map[string]string{}
			}
			pc.Alias[in.vmac.Name] = in.ifname
		}
		pc.Alias = addrVMACAliases(pc.Alias, in) // vmac_addr.go
	}
	return pc
}

// extraIfTargets are the addresses garp_extra_if announces for in: the
// first VIP of each interface other than the instance's (and its VMAC's).
func extraIfTargets(in *instance) []vip.Address {
	if in.cfg.GarpExtraIf <= 0 {
		return nil
	}
	if !in.cfg.GarpExtraIfAll {
		return addrVMACTargets(in) // vmac_addr.go
	}
	own := in.vmacName()
	var out []vip.Address
	seen := map[string]bool{}
	for _, a := range in.vips[:min(len(in.cfg.VIPs), len(in.vips))] {
		if a.Dev == in.ifname || (own != "" && a.Dev == own) || seen[a.Dev] {
			continue
		}
		seen[a.Dev] = true
		out = append(out, a)
	}
	return out
}

// scheduleExtraIf arms the next garp_extra_if round, if there is one to do.
func (d *Daemon) scheduleExtraIf(in *instance) {
	if len(extraIfTargets(in)) > 0 {
		d.armGarp(in, garpExtraIf, in.cfg.GarpExtraIf)
	}
}

// extraIfTick sends one round (the instance is master: onGarpTick checked).
func (d *Daemon) extraIfTick(in *instance) {
	d.burstOf(in, extraIfTargets(in), 1)
	d.scheduleExtraIf(in)
}
