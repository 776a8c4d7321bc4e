package daemon

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
)

// wireLog records every announcement as it would leave: "+T dev addr".
type wireLog struct {
	mu    sync.Mutex
	start time.Time
	sent  []string
}

func (w *wireLog) note(a vip.Address) {
	w.sent = append(w.sent, fmt.Sprintf("+%v %s %s", time.Since(w.start).Round(100*time.Millisecond), a.Dev, a.Prefix.Addr()))
}

func (w *wireLog) AnnounceBurst(_ context.Context, addrs []vip.Address, repeat int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for range repeat {
		for _, a := range addrs {
			w.note(a)
		}
	}
	return nil
}

func (w *wireLog) Announce(a vip.Address) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.note(a)
	return nil
}

func (w *wireLog) Close() error { return nil }

func (w *wireLog) on(dev string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(w.sent), func(s string) bool {
		var t, d, a string
		fmt.Sscan(s, &t, &d, &a)
		return d != dev
	})
}

// TestAddrVMACPacedAsParent: the GARPs of a VIP's VMAC count on its parent
// interface's vrrp_garp_interval budget. keepalived 2.2.7, observed with
// this configuration (tcpdump on eth1's peer, garp interval 1 s, repeat 2):
// 198.51.100.100 on eth1 at +0 s and +1 s, then 198.51.100.101 from
// vrrp.51@eth1 (source MAC 00:00:5e:00:01:33) once, at +2 s — its two
// repeats merged while waiting behind the parent's; eth0's own budget sends
// 192.0.2.100 at +0 s and +1 s.
func TestAddrVMACPacedAsParent(t *testing.T) {
	conf := `global_defs {
    vrrp_garp_interval 1
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 1
    garp_master_delay 0
    garp_master_repeat 2
    virtual_ipaddress {
        192.0.2.100/24
        198.51.100.100/25 dev eth1
        198.51.100.101/25 dev eth1 use_vmac
    }
}
`
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		wire := &wireLog{start: time.Now()}
		pacer := vip.NewPacer(wire, nil)
		defer pacer.Close()
		links := &fakeVMACs{exists: map[string]bool{}}
		a := startNodeWith(t, seg, "192.0.2.11", conf, func(dp *deps) { dp.announce, dp.vmacs = pacer, links })
		time.Sleep(8 * time.Second) // master at +3.2 s, then 5 s of GARPs
		a.stop(t)
		synctest.Wait()
		want := []string{"+3.2s eth1 198.51.100.100", "+4.2s eth1 198.51.100.100", "+5.2s vrrp.51 198.51.100.101"}
		got := append(wire.on("eth1"), wire.on("vrrp.51")...)
		slices.Sort(got)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("eth1 and its VMAC (-keepalived +govrrp):\n%s", d)
		}
		if d := cmp.Diff([]string{"+3.2s eth0 192.0.2.100", "+4.2s eth0 192.0.2.100"}, wire.on("eth0")); d != "" {
			t.Errorf("eth0 (-keepalived +govrrp):\n%s", d)
		}
	})
}
