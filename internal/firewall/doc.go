// Package firewall keeps govrrp's nftables table: the drop rules of
// keepalived's no_accept mode (a master that is not the address owner must
// not receive traffic addressed to its VIPs, RFC 5798 section 6.1 Accept_Mode).
//
// Invariants:
//   - It owns exactly one table (family inet, default name "govrrp") and
//     never reads, changes or deletes anything outside it.
//   - Every change is one `nft -f -` batch that replaces the whole table
//     (add, delete, define): the kernel applies it atomically, so there is
//     no moment with a half-built table, and a stale table left by a killed
//     run is replaced by the first batch, whatever it contained.
//   - Delete leaves the table nowhere; deleting an absent table succeeds.
//   - The rules mirror what keepalived 2.2.7 installs (observed with
//     `nft list ruleset`): VIPs are dropped as destination on input and as
//     source on output; IPv6 neighbour solicitations and advertisements
//     pass, so the master still answers for its VIPs; link-local VIPs are
//     matched together with their interface: by index (iif/oif, set type
//     ipv6_addr . iface_index) unless a Drop asks ByName (iifname/oifname,
//     ipv6_addr . ifname: keepalived's form for a dont_track_primary
//     instance without nftables_ifindex).
//   - Indexes are resolved by Table.Replace for every batch, so a batch
//     after a link was re-created carries its new index; a link that does
//     not exist is left out of the batch instead of failing it; Unresolved
//     lists such drops (the daemon warns about them by instance).
//
// The daemon calls it from its loop through an interface, so the daemon's
// tests use a fake; this package is called from nowhere else.
package firewall
