package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Lease is the VIP lease policy: every VIP is installed with a finite kernel
// lifetime (valid_lft = preferred_lft = Lifetime) that the running master
// renews every Refresh (the daemon's renewer, on each tick of its event loop;
// RefreshGated). A master that is SIGKILLed,
// crashes or is frozen (SIGSTOP, a paused VM) stops renewing, and the kernel
// deletes its VIPs by itself: the address is held only while the daemon that
// owns it is alive and its loop runs. keepalived installs VIPs forever.
//
// The zero Lease is "no lease": addresses are installed forever.
type Lease struct {
	Lifetime time.Duration // whole seconds, at least 1 s
	Refresh  time.Duration // period of the master's renewal passes (one dump per interface each)
	// Renew is how often each VIP is renewed (zero: on every pass). A
	// pass renews only the VIPs whose last renewal is that old, so one
	// RTM_NEWADDR per VIP per Renew instead of per Refresh (renewTimes.due).
	Renew time.Duration
}

// Kernel facts the policy is built on (Linux 6.x, measured on this host with
// `ip addr add … valid_lft 1` and `ip monitor`):
//   - lifetimes are whole seconds (IFA_CACHEINFO);
//   - IPv4 expiry is devinet's check_lifetime work, IPv6 addrconf's verify
//     work; both delete an address once its age, plus a 20 ms fuzz
//     (ADDRCONF_TIMER_FUZZ_MINUS = HZ/50), reaches valid_lft, and schedule
//     the next check near (rounded up to) the earliest expiry. Measured:
//     with valid_lft 1 an unrenewed address is gone 1.01–1.17 s after it was
//     last set, both families; any other address change (another renewal)
//     runs the check early, so one may go as early as 0.98 s;
//   - RTM_NEWADDR with NLM_F_REPLACE on an existing address only resets its
//     timestamp and lifetimes (IPv6: and its flags, so NODAD is sent again):
//     no RTM_DELADDR, no route event, no DAD restart, label kept.
//
// Hence Lifetime 2 s, passes every Refresh 250 ms and each VIP renewed
// every Renew 1 s: a pass dumps each interface's addresses (how a lapse is
// seen: cheap, one dump) and renews only the quarter of the VIPs that is
// due, so a VIP is renewed once a second, not four times (an RTM_NEWADDR
// is the lease's cost: IPv6 ones walk every address of the namespace,
// O(VIPs²) a pass; BenchmarkLeaseRenewalFamily). A renewed VIP is gone
// Lifetime..Lifetime+kernel rounding (2.0–2.2 s) after its last renewal,
// and a live master's renewals may stall for Lifetime−kernelFuzz−Renew ≈
// 0.98 s (CPU starvation, a slow netlink call) before a VIP lapses (it was
// 0.73 s with 1 s / every 250 ms). A lapse is repaired by the daemon at
// the next pass (re-add, then announce).
const (
	defaultLifetime = 2 * time.Second
	defaultRefresh  = 250 * time.Millisecond
	defaultRenew    = time.Second
	// kernelFuzz is how much earlier than Lifetime the kernel may delete
	// an address (measured 0.98 s for 1 s; the source's fuzz is 20 ms).
	kernelFuzz = 20 * time.Millisecond
	// maxLifetime bounds a configured lease: a longer one defeats its
	// purpose (a dead master's VIP stays that long).
	maxLifetime = time.Hour
)

// ErrLease is wrapped by every Lease validation error.
var ErrLease = errors.New("invalid VIP lease")

// DefaultLease is the lease govrrp runs with unless told otherwise.
func DefaultLease() Lease {
	return Lease{Lifetime: defaultLifetime, Refresh: defaultRefresh, Renew: defaultRenew}
}

// renewEvery is each VIP's renewal period.
func (l Lease) renewEvery() time.Duration { return max(l.Renew, l.Refresh) }

// maxUnrenewedAge is the oldest a VIP's last renewal can be at a pass that
// did not renew it (renewTimes.due: due from half a pass before renewEvery).
func (l Lease) maxUnrenewedAge() time.Duration {
	if l.renewEvery() <= l.Refresh {
		return 0
	}
	return l.renewEvery() - l.Refresh/2
}

// Enabled reports whether l installs finite lifetimes.
func (l Lease) Enabled() bool { return l != Lease{} }

// Validate reports whether the kernel can enforce l and a loop can keep it:
// the lifetime is whole seconds (the kernel's granularity) and a VIP's
// renewal period plus one pass fit in it, so one late pass does not lapse
// the lease.
func (l Lease) Validate() error {
	if !l.Enabled() {
		return nil
	}
	switch {
	case l.Lifetime < time.Second || l.Lifetime > maxLifetime:
		return fmt.Errorf("vip: %w: lifetime %v outside 1s..%v", ErrLease, l.Lifetime, maxLifetime)
	case l.Lifetime%time.Second != 0:
		return fmt.Errorf("vip: %w: lifetime %v is not whole seconds (the kernel's granularity)", ErrLease, l.Lifetime)
	case l.Refresh <= 0 || 2*l.Refresh > l.Lifetime-kernelFuzz:
		return fmt.Errorf("vip: %w: refresh %v must be positive and fit twice in lifetime %v", ErrLease, l.Refresh, l.Lifetime)
	case l.Renew < 0 || (l.Renew > 0 && l.Renew < l.Refresh) || l.renewEvery()+l.Refresh > l.Lifetime-kernelFuzz:
		return fmt.Errorf("vip: %w: renew %v must be at least refresh %v and leave one more pass in lifetime %v", ErrLease, l.Renew, l.Refresh, l.Lifetime)
	}
	return nil
}

// Overdue reports whether a pass that comes since after the previous one
// may find the kernel has already deleted an address: the loop was frozen
// or starved. A VIP the previous pass did not renew was last renewed up to
// maxUnrenewedAge before it, so the margin is Lifetime less that (1.105 s
// for the default lease), not the whole Lifetime. The daemon logs it;
// Refresh reports what actually lapsed.
func (l Lease) Overdue(since time.Duration) bool {
	if !l.Enabled() {
		return false
	}
	return since >= l.Lifetime-kernelFuzz-l.maxUnrenewedAge()
}

// seconds is the lifetime as netlink carries it; 0 means "send no
// IFA_CACHEINFO", which the kernel takes as forever (also on replace).
func (l Lease) seconds() int {
	if !l.Enabled() {
		return 0
	}
	return int(l.Lifetime / time.Second)
}

// stamp puts l's lifetimes on na.
func (l Lease) stamp(na *netlink.Addr) {
	na.ValidLft, na.PreferedLft = l.seconds(), l.seconds()
}

// WithLease returns a Manager on the same handle that installs addresses
// with lease l (the zero Lease: forever) and can Refresh them.
func (m *Manager) WithLease(l Lease) (*Manager, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return &Manager{h: m.h, lease: l, now: m.now}, nil
}

// Lease is the Manager's lease (zero: addresses are installed forever).
func (m *Manager) Lease() Lease { return m.lease }

// Refresh renews the lease of every address of addrs the kernel still has
// and returns, in order, those it lacks: lapsed (the daemon was frozen) or
// deleted by someone else. It never creates an address (the caller re-adds
// and announces what is missing). Without a lease it does nothing.
func (m *Manager) Refresh(addrs []Address) (missing []Address, err error) {
	return m.RefreshGated(addrs, nil)
}

// Gate fences one renewal: it calls renew only while the address may still
// be renewed, and holds the address's removal off meanwhile (nil: renew
// everything). A renewal is an RTM_NEWADDR, and the kernel creates the
// address when it is gone (with NLM_F_CREATE or without: devinet and addrconf
// both ignore the flag), so a renewal running beside the daemon's removal of
// the VIP would put it back on a node that has just stopped being master.
type Gate func(a Address, renew func() error) error

// RefreshGated is Refresh with every renewal passed through gate, for a
// caller that renews on another goroutine than the one removing addresses.
func (m *Manager) RefreshGated(addrs []Address, gate Gate) (missing []Address, err error) {
	if !m.lease.Enabled() {
		return nil, nil
	}
	if gate == nil {
		gate = func(_ Address, renew func() error) error { return renew() }
	}
	var errs []error
	for _, group := range byDev(addrs) {
		miss, err := m.refreshDev(group, gate)
		missing = append(missing, miss...)
		errs = append(errs, err)
	}
	m.renewed.prune(addrs)
	return missing, errors.Join(errs...)
}

// Renewer returns a Manager with m's lease on a netlink socket of its own,
// opened in the calling thread's network namespace and kept open: the
// daemon's renewal goroutine runs beside the loop's Manager (a netlink handle
// is not safe for concurrent use), and one socket for every renewal costs
// less than the zero Handle's socket per request. rcvbuf > 0 sizes the
// socket's receive buffer, which the address dumps fill (keepalived's
// vrrp_netlink_cmd_rcv_bufs; force: SO_RCVBUFFORCE, past rmem_max). Close
// releases it.
func (m *Manager) Renewer(rcvbuf int, force bool) (*Manager, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vip: renewal socket: %w", err)
	}
	if rcvbuf > 0 {
		if err := h.SetSocketReceiveBufferSize(rcvbuf, force); err != nil {
			h.Close()
			return nil, fmt.Errorf("vip: renewal socket receive buffer %d: %w", rcvbuf, err)
		}
	}
	return &Manager{h: h, lease: m.lease, now: m.now}, nil
}

// Close releases the netlink sockets of a Manager from Renewer (or
// NewManager with a handle); the zero Handle's have none.
func (m *Manager) Close() { m.h.Close() }

// ReceiveBufferSizes reports the receive buffer of each netlink socket the
// Manager keeps open (as the kernel doubles it: getsockopt SO_RCVBUF).
func (m *Manager) ReceiveBufferSizes() ([]int, error) { return m.h.GetSocketReceiveBufferSize() }

// refreshDev renews addrs, which share one interface, with one dump.
func (m *Manager) refreshDev(addrs []Address, gate Gate) (missing []Address, err error) {
	dev := addrs[0].Dev
	if err := validateDev(dev); err != nil {
		return nil, err
	}
	link, err := m.link(dev)
	if err != nil {
		return nil, fmt.Errorf("vip: refresh on %s: %w", dev, err)
	}
	list, err := m.addrList(link)
	if err != nil {
		return nil, fmt.Errorf("vip: refresh on %s: %w", dev, err)
	}
	have := make([]netip.Prefix, 0, len(list))
	for _, na := range list {
		if p, ok := prefixOf(na); ok {
			have = append(have, p)
		}
	}
	present, missing := refreshPlan(addrs, have)
	now := m.clock()
	for _, a := range missing {
		m.renewed.forget(a) // re-added by the daemon: a whole lifetime again
	}
	var errs []error
	for i, a := range present {
		if !m.renewed.due(m.lease, now, a, i) {
			continue
		}
		err := gate(a, func() error { return m.replace(link, a) })
		if err == nil {
			m.renewed.mark(a, now)
		}
		errs = append(errs, err)
	}
	return missing, errors.Join(errs...)
}

// replace renews a in place (RTM_NEWADDR, NLM_F_REPLACE). Also used by Add
// on an address that already exists, so that it ends with our lifetimes.
func (m *Manager) replace(link netlink.Link, a Address) error {
	na := toNetlink(a)
	m.lease.stamp(na)
	if err := m.h.AddrReplace(link, na); err != nil {
		return fmt.Errorf("vip: renew %s: %w", a, err)
	}
	return nil
}

// refreshPlan splits want into the addresses have contains (renew them) and
// the ones it lacks, with the kernel's identity rules: IPv4 is address and
// prefix length (10.0.0.1/24 and /32 are two addresses), IPv6 the address
// alone (a replace of 2001:db8::1/64 renews a 2001:db8::1/128 that is there,
// as Add of it was EEXIST).
func refreshPlan(want []Address, have []netip.Prefix) (present, missing []Address) {
	for _, a := range want {
		if hasSame(have, a.Prefix) {
			present = append(present, a)
		} else {
			missing = append(missing, a)
		}
	}
	return present, missing
}

func hasSame(have []netip.Prefix, p netip.Prefix) bool {
	for _, h := range have {
		if h == p || (p.Addr().Is6() && h.Addr() == p.Addr()) {
			return true
		}
	}
	return false
}

// byDev groups addrs by interface, in first-seen order, keeping their order.
func byDev(addrs []Address) [][]Address {
	var groups [][]Address
	index := map[string]int{}
	for _, a := range addrs {
		i, ok := index[a.Dev]
		if !ok {
			i = len(groups)
			index[a.Dev] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], a)
	}
	return groups
}
