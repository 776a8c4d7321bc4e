package kaconf

import "net/netip"

// Whole-configuration checks that need derived values (families, versions).

func check(c *ctx, cfg *Config) {
	for _, in := range cfg.Instances {
		checkInstance(c, in)
	}
	checkDuplicateVRIDs(c, cfg.Instances)
	checkTrackGroups(c, cfg) // trackgroup.go
}

func checkInstance(c *ctx, in *Instance) {
	if in.VRID == 0 && !c.isGiven(in, "virtual_router_id") {
		c.errf(in.Pos, "(%s) virtual_router_id must be set", in.Name)
	}
	if in.Interface == "" && len(in.UnicastPeers) == 0 {
		c.errf(in.Pos, "(%s) interface must be set (it may only be omitted with unicast_peer)", in.Name)
	}
	checkNoVirtualIPAddress(c, in) // novips.go
	checkNativeIPv6(c, in)         // nativeipv6.go
	if len(in.VIPs) == 0 && !in.NoVirtualIPAddress {
		if in.Version == 3 || in.Family == 6 || in.StrictMode {
			// keepalived 2.2.7: "No VIP specified; at least one is required".
			c.errf(in.Pos, "(%s) no virtual_ipaddress: keepalived 2.2.7 refuses a VRRPv3, IPv6 or strict_mode instance without one", in.Name)
		} else {
			c.warnf(in.Pos, "(%s) no virtual_ipaddress; at least one is recommended", in.Name)
		}
	}
	is4 := in.Family == 4
	// Addresses of the other family were dropped with a warning in derive
	// (dropOtherFamily), as keepalived drops them.
	if in.McastDstIP.IsValid() && (in.McastDstIP.Is4() != is4 || !in.McastDstIP.IsMulticast()) {
		c.errf(in.Pos, "(%s) mcast_dst_ip %s is not an IPv%d multicast address", in.Name, in.McastDstIP, in.Family)
	}
}

// checkDuplicateVRIDs: two instances cannot share a VRID on one interface and
// family and advert channel. Unicast instances conflict only when their peer
// sets overlap; a different mcast_dst_ip is a different channel (keepalived).
func checkDuplicateVRIDs(c *ctx, ins []*Instance) {
	for i, b := range ins {
		if b.VRID == 0 {
			continue
		}
		for _, a := range ins[:i] {
			if a.VRID != b.VRID || a.Interface != b.Interface || a.Family != b.Family {
				continue
			}
			if a.McastDstIP != b.McastDstIP {
				continue
			}
			if (len(a.UnicastPeers) > 0 || len(b.UnicastPeers) > 0) && !peersOverlap(a, b) {
				continue
			}
			c.errf(b.Pos, "(%s) virtual_router_id %d already used on %s for IPv%d by %s (%s)", b.Name, b.VRID, b.Interface, b.Family, a.Name, a.Pos)
			break
		}
	}
}

func peersOverlap(a, b *Instance) bool {
	if len(a.UnicastPeers) == 0 || len(b.UnicastPeers) == 0 {
		return false // one multicast, one unicast: different channels
	}
	seen := map[netip.Addr]bool{}
	for _, p := range a.UnicastPeers {
		seen[p.Addr] = true
	}
	for _, p := range b.UnicastPeers {
		if seen[p.Addr] {
			return true
		}
	}
	return false
}
