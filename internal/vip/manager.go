package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoDevice is wrapped when the address's interface does not exist.
var ErrNoDevice = errors.New("no such interface")

// dumpRetries bounds retries of a netlink dump the kernel interrupted because
// the address list changed underneath it.
const dumpRetries = 5

// Manager adds and removes virtual addresses through one netlink handle.
// It keeps no state of its own: the kernel is the source of truth, which is
// what makes Add and Remove idempotent and crash-safe.
type Manager struct {
	h     *netlink.Handle
	lease Lease // zero: installed forever (see lease.go)
	// renewed is when Refresh last renewed each VIP (lease_renew.go); only
	// Refresh touches it, on the one goroutine that renews.
	renewed renewTimes
	now     func() time.Time // nil: time.Now (tests stand in)
}

// NewManager returns a Manager using h. A nil h means the zero Handle, which
// opens a fresh netlink socket per call in the network namespace of the
// calling thread (normally the current one).
func NewManager(h *netlink.Handle) *Manager {
	if h == nil {
		h = &netlink.Handle{}
	}
	return &Manager{h: h}
}

// Add installs a. An address that is already there (EEXIST) is success; it
// is only given the Manager's lifetimes (a replace: a VIP left forever by an
// older run becomes leased, a leased one left behind is made forever without
// a lease), nothing else of it changes. IPv6 addresses are added with
// IFA_F_NODAD so they are usable at once (a VIP moving between routers must
// not wait for DAD). Lifetimes are the lease's (WithLease), or valid and
// preferred lifetime forever without one. The kernel rejects (EINVAL) an IPv4
// address whose scope differs from the primary address of the same subnet.
// IPv6 identity is the address alone: with 2001:db8::10/128 present, adding
// 2001:db8::10/64 is EEXIST (success) while Has of the /64 stays false.
// Without a lease this matches keepalived 2.2.7 (`ip -6 addr`: "nodad",
// valid_lft and preferred_lft forever).
func (m *Manager) Add(a Address) error {
	if err := a.Validate(); err != nil {
		return err
	}
	link, err := m.link(a.Dev)
	if err != nil {
		return fmt.Errorf("vip: add %s: %w", a, err)
	}
	na := toNetlink(a)
	m.lease.stamp(na)
	err = m.h.AddrAdd(link, na)
	if errors.Is(err, unix.EEXIST) {
		return m.replace(link, a)
	}
	if err != nil {
		return fmt.Errorf("vip: add %s: %w", a, err)
	}
	return nil
}

// Remove deletes a. An absent address or interface is success. Only the
// address and prefix length select what is deleted (not label or scope), so
// a VIP left by an older configuration is still removed.
func (m *Manager) Remove(a Address) error {
	if err := a.validatePrefix(); err != nil {
		return err
	}
	if err := validateDev(a.Dev); err != nil {
		return err
	}
	link, err := m.link(a.Dev)
	if errors.Is(err, ErrNoDevice) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vip: remove %s: %w", a, err)
	}
	na := toNetlink(Address{Prefix: a.Prefix, Dev: a.Dev})
	err = m.h.AddrDel(link, na)
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("vip: remove %s: %w", a, err)
	}
	return nil
}

// Has reports whether a.Prefix (address and prefix length) is on a.Dev.
// A missing interface is (false, error wrapping ErrNoDevice).
func (m *Manager) Has(a Address) (bool, error) {
	if err := a.validatePrefix(); err != nil {
		return false, err
	}
	if err := validateDev(a.Dev); err != nil {
		return false, err
	}
	got, err := m.List(a.Dev)
	if err != nil {
		return false, err
	}
	return slices.Contains(got, a.Prefix), nil
}

// List returns every address (both families, link-local included) on dev in
// kernel order, so the daemon can find stale VIPs a crash left behind.
func (m *Manager) List(dev string) ([]netip.Prefix, error) {
	if err := validateDev(dev); err != nil {
		return nil, err
	}
	link, err := m.link(dev)
	if err != nil {
		return nil, fmt.Errorf("vip: list %s: %w", dev, err)
	}
	addrs, err := m.addrList(link)
	if err != nil {
		return nil, fmt.Errorf("vip: list %s: %w", dev, err)
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, na := range addrs {
		if p, ok := prefixOf(na); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// addrList retries a dump the kernel interrupted (address churn), a bounded
// number of times.
func (m *Manager) addrList(link netlink.Link) ([]netlink.Addr, error) {
	var err error
	for range dumpRetries {
		var addrs []netlink.Addr
		addrs, err = m.h.AddrList(link, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return addrs, err
		}
	}
	return nil, err
}

func (m *Manager) link(dev string) (netlink.Link, error) {
	link, err := m.h.LinkByName(dev)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil, fmt.Errorf("%w %q", ErrNoDevice, dev)
	}
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", dev, err)
	}
	return link, nil
}

// toNetlink converts a validated Address. IPv4 without an explicit broadcast
// gets none (like `ip addr add` and keepalived), overriding the netlink
// library's habit of computing one.
func toNetlink(a Address) *netlink.Addr {
	ip := a.Prefix.Addr()
	scope, _ := ParseScope(a.Scope) // validated by the caller
	na := &netlink.Addr{
		IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(a.Prefix.Bits(), ip.BitLen())},
		Label: a.Label,
		Scope: int(scope),
	}
	if ip.Is4() {
		na.Broadcast = net.IPv4zero // zero means "send no IFA_BROADCAST"
		if a.Broadcast.IsValid() {
			na.Broadcast = a.Broadcast.AsSlice()
		}
		return na
	}
	na.Flags = unix.IFA_F_NODAD
	return na
}

// prefixOf converts a netlink address back; ok is false for malformed ones.
func prefixOf(na netlink.Addr) (netip.Prefix, bool) {
	if na.IPNet == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(na.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	ones, bits := na.Mask.Size()
	if bits == 128 && ip.Is4() {
		ones -= 96
	}
	if ones < 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, ones), true
}
