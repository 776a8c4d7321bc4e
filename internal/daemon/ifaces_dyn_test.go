package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/internal/transport"
)

// linkMissingResult is the link tracker's report of an interface that does not exist.
func linkMissingResult(name string) track.Result {
	return track.Result{Kind: track.KindInterface, Name: name, Detail: track.LinkMissing, Method: "netlink"}
}

// withMissingIface makes eth0's source address unresolvable while present
// is false, as for an interface that does not exist.
func withMissingIface(ft *fakeTrackers, notes *fakeNotifier, present *atomic.Bool) func(*deps) {
	return func(dp *deps) {
		withTracking(ft, notes)(dp)
		addr := netip.MustParseAddr("192.0.2.11")
		dp.lookup.primary = func(string, bool) (netip.Addr, error) {
			if !present.Load() {
				return netip.Addr{}, errors.New("Link not found")
			}
			return addr, nil
		}
	}
}

// hasSocket reports, on the loop, whether the instance holds a socket.
func (n *node) hasSocket() bool {
	got := make(chan bool, 1)
	n.d.events <- loopEvent{do: func() { got <- n.d.instances[0].mux != nil }}
	return <-got
}

// dynamic_interfaces: an instance whose interface is missing at start is
// FAULT without a socket (not a start-up error); the interface appearing
// brings it up (BACKUP, then MASTER by the protocol); deleting it is FAULT
// again with the socket released; re-creating it brings it back.
func TestDynamicInterfaceAppears(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft, notes := newFakeTrackers(linkMissingResult("eth0")), &fakeNotifier{}
		var present atomic.Bool
		conf := "global_defs {\n    dynamic_interfaces\n}\n" + fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "")
		a := startNodeWith(t, seg, "192.0.2.11", conf, withMissingIface(ft, notes, &present))
		time.Sleep(5 * time.Second)
		if a.state() != "FAULT" || a.hasSocket() || a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("interface missing at start: a = %s, socket %v; want FAULT without socket or VIP", a.state(), a.hasSocket())
		}

		present.Store(true)
		ft.report(link("eth0", true))
		if a.state() != "BACKUP" || !a.hasSocket() {
			t.Fatalf("interface appeared: a = %s, socket %v; want BACKUP with its socket", a.state(), a.hasSocket())
		}
		time.Sleep(4 * time.Second) // master-down: 3 s + skew
		if a.state() != "MASTER" || !a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("a = %s, want MASTER with the VIP once the interface is there", a.state())
		}

		present.Store(false)
		ft.report(linkMissingResult("eth0"))
		if a.state() != "FAULT" || a.hasSocket() || a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("interface deleted: a = %s, socket %v; want FAULT, socket released, VIP gone", a.state(), a.hasSocket())
		}
		present.Store(true)
		ft.report(link("eth0", true))
		time.Sleep(4 * time.Second)
		if a.state() != "MASTER" || !a.hasSocket() {
			t.Fatalf("interface re-created: a = %s, socket %v; want MASTER again", a.state(), a.hasSocket())
		}
		a.stop(t)
	})
}

// Without dynamic_interfaces a missing interface stays a start-up error,
// as keepalived 2.2.7 exits ("Non-existent interface specified in
// configuration").
func TestMissingInterfaceWithoutDynamicIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		var present atomic.Bool
		a := newNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", ""), withMissingIface(newFakeTrackers(linkMissingResult("eth0")), nil, &present))
		a.start()
		err := <-a.done
		if err == nil || !strings.Contains(err.Error(), "no source address on eth0") {
			t.Fatalf("start-up error = %v, want the missing source named", err)
		}
	})
}
