package kaconf

// vmacAddrRedundant: a VIP's own use_vmac says nothing more when the
// instance has use_vmac_addr; keepalived 2.2.7 logs "(VI_1) use_vmac_addr
// specified and use_vmac specified for VIP/eVIP ADDR" at load, and govrrp
// warns on that address's line.
func (c *ctx) vmacAddrRedundant(in *Instance) {
	if !in.UseVMACAddr {
		return
	}
	for _, list := range [][]VIP{in.VIPs, in.ExcludedVIPs} {
		for _, v := range list {
			if v.UseVMAC {
				c.warnf(v.Pos, "(%s) use_vmac_addr specified and use_vmac specified for VIP/eVIP %s (as keepalived 2.2.7 logs)", in.Name, v.Prefix)
			}
		}
	}
}
