// Package notify tells the outside world about VRRP transitions the way
// keepalived does: notify_* scripts, the generic notify script with
// keepalived's extra arguments, and notify FIFOs with their reader scripts.
//
// Invariants:
//   - Nothing here blocks the daemon's loop: every Notifier method but Close
//     only queues. Queues are unbounded (a transition is a few words; a
//     backlog means a script is stuck, and it is logged).
//   - Per instance (and per sync group) notifications are delivered in the
//     order they were queued; a slow script delays, but never reorders or
//     drops, the ones after it. Each script runs to completion before the
//     next one of the same instance starts; instances run in parallel.
//   - FIFO lines are written by one goroutine per FIFO, in the order the
//     daemon reported the events, one write(2) per line.
//   - Scripts are started through internal/scriptproc: a process group of
//     their own, their configured user, stdin, stdout and stderr on
//     /dev/null, no other file descriptors, the daemon's environment less
//     systemd's NOTIFY_SOCKET/LISTEN_*/WATCHDOG_*, working directory /, and
//     SIGTERM when the daemon dies; every child is reaped. Notify scripts have no timeout (keepalived has none);
//     Close's context bounds shutdown and kills what is still running.
//   - Before a script starts, every descriptor of the daemon above stderr
//     is marked close-on-exec (Go's own are already; inherited ones may not
//     be), so no script ever inherits one.
//   - A reload closes the old Notifier before New opens the same FIFOs:
//     keepalived, too, removes the FIFOs it created, recreates them and
//     restarts their scripts on reload.
//   - This package never reads VRRP state; the daemon passes what to say.
//
// What keepalived 2.2.7 does, as recorded by testdata/capture.sh in
// testdata/keepalived-2.2.7-notify.txt, and where govrrp differs on purpose:
//   - A transition runs the state's script (notify_master, notify_backup,
//     notify_fault, notify_stop, notify_deleted) with exactly its configured
//     argv, then the generic notify script with four more arguments:
//     INSTANCE|GROUP, the name (unquoted), the state and the priority (0 for
//     a group). keepalived forks both at once and never waits; govrrp runs
//     them one after the other, state script first.
//   - notify_master_rx_lower_pri gets its configured argv only; the generic
//     notify is not run for it.
//   - A deleted instance (reload) reports DELETED if notify_deleted was
//     given and runs its script, if any; otherwise it reports FAULT to the
//     generic notify and the FIFOs and runs no state script.
//   - Every FIFO gets the same line per event: `INSTANCE "VI_1" MASTER 150`,
//     `GROUP "VG_1" MASTER 0`, `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150` (the
//     instance's own priority), and with notify_priority_changes (per
//     instance, or global vrrp_notify_priority_changes)
//     `INSTANCE "VI_1" MASTER_PRIORITY 130`, or BACKUP_PRIORITY in any other
//     state (FAULT included). STOP lines are written at shutdown.
//   - A missing FIFO is created mode 0600 (owned by the user named on the
//     notify_fifo line) and removed at exit; an existing one is kept. It is
//     opened read-write and non-blocking, so there is never EPIPE/ENXIO and
//     lines wait in the pipe for a reader that comes later.
//   - The FIFO's script gets its configured argv plus the FIFO path. It is
//     started once and not restarted if it dies. At shutdown keepalived sends
//     its process group SIGTERM, writes the STOP lines, and sends SIGKILL a
//     second later; govrrp writes the lines first, then SIGTERM, closes the
//     FIFO, and sends SIGKILL after a second.
//   - keepalived runs scripts with umask 0177 (its own) and lets them
//     inherit descriptors it was started with; govrrp passes its own umask
//     and no descriptors.
package notify
