package vrrp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// FuzzVerify: Validate with auth_hmac never panics on any input, in any
// mode, for either version; a signed advert built from the fuzzed fields verifies once and is a replay
// the second time.
func FuzzVerify(f *testing.F) {
	for _, cp := range captures {
		for _, p := range readPcap(f, cp.name+".pcap") {
			f.Add(p.payload, p.fam == IPv6, uint8(0), uint8(p.payload[2]), uint16(100), int64(0))
		}
	}
	f.Add([]byte{0x31, 51, 100, 0}, false, uint8(1), uint8(1), uint16(1), int64(1))
	keys := []HMACKey{{ID: 1, Secret: bytes.Repeat([]byte{0x11}, 32)}, {ID: 2, Secret: []byte("passphrase-for-key-two-32-bytes-long")}}
	capKeys := []HMACKey{{ID: 1, Secret: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}}, keys[1]}
	base := time.Date(2026, 12, 1, 10, 31, 20, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool, mode, prio uint8, centis uint16, skew int64) {
		fam, src, dst := IPv4, netip.MustParseAddr("192.0.2.11"), MulticastIPv4
		if v6 {
			fam, src, dst = IPv6, netip.MustParseAddr("fe80::806a:cbff:fe69:9b08"), MulticastIPv6
		}
		m := HMACMode(mode % 3)
		now := base.Add(time.Duration(skew%120) * time.Second)
		for _, version := range []Version{V2, V3} {
			c, err := NewHMACConfig(capKeys, 1, m, ReplayTime, 300)
			if err != nil {
				t.Fatal(err)
			}
			inst := &InstanceParams{Version: version, AdverInt: time.Second, HMAC: c, HMACState: NewHMACVerifier()}
			var a Advert
			_, _ = Validate(b, RecvMeta{Family: fam, Src: src, Dst: dst, TTL: 255, Time: now}, single{inst}, &a)
		}

		// Round trip with govrrp's own signer.
		c, err := NewHMACConfig(keys, 2, HMACEnforce, ReplayTime, 5)
		if err != nil {
			t.Fatal(err)
		}
		a := Advert{Version: V3, VRID: 51, Priority: prio, AdverInt: time.Duration(centis%0x1000) * centisecond, Addrs: []netip.Addr{dst}}
		if a.AdverInt == 0 {
			a.AdverInt = time.Second
		}
		var s HMACSigner
		pkt, err := a.AppendMarshalSigned(nil, MarshalOptions{Family: fam, Src: src, Dst: dst}, c, &s, now)
		if err != nil {
			t.Fatal(err)
		}
		inst := &InstanceParams{Version: V3, AdverInt: a.AdverInt, HMAC: c, HMACState: NewHMACVerifier()}
		meta := RecvMeta{Family: fam, Src: src, Dst: dst, TTL: 255, Time: now}
		var got Advert
		res, r := Validate(pkt, meta, single{inst}, &got)
		if r != DropNone || !res.HMACVerified || got.Priority != prio {
			t.Fatalf("round trip: %v verified=%v prio %d want %d", r, res.HMACVerified, got.Priority, prio)
		}
		if _, r := Validate(pkt, meta, single{inst}, &got); r != DropHMACReplay {
			t.Fatalf("second copy: %v, want hmac_replay", r)
		}
	})
}
