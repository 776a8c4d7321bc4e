package daemon

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/govrrp/govrrp/internal/transport"
)

// sizedConn is a segment Conn whose receive buffer can be sized, recording
// the requests as the kernel would answer them (doubled).
type sizedConn struct {
	transport.Conn
	mu       sync.Mutex
	requests []int
	size     int
}

func (c *sizedConn) ReadBufferSize() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
func (c *sizedConn) InitialReadBuffer() int { return 212992 }
func (c *sizedConn) SetReadBuffer(b int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, b)
	c.size = 2 * b
	if b == 0 {
		c.size = 212992
	}
	return nil
}

func (c *sizedConn) last() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.requests) == 0 {
		return -1
	}
	return c.requests[len(c.requests)-1]
}

const rxbufInstance = `vrrp_instance VI_%d {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority 100
    advert_int 1
    %s
    virtual_ipaddress {
        192.0.2.%d/32
    }
}
`

// TestRxBufsActedOn: the daemon gives the socket what keepalived would ask
// for with vrrp_rx_bufs_policy / vrrp_rx_bufs_multiplier /
// kernel_rx_buf_size (VRRPv2, one IPv4 VIP: a 40-byte advert packet), and
// govrrp's default with none; a reload re-sizes it.
func TestRxBufsActedOn(t *testing.T) {
	for _, tc := range []struct {
		name, global, first string
		want                int
	}{
		{"NUMBER", "vrrp_rx_bufs_policy 100000", "", 200000},
		{"ADVERT", "vrrp_rx_bufs_policy ADVERT", "", 240},
		{"ADVERT multiplier 5", "vrrp_rx_bufs_policy ADVERT\n vrrp_rx_bufs_multiplier 5", "", 400},
		{"kernel_rx_buf_size on one", "", "kernel_rx_buf_size 50000", 50000},
		{"kernel_rx_buf_size over ADVERT", "vrrp_rx_bufs_policy ADVERT", "kernel_rx_buf_size 50000", 50120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				var conn *sizedConn
				conf := fmt.Sprintf("global_defs {\n %s\n}\n", tc.global) +
					fmt.Sprintf(rxbufInstance, 1, 1, tc.first, 101) + fmt.Sprintf(rxbufInstance, 2, 2, "", 102)
				n := startNodeWith(t, seg, "192.0.2.12", conf, func(d *deps) {
					d.listen = func(transport.Config) (transport.Conn, error) {
						conn = &sizedConn{Conn: seg.Attach(netip.MustParseAddr("192.0.2.12")), size: 212992}
						return conn, nil
					}
				})
				n.state()
				if got := conn.last(); got != tc.want {
					t.Errorf("receive buffer request %d, want %d (requests %v)", got, tc.want, conn.requests)
				}
				n.stop(t)
			})
		})
	}
}
