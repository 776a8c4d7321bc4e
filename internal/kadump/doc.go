// Package kadump writes keepalived 2.2.7's observability files from a govrrp
// snapshot, so tools written for keepalived keep working:
//
//	SIGUSR1            (--signum=DATA)         keepalived.data
//	SIGUSR2            (--signum=STATS)        keepalived.stats
//	SIGRTMAX-1 (63)    (--signum=STATS_CLEAR)  keepalived.stats, then counters cleared
//	SIGRTMIN+2 (36)    (--signum=JSON)         keepalived.json
//
// The sections, field names, order and value spellings are those of Debian's
// keepalived 2.2.7 (built with --enable-json) for the VRRP process, checked
// against the captures in testdata/keepalived-2.2.7 (capture.sh re-creates
// them). A value govrrp has no source for is written the way keepalived writes
// it when unset (0, "(none)", "DISABLED", an empty list); each such field is
// named in the comment of the function that writes it. Lines marked
// "unverified" follow keepalived's spelling as far as it could be checked
// without a capture of that case.
//
// Invariants:
//
//   - Formatting is pure: WriteData, WriteStats and WriteJSON read only the
//     control.Status and *kaconf.Config they are given (never the daemon, the
//     kernel or the network). The two lookups keepalived itself makes at dump
//     time are made too: user and group names to ids (os/user) for script
//     uid:gid lines, and the host name for an unset router_id.
//   - Dump renders into memory first, then writes the file atomically, as
//     keepalived does (strace in testdata/keepalived-2.2.7/paths.txt): a
//     temporary file in the same directory, created 0600 (keepalived's umask
//     0177), renamed over the target. A reader sees the old file or the new
//     one, never a partial one; a failed dump leaves no temporary file.
//   - Nothing here blocks the daemon's loop or touches its state: the loop
//     takes a snapshot (control.Status, the current *kaconf.Config, and for
//     STATS_CLEAR a new StatsBaseline) and calls Dump from a goroutine. The
//     Status and Config are only read.
//   - The directory is keepalived's: $TMPDIR when set, else /tmp (DefaultDir).
//     keepalived 2.2.7 does not move the files for -p/--pid, net_namespace,
//     instance or tmp_config_directory; only data_use_instance renames the
//     .data file (FileName). Verified in paths.txt.
//
// STATS_CLEAR: keepalived writes keepalived.stats with the counters as they
// are and then zeroes every per-instance counter (adverts, became/released
// master, packet and auth errors, priority zero), so later STATS and JSON
// dumps count from the clear. govrrp keeps its counters monotonic (status,
// Prometheus) and clears by baseline instead: see StatsBaseline.
package kadump
