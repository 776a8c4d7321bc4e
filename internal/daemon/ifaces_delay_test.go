package daemon

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/transport"
)

// delayedConf is twoNodeConf (advert_int 1) behind interface_up_down_delays
// for eth0 (down, up in seconds).
func delayedConf(down, up string, state string, prio int) string {
	return fmt.Sprintf("interface_up_down_delays {\n    eth0 %s %s\n}\n", down, up) + fmt.Sprintf(twoNodeConf, state, prio, "1", "")
}

// startDelayedMaster starts a (MASTER 150, eth0 delays down/up) and b
// (BACKUP 100) and waits for a to be master.
func startDelayedMaster(t *testing.T, down, up string) (a, b *node, ft *fakeTrackers, notes *fakeNotifier) {
	t.Helper()
	seg := transport.NewSegment()
	ft, notes = newFakeTrackers(), &fakeNotifier{}
	a = startNodeWith(t, seg, "192.0.2.11", delayedConf(down, up, "MASTER", 150), withTracking(ft, notes))
	ft.report(link("eth0", true))
	b = startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", ""))
	time.Sleep(5 * time.Second)
	if a.state() != "MASTER" || !a.addrs.holds("192.0.2.100/24") {
		t.Fatalf("a = %s, want MASTER with the VIP", a.state())
	}
	return a, b, ft, notes
}

// expectAt checks a's state (and whether it holds the VIP) after sleeping d.
func expectAt(t *testing.T, a *node, d time.Duration, state string, what string) {
	t.Helper()
	time.Sleep(d)
	if got := a.state(); got != state || a.addrs.holds("192.0.2.100/24") != (state == "MASTER") {
		t.Fatalf("%s: a = %s (VIP held %v), want %s", what, got, a.addrs.holds("192.0.2.100/24"), state)
	}
}

// A carrier loss reaches the instance only after the down delay, its
// return only after the up delay (keepalived 2.2.7 observed: "delay by
// 1500000", FAULT 1.5 s later).
func TestIfaceDelayHoldsFaultBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, ft, notes := startDelayedMaster(t, "1.5", "0.5")
		ft.report(link("eth0", false))
		expectAt(t, a, 1500*time.Millisecond-time.Millisecond, "MASTER", "just before the down delay")
		expectAt(t, a, 2*time.Millisecond, "FAULT", "just after the down delay")
		ft.report(link("eth0", true))
		expectAt(t, a, 500*time.Millisecond-time.Millisecond, "FAULT", "just before the up delay")
		expectAt(t, a, 2*time.Millisecond, "BACKUP", "just after the up delay")
		a.stop(t)
		b.stop(t)
		want := []string{"VI_1 BACKUP 150", "VI_1 MASTER 150", "VI_1 FAULT 150", "VI_1 BACKUP 150", "VI_1 STOP 150"}
		if diff := cmp.Diff(want, notes.got()); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
	})
}

// A flap shorter than the down delay changes nothing: no FAULT, no
// notification, the VIP stays; a later loss gets a fresh full delay.
func TestIfaceDelayFlapIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, ft, notes := startDelayedMaster(t, "1.5", "1.5")
		ft.report(link("eth0", false))
		time.Sleep(time.Second)
		ft.report(link("eth0", true))
		expectAt(t, a, 3*time.Second, "MASTER", "after a 1 s flap under a 1.5 s delay")
		ft.report(link("eth0", false))
		expectAt(t, a, 1500*time.Millisecond-time.Millisecond, "MASTER", "a second loss, just before its own delay")
		expectAt(t, a, 2*time.Millisecond, "FAULT", "a second loss, after its delay")
		a.stop(t)
		b.stop(t)
		want := []string{"VI_1 BACKUP 150", "VI_1 MASTER 150", "VI_1 FAULT 150", "VI_1 STOP 150"}
		if diff := cmp.Diff(want, notes.got()); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
	})
}

// A delay not below (down_timer_adverts-1) x advert_int is reduced to that
// bound less advert_int/256, as keepalived 2.2.7 does (5 s with advert_int 1
// became 1.996094 s): otherwise b would take over before a went FAULT.
func TestIfaceDelayReducedBelowMasterDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, ft, _ := startDelayedMaster(t, "5", "5")
		reduced := 2*time.Second - time.Second/256
		ft.report(link("eth0", false))
		expectAt(t, a, reduced-time.Millisecond, "MASTER", "just before the reduced delay")
		expectAt(t, a, 2*time.Millisecond, "FAULT", "just after the reduced delay (not the configured 5 s)")
		a.stop(t)
		b.stop(t)
	})
}
