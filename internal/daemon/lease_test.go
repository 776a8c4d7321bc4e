package daemon

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
)

// leasedAddrs is fakeAddrs with the kernel's lease behaviour: an address
// installed or renewed at t is deleted by "the kernel" from t+Lifetime on
// (checked lazily, on every look; synctest's clock is the kernel's).
type leasedAddrs struct {
	*fakeAddrs
	lease vip.Lease

	mu       sync.Mutex
	expires  map[netip.Prefix]time.Time
	renewals int // addresses renewed
	lapsed   int // addresses the kernel deleted
	// beforeRenew runs in RefreshGated between the dump and the renewals.
	beforeRenew func()
	fence       *leaseFence
}

func newLeasedAddrs() *leasedAddrs {
	return &leasedAddrs{fakeAddrs: &fakeAddrs{set: map[netip.Prefix]bool{}}, lease: vip.DefaultLease(),
		expires: map[netip.Prefix]time.Time{}}
}

// expire deletes what has lapsed, as the kernel's lifetime check does.
func (f *leasedAddrs) expire() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p, at := range f.expires {
		if !time.Now().Before(at) {
			delete(f.expires, p)
			_ = f.fakeAddrs.Remove(vip.Address{Prefix: p})
			f.lapsed++
		}
	}
}

func (f *leasedAddrs) Add(a vip.Address) error {
	f.expire()
	if f.lease.Enabled() { // installed forever otherwise
		f.mu.Lock()
		f.expires[a.Prefix] = time.Now().Add(f.lease.Lifetime)
		f.mu.Unlock()
	}
	return f.fakeAddrs.Add(a)
}

func (f *leasedAddrs) Remove(a vip.Address) error {
	f.mu.Lock()
	fc := f.fence
	f.mu.Unlock()
	if fc != nil {
		fc.revoke(a) // as leasedManager.Remove
	}
	f.mu.Lock()
	delete(f.expires, a.Prefix)
	f.mu.Unlock()
	return f.fakeAddrs.Remove(a)
}

func (f *leasedAddrs) Has(a vip.Address) (bool, error) {
	f.expire()
	return f.fakeAddrs.Has(a)
}

func (f *leasedAddrs) Lease() vip.Lease { return f.lease }

// RefreshGated renews what is there and reports what is not, like
// vip.Manager: a "dump" first, then one renewal per present address through
// gate. A renewal is the kernel's RTM_NEWADDR: it creates the address if it
// has gone since the dump (as Linux does). beforeRenew, when set, runs
// between the dump and the renewals (the tests' way to block the renewer).
func (f *leasedAddrs) RefreshGated(addrs []vip.Address, gate vip.Gate) ([]vip.Address, error) {
	f.expire()
	var missing, present []vip.Address
	for _, a := range addrs {
		if ok, _ := f.fakeAddrs.Has(a); !ok {
			missing = append(missing, a)
			continue
		}
		present = append(present, a)
	}
	if hook := f.hook(); hook != nil {
		hook()
	}
	for _, a := range present {
		_ = gate(a, func() error {
			f.mu.Lock()
			f.expires[a.Prefix] = time.Now().Add(f.lease.Lifetime)
			f.renewals++
			f.mu.Unlock()
			return f.fakeAddrs.Add(a) // the kernel creates what is gone
		})
	}
	return missing, nil
}

func (f *leasedAddrs) hook() func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.beforeRenew
}

// setFence is how the daemon fences removals against the renewer.
func (f *leasedAddrs) setFence(fc *leaseFence) {
	f.mu.Lock()
	f.fence = fc
	f.mu.Unlock()
}

// vanish deletes p behind the daemon's back (a lapse it did not see).
func (f *leasedAddrs) vanish(p string) {
	f.mu.Lock()
	delete(f.expires, netip.MustParsePrefix(p))
	f.mu.Unlock()
	_ = f.fakeAddrs.Remove(vip.Address{Prefix: netip.MustParsePrefix(p)})
}

func (f *leasedAddrs) holds(p string) bool {
	ok, _ := f.Has(vip.Address{Prefix: netip.MustParsePrefix(p)})
	return ok
}

func (f *leasedAddrs) counts() (renewals, lapsed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.renewals, f.lapsed
}

func startLeased(t *testing.T, seg *transport.Segment, src, conf string) (*node, *leasedAddrs) {
	t.Helper()
	la := newLeasedAddrs()
	n := startNodeWith(t, seg, src, conf, func(dp *deps) { dp.addrs = la })
	return n, la
}

// TestLeaseRenewedByMaster runs a lone master for ten lifetimes: its VIP
// stays only because the loop's timer renews it (the fake kernel deletes
// an unrenewed one after one lifetime), and the backup renews nothing.
func TestLeaseRenewedByMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, la := startLeased(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "0.1", "version 3"))
		b, lb := startLeased(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "0.1", "version 3"))
		lease := la.Lease()
		for i := range 10 {
			time.Sleep(lease.Lifetime)
			synctest.Wait()
			if a.state() != "MASTER" || !la.holds("192.0.2.100/24") {
				t.Fatalf("after %d lifetimes: a is %s, VIP held %v; want MASTER with the VIP", i+1, a.state(), la.holds("192.0.2.100/24"))
			}
		}
		renewals, lapsed := la.counts()
		if renewals == 0 || lapsed != 0 {
			t.Errorf("master: %d renewals, %d lapses; want renewals and no lapse", renewals, lapsed)
		}
		if renewals, _ := lb.counts(); renewals != 0 || lb.holds("192.0.2.100/24") {
			t.Errorf("backup renewed %d times (VIP %v); want none", renewals, lb.holds("192.0.2.100/24"))
		}
		a.stop(t)
		b.stop(t)
		if la.holds("192.0.2.100/24") {
			t.Error("stopped master kept its VIP")
		}
		after, _ := la.counts()
		time.Sleep(3 * lease.Refresh)
		if now, _ := la.counts(); now != after {
			t.Errorf("renewals went on after the stop: %d -> %d", after, now)
		}
	})
}

// TestLeaseVanishedVIPReadded checks that a master whose VIP the kernel no
// longer has (the lease lapsed while it was frozen) adds it again and
// announces it within one renewal period.
func TestLeaseVanishedVIPReadded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, la := startLeased(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "0.1", "version 3"))
		lease := la.Lease()
		time.Sleep(10 * time.Second) // past the transition's second GARP burst
		synctest.Wait()
		if !la.holds("192.0.2.100/24") {
			t.Fatal("master has no VIP")
		}
		bursts := len(a.garp.log())
		la.vanish("192.0.2.100/24")
		time.Sleep(lease.Refresh)
		synctest.Wait()
		if !la.holds("192.0.2.100/24") {
			t.Fatalf("VIP not re-added within one renewal period (%v)", lease.Refresh)
		}
		if got := len(a.garp.log()); got <= bursts {
			t.Errorf("re-added VIP not announced: bursts %d -> %d", bursts, got)
		}
		a.stop(t)
	})
}

// TestLeaseStalledLoop stalls the loop for two lifetimes (a frozen daemon:
// SIGSTOP, starvation): the fake kernel deletes the VIP meanwhile; the
// first renewal after the stall re-adds it and, still master one renewal
// later, it is announced.
func TestLeaseStalledLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, la := startLeased(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "version 3"))
		lease := la.Lease()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		bursts := len(a.garp.log())
		stalled := make(chan struct{})
		a.d.events <- loopEvent{do: func() {
			time.Sleep(2 * lease.Lifetime)
			close(stalled)
		}}
		<-stalled
		if _, lapsed := la.counts(); lapsed == 0 && la.holds("192.0.2.100/24") {
			t.Fatal("the fake kernel kept the VIP through a stall longer than the lease")
		}
		time.Sleep(2 * lease.Refresh)
		synctest.Wait()
		if a.state() != "MASTER" || !la.holds("192.0.2.100/24") {
			t.Fatalf("after the stall a is %s, VIP %v; want MASTER with the VIP back", a.state(), la.holds("192.0.2.100/24"))
		}
		if got := len(a.garp.log()); got <= bursts {
			t.Errorf("re-added VIP not announced: bursts %d -> %d", bursts, got)
		}
		a.stop(t)
	})
}

// TestNoLeaseNoRenewal checks the --no-vip-lease path: an address manager
// without a lease is never asked to renew.
func TestNoLeaseNoRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		la := newLeasedAddrs()
		la.lease = vip.Lease{}
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "0.1", "version 3"), func(dp *deps) { dp.addrs = la })
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if renewals, _ := la.counts(); renewals != 0 || a.state() != "MASTER" {
			t.Errorf("without a lease: %d renewals, state %s; want 0, MASTER", renewals, a.state())
		}
		a.stop(t)
	})
}

// TestVIPManagerOption checks that Options.NoVIPLease picks the manager.
func TestVIPManagerOption(t *testing.T) {
	for _, tt := range []struct {
		o    Options
		want vip.Lease
	}{
		{o: Options{}, want: vip.DefaultLease()},
		{o: Options{NoVIPLease: true}, want: vip.Lease{}},
	} {
		lo, ok := vipManager(tt.o).(leaseOps)
		if !ok {
			t.Fatalf("vipManager(%+v) cannot renew", tt.o)
		}
		if got := lo.Lease(); got != tt.want {
			t.Errorf("vipManager(NoVIPLease=%v).Lease() = %+v, want %+v", tt.o.NoVIPLease, got, tt.want)
		}
	}
}

// TestLeaseRenewedWhileReleasing stops a lone master whose successor never
// comes: it keeps its VIP for the master-down interval (3.4 s at 1 s
// adverts, longer than the lease) and must keep renewing it meanwhile.
func TestLeaseRenewedWhileReleasing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, la := startLeased(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "version 3"))
		lease := la.Lease()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		a.cancel()
		// Longer than the lease, shorter than the master-down interval.
		time.Sleep(lease.Lifetime + 2*lease.Refresh)
		synctest.Wait()
		if _, lapsed := la.counts(); lapsed != 0 || !la.holds("192.0.2.100/24") {
			t.Errorf("stopped master waiting for a successor: VIP held %v, %d lapses; want held, none", la.holds("192.0.2.100/24"), lapsed)
		}
		if err := <-a.done; err != nil {
			t.Fatalf("daemon: %v", err)
		}
		if la.holds("192.0.2.100/24") {
			t.Error("VIP left after the stop")
		}
	})
}

// TestLeaseStalledMasterYields stalls a master that holds the VIP only
// because the higher-priority b does not preempt: b takes over during the
// stall. After it a re-adds its lapsed VIP but must not announce it: b
// answers a's first advert at once and a yields, and an announcement would
// have pointed the clients at a just before it did.
func TestLeaseStalledMasterYields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, la := startLeased(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 100, "0.1", "version 3"))
		time.Sleep(time.Second)
		b, lb := startLeased(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 150, "0.1", "version 3\n    nopreempt"))
		lease := la.Lease()
		time.Sleep(10 * time.Second) // past a's second GARP burst
		synctest.Wait()
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
			t.Fatalf("before the stall states = %v, want [MASTER BACKUP] (b does not preempt)", got)
		}
		bursts := len(a.garp.log())
		stalled := make(chan struct{})
		a.d.events <- loopEvent{do: func() {
			time.Sleep(2 * lease.Lifetime)
			close(stalled)
		}}
		<-stalled
		time.Sleep(3 * lease.Refresh)
		synctest.Wait()
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"BACKUP", "MASTER"}) {
			t.Fatalf("after the stall states = %v, want [BACKUP MASTER]", got)
		}
		if la.holds("192.0.2.100/24") || !lb.holds("192.0.2.100/24") {
			t.Errorf("VIP on a=%v b=%v, want only b", la.holds("192.0.2.100/24"), lb.holds("192.0.2.100/24"))
		}
		if got := len(a.garp.log()); got != bursts {
			t.Errorf("a announced after the stall although it yielded: bursts %d -> %d", bursts, got)
		}
		a.stop(t)
		b.stop(t)
	})
}

// TestLeaseRenewedForInstanceRemovedByReload: an instance a reload removed
// waits for its successor (here none: Master_Down_Interval, longer than the
// lease) outside d.instances; its VIP must stay leased until it lets go.
func TestLeaseRenewedForInstanceRemovedByReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		vi1 := mbbInstance(1, "MASTER", 150, "1", "")
		a, la := startLeased(t, seg, "192.0.2.11", vi1+mbbInstance(2, "MASTER", 150, "1", ""))
		time.Sleep(5 * time.Second)
		if out := reloadNode(t, a, vi1); out.err != nil {
			t.Fatal(out.err)
		}
		// Longer than the lease, shorter than the master-down interval.
		time.Sleep(la.Lease().Lifetime + 2*la.Lease().Refresh)
		synctest.Wait()
		if _, lapsed := la.counts(); lapsed != 0 || !la.holds("192.0.2.102/24") {
			t.Errorf("removed instance waiting for a successor: VIP held %v, %d lapses; want held, none", la.holds("192.0.2.102/24"), lapsed)
		}
		time.Sleep(4 * time.Second) // past Master_Down_Interval: released
		synctest.Wait()
		if la.holds("192.0.2.102/24") || !la.holds("192.0.2.101/24") {
			t.Errorf("after the release: removed VIP held %v, kept VIP held %v; want false, true", la.holds("192.0.2.102/24"), la.holds("192.0.2.101/24"))
		}
		a.stop(t)
	})
}
