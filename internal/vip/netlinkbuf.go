package vip

import (
	"fmt"
	"sync/atomic"

	"github.com/vishvananda/netlink/nl"
)

// monitorBuf is keepalived's vrrp_netlink_monitor_rcv_bufs[_force] for the
// netlink subscriptions this package opens (WatchDeletions); nil: the
// kernel's default (rmem_default). Process-wide, like the global_defs
// keyword; read when a subscription is opened.
var monitorBuf atomic.Pointer[rcvBuf]

type rcvBuf struct {
	size  int
	force bool
}

// SetMonitorReceiveBuffer sets the receive buffer of the netlink
// subscriptions opened from now on; size 0 restores the kernel's default.
// force uses SO_RCVBUFFORCE (root), which may exceed
// /proc/sys/net/core/rmem_max.
func SetMonitorReceiveBuffer(size int, force bool) {
	if size <= 0 {
		monitorBuf.Store(nil)
		return
	}
	monitorBuf.Store(&rcvBuf{size: size, force: force})
}

// sizeMonitor applies the configured buffer to a subscription socket.
func sizeMonitor(s *nl.NetlinkSocket) error {
	b := monitorBuf.Load()
	if b == nil {
		return nil
	}
	if err := s.SetReceiveBufferSize(b.size, b.force); err != nil {
		return fmt.Errorf("receive buffer %d: %w", b.size, err)
	}
	return nil
}

// monitorRcvBuf is the configured buffer as the netlink library's
// subscription options take it (0: the kernel's default).
func monitorRcvBuf() (int, bool) {
	if b := monitorBuf.Load(); b != nil {
		return b.size, b.force
	}
	return 0, false
}
