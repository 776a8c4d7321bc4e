package daemon

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// VMACs of VIPs, as keepalived 2.2.7 makes them (observed in a namespace
// with `ip -d link`, `ip addr`, sysctl; README "Virtual MAC"):
//
//   - a VIP or eVIP gets one with its own use_vmac option, or with the
//     instance's use_vmac_addr when its interface is not the instance's or its
//     family is not the instance's (a VIP without dev is on the instance's
//     interface). A VIP of the instance's family on the instance's interface
//     stays on the instance's own VMAC when it has one (use_vmac);
//   - one VMAC per (interface, family) of an instance, shared by its VIPs and
//     eVIPs there, with the VRRP virtual MAC of that family and the same
//     link, sysctls and nftables rules as an instance's VMAC (vip.VMACs);
//   - named vmac_addr_prefix (default vmac_prefix, default vrrp) .VRID; if
//     that name is taken, prefix6.VRID for IPv6, then prefix1.VRID,
//     prefix2.VRID, ... (observed: vx.51 v4 on eth1, vx6.51 v6 on eth0,
//     vx1.51 v6 on eth1; with the instance's vrrp.51: vrrp1.51, vrrp2.51
//     v4, vrrp6.51 v6), in the order of virtual_ipaddress then
//     virtual_ipaddress_excluded;
//   - created at start whatever the state (up as BACKUP, without VIPs), and
//     deleted at stop, as the instance's VMAC.

// maxAddrVMACSuffix bounds the numbered names tried for one VRID.
const maxAddrVMACSuffix = 99

// vmacKey is one VMAC of VIPs: the interface and family it serves.
type vmacKey struct {
	parent string
	ipv6   bool
}

// placeAddrVMACs gives every instance of next the VMACs its VIPs need and
// moves those VIPs onto them. Names already taken (instances' own VMACs,
// then earlier instances' VIP VMACs) are skipped, so it runs after the
// instances' VMACs are named (renameIPv6VMACs).
func placeAddrVMACs(next []*instance, g *kaconf.GlobalDefs) {
	taken := map[string]bool{}
	for _, in := range next {
		if in.vmac != nil {
			taken[in.vmac.Name] = true
		}
	}
	prefix := addrVMACPrefix(g)
	for _, in := range next {
		in.addrVMACs = nil
		byKey := map[vmacKey]string{}
		for i, v := range allVIPs(in.cfg) {
			if i >= len(in.vips) {
				break
			}
			key, ok := addrVMACKey(in, v)
			if !ok {
				continue
			}
			name, seen := byKey[key]
			if !seen {
				name = freeVMACName(prefix, in.cfg.VRID, key.ipv6, taken)
				taken[name] = true
				byKey[key] = name
				in.addrVMACs = append(in.addrVMACs, vip.VMAC{Name: name, Parent: key.parent, VRID: in.cfg.VRID, IPv6: key.ipv6})
			}
			in.vips[i].Dev = name
			in.vips[i].Label = "" // a label must begin with its device's name (as onVMAC)
		}
	}
}

// allVIPs is the configuration's addresses in in.vips's order
// (vipAddresses: virtual_ipaddress, then virtual_ipaddress_excluded).
func allVIPs(c *kaconf.Instance) []kaconf.VIP {
	return append(slices.Clip(c.VIPs), c.ExcludedVIPs...)
}

// addrVMACKey says whether v needs a VMAC of its own, and which.
func addrVMACKey(in *instance, v kaconf.VIP) (vmacKey, bool) {
	dev := v.Dev
	if dev == "" {
		dev = in.ifname
	}
	key := vmacKey{parent: dev, ipv6: !v.Prefix.Addr().Is4()}
	sameFamily := key.ipv6 == in.sockCfg.IPv6
	if dev == in.ifname && sameFamily && (in.vmac != nil || !v.UseVMAC) {
		return key, false // on the instance's interface or its own VMAC
	}
	return key, v.UseVMAC || in.cfg.UseVMACAddr
}

func addrVMACPrefix(g *kaconf.GlobalDefs) string {
	switch {
	case g.VmacAddrPrefix != "":
		return g.VmacAddrPrefix
	case g.VmacPrefix != "":
		return g.VmacPrefix
	}
	return "vrrp"
}

// freeVMACName is the first of prefix.VRID, (IPv6) prefix6.VRID,
// prefix1.VRID, ... not in taken.
func freeVMACName(prefix string, vrid uint8, ipv6 bool, taken map[string]bool) string {
	id := "." + strconv.Itoa(int(vrid))
	cands := []string{prefix + id}
	if ipv6 {
		cands = append(cands, prefix+"6"+id)
	}
	for _, c := range cands {
		if !taken[c] {
			return c
		}
	}
	for n := 1; n <= maxAddrVMACSuffix; n++ {
		if c := prefix + strconv.Itoa(n) + id; !taken[c] {
			return c
		}
	}
	return fmt.Sprintf("%s%d%s", prefix, maxAddrVMACSuffix+1, id) // refused by Ensure if it exists as something else
}

// ensureAddrVMACs creates (or reuses) vs; on an error the ones it created
// are deleted again.
func (d *Daemon) ensureAddrVMACs(in *instance, vs []vip.VMAC) error {
	for i, v := range vs {
		if err := d.ensureVMAC(in, v); err != nil {
			d.deleteVMACs(in, vs[:i])
			return err
		}
	}
	return nil
}

// ensureVMAC creates or reuses one VMAC of the instance, logging which.
func (d *Daemon) ensureVMAC(in *instance, v vip.VMAC) error {
	if d.vmacs == nil {
		return fmt.Errorf("instance %s: use_vmac: no VMAC support in this daemon", in.name)
	}
	reused, err := d.vmacs.Ensure(v)
	if err != nil {
		return fmt.Errorf("instance %s: VMAC %s on %s: %w", in.name, v.Name, v.Parent, err)
	}
	if reused {
		d.log.Warn("reusing VMAC left by a previous run", "instance", in.name, "vmac", v.Name)
	} else {
		d.log.Info("VMAC created", "instance", in.name, "vmac", v.Name, "parent", v.Parent, "mac", v.MAC().String())
	}
	return nil
}

// deleteVMACs removes vs, logging failures (the VIPs on them go with them).
func (d *Daemon) deleteVMACs(in *instance, vs []vip.VMAC) {
	if d.vmacs == nil {
		return
	}
	for _, v := range vs {
		if err := d.vmacs.Delete(v.Name); err != nil {
			d.log.Error("cannot remove VMAC", "instance", in.name, "vmac", v.Name, "err", err)
			continue
		}
		d.log.Info("VMAC removed", "instance", in.name, "vmac", v.Name)
	}
}

// reloadAddrVMACs takes a kept instance's VIP VMACs to nw's, before
// reconfigure takes nw's VIPs: those no longer wanted are deleted (their
// VIPs were removed just before), new ones are created before the fresh VIPs
// go on them. A VIP kept under the same device name whose link was replaced
// (the same name on another interface) went with the old link: a master puts
// it back. A VMAC that cannot be created is logged; the VIPs on it then
// fail to be added, and are logged too.
func (d *Daemon) reloadAddrVMACs(in, nw *instance, master bool) {
	var gone, fresh []vip.VMAC
	for _, v := range in.addrVMACs {
		if !containsVMAC(nw.addrVMACs, v) {
			gone = append(gone, v)
		}
	}
	for _, v := range nw.addrVMACs {
		if !containsVMAC(in.addrVMACs, v) {
			fresh = append(fresh, v)
		}
	}
	d.deleteVMACs(in, gone)
	in.addrVMACs = slices.DeleteFunc(slices.Clone(in.addrVMACs), func(v vip.VMAC) bool { return containsVMAC(gone, v) })
	for _, v := range fresh {
		if err := d.ensureVMAC(in, v); err != nil {
			d.log.Error("VMAC not created on reload", "instance", in.name, "err", err)
			continue
		}
		in.addrVMACs = append(in.addrVMACs, v)
		if master {
			d.readdKept(in, nw, v.Name)
		}
	}
}

// readdKept adds again the VIPs on dev that both in and nw have (diffVIPs
// keeps them, so reconfigure would not add them).
func (d *Daemon) readdKept(in, nw *instance, dev string) {
	for _, a := range nw.vips {
		if a.Dev != dev || !slices.Contains(in.vips, a) {
			continue
		}
		if err := d.addrs.Add(a); err != nil {
			d.log.Error("cannot add VIP", "instance", in.name, "vip", a.String(), "err", err)
		}
	}
}

// containsVMAC: VIP VMACs are equal by name, parent, VRID and family (they
// carry no given MAC).
func containsVMAC(vs []vip.VMAC, v vip.VMAC) bool {
	return slices.ContainsFunc(vs, func(w vip.VMAC) bool {
		return w.Name == v.Name && w.Parent == v.Parent && w.VRID == v.VRID && w.IPv6 == v.IPv6
	})
}

// addrVMACTargets is what garp_extra_if without "all" announces: the first
// address (VIP or eVIP) on each VMAC of VIPs (keepalived 2.2.7, tcpdump:
// 198.51.100.100 on vrrp.51@eth1, 198.51.100.105 on vrrp1.51@eth2 and an NA
// for eVIP 2001:db8:2::100 on vrrp6.51@eth1, every SECS; nothing for the
// instance's interface).
func addrVMACTargets(in *instance) []vip.Address {
	var out []vip.Address
	for _, v := range in.addrVMACs {
		if i := slices.IndexFunc(in.vips, func(a vip.Address) bool { return a.Dev == v.Name }); i >= 0 {
			out = append(out, in.vips[i])
		}
	}
	return out
}

// releaseVMACConflicts ends at once the wait of removed masters (still
// holding their VIPs and links in Releasing, release.go) whose VMAC name
// (their own use_vmac or a VIP's) an instance of the new configuration
// uses: their deferred removal would otherwise delete the link the new
// instance has just created or reused under that name. Run before any
// instance of next creates its links (reconfigure, attach); the old links
// are gone when it returns, so the new owner creates its own.
func (d *Daemon) releaseVMACConflicts(next []*instance) {
	wanted := map[string]string{}
	for _, nw := range next {
		for _, name := range vmacNames(nw) {
			wanted[name] = nw.name
		}
	}
	for _, old := range slices.Clone(d.releasing) {
		if !old.deleting {
			continue
		}
		for _, name := range vmacNames(old) {
			if by, ok := wanted[name]; ok {
				d.handle(old, fsm.ReleaseNow(fmt.Sprintf("the new configuration gives VMAC %s to instance %s; VIPs released", name, by)))
				break
			}
		}
	}
}

// vmacNames is every VMAC link name an instance holds: its own, then its
// VIPs'.
func vmacNames(in *instance) []string {
	var out []string
	if in.vmac != nil {
		out = append(out, in.vmac.Name)
	}
	for _, v := range in.addrVMACs {
		out = append(out, v.Name)
	}
	return out
}

// addrVMACAliases paces the VMACs of in's VIPs as their parent interface:
// keepalived 2.2.7 spends their GARPs/NAs from the parent's budget
// (vrrp_garp_interval, garp_group), observed with tcpdump on the parent's
// peer (vmac_addr_pacing_test.go).
func addrVMACAliases(alias map[string]string, in *instance) map[string]string {
	for _, v := range in.addrVMACs {
		if alias == nil {
			alias = map[string]string{}
		}
		alias[v.Name] = v.Parent
	}
	return alias
}
