package track

import "github.com/govrrp/govrrp/internal/nlbuf"

// The link and address subscriptions' receive buffer is keepalived's
// vrrp_netlink_monitor_rcv_bufs[_force], shared with internal/vip through
// internal/nlbuf; unset: govrrp's default (nlRcvBuf, capped by rmem_max).
// Read each time a subscription is opened, so a reload applies it to the
// next one.

func monitorRcvBufSize() int {
	if b, ok := nlbuf.Monitor(); ok {
		return b.Size
	}
	return nlRcvBuf
}

func monitorRcvBufForce() bool {
	b, ok := nlbuf.Monitor()
	return ok && b.Force
}
