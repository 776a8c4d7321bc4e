package vrrp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lookupMap is a Lookup over a fixed map.
type lookupMap map[uint8]*InstanceParams

func (m lookupMap) LookupVRID(vrid uint8) (*InstanceParams, bool) {
	p, ok := m[vrid]
	return p, ok
}

var (
	meta4 = RecvMeta{Family: IPv4, Src: src4, Dst: MulticastIPv4, TTL: 255}
	meta6 = RecvMeta{Family: IPv6, Src: src6, Dst: MulticastIPv6, TTL: 255}
)

// Baseline instances (VRID 1 v2 PASS, 2 v3 IPv4, 3 v3 IPv6) and adverts that pass them.
func baseInstances() lookupMap {
	return lookupMap{
		1: {Version: V2, AdverInt: time.Second, AuthType: AuthPass, AuthData: pass("secret"), CheckTTL: true},
		2: {Version: V3, AdverInt: time.Second, CheckTTL: true},
		3: {Version: V3, AdverInt: time.Second, CheckTTL: true},
	}
}

func advV2() Advert {
	return Advert{Version: V2, VRID: 1, Priority: 100, AdverInt: time.Second, AuthType: AuthPass, AuthData: pass("secret"),
		Addrs: addrs("192.0.2.100")}
}

func advV3v4() Advert {
	return Advert{Version: V3, VRID: 2, Priority: 100, AdverInt: time.Second, Addrs: addrs("192.0.2.100")}
}

func advV3v6() Advert {
	return Advert{Version: V3, VRID: 3, Priority: 100, AdverInt: time.Second, Addrs: addrs("fe80::100", "2001:db8::100")}
}

func TestValidate(t *testing.T) {
	type tc struct {
		name   string
		pkt    []byte
		meta   RecvMeta
		tweak  func(lookupMap) // changes the instances
		want   DropReason
		result Result
	}
	v2 := func(f func(*Advert)) []byte {
		a := advV2()
		if f != nil {
			f(&a)
		}
		return mustMarshal(t, a, opt4)
	}
	v3v4 := func(f func(*Advert), o MarshalOptions) []byte {
		a := advV3v4()
		if f != nil {
			f(&a)
		}
		return mustMarshal(t, a, o)
	}
	v3v6 := func(f func(*Advert)) []byte {
		a := advV3v6()
		if f != nil {
			f(&a)
		}
		return mustMarshal(t, a, opt6)
	}
	msgOnly := opt4
	msgOnly.Checksum = ChecksumMessageOnly
	ttl := func(m RecvMeta, n int) RecvMeta { m.TTL = n; return m }
	srcOf := func(m RecvMeta, s string) RecvMeta { m.Src = netip.MustParseAddr(s); return m }
	global6 := "2001:db8::1"
	// re-signed for a global source address
	optGlobal6 := opt6
	optGlobal6.Src = netip.MustParseAddr(global6)
	v6global := mustMarshal(t, advV3v6(), optGlobal6)
	tests := []tc{
		{name: "v2 ok", pkt: v2(nil), meta: meta4, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "v3 v4 pseudo-header ok", pkt: v3v4(nil, opt4), meta: meta4, result: Result{Checksum: ChecksumPseudoHeader}},
		{name: "v3 v4 message-only ok", pkt: v3v4(nil, msgOnly), meta: meta4, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "v3 v6 ok", pkt: v3v6(nil), meta: meta6, result: Result{Checksum: ChecksumPseudoHeader}},

		{name: "ttl 254 multicast", pkt: v2(nil), meta: ttl(meta4, 254), want: DropTTL},
		{name: "hop limit 1 v6", pkt: v3v6(nil), meta: ttl(meta6, 1), want: DropTTL},
		{name: "ttl checked before the structure", pkt: v2(nil)[:7], meta: ttl(meta4, 64), want: DropTTL},
		{name: "ttl not checked for unicast", pkt: v2(nil), meta: ttl(meta4, 64), tweak: func(l lookupMap) { l[1].CheckTTL = false },
			result: Result{Checksum: ChecksumMessageOnly}},
		{name: "ttl unknown is not checked", pkt: v2(nil), meta: ttl(meta4, -1), result: Result{Checksum: ChecksumMessageOnly}},

		{name: "empty", pkt: nil, meta: meta4, want: DropTooShort},
		{name: "7 bytes", pkt: v2(nil)[:7], meta: meta4, want: DropTooShort},
		{name: "version 1", pkt: with(v2(nil), 0, 0x11), meta: meta4, want: DropVersion},
		{name: "type 2", pkt: with(v2(nil), 0, 0x22), meta: meta4, want: DropType},
		{name: "count says 2, one address", pkt: with(v2(nil), 3, 2), meta: meta4, want: DropLength},
		{name: "v2 without auth bytes", pkt: v2(nil)[:12], meta: meta4, want: DropLength},
		{name: "v3 with v2-style auth bytes", pkt: append(v3v4(nil, opt4), make([]byte, 8)...), meta: meta4, want: DropLength},
		{name: "checksum flipped", pkt: with(v2(nil), 6, 0), meta: meta4, want: DropChecksum},
		{name: "v2 auth byte changed after checksum", pkt: with(v2(nil), 19, 'x'), meta: meta4, want: DropChecksum},
		{name: "v6 pseudo-header with another src", pkt: v3v6(nil), meta: srcOf(meta6, "fe80::2"), want: DropChecksum},
		{name: "unknown vrid", pkt: v2(func(a *Advert) { a.VRID = 77 }), meta: meta4, want: DropUnknownVRID, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "nil instance is unknown", pkt: v2(nil), meta: meta4, tweak: func(l lookupMap) { l[1] = nil }, want: DropUnknownVRID, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "meta family unknown", pkt: v2(nil), meta: RecvMeta{TTL: 255}, want: DropFamily},
		{name: "v2 over IPv6", pkt: append(append([]byte{}, v2(nil)[:8]...), make([]byte, 24)...), meta: meta6, tweak: func(l lookupMap) { l[1] = l[3] }, want: DropFamily},
		{name: "v3 advert for v2 instance", pkt: v3v4(func(a *Advert) { a.VRID = 1 }, opt4), meta: meta4, want: DropVersionMismatch, result: Result{Checksum: ChecksumPseudoHeader}},

		{name: "auth none vs PASS", pkt: v2(func(a *Advert) { a.AuthType = AuthNone; a.AuthData = [8]byte{} }), meta: meta4, want: DropAuthType, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "auth AH vs PASS", pkt: v2(func(a *Advert) { a.AuthType = AuthAH }), meta: meta4, want: DropAuthType, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "auth type 9", pkt: v2(func(a *Advert) { a.AuthType = 9 }), meta: meta4, tweak: func(l lookupMap) { l[1].AuthType = 9 }, want: DropAuthType, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "AH both sides", pkt: v2(func(a *Advert) { a.AuthType = AuthAH }), meta: meta4, tweak: func(l lookupMap) { l[1].AuthType = AuthAH }, want: DropAuthUnsupported, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "PASS wrong password", pkt: v2(func(a *Advert) { a.AuthData = pass("secreT") }), meta: meta4, want: DropAuthMismatch, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "PASS differs in the 8th byte only", pkt: v2(func(a *Advert) { a.AuthData = pass("secret\x00x") }), meta: meta4, want: DropAuthMismatch, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "PASS 9th character does not matter", pkt: v2(func(a *Advert) { a.AuthData = pass("12345678-sender") }), meta: meta4,
			tweak: func(l lookupMap) { l[1].AuthData = pass("12345678-receiver") }, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "v3 ignores instance auth", pkt: v3v4(nil, opt4), meta: meta4, tweak: func(l lookupMap) { l[2].AuthType = AuthPass; l[2].AuthData = pass("x") },
			result: Result{Checksum: ChecksumPseudoHeader}},

		{name: "v2 interval 2s vs 1s", pkt: v2(func(a *Advert) { a.AdverInt = 2 * time.Second }), meta: meta4, want: DropIntervalMismatch, result: Result{Checksum: ChecksumMessageOnly}},
		{name: "v3 interval 0", pkt: v3v4(func(a *Advert) { a.AdverInt = 0 }, opt4), meta: meta4, want: DropZeroInterval, result: Result{Checksum: ChecksumPseudoHeader}},
		{name: "v3 interval mismatch is a warning", pkt: v3v4(func(a *Advert) { a.AdverInt = 2 * time.Second }, opt4), meta: meta4,
			result: Result{Checksum: ChecksumPseudoHeader, Warnings: WarnIntervalMismatch}},

		{name: "owner ignoring adverts", pkt: v3v4(nil, opt4), meta: meta4, tweak: func(l lookupMap) { l[2].Owner = true; l[2].IgnoreAdvertsAsOwner = true },
			want: DropOwnerReceived, result: Result{Checksum: ChecksumPseudoHeader}},
		{name: "owner not ignoring adverts", pkt: v3v4(nil, opt4), meta: meta4, tweak: func(l lookupMap) { l[2].Owner = true },
			result: Result{Checksum: ChecksumPseudoHeader}},
		{name: "ignore flag without ownership", pkt: v3v4(nil, opt4), meta: meta4, tweak: func(l lookupMap) { l[2].IgnoreAdvertsAsOwner = true },
			result: Result{Checksum: ChecksumPseudoHeader}},

		{name: "v6 global source flagged", pkt: v6global, meta: srcOf(meta6, global6),
			result: Result{Checksum: ChecksumPseudoHeader, Warnings: WarnNotLinkLocal}},
		{name: "v6 global source strict", pkt: v6global, meta: srcOf(meta6, global6), tweak: func(l lookupMap) { l[3].StrictLinkLocal = true },
			want: DropNotLinkLocal, result: Result{Checksum: ChecksumPseudoHeader}},
		{name: "v6 first address global", pkt: v3v6(func(a *Advert) { a.Addrs = addrs("2001:db8::100") }), meta: meta6,
			tweak:  func(l lookupMap) { l[3].StrictLinkLocal = true },
			result: Result{Checksum: ChecksumPseudoHeader, Warnings: WarnFirstAddrNotLinkLocal}},
		{name: "no addresses", pkt: v3v4(func(a *Advert) { a.Addrs = nil }, opt4), meta: meta4,
			result: Result{Checksum: ChecksumPseudoHeader, Warnings: WarnAddrCount | WarnAddrMismatch},
			tweak:  func(l lookupMap) { l[2].Addrs = addrs("192.0.2.100") }},
		{name: "same VIPs in another order", pkt: v3v4(func(a *Advert) { a.Addrs = addrs("192.0.2.1", "192.0.2.2") }, opt4), meta: meta4,
			tweak: func(l lookupMap) { l[2].Addrs = addrs("192.0.2.2", "192.0.2.1") }, result: Result{Checksum: ChecksumPseudoHeader}},
		{name: "different VIPs", pkt: v3v4(nil, opt4), meta: meta4, tweak: func(l lookupMap) { l[2].Addrs = addrs("192.0.2.2") },
			result: Result{Checksum: ChecksumPseudoHeader, Warnings: WarnAddrMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := baseInstances()
			if tt.tweak != nil {
				tt.tweak(l)
			}
			var out Advert
			res, r := Validate(tt.pkt, tt.meta, l, &out)
			if diff := cmp.Diff(tt.want.String(), r.String()); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.result, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if r == DropNone {
				var want Advert
				if err := want.Unmarshal(tt.pkt, tt.meta.Family); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, out, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
					t.Errorf("decoded advert (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestValidateGolden accepts every golden vector with a matching instance.
func TestValidateGolden(t *testing.T) {
	for _, g := range readGolden(t) {
		t.Run(g.name, func(t *testing.T) {
			var a Advert
			if err := a.Unmarshal(g.msg, g.family()); err != nil {
				t.Fatal(err)
			}
			inst := &InstanceParams{Version: a.Version, AdverInt: a.AdverInt, AuthType: a.AuthType, AuthData: a.AuthData,
				CheckTTL: true, Addrs: a.Addrs}
			var out Advert
			_, r := Validate(g.msg, RecvMeta{Family: g.family(), Src: g.src, Dst: g.dst, TTL: 255}, lookupMap{a.VRID: inst}, &out)
			if diff := cmp.Diff(DropNone.String(), r.String()); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidateMisuse: a nil Lookup or out is not a panic.
func TestValidateMisuse(t *testing.T) {
	pkt := mustMarshal(t, advV2(), opt4)
	_, r1 := Validate(pkt, meta4, nil, &Advert{})
	_, r2 := Validate(pkt, meta4, baseInstances(), nil)
	if diff := cmp.Diff([]string{"unknown_vrid", "none"}, []string{r1.String(), r2.String()}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDropReasonLabels(t *testing.T) {
	var got []string
	for _, r := range AllDropReasons() {
		got = append(got, r.String())
	}
	want := []string{"ttl", "too_short", "version", "type", "length", "checksum", "unknown_vrid", "family",
		"version_mismatch", "auth_type", "auth_ah_unsupported", "auth_mismatch",
		"hmac_missing", "hmac_malformed", "hmac_stale", "hmac_unknown_key", "hmac_invalid", "hmac_replay",
		"interval_mismatch", "zero_interval",
		"owner_received", "src_not_link_local"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"none", "drop_reason_200"}, []string{DropNone.String(), DropReason(200).String()}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestValidateZeroAllocs: the accepted path allocates nothing.
func TestValidateZeroAllocs(t *testing.T) {
	l := baseInstances()
	l[3].Addrs = addrs("fe80::100", "2001:db8::100")
	tests := []struct {
		name string
		pkt  []byte
		meta RecvMeta
	}{
		{"v2", mustMarshal(t, advV2(), opt4), meta4},
		{"v3v4", mustMarshal(t, advV3v4(), opt4), meta4},
		{"v3v6", mustMarshal(t, advV3v6(), opt6), meta6},
	}
	for _, tt := range tests {
		out := Advert{Addrs: make([]netip.Addr, 0, 8)}
		allocs := testing.AllocsPerRun(100, func() {
			if _, r := Validate(tt.pkt, tt.meta, l, &out); r != DropNone {
				t.Fatalf("%s: dropped: %v", tt.name, r)
			}
		})
		if diff := cmp.Diff(0.0, allocs); diff != "" {
			t.Errorf("%s: allocs (-want +got):\n%s", tt.name, diff)
		}
	}
}
