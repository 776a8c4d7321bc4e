// Package track watches what keepalived calls tracked objects — vrrp_script
// commands, interfaces, track_file files, vrrp_track_process processes and
// systemd units — and reports what it sees as Result values.
//
// Invariants:
//   - Trackers only report. They never touch VRRP state; the daemon's loop
//     turns Results into priority and fault events for its state machines.
//   - A tracker's Run blocks until its context ends and calls its Sink from
//     its own goroutine(s), never from the caller's. A Sink must not block for
//     long (the daemon's posts to a buffered channel).
//   - Scripts run outside the event loop, in a process group of their own,
//     one run at a time per script; a run that outlives its timeout is sent
//     SIGTERM, then SIGKILL, and counts as a failure. Children are reaped.
//   - Interface and file tracking are event-driven (netlink, inotify).
//   - Processes are started through internal/scriptproc, the one place that
//     knows how keepalived starts a script; nothing else of govrrp's is
//     imported.
package track
