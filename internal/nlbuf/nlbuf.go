package nlbuf

import "sync/atomic"

// Buf is a receive buffer size and whether it is set with SO_RCVBUFFORCE
// (root; past /proc/sys/net/core/rmem_max) rather than SO_RCVBUF.
type Buf struct {
	Size  int
	Force bool
}

var monitor atomic.Pointer[Buf]

// SetMonitor sets the monitor sockets' buffer; size 0 (or less) clears it,
// so each caller's default applies again.
func SetMonitor(size int, force bool) {
	if size <= 0 {
		monitor.Store(nil)
		return
	}
	monitor.Store(&Buf{Size: size, Force: force})
}

// Monitor is the setting; ok is false when none is set.
func Monitor() (b Buf, ok bool) {
	if p := monitor.Load(); p != nil {
		return *p, true
	}
	return Buf{}, false
}
