// Package transport moves VRRP messages (the IP payload, protocol 112) between
// govrrp instances and the network.
//
// One raw socket serves every instance on an interface+family (Pool); a Mux
// hands each received message to the instance owning its VRID (byte 1 of every
// VRRP message). The package never parses or checksums VRRP: a message with a
// bad checksum is delivered like any other so the caller can count it.
//
// Segment is an in-memory link for tests that need no root.
package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Well-known VRRP destinations (RFC 9568 section 5.1.1.2 and 5.1.2.2).
var (
	GroupV4 = netip.MustParseAddr("224.0.0.18")
	GroupV6 = netip.MustParseAddr("ff02::12")
)

// Protocol is the IP protocol number of VRRP.
const Protocol = 112

// MaxMessage is the largest VRRP message we read: the largest IPv6 payload
// without jumbograms. A Mux allocates one buffer of this size.
const MaxMessage = 65535

var (
	// ErrClosed is returned by operations on a closed Conn or Segment Conn.
	ErrClosed = errors.New("transport: use of closed connection")
	// ErrNotImplemented is returned on platforms without raw VRRP sockets.
	ErrNotImplemented = errors.New("transport: not implemented on this platform")
	// ErrVRIDTaken is returned by Mux.Register for a VRID that has a handler.
	ErrVRIDTaken = errors.New("transport: vrid already registered")
)

// Meta describes how one message arrived.
type Meta struct {
	Src, Dst netip.Addr // without zone; Ifindex identifies the link
	TTL      int        // IPv4 TTL or IPv6 hop limit from the control message; -1 unknown
	Ifindex  int        // receiving interface; 0 unknown
}

// Conn sends and receives VRRP messages on one interface and one family.
type Conn interface {
	// ReadFrom reads one VRRP message (IP payload only) into b.
	ReadFrom(b []byte) (n int, m Meta, err error)
	// WriteTo sends b with TTL/hop limit 255 from src (which must be an
	// address of this host) to dst out of the bound interface.
	WriteTo(b []byte, src, dst netip.Addr) error
	Close() error
}

// Config selects the socket for Listen and Pool.Acquire.
type Config struct {
	Interface string
	IPv6      bool
	Multicast bool // join 224.0.0.18 / ff02::12 on Interface (unicast-only instances need not)
	// McastGroup replaces the well-known group (keepalived's
	// vrrp_mcast_group4/6, mcast_dst_ip); zero means the default. A socket
	// for another group is its own (Pool keys on it) and sees only adverts
	// sent to that group.
	McastGroup netip.Addr
}

// Group returns the multicast group of the configuration: McastGroup, or the
// VRRP group of the configured family.
func (c Config) Group() netip.Addr {
	if c.McastGroup.IsValid() {
		return c.McastGroup.WithZone("")
	}
	if c.IPv6 {
		return GroupV6
	}
	return GroupV4
}

// customGroup is the group when it is not the family's default, else zero:
// sockets for the default group are shared with unicast instances.
func (c Config) customGroup() netip.Addr {
	if g := c.Group(); g != GroupV4 && g != GroupV6 {
		return g
	}
	return netip.Addr{}
}

// MulticastJoiner is implemented by Conns that can join the VRRP group after
// they were opened; Pool uses it when a unicast socket gains a multicast user.
type MulticastJoiner interface {
	JoinMulticast() error
}

// TTLWriter is implemented by Conns that can send one message with a TTL /
// hop limit other than 255 (unicast_ttl); the raw socket and Segment do.
type TTLWriter interface {
	WriteWithTTL(b []byte, src, dst netip.Addr, ttl int) error
}

// Message is one outgoing VRRP message of a batch: payload, source,
// destination and TTL / hop limit (255 for multicast, unicast_ttl else).
type Message struct {
	Buf      []byte
	Src, Dst netip.Addr
	TTL      int
}

// BatchWriter is implemented by Conns that send many messages in one system
// call (the raw socket: sendmmsg). WriteBatch returns how many messages were
// sent; when that is fewer than len(msgs), err is msgs[n]'s failure and the
// ones after it were not tried.
type BatchWriter interface {
	WriteBatch(msgs []Message) (n int, err error)
}

// WriteBatch sends msgs on c: in one call where c is a BatchWriter, else one
// write each (Segment, other platforms). Its result is BatchWriter's.
func WriteBatch(c Conn, msgs []Message) (int, error) {
	if bw, ok := c.(BatchWriter); ok {
		return bw.WriteBatch(msgs)
	}
	for i, m := range msgs {
		if err := writeOne(c, m); err != nil {
			return i, err
		}
	}
	return len(msgs), nil
}

func writeOne(c Conn, m Message) error {
	if m.TTL == 255 {
		return c.WriteTo(m.Buf, m.Src, m.Dst)
	}
	w, ok := c.(TTLWriter)
	if !ok {
		return fmt.Errorf("transport: ttl %d: the socket cannot set a TTL per message", m.TTL)
	}
	return w.WriteWithTTL(m.Buf, m.Src, m.Dst, m.TTL)
}

// ReadDeadliner is implemented by Conns whose ReadFrom can be interrupted
// without closing them; Mux.Run uses it to stop on context cancellation.
type ReadDeadliner interface {
	SetReadDeadline(t time.Time) error
}

// InterfaceOf returns the name of the interface that holds addr, for
// instances that give unicast_src_ip but no interface (keepalived allows it).
func InterfaceOf(addr netip.Addr) (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("transport: %w", err)
	}
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap() == addr.Unmap() {
					return ifi.Name, nil
				}
			}
		}
	}
	return "", fmt.Errorf("transport: no interface has address %s", addr)
}
