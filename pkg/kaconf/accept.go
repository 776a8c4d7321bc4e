package kaconf

// AcceptMode reports whether the instance lets traffic to its VIPs in while
// it is master. accept / no_accept win when written; otherwise keepalived
// 2.2.7's rule applies: accept, unless strict_mode (vrrp_strict) is on, where
// only the address owner (priority 255) accepts. The daemon's firewall and
// the keepalived-format dumps both read it, so they cannot disagree.
func (in *Instance) AcceptMode() bool {
	if in.Accept != nil {
		return *in.Accept
	}
	return !in.StrictMode || in.Priority == 255
}
