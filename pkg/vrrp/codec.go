package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// AppendMarshal appends the encoded advert, checksum included, to dst.
//
// It fails when the interval is not representable (v2: whole seconds 0..255;
// v3: multiples of 10 ms up to 40.95 s), with more than 255 addresses, with an
// address of the wrong family, with v2 over IPv6, or when a v3 pseudo-header
// checksum needs Src/Dst of the packet's family and they are missing.
// Auth fields are ignored for v3 (its word is reserved and sent as zero).
// Interval 0 and any AuthType value are encodable so that whatever Unmarshal
// accepts can be re-encoded; Validate is where such adverts are refused.
func (a *Advert) AppendMarshal(dst []byte, o MarshalOptions) ([]byte, error) {
	fam, err := a.checkMarshal(&o)
	if err != nil {
		return dst, err
	}
	word, err := a.intervalWord()
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, byte(a.Version)<<4|typeAdvert, a.VRID, a.Priority, byte(len(a.Addrs)))
	dst = binary.BigEndian.AppendUint16(dst, word)
	dst = append(dst, 0, 0) // checksum, filled below
	for _, ip := range a.Addrs {
		dst = appendAddr(dst, ip)
	}
	if a.Version == V2 {
		dst = append(dst, a.AuthData[:]...)
	}
	msg := dst[start:]
	binary.BigEndian.PutUint16(msg[6:8], checksum(msg, a.Version, fam, o.Src, o.Dst, o.Checksum))
	return dst, nil
}

// checkMarshal resolves the family and rejects adverts that cannot be encoded.
func (a *Advert) checkMarshal(o *MarshalOptions) (Family, error) {
	if a.Version != V2 && a.Version != V3 {
		return 0, fmt.Errorf("%w: version %d", ErrInvalid, a.Version)
	}
	fam := o.Family
	if fam == 0 {
		fam = familyOf(o.Src)
	}
	if fam == 0 && len(a.Addrs) > 0 {
		fam = familyOf(a.Addrs[0])
	}
	if fam != IPv4 && fam != IPv6 {
		return 0, fmt.Errorf("%w: unknown family %d (set MarshalOptions.Family)", ErrInvalid, fam)
	}
	if a.Version == V2 && fam != IPv4 {
		return 0, fmt.Errorf("%w: VRRPv2 is IPv4 only", ErrInvalid)
	}
	if len(a.Addrs) > maxAddrs {
		return 0, fmt.Errorf("%w: %d addresses, at most %d fit", ErrInvalid, len(a.Addrs), maxAddrs)
	}
	for i, ip := range a.Addrs {
		if familyOf(ip) != fam {
			return 0, fmt.Errorf("%w: address %d (%v) is not %v", ErrInvalid, i, ip, fam)
		}
	}
	if a.Version == V3 && (fam == IPv6 || o.Checksum == ChecksumPseudoHeader) {
		if familyOf(o.Src) != fam || familyOf(o.Dst) != fam {
			return 0, fmt.Errorf("%w: v3 %v pseudo-header checksum needs %v Src and Dst, have %v and %v",
				ErrInvalid, fam, fam, o.Src, o.Dst)
		}
	}
	if a.Version == V3 && fam == IPv4 && o.Checksum == ChecksumOldUnicast && familyOf(o.Src) != IPv4 {
		return 0, fmt.Errorf("%w: the old unicast checksum needs an IPv4 Src, have %v", ErrInvalid, o.Src)
	}
	if a.Version == V3 && fam == IPv4 && o.Checksum > ChecksumOldUnicast {
		return 0, fmt.Errorf("%w: unknown checksum mode %d", ErrInvalid, o.Checksum)
	}
	return fam, nil
}

// intervalWord returns bytes 4-5 of the header: auth type and seconds for v2,
// 4 reserved zero bits and 12 bits of centiseconds for v3.
func (a *Advert) intervalWord() (uint16, error) {
	d := a.AdverInt
	if a.Version == V2 {
		if d < 0 || d%time.Second != 0 || d/time.Second > maxV2Seconds {
			return 0, fmt.Errorf("%w: v2 interval %v is not whole seconds in 0..255", ErrInvalid, d)
		}
		return uint16(a.AuthType)<<8 | uint16(d/time.Second), nil
	}
	if d < 0 || d%centisecond != 0 || d/centisecond > maxV3Centis {
		return 0, fmt.Errorf("%w: v3 interval %v is not a multiple of 10ms in 0..40.95s", ErrInvalid, d)
	}
	return uint16(d / centisecond), nil
}

func appendAddr(dst []byte, ip netip.Addr) []byte {
	if ip.Is4() {
		b := ip.As4()
		return append(dst, b[:]...)
	}
	b := ip.As16()
	return append(dst, b[:]...)
}

// Unmarshal decodes b, a whole VRRP message received over fam. It checks the
// structure only (length, version, type, family, count against length), not
// the checksum or any configured value: use Validate for received packets.
// a.Addrs is reused, so a valid packet decodes without allocating when its
// capacity suffices. On error a is left in an unspecified state.
func (a *Advert) Unmarshal(b []byte, fam Family) error {
	switch decode(b, fam, a) {
	case DropNone:
		return nil
	case DropTooShort:
		return ErrTooShort
	case DropVersion:
		return ErrVersion
	case DropType:
		return ErrType
	case DropFamily:
		return ErrFamily
	default:
		return ErrLength
	}
}

// decode is Unmarshal with the reason as a DropReason, for Validate.
func decode(b []byte, fam Family, a *Advert) DropReason {
	if r := checkStructure(b, fam); r != DropNone {
		return r
	}
	if fam == IPv6 && Version(b[0]>>4) == V2 {
		return DropFamily
	}
	fill(b, fam, a)
	return DropNone
}

// checkStructure runs the header checks in Validate's order (too_short,
// version, type, length) without judging version against family.
func checkStructure(b []byte, fam Family) DropReason {
	al := fam.addrLen()
	if al == 0 {
		return DropFamily
	}
	if len(b) < headerLen {
		return DropTooShort
	}
	v := Version(b[0] >> 4)
	if v != V2 && v != V3 {
		return DropVersion
	}
	if b[0]&0x0f != typeAdvert {
		return DropType
	}
	if len(b) != messageLen(v, fam, int(b[3])) {
		return DropLength
	}
	return DropNone
}

// fill copies the fields of a structurally valid message into a.
func fill(b []byte, fam Family, a *Advert) {
	n := int(b[3])
	a.Version = Version(b[0] >> 4)
	a.VRID = b[1]
	a.Priority = b[2]
	a.AuthType = AuthNone
	a.AuthData = [8]byte{}
	if a.Version == V2 {
		a.AuthType = AuthType(b[4])
		a.AdverInt = time.Duration(b[5]) * time.Second
		copy(a.AuthData[:], b[headerLen+n*4:])
	} else {
		// The 4 reserved bits are ignored on receive (RFC 9568 section 5.2.5).
		a.AdverInt = time.Duration(binary.BigEndian.Uint16(b[4:6])&maxV3Centis) * centisecond
	}
	a.Addrs = a.Addrs[:0]
	p := b[headerLen:]
	for i := 0; i < n; i++ {
		if fam == IPv4 {
			a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte(p[:4])))
			p = p[4:]
		} else {
			a.Addrs = append(a.Addrs, netip.AddrFrom16([16]byte(p[:16])))
			p = p[16:]
		}
	}
}
