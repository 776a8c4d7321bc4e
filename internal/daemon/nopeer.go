package daemon

// unicast_fault_no_peer, as keepalived 2.2.7: an instance that has it and no
// unicast_peer (alone, or with unicast_src_ip / an empty unicast_peer block)
// is held in FAULT — it neither falls back to multicast nor advertises —
// logging keepalived's "Cannot use unicast without any peers". The fault is
// part of the instance's verdict (tracking.go), so it holds at start-up and
// through reloads until peers are configured (which makes it another
// virtual router: unicast).

// noPeerFault is the instance's unicast_fault_no_peer fault, "" when none.
func noPeerFault(in *instance) string {
	if in.cfg.UnicastFaultNoPeer && len(in.cfg.UnicastPeers) == 0 {
		return "unicast_fault_no_peer: cannot use unicast without any peers"
	}
	return ""
}
