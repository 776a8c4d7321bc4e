package daemon

import (
	"net/netip"

	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// keepalived's multicast group choice: an instance's mcast_dst_ip, else
// global_defs vrrp_mcast_group4 / vrrp_mcast_group6, else 224.0.0.18 /
// ff02::12. A non-default group gets a socket of its own (transport keys its
// pool on it), which joins that group and reads only adverts sent to it; so
// instances with the same VRID on one interface are distinct virtual routers
// when their groups differ, as in keepalived. The group is part of an
// instance's identity: a reload that changes it replaces the instance.

// useMcastGroup points a multicast instance at its configured group.
func useMcastGroup(in *instance, c *kaconf.Instance, g *kaconf.GlobalDefs) {
	if !in.sockCfg.Multicast {
		return
	}
	group := c.McastDstIP
	if !group.IsValid() {
		group = g.McastGroup4
		if in.sockCfg.IPv6 {
			group = g.McastGroup6
		}
	}
	if !group.IsValid() || group.Is6() != in.sockCfg.IPv6 || !group.IsMulticast() {
		return // kaconf refuses or replaces these; keep the default
	}
	in.sockCfg.McastGroup = group
	dst := in.sockCfg.Group()
	if dst.Is6() && (dst.IsLinkLocalMulticast() || dst.IsInterfaceLocalMulticast()) {
		dst = dst.WithZone(in.ifname)
	}
	in.dsts = []netip.Addr{dst}
}

// groupOf is the instance's multicast group (zero for unicast), for its identity.
func groupOf(cfg transport.Config) netip.Addr {
	if !cfg.Multicast {
		return netip.Addr{}
	}
	return cfg.Group()
}
