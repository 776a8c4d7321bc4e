package bfd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// netIO is the Manager's seam to the network: the shared listening sockets
// (one per family) and one sending socket per session.
type netIO interface {
	// listen opens the family's port-3784 socket once; its reader hands
	// every datagram to deliver, which never blocks.
	listen(v4 bool, deliver func(rxPacket)) error
	open(c Config) (sessionConn, error)
	// close closes the listeners and waits for their readers to end.
	close()
}

type sessionConn interface {
	send(b []byte) error
	close() error
}

// udpIO is netIO on the host's UDP sockets (RFC 5881).
type udpIO struct {
	log    *slog.Logger
	mu     sync.Mutex
	v4, v6 net.PacketConn
	closed bool
	wg     sync.WaitGroup
}

func newUDPIO(log *slog.Logger) *udpIO { return &udpIO{log: log} }

// maxPacket bounds a read: a control packet is 24 bytes, 28-52 with
// authentication; anything longer is read truncated and fails Decode.
const maxPacket = 128

func (u *udpIO) listen(v4 bool, deliver func(rxPacket)) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return ErrClosed
	}
	if (v4 && u.v4 != nil) || (!v4 && u.v6 != nil) {
		return nil
	}
	network, addr := "udp6", fmt.Sprintf("[::]:%d", Port) // udp6 is IPV6_V6ONLY in Go
	if v4 {
		network, addr = "udp4", fmt.Sprintf("0.0.0.0:%d", Port)
	}
	c, err := (&net.ListenConfig{}).ListenPacket(context.Background(), network, addr)
	if err != nil {
		return err
	}
	var read func([]byte) (int, netip.Addr, netip.Addr, uint8, error)
	if v4 {
		pc := ipv4.NewPacketConn(c)
		if err := pc.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst, true); err != nil {
			c.Close()
			return err
		}
		read = func(b []byte) (int, netip.Addr, netip.Addr, uint8, error) {
			n, cm, src, err := pc.ReadFrom(b)
			if err != nil || cm == nil {
				return n, addrOf(src), netip.Addr{}, 0, err
			}
			dst, _ := netip.AddrFromSlice(cm.Dst)
			return n, addrOf(src), dst, uint8(cm.TTL), nil
		}
		u.v4 = c
	} else {
		pc := ipv6.NewPacketConn(c)
		if err := pc.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst, true); err != nil {
			c.Close()
			return err
		}
		read = func(b []byte) (int, netip.Addr, netip.Addr, uint8, error) {
			n, cm, src, err := pc.ReadFrom(b)
			if err != nil || cm == nil {
				return n, addrOf(src), netip.Addr{}, 0, err
			}
			dst, _ := netip.AddrFromSlice(cm.Dst)
			return n, addrOf(src), dst, uint8(cm.HopLimit), nil
		}
		u.v6 = c
	}
	u.wg.Go(func() {
		if err := readLoop(read, deliver); err != nil {
			u.log.Error("bfd: listener stopped: sessions of this family will time out", "network", network, "err", err)
		}
	})
	return nil
}

// readLoop ends when its socket is closed. Other read errors (ICMP
// reports, ...) are skipped; more than maxErrors in a row end it too, so
// the loop is bounded even on a broken socket.
func readLoop(read func([]byte) (int, netip.Addr, netip.Addr, uint8, error), deliver func(rxPacket)) error {
	const maxErrors = 1000
	buf := make([]byte, maxPacket)
	var last error
	for errs := 0; errs < maxErrors; {
		n, src, dst, ttl, err := read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			errs, last = errs+1, err
			continue
		}
		errs = 0
		deliver(rxPacket{b: slices.Clone(buf[:n]), src: src, dst: dst, ttl: ttl, at: time.Now()})
	}
	return fmt.Errorf("%d read errors in a row, the last: %w", maxErrors, last)
}

func addrOf(a net.Addr) netip.Addr {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort().Addr()
	}
	return netip.Addr{}
}

func (u *udpIO) close() {
	u.mu.Lock()
	u.closed = true
	for _, c := range []net.PacketConn{u.v4, u.v6} {
		if c != nil {
			_ = c.Close()
		}
	}
	u.mu.Unlock()
	u.wg.Wait()
}

// RFC 5881 4: the source port MUST be in 49152-65535 and the same for the
// session's life.
const (
	srcPortMin   = 49152
	srcPortCount = 65536 - srcPortMin
	portTries    = 64
)

func (u *udpIO) open(c Config) (sessionConn, error) {
	v4 := c.Neighbor.Unmap().Is4()
	network, src := "udp6", c.Source
	if v4 {
		network, src = "udp4", c.Source.Unmap()
	}
	if !src.IsValid() {
		src = netip.IPv6Unspecified()
		if v4 {
			src = netip.IPv4Unspecified()
		}
	}
	var conn *net.UDPConn
	var err error
	for range portTries {
		port := uint16(srcPortMin + rand.IntN(srcPortCount))
		conn, err = net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, port)))
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bind %v: %w", src, err)
	}
	if v4 {
		err = ipv4.NewConn(conn).SetTTL(int(c.TTL))
	} else {
		err = ipv6.NewConn(conn).SetHopLimit(int(c.HopLimit))
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	// Nothing is read from it (replies come to port 3784): a small buffer.
	_ = conn.SetReadBuffer(2048)
	dst := c.Neighbor
	if v4 {
		dst = dst.Unmap()
	} else if dst.Zone() == "" && c.Source.Zone() != "" {
		dst = dst.WithZone(c.Source.Zone())
	}
	return &udpConn{c: conn, dst: netip.AddrPortFrom(dst, Port)}, nil
}

type udpConn struct {
	c   *net.UDPConn
	dst netip.AddrPort
}

func (u *udpConn) send(b []byte) error {
	_, err := u.c.WriteToUDPAddrPort(b, u.dst)
	return err
}

func (u *udpConn) close() error { return u.c.Close() }

func sortByName(s []SessionStatus) {
	slices.SortFunc(s, func(a, b SessionStatus) int { return strings.Compare(a.Name, b.Name) })
}
