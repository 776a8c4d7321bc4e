package vrrp

import (
	"encoding/binary"
	"net/netip"
)

// checksum computes the Internet checksum (RFC 1071) of msg, a whole VRRP
// message whose checksum field is zero, in the form v/fam/mode call for.
func checksum(msg []byte, v Version, fam Family, src, dst netip.Addr, mode ChecksumMode) uint16 {
	return ^fold(sumForm(msg, v, fam, src, dst, mode))
}

// sumForm is the unfolded one's-complement sum of msg plus the pseudo-header
// the form calls for. Bytes 6-7 of msg are included as they are, so summing a
// received message gives 0xffff (after folding) when its checksum is right.
func sumForm(msg []byte, v Version, fam Family, src, dst netip.Addr, mode ChecksumMode) uint32 {
	s := sum(0, msg)
	switch {
	case v == V3 && fam == IPv6:
		// RFC 8200 section 8.1: src, dst, 32-bit upper-layer length, 3 zero bytes, next header.
		s = sumAddr(s, src)
		s = sumAddr(s, dst)
		s += uint32(len(msg)>>16) + uint32(len(msg)&0xffff) + ProtocolNumber
	case v == V3 && fam == IPv4 && mode == ChecksumOldUnicast:
		// pre-1.3.6 keepalived: the multicast group as destination (oldchecksum.go).
		s = sumAddr(s, src)
		s = sumAddr(s, OldChecksumGroup)
		s += ProtocolNumber + uint32(len(msg)&0xffff)
	case v == V3 && fam == IPv4 && mode == ChecksumPseudoHeader:
		// RFC 768-style IPv4 pseudo-header: src, dst, zero, protocol, length.
		s = sumAddr(s, src)
		s = sumAddr(s, dst)
		s += ProtocolNumber + uint32(len(msg)&0xffff)
	}
	return s
}

// sum adds b as big-endian 16-bit words (an odd last byte is zero padded).
// Wire messages are at most 8+255*16+8 bytes, far from overflowing uint32.
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// sumAddr adds an address in its wire form; an invalid address adds nothing.
func sumAddr(s uint32, a netip.Addr) uint32 {
	if a.Is4() {
		b := a.As4()
		return sum(s, b[:])
	}
	if a.Is6() {
		b := a.As16()
		return sum(s, b[:])
	}
	return s
}

// fold reduces a 32-bit sum to 16 bits with end-around carry.
func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// VerifyChecksum checks the checksum of b, a whole VRRP message. For v3 over
// IPv4 it accepts both forms and says which matched (pseudo-header first, as
// keepalived sends it); v2 reports ChecksumMessageOnly and v3 IPv6
// ChecksumPseudoHeader, their single forms. Pseudo-header forms need src and
// dst of the packet's family. v2 over IPv6 and unknown versions or families
// never verify.
func VerifyChecksum(b []byte, v Version, fam Family, src, dst netip.Addr) (ChecksumMode, bool) {
	switch {
	case v == V2 && fam == IPv4:
		return ChecksumMessageOnly, fold(sum(0, b)) == 0xffff
	case v == V3 && fam == IPv6:
		if !src.Is6() || !dst.Is6() {
			return ChecksumPseudoHeader, false
		}
		return ChecksumPseudoHeader, fold(sumForm(b, v, fam, src, dst, ChecksumPseudoHeader)) == 0xffff
	case v == V3 && fam == IPv4:
		if src.Is4() && dst.Is4() && fold(sumForm(b, v, fam, src, dst, ChecksumPseudoHeader)) == 0xffff {
			return ChecksumPseudoHeader, true
		}
		return ChecksumMessageOnly, fold(sum(0, b)) == 0xffff
	}
	return ChecksumMessageOnly, false
}
