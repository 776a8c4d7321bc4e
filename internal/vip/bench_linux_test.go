//go:build linux

package vip

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/mdlayher/ndp"
)

func BenchmarkGARPFrame(b *testing.B) {
	ip := netip.MustParseAddr("192.0.2.10")
	for b.Loop() {
		if _, err := garpFrame(testMAC, ip); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnsolicitedNA(b *testing.B) {
	ip := netip.MustParseAddr("2001:db8::10")
	for b.Loop() {
		m, err := unsolicitedNA(testMAC, ip)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ndp.MarshalMessage(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnnounceBurstVeth is one keepalived-default burst (repeat 5) of
// one IPv4 and one IPv6 VIP through real sockets on a veth (root only).
// Each op is 10 frames.
func BenchmarkAnnounceBurstVeth(b *testing.B) {
	vips := []Address{addr("192.0.2.10/32", "va"), addr("2001:db8::10/128", "va")}
	s := newAnnounceSetup(b, vips...)
	err := inNS(s.p.nsA, func() error {
		for b.Loop() {
			if err := s.n.AnnounceBurst(context.Background(), vips, 5); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAnnounce255Transitions is issue 11's profile: 255 instances on
// one veth become master at once, each sending one GARP burst (repeat 1) for
// its own VIP. One op is the 255 bursts. "uncached" is the Announcer before
// the interface cache (an rtnetlink lookup per burst).
func BenchmarkAnnounce255Transitions(b *testing.B) {
	vips := make([]Address, 255)
	for i := range vips {
		vips[i] = addr(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String()+"/32", "va")
	}
	s := newAnnounceSetup(b)
	for _, mode := range []string{"cached", "uncached"} {
		b.Run(mode, func(b *testing.B) {
			n := NewAnnouncer()
			if mode == "uncached" {
				n.watch = nil
			}
			defer n.Close()
			err := inNS(s.p.nsA, func() error {
				for b.Loop() {
					for _, v := range vips {
						if err := n.AnnounceBurst(context.Background(), []Address{v}, 1); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n.ifis.lookups.Load())/float64(b.N), "lookups/op")
		})
	}
}

// BenchmarkAnnounceNA is the IPv6 side of a takeover on a veth (root only):
// "burst255" is 255 VIPs announced once each through the cached socket (one
// op = 255 NAs, as 255 instances taking over at once); "reopen" is the first
// NA after a link was re-created (one op = open the NA socket, one NA,
// close).
func BenchmarkAnnounceNA(b *testing.B) {
	vips := make([]Address, 255)
	for i := range vips {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 13: 1, 15: byte(i + 1)})
		vips[i] = addr(ip.String()+"/128", "va")
	}
	s := newAnnounceSetup(b)
	b.Run("burst255", func(b *testing.B) {
		err := inNS(s.p.nsA, func() error {
			for b.Loop() {
				if err := s.n.AnnounceBurst(context.Background(), vips, 1); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	})
	b.Run("reopen", func(b *testing.B) {
		err := inNS(s.p.nsA, func() error {
			ifi, err := net.InterfaceByName("va")
			if err != nil {
				return err
			}
			m, err := unsolicitedNA(ifi.HardwareAddr, vips[0].Prefix.Addr())
			if err != nil {
				return err
			}
			for b.Loop() {
				w, err := openNDSocket(ifi)
				if err != nil {
					return err
				}
				err = w.WriteTo(m, nil, netip.IPv6LinkLocalAllNodes())
				_ = w.Close()
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	})
}
