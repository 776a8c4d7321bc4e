// Package notify tells the outside world about VRRP transitions the way
// keepalived does: notify_* scripts, the generic notify script with
// keepalived's extra arguments, and notify FIFOs with their reader scripts.
//
// Invariants:
//   - Nothing here blocks the daemon's loop: Notify only queues.
//   - Per instance (and per sync group) notifications are delivered in the
//     order they were queued; a slow script delays, but never reorders or
//     drops, the ones after it.
//   - Scripts run in a process group of their own, as their configured user,
//     with no file descriptors but stdin/stdout/stderr and keepalived's
//     environment; children are reaped.
//   - This package never reads VRRP state; the daemon passes what to say.
package notify
