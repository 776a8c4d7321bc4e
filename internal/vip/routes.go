package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ProtoKeepalived is the route and rule protocol keepalived 2.2.7 installs
// with ("proto keepalived" in `ip route` / `ip rule`); govrrp uses the same
// so a mixed pair, and tools that filter on it, see the same table.
const ProtoKeepalived = 18

// routeTypes maps keepalived's route type words to rtnetlink types.
var routeTypes = map[string]int{"": unix.RTN_UNICAST, "blackhole": unix.RTN_BLACKHOLE,
	"unreachable": unix.RTN_UNREACHABLE, "prohibit": unix.RTN_PROHIBIT, "throw": unix.RTN_THROW}

// routeScopes maps scope words to rtnetlink scopes; "" is global, which is
// what keepalived gives a dev-only route too (`ip route` would say link).
var routeScopes = map[string]netlink.Scope{"": netlink.SCOPE_UNIVERSE, "global": netlink.SCOPE_UNIVERSE,
	"site": netlink.SCOPE_SITE, "link": netlink.SCOPE_LINK, "host": netlink.SCOPE_HOST, "nowhere": netlink.SCOPE_NOWHERE}

// AddRoute installs r, replacing a route with the same destination, table,
// metric and type (the kernel's replace key), so it is idempotent.
func (m *Manager) AddRoute(r kaconf.Route) error {
	nr, err := m.toNetlinkRoute(r)
	if err != nil {
		return fmt.Errorf("vip: route %s: %w", r.Dst, err)
	}
	if err := m.h.RouteReplace(nr); err != nil {
		return fmt.Errorf("vip: route %s: %w", r.Dst, err)
	}
	return nil
}

// RemoveRoute deletes r. An absent route or interface is success: the
// kernel drops routes through an interface when it goes away.
func (m *Manager) RemoveRoute(r kaconf.Route) error {
	nr, err := m.toNetlinkRoute(r)
	if errors.Is(err, ErrNoDevice) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vip: route %s: %w", r.Dst, err)
	}
	err = m.h.RouteDel(nr)
	if err == nil || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("vip: remove route %s: %w", r.Dst, err)
}

// HasRoute reports whether a route with r's destination, table, type and
// metric is installed (whatever its gateway): what a deletion watch checks.
func (m *Manager) HasRoute(r kaconf.Route) (bool, error) {
	nr, err := m.toNetlinkRoute(r)
	if errors.Is(err, ErrNoDevice) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	got, err := m.h.RouteListFiltered(nr.Family, nr, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE|netlink.RT_FILTER_TYPE)
	if err != nil {
		return false, fmt.Errorf("vip: list routes: %w", err)
	}
	for _, g := range got {
		// IPv6 routes given no metric get the kernel's 1024.
		if g.Priority == nr.Priority || (nr.Priority == 0 && r.IPv6() && g.Priority == 1024) {
			return true, nil
		}
	}
	return false, nil
}

func (m *Manager) toNetlinkRoute(r kaconf.Route) (*netlink.Route, error) {
	typ, ok := routeTypes[r.Type]
	if !ok {
		return nil, fmt.Errorf("route type %q not supported", r.Type)
	}
	scope, ok := routeScopes[r.Scope]
	if !ok {
		return nil, fmt.Errorf("scope %q not supported", r.Scope)
	}
	nr := &netlink.Route{Dst: ipNet(r.Dst), Src: ip(r.Src), Gw: ip(r.Via), Type: typ, Scope: scope,
		Table: r.Table, Priority: r.Metric, Protocol: netlink.RouteProtocol(protocol(r.Protocol)),
		MTU: r.MTU, MTULock: r.MTULock, Family: family(r.IPv6())}
	if nr.Table == 0 {
		nr.Table = unix.RT_TABLE_MAIN
	}
	if r.OnLink {
		nr.Flags |= int(netlink.FLAG_ONLINK)
	}
	var err error
	if nr.LinkIndex, err = m.linkIndex(r.Dev); err != nil {
		return nil, err
	}
	for _, h := range r.Nexthops {
		nh := &netlink.NexthopInfo{Gw: ip(h.Via), Hops: max(h.Weight, 1) - 1}
		if h.OnLink {
			nh.Flags |= int(netlink.FLAG_ONLINK)
		}
		if nh.LinkIndex, err = m.linkIndex(h.Dev); err != nil {
			return nil, err
		}
		nr.MultiPath = append(nr.MultiPath, nh)
	}
	return nr, nil
}

// linkIndex is 0 for no device.
func (m *Manager) linkIndex(dev string) (int, error) {
	if dev == "" {
		return 0, nil
	}
	l, err := m.link(dev)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

func protocol(p int) int {
	if p == 0 {
		return ProtoKeepalived
	}
	return p
}

func family(v6 bool) int {
	if v6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}

func ip(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return net.IP(a.AsSlice())
}

func ipNet(p netip.Prefix) *net.IPNet {
	if !p.IsValid() {
		return nil
	}
	return &net.IPNet{IP: ip(p.Addr()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Unleased is a Manager on the same handle that installs addresses forever:
// static_ipaddress must not lapse with the VIP lease.
func (m *Manager) Unleased() *Manager { return &Manager{h: m.h} }
