package transport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// rawConn is a raw IPPROTO 112 socket bound to one interface.
type rawConn struct {
	ifi  *net.Interface
	ipv6 bool
	ttl  int
	pc   net.PacketConn
	p4   *ipv4.PacketConn // exactly one of p4, p6 is set; used for options
	p6   *ipv6.PacketConn
	io   *rawIO // the allocation-free read/write path

	joinMu sync.Mutex  // serialises JoinMulticast
	joined atomic.Bool // read per packet by ReadFrom

	initRcvbuf int // SO_RCVBUF as opened: the system default (rcvbuf_linux.go)

	grp       netip.Addr // the multicast group JoinMulticast joins
	groupOnly bool       // a socket for a non-default group: no unicast users

	res rawReservation // the one reservation of the send side, guarded by io.wmu (batch_send_linux.go)
}

// Listen opens a raw VRRP socket on cfg.Interface: bound to the device so it
// sees only that link's traffic, TTL/hop limit 255 for unicast and multicast,
// multicast loopback off, control messages for TTL, destination and interface.
// IPV6_CHECKSUM is deliberately not set: the kernel would silently drop bad
// checksums that govrrp wants to count. Reads and writes allocate nothing.
// The socket is tied to the interface's current index: if the link is deleted
// and recreated, open a new one.
func Listen(cfg Config) (Conn, error) {
	c, err := open(cfg, 255)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func open(cfg Config, ttl int) (*rawConn, error) {
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	network, laddr := "ip4:112", "0.0.0.0"
	if cfg.IPv6 {
		network, laddr = "ip6:112", "::"
	}
	// Bind to the device in Control, before bind(2), to shrink the window in
	// which other links' packets can queue; ReadFrom filters any stragglers.
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		if err := bindToDevice(rc, cfg.Interface); err != nil {
			return err
		}
		return multicastOnlyJoined(rc, cfg.IPv6)
	}}
	pc, err := lc.ListenPacket(context.Background(), network, laddr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s on %s: %w", network, cfg.Interface, err)
	}
	c := &rawConn{ifi: ifi, ipv6: cfg.IPv6, ttl: ttl, pc: pc, grp: cfg.Group(), groupOnly: cfg.customGroup().IsValid()}
	ipc, ok := pc.(*net.IPConn)
	if !ok {
		pc.Close()
		return nil, fmt.Errorf("transport: listen on %s: unexpected conn type %T", cfg.Interface, pc)
	}
	rc, err := ipc.SyscallConn()
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("transport: listen on %s: %w", cfg.Interface, err)
	}
	c.io = newRawIO(rc, cfg.IPv6, ifi.Index)
	if cfg.IPv6 {
		c.p6 = ipv6.NewPacketConn(pc)
		err = c.setup6()
	} else {
		c.p4 = ipv4.NewPacketConn(pc)
		err = c.setup4()
	}
	if err == nil {
		err = c.setupRcvbuf() // rcvbuf_linux.go
	}
	if err == nil && cfg.Multicast {
		err = c.JoinMulticast()
	}
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("transport: listen on %s: %w", cfg.Interface, err)
	}
	return c, nil
}

func bindToDevice(rc syscall.RawConn, ifname string) error {
	var serr error
	err := rc.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), ifname) })
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("transport: SO_BINDTODEVICE %s: %w", ifname, err)
	}
	return nil
}

// multicastOnlyJoined turns off IP_MULTICAST_ALL, which by default hands a
// raw socket every group any socket on the host joined: a unicast-only socket
// must not see adverts because another socket joined 224.0.0.18. IPv6 raw
// sockets bound to :: ignore IPV6_MULTICAST_ALL, so ReadFrom filters instead.
func multicastOnlyJoined(rc syscall.RawConn, ipv6 bool) error {
	if ipv6 {
		return nil
	}
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("transport: clear multicast-all: %w", err)
	}
	return nil
}

// setupStep is one socket option to set, named for the error message.
type setupStep struct {
	what string
	err  func() error
}

func applySteps(steps []setupStep) error {
	for _, s := range steps {
		if err := s.err(); err != nil {
			return fmt.Errorf("set %s: %w", s.what, err)
		}
	}
	return nil
}

func (c *rawConn) setup4() error {
	p := c.p4
	return applySteps([]setupStep{
		{"control messages", func() error { return p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true) }},
		{"ttl", func() error { return p.SetTTL(c.ttl) }},
		{"multicast ttl", func() error { return p.SetMulticastTTL(c.ttl) }},
		{"multicast loopback", func() error { return p.SetMulticastLoopback(false) }},
		{"multicast interface", func() error { return p.SetMulticastInterface(c.ifi) }},
	})
}

func (c *rawConn) setup6() error {
	p := c.p6
	return applySteps([]setupStep{
		{"control messages", func() error {
			return p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true)
		}},
		{"hop limit", func() error { return p.SetHopLimit(c.ttl) }},
		{"multicast hop limit", func() error { return p.SetMulticastHopLimit(c.ttl) }},
		{"multicast loopback", func() error { return p.SetMulticastLoopback(false) }},
		{"multicast interface", func() error { return p.SetMulticastInterface(c.ifi) }},
	})
}

// JoinMulticast joins the socket's group (224.0.0.18 / ff02::12 unless
// Config.McastGroup) on the bound interface; joining twice is a no-op.
func (c *rawConn) JoinMulticast() error {
	c.joinMu.Lock()
	defer c.joinMu.Unlock()
	if c.joined.Load() {
		return nil
	}
	var err error
	if c.ipv6 {
		err = c.p6.JoinGroup(c.ifi, &net.IPAddr{IP: c.grp.AsSlice(), Zone: c.ifi.Name})
	} else {
		err = c.p4.JoinGroup(c.ifi, &net.IPAddr{IP: c.grp.AsSlice()})
	}
	if err != nil {
		return fmt.Errorf("transport: join VRRP group on %s: %w", c.ifi.Name, err)
	}
	c.joined.Store(true)
	return nil
}

// ReadFrom reads one VRRP message. It skips packets that arrived on another
// interface (possible only before SO_BINDTODEVICE took effect) and multicast
// this socket did not join (the kernel delivers it to IPv6 raw sockets).
func (c *rawConn) ReadFrom(b []byte) (int, Meta, error) {
	for {
		n, m, err := c.read(b)
		if err != nil {
			return 0, Meta{}, err
		}
		if c.wanted(m) {
			return n, m, nil
		}
	}
}

func (c *rawConn) wanted(m Meta) bool {
	if m.Ifindex != 0 && m.Ifindex != c.ifi.Index {
		return false
	}
	if m.Dst.IsMulticast() {
		return c.joined.Load() && m.Dst == c.grp
	}
	// Unicast adverts belong to the default-group socket, which unicast
	// instances share; a socket of another group would only count them.
	return !c.groupOnly
}

func (c *rawConn) read(b []byte) (int, Meta, error) {
	m := Meta{TTL: -1}
	n, err := c.io.read(b, &m)
	return n, m, err
}

// WriteTo sends b from src to dst out of the bound interface. The source is
// pinned with IP(V6)_PKTINFO so it is exactly the address the VRRP checksum
// was computed over; the kernel rejects a src that is not ours.
func (c *rawConn) WriteTo(b []byte, src, dst netip.Addr) error {
	src, dst = src.Unmap(), dst.Unmap()
	if err := c.checkFamily(src, dst); err != nil {
		return err
	}
	if err := c.io.write(b, src, dst, c.ttl); err != nil {
		return fmt.Errorf("transport: send %s -> %s on %s: %w", src, dst, c.ifi.Name, err)
	}
	return nil
}

// WriteWithTTL is WriteTo with another TTL / hop limit (keepalived's
// unicast_ttl); IPv4 needs 1..255, IPv6 0..255.
func (c *rawConn) WriteWithTTL(b []byte, src, dst netip.Addr, ttl int) error {
	src, dst = src.Unmap(), dst.Unmap()
	if err := c.checkFamily(src, dst); err != nil {
		return err
	}
	if ttl < 0 || ttl > 255 || (!c.ipv6 && ttl == 0) {
		return fmt.Errorf("transport: send on %s: ttl %d out of range", c.ifi.Name, ttl)
	}
	if err := c.io.write(b, src, dst, ttl); err != nil {
		return fmt.Errorf("transport: send %s -> %s on %s: %w", src, dst, c.ifi.Name, err)
	}
	return nil
}

func (c *rawConn) checkFamily(src, dst netip.Addr) error {
	if !src.IsValid() || !dst.IsValid() {
		return fmt.Errorf("transport: send on %s: invalid src %v or dst %v", c.ifi.Name, src, dst)
	}
	if src.Is6() != c.ipv6 || dst.Is6() != c.ipv6 {
		return fmt.Errorf("transport: send on %s: src %s / dst %s do not match the socket family", c.ifi.Name, src, dst)
	}
	return nil
}

// SetReadDeadline lets Mux.Run stop without closing the socket.
func (c *rawConn) SetReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }

// Close closes the socket; a blocked ReadFrom returns net.ErrClosed.
func (c *rawConn) Close() error { return c.pc.Close() }

// PrimaryAddr returns the default VRRP source of ifname: its first IPv4
// address, or its first IPv6 link-local address.
func PrimaryAddr(ifname string, ipv6 bool) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("transport: primary address: %w", err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("transport: primary address of %s: %w", ifname, err)
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipToAddr(n.IP)
		if !ipv6 && ip.Is4() {
			return ip, nil
		}
		if ipv6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	family := "IPv4"
	if ipv6 {
		family = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("transport: no %s address on %s", family, ifname)
}

// WriteRaw sends one message with an arbitrary TTL / hop limit from a
// throw-away socket. It is for tests and tooling that forge adverts (e.g. a
// TTL other than 255, which receivers must drop); daemons use Listen.
// IPv4 needs ttl in 1..255, IPv6 in 0..255.
func WriteRaw(ifname string, src, dst netip.Addr, ttl int, payload []byte) error {
	src, dst = src.Unmap(), dst.Unmap()
	if ttl < 0 || ttl > 255 || (dst.Is4() && ttl == 0) {
		return fmt.Errorf("transport: write raw: ttl %d out of range", ttl)
	}
	c, err := open(Config{Interface: ifname, IPv6: dst.Is6()}, ttl)
	if err != nil {
		return fmt.Errorf("transport: write raw: %w", err)
	}
	defer c.Close()
	return c.WriteTo(payload, src, dst)
}

func ipToAddr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}
