package vrrp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// fuzzAddrs are the src/dst the fuzzers verify checksums against; all but
// one golden vector use them.
func fuzzAddrs(fam Family) (src, dst netip.Addr) {
	if fam == IPv6 {
		return src6, MulticastIPv6
	}
	return src4, MulticastIPv4
}

func addGoldenSeeds(f *testing.F, add func(msg []byte, v6 bool)) {
	for _, g := range readGolden(f) {
		add(g.msg, g.family() == IPv6)
	}
}

// FuzzUnmarshal: Unmarshal never panics; whatever it accepts AppendMarshal
// encodes, byte-identically when the input was canonical (checksum verifies
// and is not the 0xffff spelling of zero, v3 reserved bits clear).
func FuzzUnmarshal(f *testing.F) {
	addGoldenSeeds(f, func(msg []byte, v6 bool) { f.Add(msg, v6) })
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		fam := IPv4
		if v6 {
			fam = IPv6
		}
		var a Advert
		if err := a.Unmarshal(b, fam); err != nil {
			return
		}
		src, dst := fuzzAddrs(fam)
		mode, ok := VerifyChecksum(b, a.Version, fam, src, dst)
		enc, err := a.AppendMarshal(nil, MarshalOptions{Family: fam, Src: src, Dst: dst, Checksum: mode})
		if err != nil {
			t.Fatalf("Unmarshal accepted %x but AppendMarshal failed: %v", b, err)
		}
		canonical := ok && binary.BigEndian.Uint16(b[6:8]) != 0xffff && (a.Version == V2 || b[4]&0xf0 == 0)
		if canonical && !bytes.Equal(b, enc) {
			t.Fatalf("round trip changed bytes:\n in %x\nout %x", b, enc)
		}
		var again Advert
		if err := again.Unmarshal(enc, fam); err != nil {
			t.Fatalf("re-encoded advert does not decode: %v", err)
		}
	})
}

// fuzzLookup answers every VRID with one instance.
type fuzzLookup struct{ p InstanceParams }

func (l *fuzzLookup) LookupVRID(uint8) (*InstanceParams, bool) { return &l.p, true }

// FuzzValidate: Validate never panics, and an accepted advert decodes the same.
func FuzzValidate(f *testing.F) {
	addGoldenSeeds(f, func(msg []byte, v6 bool) { f.Add(msg, v6, 255, uint8(msg[0]>>4), uint8(1), byte(0xff)) })
	f.Fuzz(func(t *testing.T, b []byte, v6 bool, ttl int, ver uint8, intSec uint8, flags byte) {
		fam := IPv4
		if v6 {
			fam = IPv6
		}
		src, dst := fuzzAddrs(fam)
		l := &fuzzLookup{p: InstanceParams{
			Version: Version(ver), AdverInt: time.Duration(intSec) * time.Second, AuthType: AuthType(flags & 3),
			CheckTTL: flags&4 != 0, Owner: flags&8 != 0, IgnoreAdvertsAsOwner: flags&16 != 0, StrictLinkLocal: flags&32 != 0,
		}}
		if flags&64 != 0 {
			l.p.Addrs = []netip.Addr{src}
		}
		var out Advert
		_, r := Validate(b, RecvMeta{Family: fam, Src: src, Dst: dst, TTL: ttl}, l, &out)
		if r != DropNone {
			return
		}
		var want Advert
		if err := want.Unmarshal(b, fam); err != nil {
			t.Fatalf("Validate accepted what Unmarshal refuses: %v", err)
		}
	})
}
