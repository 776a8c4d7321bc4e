//go:build linux

package vip

import (
	"context"
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
