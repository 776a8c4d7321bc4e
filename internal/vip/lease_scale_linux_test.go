package vip

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkLeaseRenewalFamily is one renewal pass of n VIPs on one veth,
// per family (issue 11's four-link profile: at 1,020 instances the
// master's renewer was a third of its samples, nearly all of it in the
// kernel's inet6_rtm_newaddr). An IPv6 replace costs the kernel a walk of
// every address of the namespace (addrconf_verify_rtnl) and an MLD event
// for every multicast group of the interface (ipv6_find_idev ->
// ipv6_mc_up), and every VIP joins its own solicited-node group: per VIP
// O(VIPs), per pass O(VIPs²). ns/vip is the figure to compare.
//
// Each pass advances a stand-in clock by Refresh, so a pass does what it
// does in the daemon: policy every-pass is the lease before Renew (every
// VIP on every 250 ms pass), renew-1s the default (a quarter of them).
// ns/vip-s is the CPU a lease costs per VIP per second of holding it
// (elapsed per pass × passes per second / VIPs): the figure to compare.
func BenchmarkLeaseRenewalFamily(b *testing.B) {
	policies := []struct {
		name  string
		lease Lease
	}{
		{"every-pass", Lease{Lifetime: time.Second, Refresh: defaultRefresh}},
		{"renew-1s", DefaultLease()},
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		for _, n := range []int{64, 255} {
			for _, pol := range policies {
				b.Run(fmt.Sprintf("%s/vips=%d/%s", fam, n, pol.name), func(b *testing.B) {
					p := newVethPair(b, false)
					m, err := NewManager(p.hA).WithLease(pol.lease)
					if err != nil {
						b.Fatal(err)
					}
					vips := make([]Address, n)
					for i := range vips {
						if fam == "ipv4" {
							vips[i] = addr(fmt.Sprintf("198.51.100.%d/32", i+1), "va")
						} else {
							vips[i] = addr(fmt.Sprintf("2001:db8:1::1:%x/128", i+1), "va")
						}
						if err := m.Add(vips[i]); err != nil {
							b.Fatal(err)
						}
					}
					clock := time.Now()
					m.now = func() time.Time { return clock }
					for b.Loop() {
						clock = clock.Add(pol.lease.Refresh)
						if missing, err := m.Refresh(vips); err != nil || len(missing) > 0 {
							b.Fatalf("Refresh: missing %v, err %v", missing, err)
						}
					}
					passesPerSec := float64(time.Second / pol.lease.Refresh)
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*passesPerSec/float64(n), "ns/vip-s")
				})
			}
		}
	}
}
