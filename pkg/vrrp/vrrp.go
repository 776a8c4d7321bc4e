// Package vrrp encodes, decodes and validates VRRP advertisements on the wire:
// VRRPv2 (RFC 3768, IPv4 only, with keepalived's PASS authentication) and
// VRRPv3 (RFC 5798 / RFC 9568, IPv4 and IPv6), with or without keepalived
// 2.4's auth_hmac trailer (hmac.go: signing, verifying, anti-replay).
//
// The codec works on the VRRP message only (the IP payload); the caller's
// socket supplies the IP source, destination and TTL. Decoding and validation
// do not allocate when the Advert's Addrs slice has enough capacity, so they
// can run once per received advert at 10 ms intervals for hundreds of routers.
package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Version is the VRRP protocol version in the high nibble of the first byte.
type Version uint8

const (
	V2 Version = 2 // RFC 3768
	V3 Version = 3 // RFC 5798, RFC 9568
)

// Family is the IP family an advert travels in (and of all its addresses).
type Family uint8

const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// ProtocolNumber is the IP protocol (IPv4) / next header (IPv6) of VRRP.
const ProtocolNumber = 112

// TTL is the IPv4 TTL / IPv6 hop limit every advert is sent with and, in
// multicast mode, must arrive with (it proves the sender is on-link).
const TTL = 255

// Multicast groups adverts are sent to.
var (
	MulticastIPv4 = netip.MustParseAddr("224.0.0.18")
	MulticastIPv6 = netip.MustParseAddr("ff02::12")
)

// AuthType is the VRRPv2 authentication type. VRRPv3 has no authentication.
type AuthType uint8

const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1 // simple text password, 8 bytes (keepalived auth_type PASS)
	AuthAH   AuthType = 2 // IPsec AH; recognised but not supported
)

// ChecksumMode says which bytes the checksum covers. It only matters for
// VRRPv3 over IPv4: v2 is always message-only and v3 over IPv6 always uses
// the RFC 8200 pseudo-header.
type ChecksumMode uint8

const (
	// ChecksumPseudoHeader includes the IPv4 pseudo-header (src, dst, 0, 112,
	// length). keepalived and FRR send this for v3 IPv4; it is the default.
	ChecksumPseudoHeader ChecksumMode = 0
	// ChecksumMessageOnly covers the VRRP message alone, as RFC 9568, Cisco and
	// Juniper do (keepalived's v3_checksum_as_v2).
	ChecksumMessageOnly ChecksumMode = 1
)

func (m ChecksumMode) String() string {
	switch m {
	case ChecksumPseudoHeader:
		return "pseudo_header"
	case ChecksumMessageOnly:
		return "message_only"
	case ChecksumOldUnicast:
		return "old_unicast"
	}
	return fmt.Sprintf("checksum_mode(%d)", uint8(m))
}

// Wire layout constants.
const (
	headerLen    = 8
	authLen      = 8 // v2 only, after the addresses
	typeAdvert   = 1
	maxAddrs     = 255
	maxV3Centis  = 0x0fff // Max Adver Int is 12 bits
	maxV2Seconds = 0xff
	centisecond  = 10 * time.Millisecond
)

// Advert is one VRRP advertisement.
type Advert struct {
	Version  Version
	VRID     uint8
	Priority uint8
	// AdverInt is whole seconds on the wire for v2 and the 12-bit Max Adver
	// Int in centiseconds for v3.
	AdverInt time.Duration
	AuthType AuthType // v2 only (in v3 the word is reserved)
	AuthData [8]byte  // v2 only
	Addrs    []netip.Addr
}

// MarshalOptions says how to encode an Advert.
type MarshalOptions struct {
	// Family of the packet; if zero it is taken from Src, then from Addrs[0].
	Family Family
	// Src and Dst are the IP addresses the packet will carry; they feed the
	// v3 pseudo-header checksum and are ignored for v2.
	Src, Dst netip.Addr
	// Checksum selects the v3 IPv4 form; ignored for v2 and v3 IPv6.
	Checksum ChecksumMode
}

// Errors returned by Unmarshal; each maps to the DropReason of the same name.
var (
	ErrTooShort = errors.New("vrrp: message too short")
	ErrVersion  = errors.New("vrrp: unknown version")
	ErrType     = errors.New("vrrp: type is not advertisement")
	ErrLength   = errors.New("vrrp: length does not match address count")
	ErrFamily   = errors.New("vrrp: invalid family for version")
	// ErrInvalid wraps every AppendMarshal error.
	ErrInvalid = errors.New("vrrp: invalid advert")
)

// Password returns keepalived's auth_pass bytes: the first 8 bytes of s, zero
// padded; truncated reports whether s was longer (keepalived warns then).
func Password(s string) (data [8]byte, truncated bool) {
	n := copy(data[:], s)
	return data, n < len(s)
}

// addrLen is the size of one address on the wire, 0 for an unknown family.
func (f Family) addrLen() int {
	switch f {
	case IPv4:
		return 4
	case IPv6:
		return 16
	}
	return 0
}

func (f Family) String() string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

// familyOf returns the family of a; IPv4-mapped IPv6 addresses are IPv6 here
// because that is how they would be encoded.
func familyOf(a netip.Addr) Family {
	switch {
	case a.Is4():
		return IPv4
	case a.Is6():
		return IPv6
	}
	return 0
}

// messageLen is the exact length of a message with n addresses.
func messageLen(v Version, f Family, n int) int {
	l := headerLen + n*f.addrLen()
	if v == V2 {
		l += authLen
	}
	return l
}
