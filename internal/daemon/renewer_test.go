package daemon

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
)

// blockOnce makes la's next renewal pass stop between its dump and its
// renewals until release is closed; dumped is closed when it got there.
func blockOnce(la *leasedAddrs) (dumped, release chan struct{}) {
	dumped, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	la.mu.Lock()
	la.beforeRenew = func() {
		once.Do(func() {
			close(dumped)
			<-release
		})
	}
	la.mu.Unlock()
	return dumped, release
}

// TestRenewerStallNeverDelaysAdverts blocks a renewal pass for longer than
// the backup's Master_Down_Interval (3 × 100 ms + skew): the master's loop
// keeps sending every advert meanwhile, so the backup never takes over. (A
// renewal on the loop, as before the renewer, silenced the master for the
// whole stall.) When the pass is let go, renewals go on.
func TestRenewerStallNeverDelaysAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const adver = 100 * time.Millisecond
		seg := transport.NewSegment()
		a, la := startLeased(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "0.1", "version 3"))
		b, _ := startLeased(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "0.1", "version 3"))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		dumped, release := blockOnce(la)
		<-dumped
		sent := a.d.instances[0].snapshot().AdvertsSent
		stall := 6 * adver // > Master_Down_Interval (3.61 × adver), < the lease lifetime
		time.Sleep(stall)
		synctest.Wait()
		if got := a.d.instances[0].snapshot().AdvertsSent - sent; got < uint64(stall/adver)-1 {
			t.Errorf("master sent %d adverts in %v while a renewal was blocked; want at least %d (one per %v)", got, stall, stall/adver-1, adver)
		}
		if got := []string{a.state(), b.state()}; got[0] != "MASTER" || got[1] != "BACKUP" {
			t.Errorf("during the blocked renewal states = %v, want [MASTER BACKUP]", got)
		}
		if bv := b.view(); bv.BecameMaster != 0 {
			t.Errorf("backup became master %d times during the blocked renewal", bv.BecameMaster)
		}
		renewals, _ := la.counts()
		close(release)
		time.Sleep(2 * la.Lease().Refresh)
		synctest.Wait()
		if now, lapsed := la.counts(); now <= renewals || lapsed != 0 || !la.holds("192.0.2.100/24") {
			t.Errorf("after the blocked pass: renewals %d -> %d, %d lapses, VIP held %v; want more renewals, no lapse, VIP held",
				renewals, now, lapsed, la.holds("192.0.2.100/24"))
		}
		a.stop(t)
		b.stop(t)
	})
}

// TestRenewerNeverRecreatesRemovedVIP: a renewal pass has dumped (the VIP
// is there) when the master yields to a preempting peer and removes the VIP.
// The kernel would create the VIP again on the pass's RTM_NEWADDR; the fence
// keeps the pass from sending it, so the old master holds nothing.
func TestRenewerNeverRecreatesRemovedVIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, la := startLeased(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 100, "0.1", "version 3"))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		dumped, release := blockOnce(la)
		<-dumped
		b, lb := startLeased(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 150, "0.1", "version 3"))
		time.Sleep(2 * time.Second) // b preempts; a removes its VIP
		synctest.Wait()
		if a.state() != "BACKUP" || la.holds("192.0.2.100/24") {
			t.Fatalf("before the blocked pass went on: a is %s, VIP on a %v; want BACKUP without it", a.state(), la.holds("192.0.2.100/24"))
		}
		close(release)
		synctest.Wait()
		if la.holds("192.0.2.100/24") || !lb.holds("192.0.2.100/24") {
			t.Errorf("after the pass: VIP on a %v, on b %v; want only on b", la.holds("192.0.2.100/24"), lb.holds("192.0.2.100/24"))
		}
		a.stop(t)
		b.stop(t)
	})
}

// TestLeaseFence: revoke stops renewals of that address until the next set.
func TestLeaseFence(t *testing.T) {
	a := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Dev: "eth0"}
	other := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.101/24"), Dev: "eth0"}
	var f leaseFence
	renewed := map[string]int{}
	renew := func(x vip.Address) {
		_ = f.renew(x, func() error { renewed[x.String()]++; return nil })
	}
	renew(a) // nothing granted yet
	f.set([]leaseGrant{{vips: []vip.Address{a, other}}})
	renew(a)
	renew(other)
	f.revoke(a)
	renew(a)
	renew(other)
	f.set([]leaseGrant{{vips: []vip.Address{a}}})
	renew(a)
	if renewed[a.String()] != 2 || renewed[other.String()] != 2 {
		t.Errorf("renewals = %v; want 2 of each (none before the grant, none of a after its revoke until granted again)", renewed)
	}
}
