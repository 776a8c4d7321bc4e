package interop

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// Both above this host's rmem_max (4 MiB here): only SO_RCVBUFFORCE, the
// _force keywords, gets them. The kernel doubles what is set.
const (
	nlCmdBuf = 5_000_000
	nlMonBuf = 6_000_000
)

// nlSock is one rtnetlink socket as `ss -f netlink -m -e` shows it.
type nlSock struct {
	local  string
	groups uint64 // multicast groups: non-zero for a monitor (subscription) socket
	rb     int    // receive buffer (SO_RCVBUF as getsockopt reads it)
}

var ssLine = regexp.MustCompile(`^\S+\s+\S+\s+(rtnl:\S+)\s.*groups=0x([0-9a-f]+).*skmem:\(r\d+,rb(\d+),`)

// netlinkSockets lists the rtnetlink sockets of h's namespace (the daemon's
// only: ss runs after `ip netns exec` has exec'ed it), without the kernel's.
func netlinkSockets(h *netlab.Host) ([]nlSock, error) {
	out, err := h.Exec(context.Background(), "ss", "-f", "netlink", "-m", "-e")
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	var socks []nlSock
	for _, line := range strings.Split(string(out), "\n") {
		m := ssLine.FindStringSubmatch(line)
		if m == nil || m[1] == "rtnl:kernel" {
			continue
		}
		g, _ := strconv.ParseUint(m[2], 16, 64)
		rb, _ := strconv.Atoi(m[3])
		socks = append(socks, nlSock{local: m[1], groups: g, rb: rb})
	}
	return socks, nil
}

// nlBufsOK: every monitor socket has the monitor buffer, and some command
// socket (kept open: govrrp's VIP lease renewer, keepalived's command
// socket) the command buffer.
func nlBufsOK(socks []nlSock) bool {
	monitors, cmd := 0, false
	for _, s := range socks {
		switch {
		case s.groups != 0 && s.rb != 2*nlMonBuf:
			return false
		case s.groups != 0:
			monitors++
		case s.rb == 2*nlCmdBuf:
			cmd = true
		}
	}
	return monitors > 0 && cmd
}

// TestNetlinkRcvBufs runs a master with keepalived's four netlink buffer
// keywords (plus track_interface and virtual_routes, so link, address and
// route monitors are open) and reads the sockets' buffers back from the
// kernel (ss: SO_RCVBUF of each socket). keepalived first: it validates the
// reading.
func TestNetlinkRcvBufs(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		t.Run(string(im), func(t *testing.T) {
			netlab.Require(t, "ss")
			_, a, _ := twoHosts(t, im, im)
			conf := fmt.Sprintf(`global_defs {
    router_id nlbufs
    vrrp_netlink_cmd_rcv_bufs %d
    vrrp_netlink_cmd_rcv_bufs_force
    vrrp_netlink_monitor_rcv_bufs %d
    vrrp_netlink_monitor_rcv_bufs_force on
}
vrrp_instance VI_1 {
    state MASTER
    interface %s
    virtual_router_id 51
    priority 150
    advert_int 1
    track_interface {
        %s
    }
    virtual_ipaddress {
        %s/24
    }
    virtual_routes {
        198.51.100.0/24 dev %s
    }
}
`, nlCmdBuf, nlMonBuf, ifname, ifname, vip4, ifname)
			a.start(conf, 150)
			bound := 3*time.Second + time.Second + startupMargin // master-down + skew + start-up
			if err := a.host.WaitAddr(context.Background(), ifname, vip4, true, bound); err != nil {
				fail(t, fmt.Sprintf("%s did not become master: %v", im, err), a)
			}
			var socks []nlSock
			err := netlab.WaitFor(context.Background(), startupMargin, 50*time.Millisecond, func() (bool, error) {
				var err error
				socks, err = netlinkSockets(a.host)
				return err == nil && nlBufsOK(socks), err
			})
			t.Logf("%s netlink sockets: %+v", im, socks)
			if err != nil {
				fail(t, fmt.Sprintf("%s: want every monitor socket at rb %d and a command socket at rb %d: %v", im, 2*nlMonBuf, 2*nlCmdBuf, err), a)
			}
		})
	}
}
