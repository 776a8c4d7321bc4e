package vip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ndSocket sends unsolicited NAs out of one interface, naming it only by
// index: bound with SO_BINDTOIFINDEX, the source link-local and the
// outgoing interface in IPV6_PKTINFO, the destination without a zone.
//
// Why not ndp.Listen: it binds fe80::...%NAME and writes to ff02::1%NAME.
// Go's net package and x/net's internal/socket each turn a zone name into
// an index from a cache refreshed at most once a minute or on an unknown
// name. A deleted and re-created interface keeps its name, so both caches
// kept the dead index for up to a minute (bind: no such device; sendmsg:
// invalid argument) while keepalived 2.2.7 announced at once.
type ndSocket struct {
	pc *ipv6.PacketConn
	cm *ipv6.ControlMessage // hop limit 255, Src link-local, IfIndex
}

// WriteTo sends m to dst (its zone, if any, is ignored: the control
// message names the interface); a nil cm means the socket's default.
func (s *ndSocket) WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error {
	b, err := ndp.MarshalMessage(m)
	if err != nil {
		return err
	}
	if cm == nil {
		cm = s.cm
	}
	_, err = s.pc.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

func (s *ndSocket) Close() error { return s.pc.Close() }

// openNDSocket opens a raw ICMPv6 socket on ifi's index that receives
// nothing (we never read it) and sends from ifi's first link-local address
// (the NA's source, as ndp.Listen chose it), hop limit 255 (RFC 4861).
func openNDSocket(ifi *net.Interface) (naWriter, error) {
	src, err := linkLocalOf(ifi)
	if err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return bindToIndex(rc, ifi.Index)
	}}
	c, err := lc.ListenPacket(context.Background(), "ip6:ipv6-icmp", "::")
	if err != nil {
		return nil, err
	}
	pc := ipv6.NewPacketConn(c)
	if err := setupND(pc); err != nil {
		_ = pc.Close()
		return nil, err
	}
	return &ndSocket{pc: pc, cm: &ipv6.ControlMessage{HopLimit: ndp.HopLimit, Src: src.AsSlice(), IfIndex: ifi.Index}}, nil
}

func setupND(pc *ipv6.PacketConn) error {
	if err := pc.SetHopLimit(ndp.HopLimit); err != nil {
		return fmt.Errorf("set hop limit: %w", err)
	}
	if err := pc.SetMulticastHopLimit(ndp.HopLimit); err != nil {
		return fmt.Errorf("set multicast hop limit: %w", err)
	}
	var f ipv6.ICMPFilter
	f.SetAll(true)
	if err := pc.SetICMPFilter(&f); err != nil {
		return fmt.Errorf("set ICMPv6 filter: %w", err)
	}
	return nil
}

// bindToIndex ties the socket to one ifindex before bind(2): a re-created
// interface of the same name is another socket.
func bindToIndex(rc syscall.RawConn, index int) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BINDTOIFINDEX, index)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("bind to ifindex %d: %w", index, serr)
	}
	return nil
}

// linkLocalOf is ifi's first IPv6 link-local address. ifi.Addrs asks the
// kernel by index, never by name.
func linkLocalOf(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() != nil {
			continue
		}
		if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no IPv6 link-local address on %s (ifindex %d)", ifi.Name, ifi.Index)
}
