package vrrp

import "net/netip"

// keepalived before 1.3.6 computed the VRRPv3 IPv4 checksum of a unicast
// advert over the pseudo-header with the VRRP multicast group as
// destination, whatever address the packet went to. keepalived 2.2.7 (built
// with OLD_CHKSUM_COMPAT, as Debian's is) still speaks it, observed on the
// wire: with old_unicast_checksum it sends that form and drops the current
// one ("Invalid VRRPv3 checksum"); without the keyword it accepts an old-form
// advert ("Setting unicast VRRPv3 checksum to old version") and goes on
// sending the current form; with "old_unicast_checksum never" the old form
// is a bad checksum. For multicast adverts both forms are the same bytes.

// ChecksumOldUnicast is the pre-1.3.6 keepalived v3 IPv4 form: the
// pseudo-header with OldChecksumGroup as destination.
const ChecksumOldUnicast ChecksumMode = 2

// OldChecksumGroup is the destination the old form puts in the
// pseudo-header: the VRRP IPv4 multicast group (RFC 5798 section 5.1.1.2).
var OldChecksumGroup = netip.AddrFrom4([4]byte{224, 0, 0, 18})

// OldChecksumPolicy is what an instance does with the old form on receive.
type OldChecksumPolicy uint8

const (
	// OldChecksumAuto accepts the old form besides the current ones and
	// reports it as ChecksumOldUnicast (keepalived's default).
	OldChecksumAuto OldChecksumPolicy = iota
	// OldChecksumOnly accepts the old form alone (old_unicast_checksum).
	OldChecksumOnly
	// OldChecksumNever drops the old form as a bad checksum
	// (old_unicast_checksum never).
	OldChecksumNever
)

// verifyOld reports whether b, a v3 IPv4 message, carries the old form.
func verifyOld(b []byte, src netip.Addr) bool {
	return src.Is4() && fold(sumForm(b, V3, IPv4, src, OldChecksumGroup, ChecksumPseudoHeader)) == 0xffff
}

// applyOldChecksum refines the verdict of the current forms (mode, ok) on
// a v3 IPv4 advert for an instance with policy p. A multicast advert is
// left alone: there the old form is the pseudo-header form.
func applyOldChecksum(b []byte, v Version, m RecvMeta, p OldChecksumPolicy, mode ChecksumMode, ok bool) (ChecksumMode, bool) {
	if v != V3 || m.Family != IPv4 || m.Dst == OldChecksumGroup || m.Dst.IsMulticast() {
		return mode, ok
	}
	switch p {
	case OldChecksumOnly:
		return ChecksumOldUnicast, verifyOld(b, m.Src)
	case OldChecksumNever:
		return mode, ok
	}
	if !ok && verifyOld(b, m.Src) {
		return ChecksumOldUnicast, true
	}
	return mode, ok
}
