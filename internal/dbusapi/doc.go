// Package dbusapi is keepalived's D-Bus interface (enable_dbus,
// dbus_service_name) as keepalived 2.2.7 exports it: the bus name
// (org.keepalived.Vrrp1 unless dbus_service_name says otherwise), the object
// /org/keepalived/Vrrp1/Vrrp (org.keepalived.Vrrp1.Vrrp: PrintData,
// PrintStats, PrintStatsClear, ReloadConfig; signals VrrpStarted,
// VrrpReloaded, VrrpStopped) and one object per instance at
// /org/keepalived/Vrrp1/Instance/<IFNAME>/<VRID>/<IPv4|IPv6>
// (org.keepalived.Vrrp1.Instance: properties Name "s" and State "(us)",
// method SendGarp, signal VrrpStatusChange "u").
//
// Invariants:
//   - Nothing here blocks its caller. The daemon's loop hands over the
//     instance set (Set) and state changes (StatusChange) through a bounded
//     queue; when it is full a signal is dropped and counted (Dropped), and
//     the latest instance set is never lost (it is kept apart from the queue).
//     All bus I/O happens on the server's one goroutine (and godbus's own).
//   - Signals leave in the order the loop posted them; property reads answer
//     from the state the server goroutine last applied, so a client that saw
//     VrrpStatusChange(n) reads State n.
//   - A bus that is absent or goes away is logged once per outage and
//     retried with a bounded exponential backoff; on each (re)connection the
//     objects are exported again, VrrpStarted and one VrrpStatusChange per
//     instance are emitted, and then the name is requested: keepalived's
//     order on start-up.
//   - Methods that change something only call Handler, which must hand the
//     request to the daemon's loop as a typed event and return; this package
//     never touches daemon state.
//   - Only what keepalived 2.2.7 (built with DBUS, without
//     --enable-dbus-create-instance) exports is exported: no
//     CreateInstance/DestroyInstance.
package dbusapi
