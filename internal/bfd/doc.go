// Package bfd is govrrp's BFD: RFC 5880 asynchronous mode over UDP (RFC
// 5881 single hop, port 3784) for keepalived's bfd_instance blocks, so that
// track_bfd can move a VIP when a neighbour stops answering.
//
// Invariants:
//   - The Manager reports; it never touches VRRP state. The daemon turns
//     Events into priority and fault changes, as for internal/track.
//   - One goroutine set per Manager; Apply (start-up and reload) keeps a
//     session whose Config did not change, so a reload never drops it.
//   - Malformed or unmatched packets are dropped and counted by reason.
//
// Shape (manager.go): one loop goroutine owns every session (session.go,
// RFC 5880 6.8) and the one timer armed for the earliest deadline; one
// reader goroutine per listening socket (port 3784, IPv4 and IPv6, opened
// with the first session of the family and kept across reloads) hands
// datagrams to the loop through a bounded queue (full: dropped and counted
// "queue_full", the reader never blocks); Apply, Snapshot and Dropped are
// typed requests answered by the loop. Close sends AdminDown and ends every
// goroutine. Each session sends from its own socket bound to source_ip and
// a port in 49152-65535 (RFC 5881 4), with the configured TTL / hop limit.
//
// Supported: asynchronous mode, Poll/Final, passive, keepalived's receive
// TTL rule (ttlOK), a peer's Demand mode (6.8.7: no periodic packets to it
// while both are Up, Polls answered). Not supported, and dropped or never
// sent: asking for Demand mode (the D bit is never set), the Echo function
// (Required Min Echo RX is always 0), authentication (a packet with the A
// bit is dropped and counted "auth", as keepalived 2.2.7 discards it: "auth
// bit is set, but no authentication is in use"), multihop (RFC 5883) and
// multipoint (dropped, "multipoint").
//
// The session state machine never blocks and never allocates per packet
// beyond the datagram copy; the Sink is called from the loop goroutine.
package bfd
