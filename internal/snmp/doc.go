// Package snmp is govrrp's SNMP side: an AgentX subagent (RFC 2741) that
// serves keepalived's VRRP MIBs from the daemon's published snapshots.
//
// Invariants:
//   - The AgentX PDU codec (pdu.go) never panics on any input: a malformed
//     PDU is an error, the session answers parseError or closes, and the
//     subagent reconnects (FuzzDecode checks this).
//   - The subagent owns its connection on its own goroutines. It reads only
//     what View returns (an immutable copy the daemon builds from its
//     snapshots); it never calls into the daemon's loop, and the daemon never
//     waits for it: Notify queues into a bounded channel and drops (counted)
//     when it is full.
//   - The MIB is read-only: Set requests are answered notWritable.
//   - Answers come from a View at most Config.TreeMaxAge (250 ms) old.
//   - A lost master (snmpd restarted, socket gone) is retried with a bounded
//     backoff until Close; nothing in the daemon notices.
//   - OIDs are numeric throughout; the trees served are VRRPV3-MIB
//     (1.3.6.1.2.1.207, enable_snmp_rfcv3), VRRP-MIB (1.3.6.1.2.1.68,
//     enable_snmp_rfcv2) and KEEPALIVED-MIB's global and VRRP branches
//     (1.3.6.1.4.1.9586.100.5.1 and .2, enable_snmp_vrrp; kamib*.go), filled
//     as keepalived 2.2.7 fills them.
package snmp
