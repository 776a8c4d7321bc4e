package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// watchPoll bounds how long one receive blocks, so the watch notices the
// end of its context.
var watchPoll = unix.Timeval{Sec: 1}

// WatchDeletions calls deleted each time the kernel reports routes, rules or
// addresses deleted in the calling thread's network namespace (several messages read
// at once give one call; a lost-message overflow counts as a deletion,
// since one may be among them), until ctx ends. It only reports: the caller
// decides what is missing and what to do about it.
//
// A deleted route wakes the caller only when routeOfInterest(its destination)
// is true (nil: always), so a router churning a full BGP table does not make
// the daemon recheck on every withdrawal.
func WatchDeletions(ctx context.Context, routeOfInterest func(netip.Prefix) bool, deleted func()) error {
	s, err := nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE,
		unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR)
	if err != nil {
		return fmt.Errorf("vip: watch routes: %w", err)
	}
	defer s.Close()
	if err := sizeMonitor(s); err != nil { // netlinkbuf.go
		return fmt.Errorf("vip: watch routes: %w", err)
	}
	if err := s.SetReceiveTimeout(&watchPoll); err != nil {
		return fmt.Errorf("vip: watch routes: %w", err)
	}
	for ctx.Err() == nil {
		msgs, _, err := s.Receive()
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			deleted()
			continue
		case err != nil:
			return fmt.Errorf("vip: watch routes: %w", err)
		}
		if slices.ContainsFunc(msgs, func(m syscall.NetlinkMessage) bool { return relevant(m, routeOfInterest) }) {
			deleted()
		}
	}
	return nil
}

// relevant: a deleted rule or address, or a deleted route the caller
// watches (one whose destination cannot be read counts).
func relevant(m syscall.NetlinkMessage, routeOfInterest func(netip.Prefix) bool) bool {
	switch m.Header.Type {
	case unix.RTM_DELRULE, unix.RTM_DELADDR:
		return true
	case unix.RTM_DELROUTE:
		dst, ok := routeDst(m.Data)
		return !ok || routeOfInterest == nil || routeOfInterest(dst)
	}
	return false
}

// routeDst is the destination of an rtnetlink route message.
func routeDst(b []byte) (netip.Prefix, bool) {
	if len(b) < unix.SizeofRtMsg {
		return netip.Prefix{}, false
	}
	rt := nl.DeserializeRtMsg(b)
	addr := netip.IPv4Unspecified() // no RTA_DST: the default route
	if rt.Family == unix.AF_INET6 {
		addr = netip.IPv6Unspecified()
	}
	attrs, err := nl.ParseRouteAttr(b[unix.SizeofRtMsg:])
	if err != nil {
		return netip.Prefix{}, false
	}
	for _, a := range attrs {
		if a.Attr.Type == unix.RTA_DST {
			var ok bool
			if addr, ok = netip.AddrFromSlice(a.Value); !ok {
				return netip.Prefix{}, false
			}
		}
	}
	p := netip.PrefixFrom(addr, int(rt.Dst_len))
	return p, p.IsValid()
}
