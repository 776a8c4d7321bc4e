package vip

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// renewSim runs passes every l.Refresh for d over vips (all present) and
// returns, per VIP, the times (since the first pass) it was renewed.
func renewSim(l Lease, vips []Address, d time.Duration) map[string][]time.Duration {
	var r renewTimes
	t0 := time.Unix(1000, 0)
	got := map[string][]time.Duration{}
	for at := time.Duration(0); at <= d; at += l.Refresh {
		now := t0.Add(at)
		for i, a := range vips {
			if r.due(l, now, a, i) {
				r.mark(a, now)
				got[a.String()] = append(got[a.String()], at)
			}
		}
		r.prune(vips)
	}
	return got
}

// TestRenewOncePerRenewPeriod checks the default lease's schedule: each VIP
// is renewed once per Renew (1 s), not on each 250 ms pass, the VIPs first
// seen together are spread over the four passes of a period (a quarter of
// them per pass), and no VIP ever goes longer than Renew between renewals
// or from its first pass (the pass after its Add) to its first renewal.
func TestRenewOncePerRenewPeriod(t *testing.T) {
	l := DefaultLease()
	var vips []Address
	for i := range 8 {
		vips = append(vips, addr(fmt.Sprintf("198.51.100.%d/32", i+1), "eth0"))
	}
	got := renewSim(l, vips, 4*time.Second)
	perPass := map[time.Duration]int{}
	for i, a := range vips {
		times := got[a.String()]
		// First sight counts slot·Refresh of age: slot 3 is renewed on the
		// next pass, slot 0 after a whole Renew.
		first := l.renewEvery() - time.Duration(i%4)*l.Refresh
		if len(times) == 0 || times[0] != first {
			t.Fatalf("%v: renewals %v, want the first at %v", a, times, first)
		}
		for k := 1; k < len(times); k++ {
			if gap := times[k] - times[k-1]; gap != l.Renew {
				t.Errorf("%v: renewals %v: gap %v, want %v", a, times, gap, l.Renew)
			}
		}
		if n := len(times); n < 3 || n > 4 {
			t.Errorf("%v: %d renewals in 4 s, want one a second (3 or 4), not one a pass (16)", a, n)
		}
		for _, at := range times {
			perPass[at]++
		}
	}
	for at, n := range perPass {
		if n != len(vips)/4 {
			t.Errorf("pass at %v renewed %d VIPs, want a quarter (%d)", at, n, len(vips)/4)
		}
	}
}

// TestRenewEveryPassWithoutRenew checks that a lease without Renew keeps
// the old policy: every VIP on every pass.
func TestRenewEveryPassWithoutRenew(t *testing.T) {
	l := Lease{Lifetime: time.Second, Refresh: 250 * time.Millisecond}
	vips := []Address{addr("198.51.100.1/32", "eth0"), addr("2001:db8::1/128", "eth0")}
	got := renewSim(l, vips, time.Second)
	want := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second}
	for _, a := range vips {
		if diff := cmp.Diff(want, got[a.String()]); diff != "" {
			t.Errorf("%v renewals (-want +got):\n%s", a, diff)
		}
	}
}

// TestRenewForgetsMissing checks that a VIP the kernel lacked (re-added by
// the daemon) or the pass dropped (no longer held) starts over: it is not
// renewed on the old schedule, and never later than Renew after its return.
func TestRenewForgetsMissing(t *testing.T) {
	l := DefaultLease()
	a := addr("198.51.100.1/32", "eth0")
	var r renewTimes
	t0 := time.Unix(1000, 0)
	if r.due(l, t0, a, 0) {
		t.Fatalf("slot 0 due at first sight; want a whole Renew later")
	}
	r.forget(a)
	if _, ok := r.last[renewKeyOf(a)]; ok {
		t.Fatalf("forget kept %v", a)
	}
	r.due(l, t0, a, 0)
	r.prune(nil)
	if len(r.last) != 0 {
		t.Fatalf("prune of an empty pass kept %v", r.last)
	}
	// IPv6 identity is the address alone: /64 and /128 are one VIP.
	r.due(l, t0, addr("2001:db8::1/64", "eth0"), 0)
	r.mark(addr("2001:db8::1/128", "eth0"), t0.Add(time.Second))
	if got := r.last[renewKeyOf(addr("2001:db8::1/64", "eth0"))]; !got.Equal(t0.Add(time.Second)) {
		t.Errorf("IPv6 /64 and /128 are two keys (%v)", r.last)
	}
}
