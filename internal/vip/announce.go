package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv6"
)

// ErrClosed is returned by an Announcer after Close.
var ErrClosed = errors.New("vip: announcer closed")

// etherTypeARP is ETH_P_ARP, the protocol the packet socket is bound to.
const etherTypeARP = 0x0806

// Burst describes keepalived's master announcement policy: Repeat
// announcements per address (garp_master_repeat, default 5), sent back to
// back, and a second burst Delay after the transition (garp_master_delay,
// default 5 s; 0 = no second burst). The daemon schedules; the Announcer only
// sends.
type Burst struct {
	Repeat int
	Delay  time.Duration
}

// DefaultBurst is keepalived's default: 5 announcements now, 5 more after 5 s.
func DefaultBurst() Burst { return Burst{Repeat: 5, Delay: 5 * time.Second} }

// frameWriter is the part of *packet.Conn the Announcer uses (a test seam).
type frameWriter interface {
	WriteTo(b []byte, addr net.Addr) (int, error)
	Close() error
}

// naWriter is the part of *ndSocket the Announcer uses (a test seam).
type naWriter interface {
	WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error
	Close() error
}

// cached is one open socket and the interface index it was opened on, so a
// deleted and re-created interface of the same name gets a fresh socket.
type cached[W any] struct {
	index int
	w     W
}

// Announcer sends gratuitous ARPs and unsolicited Neighbor Advertisements.
// Sockets are opened on first use per interface and kept until Close; a
// socket whose write fails is dropped and reopened once. Safe for concurrent
// use; sends are serialised.
type Announcer struct {
	mu     sync.Mutex
	closed bool
	arp    map[string]cached[frameWriter]
	nd     map[string]cached[naWriter]

	ifis ifCache // interface lookups, kept until the link changes (announce_ifcache.go)

	// Seams, replaced in unit tests.
	lookup  func(name string) (*net.Interface, error)
	openARP func(ifi *net.Interface) (frameWriter, error)
	openND  func(ifi *net.Interface) (naWriter, error)
	// watch follows link changes, calling changed for each (ended: the
	// subscription is gone), until stop is closed; nil or failing: every
	// announcement looks its interface up, as before the cache.
	watch func(changed func(ended bool), stop <-chan struct{}) error
}

// NewAnnouncer returns an Announcer for the network namespace of the threads
// that call it. It opens nothing until the first Announce.
func NewAnnouncer() *Announcer {
	return &Announcer{
		arp:     map[string]cached[frameWriter]{},
		nd:      map[string]cached[naWriter]{},
		lookup:  net.InterfaceByName,
		openARP: openARPSocket,
		openND:  openNDSocket,
		watch:   watchLinks,
	}
}

// Announce sends ONE gratuitous ARP (IPv4) or ONE unsolicited Neighbor
// Advertisement (IPv6) for a.Prefix's address on a.Dev.
func (n *Announcer) Announce(a Address) error {
	if err := a.validatePrefix(); err != nil {
		return err
	}
	if err := validateDev(a.Dev); err != nil {
		return err
	}
	ifi, err := n.lookupDev(a.Dev)
	if err != nil {
		return err
	}
	t := target{ifi: ifi, ip: a.Prefix.Addr()}
	return n.sendFresh(&t)
}

// AnnounceBurst sends `repeat` announcements of every address. Like
// keepalived 2.2.7 (observed with tcpdump: no spacing, tens of µs apart),
// the repeat is the outer loop: a1 a2 a1 a2 ... An address whose send fails
// is skipped for the rest of the burst so the others still go out; all
// failures are returned joined. ctx is checked before every send.
func (n *Announcer) AnnounceBurst(ctx context.Context, addrs []Address, repeat int) error {
	targets, errs := n.resolve(addrs)
	failed := make([]bool, len(targets))
	for range max(repeat, 0) {
		for i := range targets {
			if err := ctx.Err(); err != nil {
				return errors.Join(append(errs, fmt.Errorf("vip: announce burst: %w", err))...)
			}
			if failed[i] {
				continue
			}
			if err := n.sendFresh(&targets[i]); err != nil {
				failed[i] = true
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Close closes every cached socket. Later calls return ErrClosed.
func (n *Announcer) Close() error {
	n.ifis.close()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	var errs []error
	for name, c := range n.arp {
		errs = append(errs, c.w.Close())
		delete(n.arp, name)
	}
	for name, c := range n.nd {
		errs = append(errs, c.w.Close())
		delete(n.nd, name)
	}
	return errors.Join(errs...)
}

type target struct {
	ifi *net.Interface
	ip  netip.Addr
}

// resolve validates addrs and looks each interface up once per burst.
func (n *Announcer) resolve(addrs []Address) ([]target, []error) {
	var errs []error
	ifis := map[string]*net.Interface{}
	out := make([]target, 0, len(addrs))
	for _, a := range addrs {
		if err := a.validatePrefix(); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := validateDev(a.Dev); err != nil {
			errs = append(errs, err)
			continue
		}
		ifi, ok := ifis[a.Dev]
		if !ok {
			var err error
			if ifi, err = n.lookupDev(a.Dev); err != nil {
				errs = append(errs, err)
				continue
			}
			ifis[a.Dev] = ifi
		}
		out = append(out, target{ifi: ifi, ip: a.Prefix.Addr()})
	}
	return out, errs
}

func (n *Announcer) lookupDev(dev string) (*net.Interface, error) {
	ifi, err := n.ifis.get(dev, n.lookup, n.watch)
	if err != nil {
		return nil, fmt.Errorf("vip: announce on %q: %w", dev, err)
	}
	return ifi, nil
}

// sendFresh sends to t; when that fails with a cached interface (the
// link-change event that would have emptied the cache may not be read yet:
// an interface just re-created), it looks the interface up again and
// retries on what the kernel says now.
func (n *Announcer) sendFresh(t *target) error {
	err := n.send(t.ifi, t.ip)
	if err == nil || errors.Is(err, ErrClosed) || !n.ifis.forget(t.ifi.Name) {
		return err
	}
	fresh, lerr := n.lookupDev(t.ifi.Name)
	if lerr != nil {
		return errors.Join(err, lerr)
	}
	t.ifi = fresh
	return n.send(fresh, t.ip)
}

// send writes one announcement; a failed write drops the socket and retries
// once on a fresh one (the interface may have been re-created).
func (n *Announcer) send(ifi *net.Interface, ip netip.Addr) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	var err error
	for range 2 {
		if ip.Is4() {
			err = n.sendGARP(ifi, ip)
		} else {
			err = n.sendNA(ifi, ip)
		}
		if err == nil {
			return nil
		}
	}
	return err
}

func (n *Announcer) sendGARP(ifi *net.Interface, ip netip.Addr) error {
	frame, err := garpFrame(ifi.HardwareAddr, ip)
	if err != nil {
		return err
	}
	w, err := socketFor(n.arp, ifi, n.openARP)
	if err != nil {
		return fmt.Errorf("vip: gratuitous ARP for %s on %s: %w", ip, ifi.Name, err)
	}
	if _, err := w.WriteTo(frame, &packet.Addr{HardwareAddr: ethernet.Broadcast}); err != nil {
		drop(n.arp, ifi.Name)
		return fmt.Errorf("vip: gratuitous ARP for %s on %s: %w", ip, ifi.Name, err)
	}
	return nil
}

func (n *Announcer) sendNA(ifi *net.Interface, ip netip.Addr) error {
	msg, err := unsolicitedNA(ifi.HardwareAddr, ip)
	if err != nil {
		return err
	}
	w, err := socketFor(n.nd, ifi, n.openND)
	if err != nil {
		return fmt.Errorf("vip: neighbor advertisement for %s on %s: %w", ip, ifi.Name, err)
	}
	// nil control message: the socket's default, hop limit 255, source =
	// ifi's link-local, out of ifi's index (announce_nd.go).
	if err := w.WriteTo(msg, nil, netip.IPv6LinkLocalAllNodes()); err != nil {
		drop(n.nd, ifi.Name)
		return fmt.Errorf("vip: neighbor advertisement for %s on %s: %w", ip, ifi.Name, err)
	}
	return nil
}

// socketFor returns the cached socket for ifi, reopening it when the
// interface index changed. Callers hold n.mu.
func socketFor[W interface{ Close() error }](m map[string]cached[W], ifi *net.Interface, open func(*net.Interface) (W, error)) (W, error) {
	if c, ok := m[ifi.Name]; ok {
		if c.index == ifi.Index {
			return c.w, nil
		}
		drop(m, ifi.Name)
	}
	w, err := open(ifi)
	if err != nil {
		var zero W
		return zero, err
	}
	m[ifi.Name] = cached[W]{index: ifi.Index, w: w}
	return w, nil
}

// drop closes and forgets a cached socket. The Close error is irrelevant:
// the socket is already known to be broken or stale.
func drop[W interface{ Close() error }](m map[string]cached[W], name string) {
	if c, ok := m[name]; ok {
		_ = c.w.Close()
		delete(m, name)
	}
}

// dropAll is a classic BPF program accepting nothing: the ARP socket only
// sends, and must not queue every ARP frame on the link.
var dropAll = []bpf.Instruction{bpf.RetConstant{Val: 0}}

func openARPSocket(ifi *net.Interface) (frameWriter, error) {
	filter, err := bpf.Assemble(dropAll)
	if err != nil {
		return nil, fmt.Errorf("assemble filter: %w", err)
	}
	c, err := packet.Listen(ifi, packet.Raw, etherTypeARP, &packet.Config{Filter: filter})
	if err != nil {
		return nil, err
	}
	return c, nil
}
