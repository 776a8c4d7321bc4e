//go:build linux

package vip

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// kernelAddr is what the kernel reports for one address, in comparable form.
type kernelAddr struct {
	Label            string
	Scope            int
	Broadcast        string
	NoDAD, Tentative bool
	PreferredForever bool
}

func kernelView(t *testing.T, h *netlink.Handle, dev string, p netip.Prefix) (kernelAddr, bool) {
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
		brd := ""
		if na.Broadcast != nil {
			brd = na.Broadcast.String()
		}
		return kernelAddr{
			Label:            na.Label,
			Scope:            na.Scope,
			Broadcast:        brd,
			NoDAD:            na.Flags&unix.IFA_F_NODAD != 0,
			Tentative:        na.Flags&unix.IFA_F_TENTATIVE != 0,
			PreferredForever: uint32(na.PreferedLft) == math.MaxUint32,
		}, true
	}
	return kernelAddr{}, false
}

func TestManagerIdempotent(t *testing.T) {
	p := newVethPair(t, true)
	m := NewManager(p.hA)
	v4 := addr("192.0.2.10/32", "va")
	v6 := addr("2001:db8::10/128", "va")
	steps := []struct {
		name    string
		op      func() error
		check   Address
		wantHas bool
	}{
		{name: "add v4", op: func() error { return m.Add(v4) }, check: v4, wantHas: true},
		{name: "add v4 again (EEXIST is success)", op: func() error { return m.Add(v4) }, check: v4, wantHas: true},
		{name: "other prefix length is another address", op: func() error { return nil }, check: addr("192.0.2.10/24", "va")},
		{name: "remove v4", op: func() error { return m.Remove(v4) }, check: v4},
		{name: "remove v4 again (absent is success)", op: func() error { return m.Remove(v4) }, check: v4},
		{name: "add v6", op: func() error { return m.Add(v6) }, check: v6, wantHas: true},
		{name: "add v6 again", op: func() error { return m.Add(v6) }, check: v6, wantHas: true},
		{
			name: "v6 identity is the address: other length is EEXIST", check: addr("2001:db8::10/64", "va"),
			op: func() error { return m.Add(addr("2001:db8::10/64", "va")) },
		},
		{name: "remove v6", op: func() error { return m.Remove(v6) }, check: v6},
		{name: "remove v6 again", op: func() error { return m.Remove(v6) }, check: v6},
		{name: "remove on missing interface is success", op: func() error { return m.Remove(addr("192.0.2.10/32", "nosuch")) }, check: v4},
		{
			name: "remove ignores label", check: v4,
			op: func() error {
				if err := m.Add(Address{Prefix: v4.Prefix, Dev: "va", Label: "va:old"}); err != nil {
					return err
				}
				return m.Remove(v4)
			},
		},
	}
	for _, s := range steps {
		if err := s.op(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, err := m.Has(s.check)
		if err != nil {
			t.Fatalf("%s: Has: %v", s.name, err)
		}
		if diff := cmp.Diff(s.wantHas, got); diff != "" {
			t.Errorf("%s: Has(%v) (-want +got):\n%s", s.name, s.check, diff)
		}
	}
}

func TestManagerAttributes(t *testing.T) {
	p := newVethPair(t, true)
	m := NewManager(p.hA)
	tests := []struct {
		name string
		a    Address
		want kernelAddr
	}{
		{
			name: "bare v4: no broadcast, global",
			a:    addr("192.0.2.10/32", "va"),
			want: kernelAddr{Label: "va", PreferredForever: true},
		},
		{
			// Own subnet: the kernel refuses (EINVAL) a secondary whose scope
			// differs from the primary of its subnet (192.0.2.1/24 is global).
			name: "label, scope and broadcast",
			a:    Address{Prefix: netip.MustParsePrefix("198.51.100.20/24"), Dev: "va", Label: "va:vip", Scope: "host", Broadcast: netip.MustParseAddr("198.51.100.255")},
			want: kernelAddr{Label: "va:vip", Scope: int(netlink.SCOPE_HOST), Broadcast: "198.51.100.255", PreferredForever: true},
		},
		{
			name: "numeric scope",
			a:    Address{Prefix: netip.MustParsePrefix("198.51.100.21/32"), Dev: "va", Scope: "200"},
			want: kernelAddr{Label: "va", Scope: int(netlink.SCOPE_SITE), PreferredForever: true},
		},
		{
			// DAD is on for va: without NODAD this address would be tentative
			// for about a second (see the control below).
			name: "v6 nodad, usable at once",
			a:    addr("2001:db8::10/128", "va"),
			want: kernelAddr{NoDAD: true, PreferredForever: true},
		},
		{
			name: "v6 link scope",
			a:    Address{Prefix: netip.MustParsePrefix("fe80::10/64"), Dev: "va", Scope: "link"},
			want: kernelAddr{Scope: int(netlink.SCOPE_LINK), NoDAD: true, PreferredForever: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.Add(tt.a); err != nil {
				t.Fatalf("Add(%v): %v", tt.a, err)
			}
			got, ok := kernelView(t, p.hA, "va", tt.a.Prefix)
			if !ok {
				t.Fatalf("%v not in kernel after Add", tt.a)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("kernel view of %v (-want +got):\n%s", tt.a, diff)
			}
		})
	}

	// Control: the same interface does run DAD, so NODAD above is what
	// made the difference.
	mustIP(t, "-n", p.nameA, "addr", "add", "2001:db8::99/128", "dev", "va")
	got, ok := kernelView(t, p.hA, "va", netip.MustParsePrefix("2001:db8::99/128"))
	if diff := cmp.Diff(true, ok && got.Tentative); diff != "" {
		t.Errorf("control address without nodad should start tentative (%+v) (-want +got):\n%s", got, diff)
	}
}

func TestManagerList(t *testing.T) {
	p := newVethPair(t, true)
	m := NewManager(p.hA)
	for _, a := range []Address{addr("192.0.2.10/32", "va"), addr("2001:db8::10/128", "va")} {
		if err := m.Add(a); err != nil {
			t.Fatalf("Add(%v): %v", a, err)
		}
	}
	got, err := m.List("va")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	// The link-local is kernel-generated; keep the comparison stable.
	got = slices.DeleteFunc(got, func(p netip.Prefix) bool { return p.Addr().IsLinkLocalUnicast() })
	slices.SortFunc(got, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	want := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.1/24"),
		netip.MustParsePrefix("192.0.2.10/32"),
		netip.MustParsePrefix("2001:db8::1/64"),
		netip.MustParsePrefix("2001:db8::10/128"),
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func TestManagerErrors(t *testing.T) {
	p := newVethPair(t, true)
	m := NewManager(p.hA)
	missing := addr("192.0.2.10/32", "nosuch")
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{name: "add on missing interface", op: func() error { return m.Add(missing) }, want: ErrNoDevice},
		{name: "has on missing interface", op: func() error { _, err := m.Has(missing); return err }, want: ErrNoDevice},
		{name: "list on missing interface", op: func() error { _, err := m.List("nosuch"); return err }, want: ErrNoDevice},
		{name: "add invalid label", op: func() error { return m.Add(Address{Prefix: missing.Prefix, Dev: "va", Label: "eth0:1"}) }, want: ErrInvalid},
		{name: "remove without prefix", op: func() error { return m.Remove(Address{Dev: "va"}) }, want: ErrInvalid},
		{name: "has without dev", op: func() error { _, err := m.Has(Address{Prefix: missing.Prefix}); return err }, want: ErrInvalid},
		{name: "list without dev", op: func() error { _, err := m.List(""); return err }, want: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want one wrapping %v", err, tt.want)
			}
		})
	}
}

// TestNewManagerNil checks that a nil handle works in the namespace of the
// calling thread.
func TestNewManagerNil(t *testing.T) {
	p := newVethPair(t, true)
	a := addr("192.0.2.30/32", "va")
	err := inNS(p.nsA, func() error {
		m := NewManager(nil)
		if err := m.Add(a); err != nil {
			return err
		}
		_, err := net.InterfaceByName("va") // proves we are in the pair's namespace
		return err
	})
	if err != nil {
		t.Fatalf("Add in namespace: %v", err)
	}
	if _, ok := kernelView(t, p.hA, "va", a.Prefix); !ok {
		t.Errorf("%v not found through the namespace's own handle", a)
	}
}
