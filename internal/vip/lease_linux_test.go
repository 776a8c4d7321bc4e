//go:build linux

package vip

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// leaseView is the lifetime part of what the kernel reports for an address.
type leaseView struct {
	Present      bool
	Label        string
	NoDAD        bool
	Tentative    bool
	Permanent    bool // IFA_F_PERMANENT: the kernel's "forever"
	Finite       bool // valid_lft is not forever
	AtMostLease  bool // valid_lft and preferred_lft ≤ the lease (seconds)
	PreferredSet bool // preferred_lft is not forever
}

func leaseOf(t *testing.T, h *netlink.Handle, dev string, p netip.Prefix, l Lease) leaseView {
	t.Helper()
	link, err := h.LinkByName(dev)
	if err != nil {
		t.Fatalf("link %s: %v", dev, err)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatalf("addr list: %v", err)
	}
	for _, na := range addrs {
		if got, ok := prefixOf(na); !ok || got != p {
			continue
		}
		valid, pref := uint32(na.ValidLft), uint32(na.PreferedLft)
		secs := uint32(l.Lifetime / time.Second)
		return leaseView{
			Present:      true,
			Label:        na.Label,
			NoDAD:        na.Flags&unix.IFA_F_NODAD != 0,
			Tentative:    na.Flags&unix.IFA_F_TENTATIVE != 0,
			Permanent:    na.Flags&unix.IFA_F_PERMANENT != 0,
			Finite:       valid != math.MaxUint32,
			AtMostLease:  valid <= secs && pref <= secs,
			PreferredSet: pref != math.MaxUint32,
		}
	}
	return leaseView{}
}

func leasedManager(t *testing.T, h *netlink.Handle, l Lease) *Manager {
	t.Helper()
	m, err := NewManager(h).WithLease(l)
	if err != nil {
		t.Fatalf("WithLease: %v", err)
	}
	return m
}

// TestLeaseAdd checks that Add installs both families with the lease's
// lifetimes, and that an address already there takes the Manager's
// lifetimes: forever becomes leased (a VIP an older keepalived or
// --no-vip-lease run left) and leased becomes forever.
func TestLeaseAdd(t *testing.T) {
	p := newVethPair(t, true)
	l := DefaultLease()
	m := leasedManager(t, p.hA, l)
	plain := NewManager(p.hA)
	v4 := Address{Prefix: netip.MustParsePrefix("192.0.2.10/32"), Dev: "va", Label: "va:vip"}
	v6 := addr("2001:db8::10/128", "va")
	leased4 := leaseView{Present: true, Label: "va:vip", Finite: true, AtMostLease: true, PreferredSet: true}
	leased6 := leaseView{Present: true, NoDAD: true, Finite: true, AtMostLease: true, PreferredSet: true}
	forever4 := leaseView{Present: true, Label: "va:vip", Permanent: true}
	forever6 := leaseView{Present: true, NoDAD: true, Permanent: true}
	steps := []struct {
		name       string
		by         *Manager
		want4      leaseView
		want6      leaseView
		preForever bool // the address is put there forever first, as keepalived does
	}{
		{name: "fresh add is leased", by: m, want4: leased4, want6: leased6},
		{name: "add over a leased one without a lease: forever", by: plain, want4: forever4, want6: forever6},
		{name: "add over a forever one with a lease: leased", by: m, want4: leased4, want6: leased6, preForever: true},
	}
	for _, s := range steps {
		if s.preForever {
			_ = plain.Remove(v4)
			_ = plain.Remove(v6)
			if err := plain.Add(v4); err != nil {
				t.Fatal(err)
			}
			if err := plain.Add(v6); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range []Address{v4, v6} {
			if err := s.by.Add(a); err != nil {
				t.Fatalf("%s: Add(%v): %v", s.name, a, err)
			}
		}
		if diff := cmp.Diff(s.want4, leaseOf(t, p.hA, "va", v4.Prefix, l)); diff != "" {
			t.Errorf("%s: v4 (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.want6, leaseOf(t, p.hA, "va", v6.Prefix, l)); diff != "" {
			t.Errorf("%s: v6 (-want +got):\n%s", s.name, diff)
		}
	}
}

// addrEvents counts RTM_DELADDR and RTM_DELROUTE in a namespace while a
// test runs.
type addrEvents struct {
	mu                   sync.Mutex
	newAddr, delAddr     map[netip.Addr]int
	delRoutes, newRoutes int
}

func watchEvents(t *testing.T, p *vethPair) *addrEvents {
	t.Helper()
	ev := &addrEvents{newAddr: map[netip.Addr]int{}, delAddr: map[netip.Addr]int{}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(done); wg.Wait() })
	ach := make(chan netlink.AddrUpdate, 256)
	if err := netlink.AddrSubscribeWithOptions(ach, done, netlink.AddrSubscribeOptions{Namespace: &p.nsA}); err != nil {
		t.Fatalf("address subscription: %v", err)
	}
	rch := make(chan netlink.RouteUpdate, 256)
	if err := netlink.RouteSubscribeWithOptions(rch, done, netlink.RouteSubscribeOptions{Namespace: &p.nsA}); err != nil {
		t.Fatalf("route subscription: %v", err)
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for u := range ach {
			ip, _ := netip.AddrFromSlice(u.LinkAddress.IP)
			ev.mu.Lock()
			if u.NewAddr {
				ev.newAddr[ip.Unmap()]++
			} else {
				ev.delAddr[ip.Unmap()]++
			}
			ev.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for u := range rch {
			ev.mu.Lock()
			if u.Type == unix.RTM_DELROUTE {
				ev.delRoutes++
			} else {
				ev.newRoutes++
			}
			ev.mu.Unlock()
		}
	}()
	return ev
}

func (ev *addrEvents) counts(ip netip.Addr) (newAddr, delAddr, newRoutes, delRoutes int) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.newAddr[ip], ev.delAddr[ip], ev.newRoutes, ev.delRoutes
}

// TestLeaseRefresh renews leased VIPs for three lifetimes and checks they
// stay, without a single RTM_DELADDR or route deletion (the IPv6 VIP is in
// a prefix of its own, so its prefix route carries the lease too), keeping
// label, NODAD and not tentative: a replace is not a re-add.
func TestLeaseRefresh(t *testing.T) {
	p := newVethPair(t, true)
	l := DefaultLease()
	m := leasedManager(t, p.hA, l)
	v4 := Address{Prefix: netip.MustParsePrefix("192.0.2.10/32"), Dev: "va", Label: "va:vip"}
	v6 := addr("2001:db8:1::10/64", "va")
	vips := []Address{v4, v6}
	ev := watchEvents(t, p)
	for _, a := range vips {
		if err := m.Add(a); err != nil {
			t.Fatalf("Add(%v): %v", a, err)
		}
	}
	// Pass on the lease's period for three lifetimes: without the
	// renewals both would be gone after one (TestLeaseLapse).
	renewals := int(3 * l.Lifetime / l.Refresh)
	tick := time.NewTicker(l.Refresh)
	defer tick.Stop()
	for i := 0; i < renewals; i++ {
		<-tick.C
		missing, err := m.Refresh(vips)
		if err != nil || len(missing) > 0 {
			t.Fatalf("renewal %d: missing %v, err %v", i, missing, err)
		}
	}
	want4 := leaseView{Present: true, Label: "va:vip", Finite: true, AtMostLease: true, PreferredSet: true}
	want6 := leaseView{Present: true, NoDAD: true, Finite: true, AtMostLease: true, PreferredSet: true}
	if diff := cmp.Diff(want4, leaseOf(t, p.hA, "va", v4.Prefix, l)); diff != "" {
		t.Errorf("v4 after %d renewals (-want +got):\n%s", renewals, diff)
	}
	if diff := cmp.Diff(want6, leaseOf(t, p.hA, "va", v6.Prefix, l)); diff != "" {
		t.Errorf("v6 after %d renewals (-want +got):\n%s", renewals, diff)
	}
	// Every renewal is one RTM_NEWADDR, and a VIP is renewed once per
	// Renew, not on every pass: the Add plus 3·Lifetime/Renew (6) give or
	// take the first period's stagger, far from the passes' 24.
	perVIP := int(3 * l.Lifetime / l.renewEvery())
	for _, a := range vips {
		waitFor(t, "RTM_NEWADDR of the renewals of "+a.String(), 2*time.Second, func() (bool, error) {
			n, _, _, _ := ev.counts(a.Prefix.Addr())
			return n >= perVIP, nil
		})
		if n, _, _, _ := ev.counts(a.Prefix.Addr()); n > perVIP+2 {
			t.Errorf("%v: %d RTM_NEWADDR over %d passes, want at most %d (one renewal per %v)", a, n, renewals, perVIP+2, l.renewEvery())
		}
	}
	for _, a := range vips {
		_, del, _, delRoutes := ev.counts(a.Prefix.Addr())
		if del != 0 {
			t.Errorf("%v: %d RTM_DELADDR during renewals, want 0", a, del)
		}
		if delRoutes != 0 {
			t.Errorf("%d RTM_DELROUTE during renewals, want 0", delRoutes)
		}
	}
	routes, err := p.hA.RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Dst: ipNetOf(netip.MustParsePrefix("2001:db8:1::/64"))}, netlink.RT_FILTER_DST)
	if err != nil || len(routes) != 1 {
		t.Errorf("prefix route of the IPv6 VIP after renewals: %v, %v; want one", routes, err)
	}
}

// TestLeaseLapse checks the kernel behaviour the lease relies on: an
// address nobody renews is deleted by the kernel itself, both families,
// within the lifetime plus the kernel's rounding of its check (up to one
// second) plus slack; Refresh then reports it missing and does not create
// it again.
func TestLeaseLapse(t *testing.T) {
	p := newVethPair(t, true)
	l := DefaultLease()
	m := leasedManager(t, p.hA, l)
	vips := []Address{addr("192.0.2.10/32", "va"), addr("2001:db8::10/128", "va")}
	ev := watchEvents(t, p)
	start := time.Now()
	for _, a := range vips {
		if err := m.Add(a); err != nil {
			t.Fatalf("Add(%v): %v", a, err)
		}
	}
	bound := l.Lifetime + 2*time.Second
	for _, a := range vips {
		waitFor(t, a.String()+" deleted by the kernel", bound, func() (bool, error) {
			_, del, _, _ := ev.counts(a.Prefix.Addr())
			return del > 0 && !leaseOf(t, p.hA, "va", a.Prefix, l).Present, nil
		})
		t.Logf("%v gone %v after Add (lifetime %v)", a.Prefix, time.Since(start).Round(time.Millisecond), l.Lifetime)
	}
	missing, err := m.Refresh(vips)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if diff := cmp.Diff(vips, missing, cmpAddr); diff != "" {
		t.Errorf("Refresh missing (-want +got):\n%s", diff)
	}
	for _, a := range vips {
		if leaseOf(t, p.hA, "va", a.Prefix, l).Present {
			t.Errorf("Refresh re-created %v; it must only renew", a)
		}
	}
}

// TestLeaseRefreshNoDevice checks that a missing interface is an error, not
// a missing address to re-add.
func TestLeaseRefreshNoDevice(t *testing.T) {
	p := newVethPair(t, true)
	m := leasedManager(t, p.hA, DefaultLease())
	missing, err := m.Refresh([]Address{addr("192.0.2.10/32", "nosuch")})
	if err == nil || len(missing) != 0 {
		t.Errorf("Refresh on a missing interface = %v, %v; want an error and nothing missing", missing, err)
	}
}

func ipNetOf(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// BenchmarkLeaseRefresh measures one renewal tick's netlink work (one dump,
// one replace per VIP) for n VIPs on one interface: the loop time the lease
// costs every 250 ms.
func BenchmarkLeaseRefresh(b *testing.B) {
	for _, n := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("vips=%d", n), func(b *testing.B) {
			p := newVethPair(b, false)
			m, err := NewManager(p.hA).WithLease(DefaultLease())
			if err != nil {
				b.Fatal(err)
			}
			vips := make([]Address, n)
			for i := range vips {
				vips[i] = addr(fmt.Sprintf("198.51.100.%d/32", i+1), "va")
				if err := m.Add(vips[i]); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if missing, err := m.Refresh(vips); err != nil || len(missing) > 0 {
					b.Fatalf("Refresh: missing %v, err %v", missing, err)
				}
			}
		})
	}
}

// BenchmarkLeaseRenewal compares ways of renewing 255 VIPs on one interface
// (one op = one renewal tick): the dump and a replace per VIP on one kept
// socket (the renewer's, Manager.Renewer), the same on the zero Handle (a
// socket per request: the loop's manager, which renewed before the
// renewer), and replaces alone without the dump (what dropping the dump
// would cost; it cannot tell a lapsed VIP from a present one).
func BenchmarkLeaseRenewal(b *testing.B) {
	const n = 255
	setup := func(b *testing.B) (*vethPair, []Address) {
		p := newVethPair(b, false)
		m, err := NewManager(p.hA).WithLease(DefaultLease())
		if err != nil {
			b.Fatal(err)
		}
		vips := make([]Address, n)
		for i := range vips {
			vips[i] = addr(fmt.Sprintf("198.51.100.%d/32", i+1), "va")
			if i == 254 {
				vips[i] = addr("192.0.2.250/32", "va")
			}
			if err := m.Add(vips[i]); err != nil {
				b.Fatal(err)
			}
		}
		return p, vips
	}
	run := func(b *testing.B, p *vethPair, tick func() error) {
		err := inNS(p.nsA, func() error {
			for b.Loop() {
				if err := tick(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("dump+replace/renewer-socket", func(b *testing.B) {
		p, vips := setup(b)
		var m *Manager
		if err := inNS(p.nsA, func() error {
			base, err := NewManager(nil).WithLease(DefaultLease())
			if err != nil {
				return err
			}
			m, err = base.Renewer(0, false)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		run(b, p, func() error { _, err := m.Refresh(vips); return err })
	})
	b.Run("dump+replace/socket-per-request", func(b *testing.B) {
		p, vips := setup(b)
		m, err := NewManager(nil).WithLease(DefaultLease())
		if err != nil {
			b.Fatal(err)
		}
		run(b, p, func() error { _, err := m.Refresh(vips); return err })
	})
	b.Run("replace-only/renewer-socket", func(b *testing.B) {
		p, vips := setup(b)
		m, err := NewManager(p.hA).WithLease(DefaultLease())
		if err != nil {
			b.Fatal(err)
		}
		link, err := m.link("va")
		if err != nil {
			b.Fatal(err)
		}
		run(b, p, func() error {
			for _, a := range vips {
				if err := m.replace(link, a); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
