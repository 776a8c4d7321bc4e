package daemon

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
)

const vmacMoveConf = `vrrp_instance %s {
    state BACKUP
    interface %s
    virtual_router_id 51
    priority 150
    advert_int 0.1
    version 3
    use_vmac_addr
    virtual_ipaddress {
        %s
        %s dev eth1
    }
}
`

// TestAddrVMACMovedByReload: a reload removes master VI_1 (which keeps its
// VIPs and links until a new master shows, --release-vips after-takeover)
// and adds VI_2, whose VIP VMAC gets the same name vrrp.51 on the same
// parent. The removed instance's deferred release must not delete the link
// VI_2 now uses: the reload ends that wait at once, so the old link goes
// first and VI_2 creates its own, and VI_2's VIP is still on it after the
// old instance would have finished its wait.
func TestAddrVMACMovedByReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		links := &fakeVMACs{exists: map[string]bool{}}
		n := newNode(t, seg, "192.0.2.11", fmt.Sprintf(vmacMoveConf, "VI_1", "eth0", "192.0.2.100/24", "198.51.100.100/24"), func(dp *deps) {
			dp.vmacs = links
			dp.addrs = recordingAddrs{fakeAddrs: dp.addrs.(*fakeAddrs), links: links}
		})
		n.start()
		time.Sleep(time.Second)
		if n.state() != "MASTER" {
			t.Fatalf("state %s, want MASTER", n.state())
		}
		cfg := loadConf(t, fmt.Sprintf(vmacMoveConf, "VI_2", "eth2", "192.0.2.110/24", "198.51.100.110/24"))
		done := make(chan error, 1)
		n.d.events <- loopEvent{do: func() { _, err := n.d.apply(cfg); done <- err }}
		if err := <-done; err != nil {
			t.Fatalf("apply: %v", err)
		}
		time.Sleep(2 * time.Second) // well past VI_1's Master_Down_Interval wait and VI_2's election
		if n.state() != "MASTER" {
			t.Fatalf("VI_2 is %s, want MASTER", n.state())
		}
		calls := links.log()
		if !n.addrs.holds("198.51.100.110/24") || !links.has("vrrp.51") {
			t.Errorf("VI_2's VIP VMAC vrrp.51 (exists %v) or its VIP (held %v) is gone; calls %q",
				links.has("vrrp.51"), n.addrs.holds("198.51.100.110/24"), calls)
		}
		// The old link is deleted before the new one is ensured, and
		// never after.
		del := slices.Index(calls, "delete vrrp.51")
		ens := slices.Index(calls, "ensure vrrp.51 on eth1 00:00:5e:00:01:33")
		last := slices.Index(calls[1:], "ensure vrrp.51 on eth1 00:00:5e:00:01:33") + 1
		if del < 0 || del > last || ens != 0 {
			t.Errorf("calls %q: want ensure (VI_1), delete (VI_1's, at the reload), ensure (VI_2)", calls)
		}
		if d := cmp.Diff(1, countOf(calls, "delete vrrp.51")); d != "" {
			t.Errorf("deletions of vrrp.51 before stop (-want +got):\n%s\ncalls %q", d, calls)
		}
		n.stop(t)
		if links.has("vrrp.51") {
			t.Error("vrrp.51 left after stop")
		}
	})
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func (f *fakeVMACs) has(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exists[name]
}

// TestOwnVMACMovedByReload: the same hazard with instances' own use_vmac
// links: removed master VI_1's vrrp.51 (on eth0) and added VI_2's
// `use_vmac vrrp.51` (on eth2). The old link goes at the reload, before
// VI_2 creates its own, and VI_2's survives VI_1's would-be release.
func TestOwnVMACMovedByReload(t *testing.T) {
	inst := func(name, iface, vipAddr string) string {
		return fmt.Sprintf(`vrrp_instance %s {
    state BACKUP
    interface %s
    virtual_router_id 51
    priority 150
    advert_int 0.1
    version 3
    use_vmac vrrp.51
    virtual_ipaddress {
        %s
    }
}
`, name, iface, vipAddr)
	}
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		links := &fakeVMACs{exists: map[string]bool{}}
		n := newNode(t, seg, "192.0.2.11", inst("VI_1", "eth0", "192.0.2.100/24"), func(dp *deps) { dp.vmacs = links })
		n.start()
		time.Sleep(time.Second)
		if n.state() != "MASTER" {
			t.Fatalf("state %s, want MASTER", n.state())
		}
		cfg := loadConf(t, inst("VI_2", "eth2", "198.51.100.110/24"))
		done := make(chan error, 1)
		n.d.events <- loopEvent{do: func() { _, err := n.d.apply(cfg); done <- err }}
		if err := <-done; err != nil {
			t.Fatalf("apply: %v", err)
		}
		time.Sleep(2 * time.Second)
		want := []string{"ensure vrrp.51 on eth0 00:00:5e:00:01:33", "delete vrrp.51", "ensure vrrp.51 on eth2 00:00:5e:00:01:33"}
		if d := cmp.Diff(want, links.log()); d != "" {
			t.Errorf("VMAC calls before stop (-want +got):\n%s", d)
		}
		if !links.has("vrrp.51") {
			t.Error("VI_2's vrrp.51 was deleted")
		}
		n.stop(t)
	})
}
