package track

import "sync/atomic"

// monitorBuf is keepalived's vrrp_netlink_monitor_rcv_bufs[_force] for the
// link and address subscriptions; nil: govrrp's default (nlRcvBuf, capped by
// rmem_max). Process-wide, like the global_defs keyword; read each time a
// subscription is opened, so a reload applies it to the next one.
var monitorBuf atomic.Pointer[rcvBuf]

type rcvBuf struct {
	size  int
	force bool
}

// SetMonitorReceiveBuffer sets the receive buffer of the netlink
// subscriptions opened from now on; size 0 restores the default. force uses
// SO_RCVBUFFORCE (root), which may exceed /proc/sys/net/core/rmem_max.
func SetMonitorReceiveBuffer(size int, force bool) {
	if size <= 0 {
		monitorBuf.Store(nil)
		return
	}
	monitorBuf.Store(&rcvBuf{size: size, force: force})
}

func monitorRcvBufSize() int {
	if b := monitorBuf.Load(); b != nil {
		return b.size
	}
	return nlRcvBuf
}

func monitorRcvBufForce() bool {
	b := monitorBuf.Load()
	return b != nil && b.force
}
