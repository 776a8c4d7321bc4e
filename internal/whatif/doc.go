// Package whatif answers "what happens to each VIP when this fails?" for the
// keepalived.conf files of the nodes of one cluster, before anything runs:
// for every single failure (each tracked object of each node failing, each
// node's interface going down, each node stopping) and for the recovery from
// it, which node holds each virtual router's addresses, how long the move
// takes by the protocol, and whether the addresses come back.
//
// It does not re-derive VRRP: every node's instance is a real internal/fsm
// Machine, tracks are summed with internal/track/weights (the daemon's
// rules), and adverts travel between the machines on a virtual clock with no
// latency. What the configuration cannot say (interface addresses, the
// moment of a failure relative to the advert timer) is fixed and stated: the
// failure comes just after an advert was delivered (the protocol's worst
// case), and nodes without unicast_src_ip/mcast_src_ip get addresses from
// 192.0.2.0/24 or 2001:db8::/32 in node order, which decide only ties.
//
// Invariants: pure (no I/O, no clock, no goroutines, no randomness), so the
// same files give the same report byte for byte; every simulation loop is
// bounded in events and in virtual time; the routers a vrrp_sync_group ties
// together on any node run in one simulation, with the daemon's group policy
// (fsm.Group); what cannot be simulated faithfully (keywords that change the
// election and that govrrp does not implement, and every router tied to
// one) is reported by name instead of being simulated wrong.
package whatif
