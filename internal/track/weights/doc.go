// Package weights holds keepalived's rules for what a tracked object's result
// does to an instance: which tracks an instance has (Uses), and whether a
// result adds a weight or puts the instance in FAULT (Effect).
//
// Invariants: pure functions of their arguments, no I/O, no clock, no
// goroutines. The daemon (internal/daemon) and the what-if simulator
// (internal/whatif) both call it, so a rule changed here changes both the
// running daemon and `govrrp config check --what-if` the same way.
package weights
