// Package scriptproc starts a script the way govrrp starts every script
// (vrrp_script checks, notify scripts, notify FIFO readers): keepalived
// 2.2.7's way, with the differences below made on purpose.
//
// A child started with Command and Start:
//   - runs argv directly, no shell (argv[0] is looked up in PATH only when
//     it has no slash), in the working directory / (where keepalived is
//     once daemonized, and where systemd starts it);
//   - leads a process group of its own, so KillGroup reaches whatever it
//     started;
//   - runs with the given credential: its gid, its supplementary groups
//     (none given means just the gid, keepalived's setgroups(1, &gid)) and
//     its uid; a nil credential keeps the daemon's own;
//   - has stdin, stdout and stderr on /dev/null and no other descriptor:
//     Start marks every descriptor of the daemon from 3 up close-on-exec
//     first (Go opens its own so already; inherited ones may not be, and
//     keepalived passes those on). On Linux this is certain (close_range,
//     or /proc/self/fd before 5.11); elsewhere it is best effort (/dev/fd);
//   - gets SIGTERM when the daemon dies (Linux's parent-death signal, as
//     keepalived sets it). The kernel sends it when the forking thread ends,
//     not the process, so Start locks the calling goroutine to its thread
//     and Wait, called from that same goroutine, releases it once the child
//     is reaped: nothing can end the thread under a running child;
//   - gets the daemon's environment (keepalived passes its own unchanged,
//     even to scripts run as another user) minus the systemd handshake
//     variables NOTIFY_SOCKET, LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES,
//     WATCHDOG_PID and WATCHDOG_USEC, so a script cannot speak to systemd
//     for the daemon; it inherits the daemon's umask.
//
// The package never waits for, reaps or signals a child on its own: the
// caller reaps with Wait (exactly once, on the goroutine that called Start)
// and signals with KillGroup. It keeps no state and may be used from any
// goroutine.
package scriptproc
