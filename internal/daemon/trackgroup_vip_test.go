package daemon

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
)

const vipIfaceConf = `interface_up_down_delays {
    eth1 1.5 0.5
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
        198.51.100.100/25 dev eth1 use_vmac
    }
    virtual_ipaddress_excluded {
        198.51.100.200/25 dev eth2 no_track
        198.51.100.201/25 dev eth3
    }
}
`

// TestVIPInterfaceTracked: the interface of a VIP (here the parent of the
// VIP's own VMAC) and of an eVIP is tracked as keepalived 2.2.7 tracks it
// (observed: its link down -> FAULT, up -> BACKUP; no_track -> nothing),
// and interface_up_down_delays holds its changes like the instance's own
// interface's (down 1.5 s here).
func TestVIPInterfaceTracked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers(link("eth0", true), link("eth1", true), link("eth2", true), link("eth3", true))
		links := &fakeVMACs{exists: map[string]bool{}}
		a := startNodeWith(t, seg, "192.0.2.11", vipIfaceConf, func(dp *deps) {
			withTracking(ft, &fakeNotifier{})(dp)
			dp.vmacs = links
		})
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("state %s, want MASTER", a.state())
		}
		ft.report(link("eth2", false)) // no_track
		time.Sleep(2 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("eth2 (no_track eVIP) down: state %s, want MASTER", a.state())
		}
		ft.report(link("eth1", false))
		time.Sleep(1500*time.Millisecond - time.Millisecond)
		if a.state() != "MASTER" {
			t.Fatalf("eth1 down, within its down delay: state %s, want MASTER", a.state())
		}
		time.Sleep(2 * time.Millisecond)
		if a.state() != "FAULT" {
			t.Fatalf("eth1 (the VIP's VMAC's parent) down past its delay: state %s, want FAULT", a.state())
		}
		if r := a.d.instances[0].snapshot().Reason; r == "" {
			t.Error("no reason for the FAULT")
		}
		ft.report(link("eth1", true))
		time.Sleep(500*time.Millisecond + time.Millisecond)
		if a.state() == "FAULT" {
			t.Fatalf("eth1 back: state still FAULT")
		}
		time.Sleep(5 * time.Second)
		ft.report(link("eth3", false)) // a tracked eVIP's interface
		time.Sleep(10 * time.Millisecond)
		if a.state() != "FAULT" {
			t.Fatalf("eth3 (eVIP) down: state %s, want FAULT", a.state())
		}
		a.stop(t)
	})
}
