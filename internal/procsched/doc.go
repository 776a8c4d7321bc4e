// Package procsched applies keepalived's knobs for its VRRP process
// (vrrp_rt_priority, vrrp_priority, vrrp_cpu_affinity, vrrp_no_swap,
// vrrp_rlimit_rttime, max_auto_priority, min_auto_priority_delay, the
// process names, umask) to the govrrp process, with keepalived 2.2.7's
// observed semantics.
//
// Invariants:
//   - Per-thread attributes (scheduling policy and priority, nice, CPU set,
//     comm) are set on every thread in /proc/self/task, not only the caller's:
//     a Go program runs its goroutines on many threads.
//   - Threads created later get them too. They inherit from the creating
//     thread, except the real-time policy, which SCHED_RESET_ON_FORK drops on
//     every clone (so that scripts run by govrrp are never real-time, as
//     keepalived's are not). A sweeper re-applies the settings to threads that
//     do not have them, every SweepPeriod; it runs only while something
//     differs from the start-up baseline.
//   - Whatever the configuration does not set is the start-up baseline (the
//     state the process had when New ran): a reload that removes a knob puts
//     that back.
//   - A real-time priority always comes with RLIMIT_RTTIME (hard =
//     vrrp_rlimit_rttime, default 10000 µs; soft = half, as keepalived): a
//     runaway SCHED_RR thread is killed by the kernel instead of locking up
//     the host.
//   - The automatic priority rises by one per late wake-up (later than
//     min_auto_priority_delay), from vrrp_rt_priority or from 0 (switching to
//     SCHED_RR at 1), never beyond max_auto_priority; it never falls until a
//     reload.
//   - While held (Hold: the daemon's start-up, reloads and applies) every
//     thread is SCHED_OTHER, whatever Apply set meanwhile; the release
//     collects the held work's garbage before the real-time policy returns.
//   - GOMAXPROCS follows the CPU set after each Apply (never more Ps than
//     CPUs for real-time threads to share), unless the environment sets it.
//   - Only the daemon calls Apply (start-up and reload); nothing here runs
//     in tests of other packages. The package never starts a busy loop.
package procsched
