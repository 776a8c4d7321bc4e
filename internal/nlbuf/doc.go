// Package nlbuf holds keepalived's vrrp_netlink_monitor_rcv_bufs[_force]:
// the receive buffer of the netlink monitor (subscription) sockets that
// internal/track (link and address tracking) and internal/vip (route, rule
// and address deletions; the announcer's link cache) open. One setting for
// the process, as the global_defs keyword is; both packages read it when
// they open a subscription, so a change applies to the next one.
//
// Invariants:
//   - It only stores the setting; each caller applies its own default when
//     nothing is set (track: a buffer of its own size; vip: the kernel's).
//   - It imports nothing of govrrp, so track and vip share it without
//     importing each other.
//   - Set and Monitor are safe from any goroutine (one atomic pointer).
package nlbuf
