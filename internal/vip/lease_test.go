package vip

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
)

func TestLeaseValidate(t *testing.T) {
	tests := []struct {
		name string
		l    Lease
		ok   bool
	}{
		{name: "default", l: DefaultLease(), ok: true},
		{name: "zero is no lease", l: Lease{}, ok: true},
		{name: "two seconds, one renewal a second", l: Lease{Lifetime: 2 * time.Second, Refresh: time.Second - kernelFuzz}, ok: true},
		{name: "sub-second lifetime", l: Lease{Lifetime: 500 * time.Millisecond, Refresh: 100 * time.Millisecond}},
		{name: "fractional seconds", l: Lease{Lifetime: 1500 * time.Millisecond, Refresh: 100 * time.Millisecond}},
		{name: "too long", l: Lease{Lifetime: 2 * time.Hour, Refresh: time.Second}},
		{name: "no refresh", l: Lease{Lifetime: time.Second}},
		{name: "refresh only once per lifetime", l: Lease{Lifetime: time.Second, Refresh: 600 * time.Millisecond}},
		{name: "refresh without lifetime", l: Lease{Refresh: time.Second}},
		{name: "renew every pass", l: Lease{Lifetime: time.Second, Refresh: 250 * time.Millisecond, Renew: 250 * time.Millisecond}, ok: true},
		{name: "renew more often than passes", l: Lease{Lifetime: 2 * time.Second, Refresh: 250 * time.Millisecond, Renew: 100 * time.Millisecond}},
		{name: "renew leaves no late pass", l: Lease{Lifetime: 2 * time.Second, Refresh: 250 * time.Millisecond, Renew: 1750 * time.Millisecond}},
		{name: "negative renew", l: Lease{Lifetime: 2 * time.Second, Refresh: 250 * time.Millisecond, Renew: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tt.l, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrLease) {
				t.Errorf("error %v does not wrap ErrLease", err)
			}
		})
	}
}

func TestLeaseOverdue(t *testing.T) {
	l := DefaultLease()
	tests := []struct {
		since time.Duration
		want  bool
	}{
		{since: l.Refresh, want: false},
		{since: 2 * l.Refresh, want: false},
		// The kernel may delete from Lifetime minus its fuzz on, and a VIP
		// the previous pass did not renew was renewed up to Renew − half a
		// pass before it: 2 s − 20 ms − 875 ms.
		{since: 1105*time.Millisecond - time.Millisecond, want: false},
		{since: 1105 * time.Millisecond, want: true},
		{since: 10 * time.Second, want: true},
	}
	for _, tt := range tests {
		if got := l.Overdue(tt.since); got != tt.want {
			t.Errorf("Overdue(%v) = %v, want %v", tt.since, got, tt.want)
		}
	}
	// Renewed on every pass: the whole lifetime less the fuzz.
	every := Lease{Lifetime: time.Second, Refresh: 250 * time.Millisecond}
	if every.Overdue(time.Second-kernelFuzz-time.Millisecond) || !every.Overdue(time.Second-kernelFuzz) {
		t.Errorf("a lease renewed every pass must be overdue from Lifetime−fuzz exactly")
	}
	if (Lease{}).Overdue(time.Hour) {
		t.Errorf("no lease is never overdue")
	}
}

// TestLeaseStamp checks the lifetimes sent to the kernel: whole seconds with
// a lease, none (the kernel's forever) without.
func TestLeaseStamp(t *testing.T) {
	tests := []struct {
		name string
		l    Lease
		want [2]int
	}{
		{name: "default lease", l: DefaultLease(), want: [2]int{2, 2}},
		{name: "three seconds", l: Lease{Lifetime: 3 * time.Second, Refresh: time.Second}, want: [2]int{3, 3}},
		{name: "no lease: no IFA_CACHEINFO", l: Lease{}, want: [2]int{0, 0}},
	}
	for _, tt := range tests {
		na := toNetlink(addr("192.0.2.10/32", "eth0"))
		tt.l.stamp(na)
		if diff := cmp.Diff(tt.want, [2]int{na.ValidLft, na.PreferedLft}); diff != "" {
			t.Errorf("%s: valid, preferred (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRefreshPlan(t *testing.T) {
	pp := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	v4 := addr("192.0.2.10/32", "eth0")
	v4net := addr("192.0.2.10/24", "eth0")
	v6 := addr("2001:db8::10/64", "eth0")
	tests := []struct {
		name             string
		want             []Address
		have             []netip.Prefix
		present, missing []Address
	}{
		{name: "all there", want: []Address{v4, v6}, have: pp("192.0.2.1/24", "192.0.2.10/32", "2001:db8::10/64"), present: []Address{v4, v6}},
		{name: "all lapsed", want: []Address{v4, v6}, have: pp("192.0.2.1/24"), missing: []Address{v4, v6}},
		{name: "one lapsed, order kept", want: []Address{v4, v6}, have: pp("2001:db8::10/64"), present: []Address{v6}, missing: []Address{v4}},
		// IPv4 identity is address and length: a /24 of the same address
		// is another address, and a replace would create ours.
		{name: "v4 other length is missing", want: []Address{v4net}, have: pp("192.0.2.10/32"), missing: []Address{v4net}},
		// IPv6 identity is the address: the replace renews what is there.
		{name: "v6 other length is present", want: []Address{v6}, have: pp("2001:db8::10/128"), present: []Address{v6}},
		{name: "nothing wanted", have: pp("192.0.2.10/32")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			present, missing := refreshPlan(tt.want, tt.have)
			if diff := cmp.Diff(tt.present, present, cmpAddr); diff != "" {
				t.Errorf("present (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.missing, missing, cmpAddr); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestByDev(t *testing.T) {
	a, b, c := addr("192.0.2.10/32", "eth1"), addr("192.0.2.11/32", "eth0"), addr("2001:db8::10/128", "eth1")
	got := byDev([]Address{a, b, c})
	want := [][]Address{{a, c}, {b}}
	if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
		t.Errorf("byDev (-want +got):\n%s", diff)
	}
}

// TestRefreshWithoutLease checks that a Manager without a lease never
// touches the kernel on Refresh (the missing interface would be an error
// if it did).
func TestRefreshWithoutLease(t *testing.T) {
	m := &Manager{h: &netlink.Handle{}}
	missing, err := m.Refresh([]Address{addr("192.0.2.10/32", "nosuch-dev")})
	if err != nil || missing != nil {
		t.Errorf("Refresh without lease = %v, %v; want nil, nil", missing, err)
	}
	if _, err := m.WithLease(Lease{Lifetime: time.Second}); !errors.Is(err, ErrLease) {
		t.Errorf("WithLease(no refresh) = %v, want ErrLease", err)
	}
}

var cmpAddr = cmp.Comparer(func(a, b Address) bool { return a == b })
