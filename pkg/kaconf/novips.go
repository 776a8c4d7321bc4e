package kaconf

// no_virtual_ipaddress is a keyword of keepalived newer than 2.2.7: 2.2.7
// itself reports it as "Unknown keyword" and runs a VRRPv2 IPv4 instance
// without VIPs anyway (with "No VIP specified; at least one is sensible"),
// refusing only VRRPv3/IPv6/strict instances without VIPs. govrrp takes the
// newer meaning (an instance that runs the protocol and notifies but installs
// nothing, without the warning) and says on the line what 2.2.7 would do.
func checkNoVirtualIPAddress(c *ctx, in *Instance) {
	if !in.NoVirtualIPAddress {
		return
	}
	p := c.where[in]["no_virtual_ipaddress"]
	if len(in.VIPs) > 0 {
		c.warnf(p, "(%s) no_virtual_ipaddress with a virtual_ipaddress block: govrrp installs the %d address(es) (keepalived 2.2.7 ignores the keyword as unknown)", in.Name, len(in.VIPs))
		return
	}
	if in.Version == 3 || in.Family == 6 || in.StrictMode {
		c.noticef(p, "(%s) no_virtual_ipaddress: govrrp runs this VRRPv3/IPv6/strict instance without VIPs; keepalived 2.2.7 does not know the keyword and refuses such an instance", in.Name)
		return
	}
	c.noticef(p, "(%s) no_virtual_ipaddress: an instance without VIPs (keepalived 2.2.7 ignores the keyword as unknown and runs it the same)", in.Name)
}
