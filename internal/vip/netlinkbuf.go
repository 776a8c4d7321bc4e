package vip

import (
	"fmt"

	"github.com/vishvananda/netlink/nl"

	"github.com/govrrp/govrrp/internal/nlbuf"
)

// The receive buffer of the netlink subscriptions this package opens
// (WatchDeletions, the announcer's link cache) is keepalived's
// vrrp_netlink_monitor_rcv_bufs[_force], shared with internal/track through
// internal/nlbuf; unset: the kernel's default (rmem_default). Read when a
// subscription is opened.

// sizeMonitor applies the configured buffer to a subscription socket.
func sizeMonitor(s *nl.NetlinkSocket) error {
	b, ok := nlbuf.Monitor()
	if !ok {
		return nil
	}
	if err := s.SetReceiveBufferSize(b.Size, b.Force); err != nil {
		return fmt.Errorf("receive buffer %d: %w", b.Size, err)
	}
	return nil
}

// monitorRcvBuf is the configured buffer as the netlink library's
// subscription options take it (0: the kernel's default).
func monitorRcvBuf() (int, bool) {
	b, _ := nlbuf.Monitor()
	return b.Size, b.Force
}
