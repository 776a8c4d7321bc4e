package netlab

import (
	"context"
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// SetLinkUp sets ifname in the host administratively up or down
// (`ip link set IF up|down`). Note that the kernel flushes an interface's
// IPv6 addresses when it is set down (unless keep_addr_on_down), IPv4
// addresses stay.
func (h *Host) SetLinkUp(ifname string, up bool) error {
	if h.err != nil {
		return h.err
	}
	if err := checkIfname(ifname); err != nil {
		return err
	}
	return h.withLink(ifname, func(nl *netlink.Handle, link netlink.Link) error {
		err := nl.LinkSetDown(link)
		if up {
			err = nl.LinkSetUp(link)
		}
		if err != nil {
			return fmt.Errorf("netlab: %s: set %s up=%v: %w", h.name, ifname, up, err)
		}
		return nil
	})
}

// SetCarrier cuts (up=false) or restores the cable of the host's ifname,
// which Connect wired to segment s: it sets the switch-side veth peer down
// or up. The host's interface stays administratively up and keeps its
// addresses; it only loses carrier (NO-CARRIER, operstate down), which is
// what a pulled cable or a dead switch port looks like to a daemon.
func (h *Host) SetCarrier(s *Segment, ifname string, up bool) error {
	if h.err != nil {
		return h.err
	}
	if s.err != nil {
		return s.err
	}
	if err := checkIfname(ifname); err != nil {
		return err
	}
	peerIndex, err := h.vethPeerIndex(ifname)
	if err != nil {
		return err
	}
	return withHandle(s.ns, func(nl *netlink.Handle) error {
		peer, err := nl.LinkByIndex(peerIndex)
		if err != nil {
			return fmt.Errorf("netlab: %s: peer of %s %s (ifindex %d): %w", s.ns, h.name, ifname, peerIndex, err)
		}
		if peer.Type() != "veth" || peer.Attrs().MasterIndex == 0 {
			return fmt.Errorf("netlab: %s: ifindex %d (%s) is not a bridge port of %s's %s; wrong segment?",
				s.ns, peerIndex, peer.Attrs().Name, h.name, ifname)
		}
		if up {
			err = nl.LinkSetUp(peer)
		} else {
			err = nl.LinkSetDown(peer)
		}
		if err != nil {
			return fmt.Errorf("netlab: %s: set %s up=%v: %w", s.ns, peer.Attrs().Name, up, err)
		}
		return nil
	})
}

// vethPeerIndex is the ifindex, in the peer's namespace, of the other end
// of the host's veth ifname (IFLA_LINK).
func (h *Host) vethPeerIndex(ifname string) (int, error) {
	var idx int
	err := h.withLink(ifname, func(_ *netlink.Handle, link netlink.Link) error {
		if link.Type() != "veth" || link.Attrs().ParentIndex == 0 {
			return fmt.Errorf("netlab: %s: %s is a %s without a veth peer", h.name, ifname, link.Type())
		}
		idx = link.Attrs().ParentIndex
		return nil
	})
	return idx, err
}

// Carrier reports whether ifname is up with carrier (IFF_UP and
// IFF_RUNNING both set), i.e. what a VRRP daemon tracking it sees as up.
func (h *Host) Carrier(ifname string) (bool, error) {
	if h.err != nil {
		return false, h.err
	}
	var up bool
	err := h.withLink(ifname, func(_ *netlink.Handle, link netlink.Link) error {
		f := link.Attrs().RawFlags // the kernel's IFF_* bits (net.Flags numbers differ)
		up = f&unix.IFF_UP != 0 && f&unix.IFF_RUNNING != 0
		return nil
	})
	return up, err
}

// WaitCarrier polls until Carrier(ifname) == up.
func (h *Host) WaitCarrier(ctx context.Context, ifname string, up bool, timeout time.Duration) error {
	return WaitFor(ctx, timeout, 5*time.Millisecond, func() (bool, error) {
		got, err := h.Carrier(ifname)
		if err != nil {
			return false, err
		}
		if got == up {
			return true, nil
		}
		return false, fmt.Errorf("netlab: %s %s: carrier %v, want %v", h.name, ifname, got, up)
	})
}
