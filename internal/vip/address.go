// Package vip installs virtual addresses with netlink and announces them on
// the link (gratuitous ARP for IPv4, unsolicited Neighbor Advertisement for
// IPv6). It is the one place where VIP installation policy lives (flags,
// lifetimes, idempotency), so the daemon never talks to netlink directly.
package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
)

// maxIfNameLen is IFNAMSIZ-1: the kernel rejects longer names and labels.
const maxIfNameLen = 15

// Address is one virtual address as keepalived's virtual_ipaddress block
// describes it.
type Address struct {
	Prefix    netip.Prefix // keepalived default /32 (v4) or /128 (v6) when written bare
	Dev       string       // interface
	Label     string       // IPv4 label (e.g. "eth0:1"); must start with Dev name as the kernel requires
	Scope     string       // "global" (default), "host", "link", "site", "nowhere" or a number
	Broadcast netip.Addr   // optional (IPv4)
}

// ErrInvalid is wrapped by every validation error, so callers can tell a bad
// configuration from a kernel failure.
var ErrInvalid = errors.New("invalid address")

// scopeNames maps keepalived/iproute2 scope names to rtnetlink values.
var scopeNames = map[string]netlink.Scope{
	"global":   netlink.SCOPE_UNIVERSE,
	"universe": netlink.SCOPE_UNIVERSE,
	"site":     netlink.SCOPE_SITE,
	"link":     netlink.SCOPE_LINK,
	"host":     netlink.SCOPE_HOST,
	"nowhere":  netlink.SCOPE_NOWHERE,
}

// ParsePrefix parses a VIP the way keepalived does: a bare address means a
// host prefix (/32 or /128). IPv4-mapped IPv6 addresses are unmapped.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("vip: %w: %w", ErrInvalid, err)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("vip: %w: mapped prefix %s shorter than /96", ErrInvalid, s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("vip: %w: %w", ErrInvalid, err)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("vip: %w: zone not allowed in %q", ErrInvalid, s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseScope turns a scope name or number (0..255) into its rtnetlink value.
// The empty string is "global", keepalived's default.
func ParseScope(s string) (netlink.Scope, error) {
	if s == "" {
		return netlink.SCOPE_UNIVERSE, nil
	}
	if v, ok := scopeNames[strings.ToLower(s)]; ok {
		return v, nil
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("vip: %w: unknown scope %q", ErrInvalid, s)
	}
	return netlink.Scope(n), nil
}

// Validate reports whether the kernel can take a as written, without asking it.
func (a Address) Validate() error {
	if err := a.validatePrefix(); err != nil {
		return err
	}
	if err := validateDev(a.Dev); err != nil {
		return err
	}
	if _, err := ParseScope(a.Scope); err != nil {
		return err
	}
	if err := a.validateLabel(); err != nil {
		return err
	}
	return a.validateBroadcast()
}

func (a Address) validatePrefix() error {
	if !a.Prefix.IsValid() {
		return fmt.Errorf("vip: %w: no prefix", ErrInvalid)
	}
	if a.Prefix.Addr().Is4In6() {
		return fmt.Errorf("vip: %w: IPv4-mapped address %s (use the IPv4 form)", ErrInvalid, a.Prefix)
	}
	return nil
}

func validateDev(dev string) error {
	if dev == "" {
		return fmt.Errorf("vip: %w: no interface", ErrInvalid)
	}
	if len(dev) > maxIfNameLen {
		return fmt.Errorf("vip: %w: interface name %q longer than %d bytes", ErrInvalid, dev, maxIfNameLen)
	}
	return nil
}

// validateLabel enforces the kernel's rule that an IPv4 label begins with the
// device name; IPv6 has no labels at all.
func (a Address) validateLabel() error {
	if a.Label == "" {
		return nil
	}
	if !a.Prefix.Addr().Is4() {
		return fmt.Errorf("vip: %w: label %q on IPv6 address %s (labels are IPv4 only)", ErrInvalid, a.Label, a.Prefix)
	}
	if !strings.HasPrefix(a.Label, a.Dev) {
		return fmt.Errorf("vip: %w: label %q must start with interface name %q", ErrInvalid, a.Label, a.Dev)
	}
	if len(a.Label) > maxIfNameLen {
		return fmt.Errorf("vip: %w: label %q longer than %d bytes", ErrInvalid, a.Label, maxIfNameLen)
	}
	return nil
}

func (a Address) validateBroadcast() error {
	if !a.Broadcast.IsValid() {
		return nil
	}
	if !a.Prefix.Addr().Is4() || !a.Broadcast.Is4() {
		return fmt.Errorf("vip: %w: broadcast %s needs an IPv4 address and prefix", ErrInvalid, a.Broadcast)
	}
	return nil
}

// String formats a like keepalived's logs, with iproute2 word order:
// "192.0.2.10/24 brd 192.0.2.255 dev eth0 scope global label eth0:1".
func (a Address) String() string {
	var b strings.Builder
	b.WriteString(a.Prefix.String())
	if a.Broadcast.IsValid() {
		b.WriteString(" brd ")
		b.WriteString(a.Broadcast.String())
	}
	b.WriteString(" dev ")
	b.WriteString(a.Dev)
	b.WriteString(" scope ")
	b.WriteString(a.scopeName())
	if a.Label != "" {
		b.WriteString(" label ")
		b.WriteString(a.Label)
	}
	return b.String()
}

func (a Address) scopeName() string {
	if a.Scope == "" {
		return "global"
	}
	return a.Scope
}
