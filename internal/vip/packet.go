package vip

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// Pure message builders: no sockets, so the wire format is unit-tested
// without root.

// garpFrame builds the Ethernet frame of one gratuitous ARP for ip: an ARP
// request with sender IP = target IP = ip, sender MAC = mac, and broadcast
// as both the Ethernet destination and the target MAC. The broadcast target
// MAC matches what keepalived 2.2.7 sends (checked with tcpdump); RFC 5227
// says receivers ignore that field.
func garpFrame(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("vip: gratuitous ARP needs a 6-byte MAC, have %q", mac.String())
	}
	if !ip.Is4() {
		return nil, fmt.Errorf("vip: gratuitous ARP for non-IPv4 address %s", ip)
	}
	p, err := arp.NewPacket(arp.OperationRequest, mac, ip, ethernet.Broadcast, ip)
	if err != nil {
		return nil, fmt.Errorf("vip: build ARP: %w", err)
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("vip: marshal ARP: %w", err)
	}
	f := &ethernet.Frame{
		Destination: ethernet.Broadcast,
		Source:      mac,
		EtherType:   ethernet.EtherTypeARP,
		Payload:     pb,
	}
	fb, err := f.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("vip: marshal Ethernet: %w", err)
	}
	return fb, nil
}

// unsolicitedNA builds the Neighbor Advertisement RFC 9568 section 6.4.2 asks
// a new master to send: R=1 (we are a router), S=0 (nobody asked), O=1
// (replace cached entries), target = the VIP, target link-layer address
// option = the interface MAC. keepalived 2.2.7 differs (seen with tcpdump):
// it sends from the VIP itself with R=0; peers update their cache either way.
func unsolicitedNA(mac net.HardwareAddr, ip netip.Addr) (*ndp.NeighborAdvertisement, error) {
	if len(mac) == 0 {
		return nil, fmt.Errorf("vip: neighbor advertisement needs a link-layer address")
	}
	if !ip.Is6() || ip.Is4In6() {
		return nil, fmt.Errorf("vip: neighbor advertisement for non-IPv6 address %s", ip)
	}
	return &ndp.NeighborAdvertisement{
		Router:        true,
		Solicited:     false,
		Override:      true,
		TargetAddress: ip.WithZone(""),
		Options: []ndp.Option{
			&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac},
		},
	}, nil
}
