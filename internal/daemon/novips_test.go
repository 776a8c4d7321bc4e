package daemon

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
)

const noVIPConf = `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    no_virtual_ipaddress
}
`

// TestNoVirtualIPAddressRunsTheProtocol: two instances without VIPs elect a
// master (so adverts with no addresses flow and are accepted), notify
// their transitions, and install nothing; the master's stop hands over.
func TestNoVirtualIPAddressRunsTheProtocol(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		na, nb := &fakeNotifier{}, &fakeNotifier{}
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(noVIPConf, 150), withTracking(newFakeTrackers(), na))
		b := startNodeWith(t, seg, "192.0.2.12", fmt.Sprintf(noVIPConf, 100), withTracking(newFakeTrackers(), nb))
		// master-down interval of the higher priority: 3 s + skew, then a
		// few adverts for b to see.
		time.Sleep(6 * time.Second)
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
			t.Fatalf("states = %v, want [MASTER BACKUP]", got)
		}
		if got := append(a.addrs.list(), b.addrs.list()...); len(got) != 0 {
			t.Errorf("addresses installed: %v, want none", got)
		}
		if got, want := na.got(), []string{"VI_1 BACKUP 150", "VI_1 MASTER 150"}; !cmp.Equal(got, want) {
			t.Errorf("a's notifications %v, want %v", got, want)
		}
		a.stop(t)
		time.Sleep(time.Second) // skew time (156/256 s) after the priority-0 advert
		if b.state() != "MASTER" {
			t.Errorf("after a's stop b is %s, want MASTER", b.state())
		}
		b.stop(t)
		if got := append(a.addrs.list(), b.addrs.list()...); len(got) != 0 {
			t.Errorf("addresses after stop: %v, want none", got)
		}
	})
}
