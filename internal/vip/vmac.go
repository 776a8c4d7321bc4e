package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/govrrp/govrrp/internal/firewall"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VMAC is one use_vmac interface: a macvlan on Parent carrying the VRRP
// virtual MAC of VRID (RFC 5798 section 7.3). keepalived 2.2.7 creates it in
// macvlan mode private, up whatever the instance's state; govrrp does the same.
type VMAC struct {
	Name   string // the macvlan's name (use_vmac NAME, or vmac_prefix.VRID)
	Parent string // the instance's interface
	VRID   uint8
	IPv6   bool
	Addr   net.HardwareAddr // use_vmac NAME MAC: this MAC instead of the VRRP one
}

// MAC is the virtual router MAC: 00:00:5e:00:01:VRID for IPv4,
// 00:00:5e:00:02:VRID for IPv6, unless the configuration gave one.
func (v VMAC) MAC() net.HardwareAddr {
	if len(v.Addr) == 6 {
		return v.Addr
	}
	fam := byte(1)
	if v.IPv6 {
		fam = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, v.VRID}
}

// ErrNotVMAC is wrapped when a link of the VMAC's name exists but is not a
// macvlan: govrrp never deletes an interface it cannot have created.
var ErrNotVMAC = errors.New("interface exists and is not a macvlan")

// vmacSysctls are what keepalived 2.2.7 sets on an IPv4 VMAC (observed with
// `sysctl -a` while it ran): the VMAC answers ARP only for its own addresses
// (arp_ignore), accepts packets from our own addresses (accept_local), keeps
// secondary VIPs when the primary goes (promote_secondaries), and has no IPv6.
var vmacSysctls4 = []sysctl{
	{"ipv4", "rp_filter", "0"}, // see rpFilter: a new link inherits default's
	{"ipv4", "arp_ignore", "1"},
	{"ipv4", "accept_local", "1"},
	{"ipv4", "promote_secondaries", "1"},
	{"ipv6", "disable_ipv6", "1"},
}

// parentSysctls4: the base interface stops answering ARP for addresses it
// does not hold (the VIPs on the VMAC), so clients learn the virtual MAC
// only. keepalived leaves these set after it stops; so does govrrp.
//
// arp_announce=2 is govrrp's own (keepalived 2.2.7 leaves it 0): a reply
// from a VIP to a client leaves through the base (its subnet route comes
// first), and its ARP request for the client would carry the VIP as sender
// with the base MAC, moving the client's entry for the VIP off the virtual
// MAC (observed with keepalived 2.2.7). With 2 the request names the base's
// own address instead.
var parentSysctls4 = []sysctl{
	{"ipv4", "arp_ignore", "1"},
	{"ipv4", "arp_filter", "1"},
	{"ipv4", "arp_announce", "2"},
}

type sysctl struct{ family, key, value string }

// addrGenModeNone is IN6_ADDR_GEN_MODE_NONE (linux/if_link.h): the kernel
// generates no IPv6 address, not even a link-local, on the link.
const addrGenModeNone = 1

// lftForever is INFINITY_LIFE_TIME; netlink sends lifetimes only when one
// is positive, so "valid forever, preferred 0" must be spelled out.
const lftForever = 0xffffffff

// VMACs creates, finds and deletes VMAC links through one netlink handle.
// The links keep no state here: the kernel is the truth, so a VMAC left by a
// killed run is found and reused. The one state kept is the rp_filter
// settings changed while IPv4 VMACs exist (rpfilter.go), to restore them.
type VMACs struct {
	h *netlink.Handle
	// procSys is the /proc/sys root the sysctls are written under (a test
	// seam); /proc/sys shows the network namespace of the writing thread.
	procSys string

	nft nftRunner // nil: no nftables rules (tests of the link alone)

	mu    sync.Mutex
	rp    rpFilter
	links map[string]VMAC // created or reused by this run (vmac_nft.go)
}

// NewVMACs returns a VMACs using h (nil: the calling thread's namespace).
func NewVMACs(h *netlink.Handle) *VMACs {
	if h == nil {
		h = &netlink.Handle{}
	}
	return &VMACs{h: h, procSys: "/proc/sys", nft: firewall.NFT{}}
}

// Ensure makes v exist, configured and up. A macvlan of that name on the
// right parent with the right MAC is reused (reused=true: a previous run was
// killed); a macvlan of that name that differs is replaced; any other link of
// that name is refused with ErrNotVMAC.
func (m *VMACs) Ensure(v VMAC) (reused bool, err error) {
	if err := v.validate(); err != nil {
		return false, err
	}
	parent, err := m.h.LinkByName(v.Parent)
	if err != nil {
		return false, fmt.Errorf("vip: vmac %s: parent %s: %w", v.Name, v.Parent, ErrNoDevice)
	}
	link, err := m.h.LinkByName(v.Name)
	switch {
	case err == nil:
		reused, err = m.reuseOrDelete(v, link, parent)
		if err != nil {
			return false, err
		}
	case !isNotFound(err):
		return false, fmt.Errorf("vip: vmac %s: %w", v.Name, err)
	}
	if !reused {
		if link, err = m.create(v, parent); err != nil {
			return false, err
		}
	}
	if err := m.configure(v, link, parent); err != nil {
		return reused, err
	}
	return reused, m.noteLink(v, true)
}

// reuseOrDelete keeps link if it is v as created; deletes a macvlan that is
// not (another VRID, parent or mode from an older configuration).
func (m *VMACs) reuseOrDelete(v VMAC, link, parent netlink.Link) (bool, error) {
	mv, ok := link.(*netlink.Macvlan)
	if !ok {
		return false, fmt.Errorf("vip: vmac %s: %w (type %s)", v.Name, ErrNotVMAC, link.Type())
	}
	if mv.ParentIndex == parent.Attrs().Index && mv.Mode == netlink.MACVLAN_MODE_PRIVATE &&
		mv.HardwareAddr.String() == v.MAC().String() {
		return true, nil
	}
	if err := m.h.LinkDel(link); err != nil {
		return false, fmt.Errorf("vip: vmac %s: replace: %w", v.Name, err)
	}
	return false, nil
}

func (m *VMACs) create(v VMAC, parent netlink.Link) (netlink.Link, error) {
	mv := &netlink.Macvlan{
		LinkAttrs: netlink.LinkAttrs{Name: v.Name, ParentIndex: parent.Attrs().Index, HardwareAddr: v.MAC()},
		Mode:      netlink.MACVLAN_MODE_PRIVATE,
	}
	if err := m.h.LinkAdd(mv); err != nil {
		return nil, fmt.Errorf("vip: vmac %s: create on %s: %w", v.Name, v.Parent, err)
	}
	link, err := m.h.LinkByName(v.Name)
	if err != nil {
		return nil, fmt.Errorf("vip: vmac %s: %w", v.Name, err)
	}
	return link, nil
}

// configure: no generated IPv6 addresses (the VMAC must not take part in
// SLAAC or send its own link-local), keepalived's sysctls, for IPv6 the
// parent's link-local as the advert source, then up.
func (m *VMACs) configure(v VMAC, link, parent netlink.Link) error {
	if err := m.h.LinkSetIP6AddrGenMode(link, addrGenModeNone); err != nil {
		return fmt.Errorf("vip: vmac %s: addrgenmode none: %w", v.Name, err)
	}
	if v.IPv6 {
		if err := m.copyLinkLocal(v, link, parent); err != nil {
			return err
		}
	} else {
		if err := m.holdRPFilter(v.Name); err != nil {
			return err
		}
		if err := m.writeSysctls(v.Name, vmacSysctls4); err != nil {
			return err
		}
		if err := m.writeSysctls(v.Parent, parentSysctls4); err != nil {
			return err
		}
	}
	if err := m.h.LinkSetUp(link); err != nil {
		return fmt.Errorf("vip: vmac %s: up: %w", v.Name, err)
	}
	return nil
}

// copyLinkLocal adds the parent's link-local address to the VMAC, as
// keepalived does: IPv6 adverts leave the VMAC from that address, and the
// kernel only sends from a link-local held by the outgoing link. nodad and
// preferred lifetime 0 (deprecated) keep it from being chosen for anything
// else.
func (m *VMACs) copyLinkLocal(v VMAC, link, parent netlink.Link) error {
	addrs, err := m.h.AddrList(parent, netlink.FAMILY_V6)
	if err != nil {
		return fmt.Errorf("vip: vmac %s: addresses of %s: %w", v.Name, v.Parent, err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || !ip.IsLinkLocalUnicast() {
			continue
		}
		na := &netlink.Addr{IPNet: &net.IPNet{IP: a.IP, Mask: net.CIDRMask(64, 128)},
			Flags: unix.IFA_F_NODAD, ValidLft: lftForever, PreferedLft: 0}
		if err := m.h.AddrReplace(link, na); err != nil {
			return fmt.Errorf("vip: vmac %s: link-local %s: %w", v.Name, ip, err)
		}
		return nil
	}
	return fmt.Errorf("vip: vmac %s: %s has no IPv6 link-local address", v.Name, v.Parent)
}

func (m *VMACs) writeSysctls(dev string, list []sysctl) error {
	for _, s := range list {
		p := filepath.Join(m.procSys, "net", s.family, "conf", dev, s.key)
		if err := os.WriteFile(p, []byte(s.value), 0o644); err != nil {
			return fmt.Errorf("vip: sysctl net.%s.conf.%s.%s=%s: %w", s.family, dev, s.key, s.value, err)
		}
	}
	return nil
}

// Delete removes the VMAC named name if it is a macvlan; an absent link is
// success, any other kind of link is refused (never ours).
func (m *VMACs) Delete(name string) error {
	link, err := m.h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vip: vmac %s: %w", name, err)
	}
	if _, ok := link.(*netlink.Macvlan); !ok {
		return fmt.Errorf("vip: vmac %s: %w (type %s)", name, ErrNotVMAC, link.Type())
	}
	if err := m.h.LinkDel(link); err != nil && !isNotFound(err) {
		return fmt.Errorf("vip: vmac %s: delete: %w", name, err)
	}
	if err := m.releaseRPFilter(name); err != nil {
		return err
	}
	return m.noteLink(VMAC{Name: name}, false)
}

func (v VMAC) validate() error {
	if err := validateDev(v.Name); err != nil {
		return err
	}
	if err := validateDev(v.Parent); err != nil {
		return err
	}
	if strings.ContainsAny(v.Name+v.Parent, "\"\\") {
		return fmt.Errorf("vip: %w: vmac %q / parent %q: quote or backslash in an interface name", ErrInvalid, v.Name, v.Parent)
	}
	if v.Name == v.Parent {
		return fmt.Errorf("vip: %w: vmac name %q is its own parent", ErrInvalid, v.Name)
	}
	if v.VRID == 0 {
		return fmt.Errorf("vip: %w: vmac %s: VRID 0", ErrInvalid, v.Name)
	}
	return nil
}

// isNotFound: netlink reports a missing link as LinkNotFoundError (by name)
// or ENODEV.
func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return err != nil && (errors.As(err, &nf) || errors.Is(err, unix.ENODEV))
}
