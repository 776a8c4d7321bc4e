package netlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Segment is one L2 broadcast domain: a Linux bridge "br0" inside its own
// switch namespace. Hosts join it with Host.Connect.
type Segment struct {
	lab  *Lab
	name string
	ns   string
	v4   netip.Prefix
	v6   netip.Prefix
	err  error // creation error (standalone labs), returned by Connect
}

// Name is the segment name given to AddSegment.
func (s *Segment) Name() string { return s.name }

// Namespace is the switch namespace holding the bridge "br0".
func (s *Segment) Namespace() string { return s.ns }

// V4 and V6 are the prefixes given to AddSegment (either may be invalid).
func (s *Segment) V4() netip.Prefix { return s.v4 }
func (s *Segment) V6() netip.Prefix { return s.v6 }

// Host is a network namespace with lo up, standing for one machine.
type Host struct {
	lab  *Lab
	name string
	ns   string
	err  error // creation error (standalone labs), returned by every method

	mu sync.Mutex
	nl *netlink.Handle // lazily opened in the namespace; closed before netns del
}

// allowed are the only ranges a lab may use (RFC 5737, RFC 3849).
var allowed = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// checkPrefix accepts an invalid prefix (meaning "none") or one inside the
// documentation ranges.
func checkPrefix(p netip.Prefix) error {
	if !p.IsValid() {
		return nil
	}
	for _, a := range allowed {
		if a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
			return nil
		}
	}
	return fmt.Errorf("netlab: %s outside 192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32", p)
}

// AddSegment creates a switch namespace with a bridge. In a test lab a
// failure is fatal; in a standalone lab it is returned by later Connects.
func (l *Lab) AddSegment(name string, v4, v6 netip.Prefix) *Segment {
	s, err := l.AddSegmentE(name, v4, v6)
	if err != nil {
		l.fatal(err)
		return &Segment{lab: l, name: name, ns: l.nsName("sw-" + name), err: err}
	}
	return s
}

// AddSegmentE is AddSegment returning its error.
func (l *Lab) AddSegmentE(name string, v4, v6 netip.Prefix) (*Segment, error) {
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("netlab: bad segment name %q", name)
	}
	for _, p := range []netip.Prefix{v4, v6} {
		if err := checkPrefix(p); err != nil {
			return nil, err
		}
	}
	s := &Segment{lab: l, name: name, ns: l.nsName("sw-" + name), v4: v4, v6: v6}
	if err := l.addNamespace(s.ns); err != nil {
		return nil, err
	}
	if err := l.register(func() { l.segments = append(l.segments, s) }); err != nil {
		return nil, err
	}
	// No IPv6 on the switch: the bridge and its ports would otherwise add
	// their own RS/MLD/NA chatter to every capture.
	if err := setSysctls(s.ns, map[string]string{
		"net/ipv6/conf/all/disable_ipv6":     "1",
		"net/ipv6/conf/default/disable_ipv6": "1",
	}); err != nil {
		return nil, err
	}
	err := withHandle(s.ns, func(nl *netlink.Handle) error {
		// Snooping off: VRRP and ND multicast must reach every port as on a hub.
		off := false
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}, MulticastSnooping: &off}
		if err := nl.LinkAdd(br); err != nil {
			return fmt.Errorf("netlab: %s: add bridge: %w", s.ns, err)
		}
		return linkUp(nl, s.ns, "br0")
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// withHandle runs fn with a netlink handle opened inside ns.
func withHandle(ns string, fn func(*netlink.Handle) error) error {
	nsh, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("netlab: open netns %s: %w", ns, err)
	}
	defer nsh.Close()
	nl, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return fmt.Errorf("netlab: netlink in %s: %w", ns, err)
	}
	defer nl.Close()
	return fn(nl)
}

// linkUp sets a link up by name.
func linkUp(nl *netlink.Handle, ns, name string) error {
	link, err := nl.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netlab: %s: link %s: %w", ns, name, err)
	}
	if err := nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("netlab: %s: set %s up: %w", ns, name, err)
	}
	return nil
}

// ipNet converts for netlink; netlink fills in the v4 broadcast itself.
func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// AddHost creates a host namespace with lo up. In a test lab a failure is
// fatal; in a standalone lab it is returned by the host's methods.
func (l *Lab) AddHost(name string) *Host {
	h, err := l.AddHostE(name)
	if err != nil {
		l.fatal(err)
		return &Host{lab: l, name: name, ns: l.nsName(name), err: err}
	}
	return h
}

// AddHostE is AddHost returning its error.
func (l *Lab) AddHostE(name string) (*Host, error) {
	if !nameRE.MatchString(name) || strings.HasPrefix(name, "sw-") {
		return nil, fmt.Errorf("netlab: bad host name %q", name)
	}
	h := &Host{lab: l, name: name, ns: l.nsName(name)}
	if err := l.addNamespace(h.ns); err != nil {
		return nil, err
	}
	if err := l.register(func() { l.hosts = append(l.hosts, h) }); err != nil {
		return nil, err
	}
	// DAD off for new links: link-locals are usable at once, and addresses
	// inside a lab are unique by construction.
	if err := setSysctls(h.ns, map[string]string{
		"net/ipv6/conf/all/accept_dad":     "0",
		"net/ipv6/conf/default/accept_dad": "0",
	}); err != nil {
		return nil, err
	}
	if err := withHandle(h.ns, func(nl *netlink.Handle) error { return linkUp(nl, h.ns, "lo") }); err != nil {
		return nil, err
	}
	return h, nil
}

// fatal ends a test on a setup error; standalone labs carry it instead.
func (l *Lab) fatal(err error) {
	if l.tb != nil {
		l.tb.Helper()
		l.tb.Fatalf("%v", err)
	}
}

// addNamespace runs `ip netns add` so the name shows in `ip netns list`.
func (l *Lab) addNamespace(ns string) error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return errors.New("netlab: lab is closed")
	}
	if out, err := runIP("netns", "add", ns); err != nil {
		return fmt.Errorf("netlab: netns add %s: %v: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setSysctls writes /proc/sys/<key> from a thread inside ns: net sysctls
// resolve against the writer's network namespace.
func setSysctls(ns string, kv map[string]string) error {
	return doIn(ns, func() error {
		for k, v := range kv {
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
				return fmt.Errorf("netlab: sysctl %s in %s: %w", k, ns, err)
			}
		}
		return nil
	})
}

// Name is the host's netns name ("<lab prefix>-<name>").
func (h *Host) Name() string { return h.ns }

// Short is the name given to AddHost.
func (h *Host) Short() string { return h.name }

// Lab is the lab the host belongs to.
func (h *Host) Lab() *Lab { return h.lab }

// Connect wires the host to a segment with a veth pair (ifname on the host,
// a bridge port in the switch namespace), adds the addresses (v6 nodad;
// invalid prefix = none), brings the link up and waits until the IPv6
// link-local is usable.
func (h *Host) Connect(s *Segment, ifname string, v4, v6 netip.Prefix) error {
	if h.err != nil {
		return h.err
	}
	if s.err != nil {
		return s.err
	}
	if err := checkIfname(ifname); err != nil {
		return err
	}
	if v4.IsValid() && !v4.Addr().Is4() || v6.IsValid() && !v6.Addr().Is6() {
		return fmt.Errorf("netlab: connect %s: address family mismatch (%s, %s)", h.name, v4, v6)
	}
	for _, p := range []netip.Prefix{v4, v6} {
		if err := checkPrefix(p); err != nil {
			return err
		}
	}
	peer, err := h.lab.peerName(h.name)
	if err != nil {
		return err
	}
	if err := h.addVeth(s, ifname, peer); err != nil {
		return err
	}
	if err := s.attach(peer); err != nil {
		return err
	}
	if err := h.configure(ifname, v4, v6); err != nil {
		return err
	}
	return h.waitLinkLocal(ifname, 10*time.Second)
}

// addVeth creates ifname in the host with its peer born in the switch
// namespace, so no name ever appears in the root namespace.
func (h *Host) addVeth(s *Segment, ifname, peer string) error {
	sw, err := netns.GetFromName(s.ns)
	if err != nil {
		return fmt.Errorf("netlab: open netns %s: %w", s.ns, err)
	}
	defer sw.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: ifname}, PeerName: peer,
		PeerNamespace: netlink.NsFd(int(sw))}
	h.mu.Lock()
	defer h.mu.Unlock()
	nl, err := h.handle()
	if err != nil {
		return err
	}
	if err := nl.LinkAdd(veth); err != nil {
		return fmt.Errorf("netlab: %s: add veth %s (peer %s): %w", h.name, ifname, peer, err)
	}
	return nil
}

// attach enslaves a veth end to br0 and brings it up.
func (s *Segment) attach(port string) error {
	return withHandle(s.ns, func(nl *netlink.Handle) error {
		link, err := nl.LinkByName(port)
		if err != nil {
			return fmt.Errorf("netlab: %s: link %s: %w", s.ns, port, err)
		}
		br, err := nl.LinkByName("br0")
		if err != nil {
			return fmt.Errorf("netlab: %s: bridge: %w", s.ns, err)
		}
		if err := nl.LinkSetMaster(link, br); err != nil {
			return fmt.Errorf("netlab: %s: %s master br0: %w", s.ns, port, err)
		}
		return linkUp(nl, s.ns, port)
	})
}

// configure adds the addresses (v6 without DAD) and brings ifname up.
func (h *Host) configure(ifname string, v4, v6 netip.Prefix) error {
	return h.withLink(ifname, func(nl *netlink.Handle, link netlink.Link) error {
		addrs := []*netlink.Addr{}
		if v4.IsValid() {
			addrs = append(addrs, &netlink.Addr{IPNet: ipNet(v4)})
		}
		if v6.IsValid() {
			addrs = append(addrs, &netlink.Addr{IPNet: ipNet(v6), Flags: unix.IFA_F_NODAD})
		}
		for _, a := range addrs {
			if err := nl.AddrAdd(link, a); err != nil {
				return fmt.Errorf("netlab: %s: add %s to %s: %w", h.name, a.IPNet, ifname, err)
			}
		}
		return linkUp(nl, h.name, ifname)
	})
}

// withLink runs fn with the host's netlink handle and its link ifname,
// holding the host's lock.
func (h *Host) withLink(ifname string, fn func(*netlink.Handle, netlink.Link) error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	nl, err := h.handle()
	if err != nil {
		return err
	}
	link, err := nl.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("netlab: %s: link %s: %w", h.name, ifname, err)
	}
	return fn(nl, link)
}

// checkIfname enforces the kernel's IFNAMSIZ and keeps names argv-safe.
func checkIfname(n string) error {
	if n == "" || len(n) > 15 || strings.ContainsAny(n, "/ \t\n:") {
		return fmt.Errorf("netlab: bad interface name %q", n)
	}
	return nil
}

// peerName gives the switch-side veth a unique, readable name.
func (l *Lab) peerName(host string) (string, error) {
	var n int
	err := l.register(func() { l.seq++; n = l.seq })
	if len(host) > 9 {
		host = host[:9]
	}
	return fmt.Sprintf("%s-%d", host, n), err
}

// waitLinkLocal waits for a non-tentative fe80:: address on ifname, i.e. the
// moment v6 multicast (VRRPv3, NA) can be sent from it.
func (h *Host) waitLinkLocal(ifname string, timeout time.Duration) error {
	return WaitFor(context.Background(), timeout, 20*time.Millisecond, func() (bool, error) {
		addrs, err := h.addrList(ifname, netlink.FAMILY_V6)
		if err != nil {
			return false, err
		}
		for _, a := range addrs {
			if a.IP.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
				return true, nil
			}
		}
		return false, fmt.Errorf("netlab: %s %s: no usable IPv6 link-local yet", h.name, ifname)
	})
}

// Do runs fn on the calling goroutine's OS thread switched into the host's
// namespace and switches back afterwards. Goroutines started by fn do NOT
// inherit the namespace.
func (h *Host) Do(fn func() error) error {
	if h.err != nil {
		return h.err
	}
	return doIn(h.ns, fn)
}

func doIn(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: current netns: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: open netns %s: %w", ns, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: enter netns %s: %w", ns, err)
	}
	defer func() {
		// If we cannot switch back, keep the thread locked: the runtime then
		// discards it when the goroutine exits instead of reusing it.
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
	}()
	return fn()
}

// handle returns the host's netlink handle, opening it on first use.
// The caller holds h.mu.
func (h *Host) handle() (*netlink.Handle, error) {
	if h.nl != nil {
		return h.nl, nil
	}
	nsh, err := netns.GetFromName(h.ns)
	if err != nil {
		return nil, fmt.Errorf("netlab: open netns %s: %w", h.ns, err)
	}
	defer nsh.Close()
	nl, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return nil, fmt.Errorf("netlab: netlink in %s: %w", h.ns, err)
	}
	h.nl = nl
	return nl, nil
}

// closeHandle releases the netlink sockets, which otherwise pin the netns.
func (h *Host) closeHandle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nl != nil {
		h.nl.Close()
		h.nl = nil
	}
}

func (h *Host) addrList(ifname string, family int) ([]netlink.Addr, error) {
	if h.err != nil {
		return nil, h.err
	}
	var addrs []netlink.Addr
	err := h.withLink(ifname, func(nl *netlink.Handle, link netlink.Link) error {
		var err error
		if addrs, err = nl.AddrList(link, family); err != nil {
			return fmt.Errorf("netlab: %s: addresses of %s: %w", h.name, ifname, err)
		}
		return nil
	})
	return addrs, err
}

// Addrs lists every address (v4 and v6, link-locals included) on ifname.
func (h *Host) Addrs(ifname string) ([]netip.Prefix, error) {
	addrs, err := h.addrList(ifname, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
	}
	return out, nil
}

// HasAddr reports whether addr is configured on ifname.
func (h *Host) HasAddr(ifname string, addr netip.Addr) (bool, error) {
	addrs, err := h.Addrs(ifname)
	if err != nil {
		return false, err
	}
	for _, p := range addrs {
		if p.Addr() == addr.Unmap() {
			return true, nil
		}
	}
	return false, nil
}

// WaitAddr polls until addr is present (or absent) on ifname.
func (h *Host) WaitAddr(ctx context.Context, ifname string, addr netip.Addr, present bool, timeout time.Duration) error {
	return WaitFor(ctx, timeout, 10*time.Millisecond, func() (bool, error) {
		has, err := h.HasAddr(ifname, addr)
		if err != nil {
			return false, err
		}
		if has == present {
			return true, nil
		}
		return false, fmt.Errorf("netlab: %s %s: want %s present=%v", h.name, ifname, addr, present)
	})
}
