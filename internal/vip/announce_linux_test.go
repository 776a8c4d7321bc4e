//go:build linux

package vip

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ethPAll is ETH_P_ALL: the capture sees every frame on vb.
const ethPAll = 0x0003

// capture is an AF_PACKET socket opened inside the peer namespace.
type capture struct {
	c *packet.Conn
}

func newCapture(t testing.TB, p *vethPair) *capture {
	t.Helper()
	var c *packet.Conn
	err := inNS(p.nsB, func() error {
		ifi, err := net.InterfaceByName("vb")
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, ethPAll, nil)
		return err
	})
	if err != nil {
		t.Fatalf("capture on vb: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &capture{c: c}
}

// announcement is one GARP or NA seen on the wire, reduced to what a test
// compares. Exactly one of GARP and NA is set.
type announcement struct {
	GARP *garpView
	NA   *naWire
}

// naWire is the IPv6 and ICMPv6 fields of an unsolicited NA on the wire.
type naWire struct {
	EthDst, EthSrc string
	Src, Dst       string
	HopLimit       int
	NA             naView
}

// next returns the next GARP or NA sent from src, skipping other traffic
// (router solicitations, MLD, our own peer's frames); bounded in frames and
// time.
func (c *capture) next(t *testing.T, src net.HardwareAddr) announcement {
	t.Helper()
	if err := c.c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	buf := make([]byte, 2048)
	for range 1000 {
		n, _, err := c.c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("capture read: %v", err)
		}
		if a, ok := decodeAnnouncement(t, buf[:n], src); ok {
			return a
		}
	}
	t.Fatalf("no announcement in 1000 frames")
	return announcement{}
}

func decodeAnnouncement(t *testing.T, b []byte, src net.HardwareAddr) (announcement, bool) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil || f.Source.String() != src.String() {
		return announcement{}, false
	}
	switch f.EtherType {
	case ethernet.EtherTypeARP:
		v := parseGARP(t, b)
		return announcement{GARP: &v}, true
	case ethernet.EtherTypeIPv6:
		return decodeNA(t, f)
	}
	return announcement{}, false
}

// decodeNA parses the fixed IPv6 header by hand (no extension headers on
// an NA) and the ICMPv6 body with ndp.
func decodeNA(t *testing.T, f ethernet.Frame) (announcement, bool) {
	b := f.Payload
	const ipv6HeaderLen, icmpv6 = 40, 58
	if len(b) < ipv6HeaderLen+1 || b[6] != icmpv6 || b[ipv6HeaderLen] != uint8(136) {
		return announcement{}, false
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	if len(b) < ipv6HeaderLen+plen {
		return announcement{}, false
	}
	m, err := ndp.ParseMessage(b[ipv6HeaderLen : ipv6HeaderLen+plen])
	if err != nil {
		t.Fatalf("parse NA: %v", err)
	}
	src, _ := netip.AddrFromSlice(b[8:24])
	dst, _ := netip.AddrFromSlice(b[24:40])
	return announcement{NA: &naWire{
		EthDst: f.Destination.String(), EthSrc: f.Source.String(),
		Src: src.String(), Dst: dst.String(), HopLimit: int(b[7]),
		NA: viewNA(t, m),
	}}, true
}

// announceSetup is a pair with VIPs installed on va, an Announcer living in
// va's namespace and a capture on vb.
type announceSetup struct {
	p         *vethPair
	n         *Announcer
	cap       *capture
	mac       net.HardwareAddr
	linkLocal netip.Addr
}

func newAnnounceSetup(t testing.TB, vips ...Address) *announceSetup {
	t.Helper()
	p := newVethPair(t, false)
	m := NewManager(p.hA)
	for _, a := range vips {
		if err := m.Add(a); err != nil {
			t.Fatalf("Add(%v): %v", a, err)
		}
	}
	s := &announceSetup{p: p, n: NewAnnouncer(), cap: newCapture(t, p)}
	t.Cleanup(func() { _ = s.n.Close() })
	link, err := p.hA.LinkByName("va")
	if err != nil {
		t.Fatalf("link va: %v", err)
	}
	s.mac = link.Attrs().HardwareAddr
	s.linkLocal = waitLinkLocal(t, p.hA, link)
	return s
}

// waitLinkLocal polls until link has a usable (not tentative) link-local
// address and returns it.
func waitLinkLocal(t testing.TB, h *netlink.Handle, link netlink.Link) netip.Addr {
	t.Helper()
	var ll netip.Addr
	waitFor(t, "usable link-local on "+link.Attrs().Name, 5*time.Second, func() (bool, error) {
		addrs, err := h.AddrList(link, netlink.FAMILY_V6)
		for _, a := range addrs {
			ip, _ := netip.AddrFromSlice(a.IP)
			if ip.IsLinkLocalUnicast() && a.Flags&unix.IFA_F_TENTATIVE == 0 {
				ll = ip
				return true, nil
			}
		}
		return false, err
	})
	return ll
}

// announce runs Announce in va's namespace (interface lookup and socket
// creation happen there; the cached sockets stay bound to it).
func (s *announceSetup) announce(t *testing.T, a Address) {
	t.Helper()
	if err := inNS(s.p.nsA, func() error { return s.n.Announce(a) }); err != nil {
		t.Fatalf("Announce(%v): %v", a, err)
	}
}

// seedNeighbor plants a stale, wrong MAC for ip in vb's neighbour cache, so
// the test sees the announcement correct it (Linux only creates entries from
// gratuitous ARP with arp_accept, but always updates existing ones).
func (s *announceSetup) seedNeighbor(t *testing.T, ip string) {
	t.Helper()
	mustIP(t, "-n", s.p.nameB, "neigh", "replace", ip, "lladdr", "02:00:00:00:00:99", "dev", "vb", "nud", "stale")
}

// waitNeighbor polls vb's neighbour cache until ip maps to mac.
func (s *announceSetup) waitNeighbor(t *testing.T, ip netip.Addr, mac net.HardwareAddr, wantRouter bool) {
	t.Helper()
	link, err := s.p.hB.LinkByName("vb")
	if err != nil {
		t.Fatalf("link vb: %v", err)
	}
	family := netlink.FAMILY_V4
	if ip.Is6() {
		family = netlink.FAMILY_V6
	}
	waitFor(t, "peer neighbour "+ip.String()+" -> "+mac.String(), 5*time.Second, func() (bool, error) {
		neighs, err := s.p.hB.NeighList(link.Attrs().Index, family)
		for _, n := range neighs {
			got, _ := netip.AddrFromSlice(n.IP)
			if got.Unmap() != ip {
				continue
			}
			router := n.Flags&unix.NTF_ROUTER != 0
			if n.HardwareAddr.String() == mac.String() && router == wantRouter {
				return true, nil
			}
			return false, errors.New("entry is " + n.HardwareAddr.String())
		}
		return false, err
	})
}

func TestAnnounceOnWire(t *testing.T) {
	v4 := addr("192.0.2.10/32", "va")
	v6 := addr("2001:db8::10/128", "va")
	s := newAnnounceSetup(t, v4, v6)
	tests := []struct {
		name string
		a    Address
		want func() announcement
	}{
		{
			name: "gratuitous ARP",
			a:    v4,
			want: func() announcement {
				return announcement{GARP: &garpView{
					EthDst: "ff:ff:ff:ff:ff:ff", EthSrc: s.mac.String(), EtherType: ethernet.EtherTypeARP,
					Op: 1, SenderMAC: s.mac.String(), SenderIP: "192.0.2.10",
					TargetMAC: "ff:ff:ff:ff:ff:ff", TargetIP: "192.0.2.10",
				}}
			},
		},
		{
			name: "unsolicited NA",
			a:    v6,
			want: func() announcement {
				return announcement{NA: &naWire{
					EthDst: "33:33:00:00:00:01", EthSrc: s.mac.String(),
					Src: s.linkLocal.String(), Dst: "ff02::1", HopLimit: 255,
					NA: naView{Router: true, Override: true, Target: "2001:db8::10", TLLA: s.mac.String(), Options: 1},
				}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.seedNeighbor(t, tt.a.Prefix.Addr().String())
			s.announce(t, tt.a)
			if diff := cmp.Diff(tt.want(), s.cap.next(t, s.mac)); diff != "" {
				t.Errorf("on the wire (-want +got):\n%s", diff)
			}
			// Real-world effect: the peer's stale entry now points at va.
			// The NA's R flag also marks the neighbour as a router.
			s.waitNeighbor(t, tt.a.Prefix.Addr(), s.mac, tt.a.Prefix.Addr().Is6())
		})
	}
}

func TestAnnounceBurstOnWire(t *testing.T) {
	vips := []Address{addr("192.0.2.10/32", "va"), addr("192.0.2.11/32", "va"), addr("2001:db8::10/128", "va")}
	s := newAnnounceSetup(t, vips...)
	const repeat = 3
	err := inNS(s.p.nsA, func() error { return s.n.AnnounceBurst(context.Background(), vips, repeat) })
	if err != nil {
		t.Fatalf("AnnounceBurst: %v", err)
	}
	var want, got []string
	for range repeat {
		want = append(want, "192.0.2.10", "192.0.2.11", "2001:db8::10")
	}
	for range len(want) {
		a := s.cap.next(t, s.mac)
		if a.GARP != nil {
			got = append(got, a.GARP.SenderIP)
		} else {
			got = append(got, a.NA.NA.Target)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("burst order on the wire (-want +got):\n%s", diff)
	}
}

// recreateVA deletes va and makes a new one of the same name (a new
// ifindex, a new MAC, a new link-local: DAD off as on the old one) whose
// peer vb2 is in the B namespace, and returns a capture on vb2 and the new
// va's MAC and link-local. Frames captured on vb2 can only have left
// through the new va.
func recreateVA(t *testing.T, s *announceSetup) (*capture, net.HardwareAddr, netip.Addr) {
	t.Helper()
	old, err := s.p.hA.LinkByName("va")
	if err != nil {
		t.Fatalf("link va: %v", err)
	}
	mustIP(t, "-n", s.p.nameA, "link", "del", "va")
	mustIP(t, "-n", s.p.nameA, "link", "add", "va", "type", "veth", "peer", "name", "vb2", "netns", s.p.nameB)
	mustIP(t, "netns", "exec", s.p.nameA, "sysctl", "-qw", "net.ipv6.conf.va.accept_dad=0")
	mustIP(t, "-n", s.p.nameA, "link", "set", "va", "up")
	mustIP(t, "-n", s.p.nameB, "link", "set", "vb2", "up")
	cap2 := &capture{}
	err = inNS(s.p.nsB, func() error {
		ifi, err := net.InterfaceByName("vb2")
		if err != nil {
			return err
		}
		cap2.c, err = packet.Listen(ifi, packet.Raw, ethPAll, nil)
		return err
	})
	if err != nil {
		t.Fatalf("capture on vb2: %v", err)
	}
	t.Cleanup(func() { _ = cap2.c.Close() })
	link, err := s.p.hA.LinkByName("va")
	if err != nil {
		t.Fatalf("link va: %v", err)
	}
	if link.Attrs().Index == old.Attrs().Index {
		t.Fatalf("re-created va kept ifindex %d", old.Attrs().Index)
	}
	return cap2, link.Attrs().HardwareAddr, waitLinkLocal(t, s.p.hA, link)
}

// TestAnnounceInterfaceRecreated deletes and re-creates va between two
// announcements: the cached socket is bound to the dead ifindex, so the
// Announcer must notice and reopen.
func TestAnnounceInterfaceRecreated(t *testing.T) {
	v4 := addr("192.0.2.10/32", "va")
	s := newAnnounceSetup(t, v4)
	s.announce(t, v4)
	s.cap.next(t, s.mac)

	cap2, mac, _ := recreateVA(t, s)
	s.announce(t, v4)
	got := cap2.next(t, mac)
	if got.GARP == nil {
		t.Fatalf("want a GARP after re-create, got %+v", got)
	}
	if diff := cmp.Diff("192.0.2.10", got.GARP.SenderIP); diff != "" {
		t.Errorf("GARP after re-create (-want +got):\n%s", diff)
	}
}

// TestAnnounceInterfaceRecreatedIPv6 is the same for an unsolicited NA.
// Go's net package and x/net's internal/socket each cache interface
// name -> index and refresh at most once a minute or on an unknown name; a
// re-created name is not unknown, so an NA socket bound to fe80::..%va, or
// a write to ff02::1%va, used the dead index for up to a minute (bind: no
// such device; sendmsg: invalid argument). keepalived 2.2.7 announces at
// once (TestNoAcceptLinkLocalIfindex). The NA must leave through the new
// link (captured on its peer vb2) from its MAC and link-local.
func TestAnnounceInterfaceRecreatedIPv6(t *testing.T) {
	v6 := addr("2001:db8::10/128", "va")
	s := newAnnounceSetup(t, v6)
	s.announce(t, v6)
	if got := s.cap.next(t, s.mac); got.NA == nil {
		t.Fatalf("want an NA before re-create, got %+v", got)
	}

	cap2, mac, ll := recreateVA(t, s)
	s.announce(t, v6)
	want := announcement{NA: &naWire{
		EthDst: "33:33:00:00:00:01", EthSrc: mac.String(),
		Src: ll.String(), Dst: "ff02::1", HopLimit: 255,
		NA: naView{Router: true, Override: true, Target: "2001:db8::10", TLLA: mac.String(), Options: 1},
	}}
	if diff := cmp.Diff(want, cap2.next(t, mac)); diff != "" {
		t.Errorf("NA after re-create (-want +got):\n%s", diff)
	}
}

// TestAnnounceMACChange: the interface cache follows a MAC change (netlink
// RTM_NEWLINK empties it), so announcements soon carry the new MAC. The
// event is asynchronous: the first send after the change may still carry
// the old MAC; the test polls, bounded.
func TestAnnounceMACChange(t *testing.T) {
	v4 := addr("192.0.2.10/32", "va")
	s := newAnnounceSetup(t, v4)
	s.announce(t, v4)
	s.cap.next(t, s.mac)
	if got := s.n.ifis.lookups.Load(); got != 1 {
		t.Fatalf("lookups %d after one announcement, want 1", got)
	}
	s.announce(t, v4)
	s.cap.next(t, s.mac)
	if got := s.n.ifis.lookups.Load(); got != 1 {
		t.Errorf("lookups %d after two announcements, want 1 (cached)", got)
	}
	newMAC := net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}
	mustIP(t, "-n", s.p.nameA, "link", "set", "va", "address", newMAC.String())
	waitFor(t, "a GARP from the new MAC", 5*time.Second, func() (bool, error) {
		if err := inNS(s.p.nsA, func() error { return s.n.Announce(v4) }); err != nil {
			return false, err
		}
		if err := s.cap.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			return false, err
		}
		buf := make([]byte, 2048)
		for range 50 {
			n, _, err := s.cap.c.ReadFrom(buf)
			if err != nil {
				return false, nil
			}
			if a, ok := decodeAnnouncement(t, buf[:n], newMAC); ok && a.GARP != nil {
				return true, nil
			}
		}
		return false, nil
	})
}

// TestAnnounceNoLinkLocal: a link with no IPv6 link-local (addrgenmode
// none) has no NA source; Announce says so by name instead of sending from
// another address (keepalived 2.2.7 would send from the VIP itself).
func TestAnnounceNoLinkLocal(t *testing.T) {
	s := newAnnounceSetup(t)
	mustIP(t, "-n", s.p.nameA, "link", "add", "vc", "type", "veth", "peer", "name", "vd")
	mustIP(t, "-n", s.p.nameA, "link", "set", "vc", "addrgenmode", "none")
	mustIP(t, "-n", s.p.nameA, "link", "set", "vc", "up")
	mustIP(t, "-n", s.p.nameA, "link", "set", "vd", "up")
	err := inNS(s.p.nsA, func() error { return s.n.Announce(addr("2001:db8::10/128", "vc")) })
	if err == nil || !strings.Contains(err.Error(), "no IPv6 link-local address on vc") {
		t.Errorf("Announce on a link without link-local: %v, want the missing link-local named", err)
	}
}
