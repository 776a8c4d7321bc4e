package daemon

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// use_vmac (keepalived 2.2.7, observed): the instance gets a macvlan on its
// interface carrying the VRRP virtual MAC; the VIPs live on it, so clients'
// neighbour entries hold the virtual MAC and need no change on failover.
// Adverts are sent and received on it (unless vmac_xmit_base): they leave
// with the virtual MAC as source, and the kernel hands a multicast frame
// whose source MAC is one of the host's own private-mode macvlans (the peer's
// VMAC is ours too) to that macvlan only, never to the base, so a socket on
// the base would not see the peer. The link exists in every state
// (keepalived: up as BACKUP too) and is deleted when the instance ends; a
// link left by a killed run is found and reused on the next start
// (vip.VMACs.Ensure). VMACs are not leased: after SIGKILL the link stays
// until the next start reuses it (the VIPs on it are leased).

// vmacOps is what the daemon needs from vip.VMACs; a seam for tests.
type vmacOps interface {
	Ensure(vip.VMAC) (reused bool, err error)
	Delete(name string) error
}

// vmacOf is the instance's VMAC, nil without use_vmac. kaconf has resolved
// the name (use_vmac NAME, or vmac_prefix.VRID).
func vmacOf(c *kaconf.Instance, ifname string, ipv6 bool) *vip.VMAC {
	if c.UseVMAC == "" {
		return nil
	}
	v := &vip.VMAC{Name: c.UseVMAC, Parent: ifname, VRID: c.VRID, IPv6: ipv6}
	if mac := c.VMACAddr; mac != "" {
		if strings.Count(mac, ":") == 4 {
			mac += fmt.Sprintf(":%02x", c.VRID) // keepalived: the VRID is the sixth octet
		}
		v.Addr, _ = net.ParseMAC(mac) // kaconf checked it
	}
	return v
}

// onVMAC moves the VIPs of the instance's family that would go on the base
// interface (no dev, or dev naming the base) onto the VMAC; VIPs on other
// interfaces stay there, and so does an eVIP of the other family
// (keepalived 2.2.7, observed: an IPv6 eVIP of an IPv4 use_vmac instance
// stays on the base, whatever man keepalived.conf says; the VMAC's virtual
// MAC is of the other family, and govrrp disables IPv6 on it).
func onVMAC(vips []vip.Address, base string, v *vip.VMAC) []vip.Address {
	if v == nil {
		return vips
	}
	for i := range vips {
		if vips[i].Dev != base || vips[i].Prefix.Addr().Is4() == v.IPv6 {
			continue
		}
		vips[i].Dev = v.Name
		if vips[i].Label != "" {
			// A label must begin with its device's name; keepalived drops
			// base-interface labels on a VMAC alike.
			vips[i].Label = ""
		}
	}
	return vips
}

// vmacName is the instance's VMAC name, "" without one (part of identity:
// another VMAC is another instance).
func (in *instance) vmacName() string {
	if in.vmac == nil {
		return ""
	}
	return in.vmac.Name
}

// vmacSocketInterface is the interface of the instance's socket: the VMAC,
// unless vmac_xmit_base or unicast (unicast adverts arrive on the base, by
// the base's MAC; keepalived requires vmac_xmit_base there).
func vmacSocketInterface(c *kaconf.Instance, ifname string, v *vip.VMAC) string {
	if v == nil || c.VMACXmitBase || len(c.UnicastPeers) > 0 {
		return ifname
	}
	return v.Name
}

// sendConn is the socket adverts leave on (the VMAC's with use_vmac).
func (in *instance) sendConn() transport.Conn { return in.mux.Conn() }

// attachVMAC creates (or reuses) the instance's VMAC, before the socket on
// it is opened, then the VMACs of its VIPs (vmac_addr.go).
func (d *Daemon) attachVMAC(in *instance) error {
	if err := d.attachOwnVMAC(in); err != nil {
		return err
	}
	if err := d.ensureAddrVMACs(in, in.addrVMACs); err != nil {
		d.detachOwnVMAC(in)
		return err
	}
	return nil
}

// attachOwnVMAC creates (or reuses) the instance's use_vmac link.
func (d *Daemon) attachOwnVMAC(in *instance) error {
	if in.vmac == nil {
		return nil
	}
	if d.vmacs == nil {
		return fmt.Errorf("instance %s: use_vmac: no VMAC support in this daemon", in.name)
	}
	reused, err := d.vmacs.Ensure(*in.vmac)
	if err != nil {
		return fmt.Errorf("instance %s: use_vmac %s: %w", in.name, in.vmac.Name, err)
	}
	if reused {
		d.log.Warn("reusing VMAC left by a previous run", "instance", in.name, "vmac", in.vmac.Name)
	} else {
		d.log.Info("VMAC created", "instance", in.name, "vmac", in.vmac.Name, "parent", in.vmac.Parent, "mac", in.vmac.MAC().String())
	}
	if len(in.cfg.UnicastPeers) > 0 && !in.cfg.VMACXmitBase {
		d.log.Warn("use_vmac with unicast peers: adverts are sent and received on the base interface, as with vmac_xmit_base (keepalived requires it)",
			"instance", in.name, "vmac", in.vmac.Name)
	}
	return nil
}

// detachVMAC deletes the VMACs of the instance's VIPs and its own VMAC
// (their VIPs go with them). Called after the socket on it is released, or
// when attaching failed.
func (d *Daemon) detachVMAC(in *instance) {
	d.deleteVMACs(in, in.addrVMACs)
	d.detachOwnVMAC(in)
}

// detachOwnVMAC deletes the instance's use_vmac link.
func (d *Daemon) detachOwnVMAC(in *instance) {
	if in.vmac == nil || d.vmacs == nil {
		return
	}
	if err := d.vmacs.Delete(in.vmac.Name); err != nil {
		d.log.Error("cannot remove VMAC", "instance", in.name, "vmac", in.vmac.Name, "err", err)
		return
	}
	d.log.Info("VMAC removed", "instance", in.name, "vmac", in.vmac.Name)
}

// uniqueVMACs refuses two instances naming the same VMAC: the second would
// replace the first's link (another MAC) under it.
func uniqueVMACs(next []*instance) error {
	seen := map[string]*instance{}
	for _, in := range next {
		name := in.vmacName()
		if name == "" {
			continue
		}
		if other := seen[name]; other != nil {
			return fmt.Errorf("%s: instances %s and %s both use VMAC %s (give one a name: use_vmac NAME)", in.cfg.Pos, other.name, in.name, name)
		}
		seen[name] = in
	}
	return nil
}

// renameIPv6VMACs follows keepalived 2.2.7 when an IPv4 and an IPv6
// instance of one VRID both get the default name (vmac_prefix.VRID): the
// IPv6 one becomes vmac_prefix6.VRID (observed: vrrp.51 and vrrp6.51, the
// IPv4 instance first in the file; the other order was not observed). An
// IPv6 instance alone keeps vrrp.VRID, as keepalived.
func renameIPv6VMACs(next []*instance, prefix string) {
	if prefix == "" {
		prefix = "vrrp"
	}
	v4 := map[string]bool{}
	for _, in := range next {
		if in.vmac != nil && !in.vmac.IPv6 {
			v4[in.vmac.Name] = true
		}
	}
	for _, in := range next {
		if in.vmac == nil || !in.vmac.IPv6 {
			continue
		}
		def := prefix + "." + strconv.Itoa(int(in.cfg.VRID))
		if in.vmac.Name == def && v4[def] {
			in.renameVMAC(prefix + "6." + strconv.Itoa(int(in.cfg.VRID)))
		}
	}
}

// renameVMAC moves the instance's VMAC, its VIPs and socket to name.
func (in *instance) renameVMAC(name string) {
	old := in.vmac.Name
	for i := range in.vips {
		if in.vips[i].Dev == old {
			in.vips[i].Dev = name
		}
	}
	if in.sockCfg.Interface == old {
		in.sockCfg.Interface = name
	}
	in.vmac.Name = name
}
