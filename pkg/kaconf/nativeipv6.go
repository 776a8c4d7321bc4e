package kaconf

// native_ipv6 (deprecated) makes the instance IPv6 when it comes before any
// address (family derivation in fallback.go). After an IPv4 address
// keepalived 2.2.7 says "Cannot specify native_ipv6 with IPv4 addresses"
// and the instance stays IPv4; govrrp does the same, on that line.
func checkNativeIPv6(c *ctx, in *Instance) {
	if p, ok := c.where[in]["native_ipv6"]; ok && in.Family == 4 {
		c.fallbackf(p, "ignore it (the instance stays IPv4)", "(%s) native_ipv6 with IPv4 addresses", in.Name)
	}
}
