package daemon

import (
	"math"

	"github.com/govrrp/govrrp/internal/nlbuf"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// netlinkCmdRcvBuf is keepalived's vrrp_netlink_cmd_rcv_bufs[_force] for the
// netlink command socket govrrp keeps open (the VIP lease renewer's, whose
// address dumps are the large replies): 0 keeps the kernel's default.
func netlinkCmdRcvBuf(cfg *kaconf.Config) (int, bool) {
	if cfg == nil {
		return 0, false
	}
	return clampBuf(cfg.Global.NetlinkCmdRcvBufs), cfg.Global.NetlinkCmdRcvBufsForce
}

// netlinkMonRcvBuf is vrrp_netlink_monitor_rcv_bufs[_force] for the netlink
// monitor sockets (route, rule and address deletions; link and address
// tracking).
func netlinkMonRcvBuf(cfg *kaconf.Config) (int, bool) {
	if cfg == nil {
		return 0, false
	}
	return clampBuf(cfg.Global.NetlinkMonRcvBufs), cfg.Global.NetlinkMonRcvBufsForce
}

// clampBuf fits keepalived's unsigned 32-bit value into setsockopt's int
// (the kernel caps it lower anyway).
func clampBuf(v int) int { return min(max(v, 0), math.MaxInt32) }

// applyNetlinkBufs sets the monitor buffer for every netlink subscription
// opened from now on (at start, before any watcher). Like keepalived, which
// opens its netlink sockets once, a reload does not resize open sockets.
func applyNetlinkBufs(cfg *kaconf.Config) {
	size, force := netlinkMonRcvBuf(cfg)
	nlbuf.SetMonitor(size, force) // read by internal/vip and internal/track
}
