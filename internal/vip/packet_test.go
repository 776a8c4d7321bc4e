package vip

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

var testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x01, 0x33}

// garpView is the wire fields a gratuitous ARP must get right.
type garpView struct {
	EthDst, EthSrc string
	EtherType      ethernet.EtherType
	Op             arp.Operation
	SenderMAC      string
	SenderIP       string
	TargetMAC      string
	TargetIP       string
}

func parseGARP(t *testing.T, b []byte) garpView {
	t.Helper()
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		t.Fatalf("unmarshal Ethernet: %v", err)
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		t.Fatalf("unmarshal ARP: %v", err)
	}
	return garpView{
		EthDst: f.Destination.String(), EthSrc: f.Source.String(), EtherType: f.EtherType,
		Op:        p.Operation,
		SenderMAC: p.SenderHardwareAddr.String(), SenderIP: p.SenderIP.String(),
		TargetMAC: p.TargetHardwareAddr.String(), TargetIP: p.TargetIP.String(),
	}
}

func TestGARPFrame(t *testing.T) {
	tests := []struct {
		name    string
		mac     net.HardwareAddr
		ip      netip.Addr
		want    garpView
		wantErr bool
	}{
		{
			name: "request sender=target=VIP to broadcast",
			mac:  testMAC,
			ip:   netip.MustParseAddr("192.0.2.10"),
			want: garpView{
				EthDst: "ff:ff:ff:ff:ff:ff", EthSrc: testMAC.String(), EtherType: ethernet.EtherTypeARP,
				Op:        arp.OperationRequest,
				SenderMAC: testMAC.String(), SenderIP: "192.0.2.10",
				TargetMAC: "ff:ff:ff:ff:ff:ff", TargetIP: "192.0.2.10",
			},
		},
		{name: "IPv6 address", mac: testMAC, ip: netip.MustParseAddr("2001:db8::1"), wantErr: true},
		{name: "no MAC", ip: netip.MustParseAddr("192.0.2.10"), wantErr: true},
		{name: "8-byte MAC", mac: net.HardwareAddr{1, 2, 3, 4, 5, 6, 7, 8}, ip: netip.MustParseAddr("192.0.2.10"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := garpFrame(tt.mac, tt.ip)
			if (err != nil) != tt.wantErr {
				t.Fatalf("garpFrame error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, parseGARP(t, b)); diff != "" {
				t.Errorf("GARP (-want +got):\n%s", diff)
			}
		})
	}
}

// naView is the ICMPv6 fields an unsolicited NA must get right.
type naView struct {
	Router, Solicited, Override bool
	Target                      string
	TLLA                        string
	Options                     int
}

func viewNA(t *testing.T, m ndp.Message) naView {
	t.Helper()
	na, ok := m.(*ndp.NeighborAdvertisement)
	if !ok {
		t.Fatalf("message is %T, want *ndp.NeighborAdvertisement", m)
	}
	v := naView{Router: na.Router, Solicited: na.Solicited, Override: na.Override, Target: na.TargetAddress.String(), Options: len(na.Options)}
	for _, o := range na.Options {
		if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
			v.TLLA = lla.Addr.String()
		}
	}
	return v
}

func TestUnsolicitedNA(t *testing.T) {
	tests := []struct {
		name    string
		mac     net.HardwareAddr
		ip      netip.Addr
		want    naView
		wantErr bool
	}{
		{
			name: "R=1 S=0 O=1 with TLLA",
			mac:  testMAC,
			ip:   netip.MustParseAddr("2001:db8::10"),
			want: naView{Router: true, Override: true, Target: "2001:db8::10", TLLA: testMAC.String(), Options: 1},
		},
		{name: "IPv4 address", mac: testMAC, ip: netip.MustParseAddr("192.0.2.10"), wantErr: true},
		{name: "mapped address", mac: testMAC, ip: netip.MustParseAddr("::ffff:192.0.2.10"), wantErr: true},
		{name: "no MAC", ip: netip.MustParseAddr("2001:db8::10"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := unsolicitedNA(tt.mac, tt.ip)
			if (err != nil) != tt.wantErr {
				t.Fatalf("unsolicitedNA error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			// Round-trip through the wire format, as the peer would see it.
			b, err := ndp.MarshalMessage(m)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			back, err := ndp.ParseMessage(b)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, viewNA(t, back)); diff != "" {
				t.Errorf("NA (-want +got):\n%s", diff)
			}
		})
	}
}
