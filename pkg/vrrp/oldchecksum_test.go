package vrrp

import (
	"encoding/hex"
	"net/netip"
	"testing"
	"time"
)

// Captured from keepalived 2.2.7 (tcpdump -xx) between 192.0.2.2 and
// 192.0.2.3, VRID 51, v3, 1 s, VIP 192.0.2.100, unicast:
var (
	// old_unicast_checksum: the old form, priority 200.
	kaOld = "3133c8010064a170c0000264"
	// no keyword: the current form (pseudo-header to the peer), priority 200.
	kaNew = "3133c8010064bf7fc0000264"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOldUnicastChecksumMatchesKeepalived: govrrp's encoder produces
// keepalived 2.2.7's bytes for both forms.
func TestOldUnicastChecksumMatchesKeepalived(t *testing.T) {
	a := Advert{Version: V3, VRID: 51, Priority: 200, AdverInt: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	src, dst := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	for _, tc := range []struct {
		mode ChecksumMode
		want string
	}{{ChecksumOldUnicast, kaOld}, {ChecksumPseudoHeader, kaNew}} {
		b, err := a.AppendMarshal(nil, MarshalOptions{Family: IPv4, Src: src, Dst: dst, Checksum: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != tc.want {
			t.Errorf("%v: got %s, want keepalived's %s", tc.mode, got, tc.want)
		}
	}
	if _, err := a.AppendMarshal(nil, MarshalOptions{Family: IPv4, Dst: dst, Checksum: ChecksumOldUnicast}); err == nil {
		t.Error("old form without Src encoded")
	}
}

// TestOldUnicastChecksumPolicy: the receive side of each policy against
// keepalived's two forms, unicast and multicast.
func TestOldUnicastChecksumPolicy(t *testing.T) {
	uni := RecvMeta{Family: IPv4, Src: netip.MustParseAddr("192.0.2.2"), Dst: netip.MustParseAddr("192.0.2.3"), TTL: 255}
	for _, tc := range []struct {
		name   string
		policy OldChecksumPolicy
		pkt    string
		drop   DropReason
		mode   ChecksumMode
	}{
		{"auto accepts old", OldChecksumAuto, kaOld, DropNone, ChecksumOldUnicast},
		{"auto accepts new", OldChecksumAuto, kaNew, DropNone, ChecksumPseudoHeader},
		{"only accepts old", OldChecksumOnly, kaOld, DropNone, ChecksumOldUnicast},
		{"only drops new", OldChecksumOnly, kaNew, DropChecksum, 0},
		{"never drops old", OldChecksumNever, kaOld, DropChecksum, 0},
		{"never accepts new", OldChecksumNever, kaNew, DropNone, ChecksumPseudoHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := lookupMap{51: {Version: V3, AdverInt: time.Second, OldChecksum: tc.policy}}
			var out Advert
			res, drop := Validate(mustHex(t, tc.pkt), uni, l, &out)
			if drop != tc.drop {
				t.Fatalf("drop = %v, want %v", drop, tc.drop)
			}
			if drop == DropNone && res.Checksum != tc.mode {
				t.Errorf("checksum form = %v, want %v", res.Checksum, tc.mode)
			}
		})
	}
	// Multicast: both forms are the same bytes; OldChecksumOnly must not
	// refuse a multicast advert in its (only) form.
	a := advV3v4()
	a.VRID = 51
	b, err := a.AppendMarshal(nil, MarshalOptions{Family: IPv4, Src: src4, Dst: MulticastIPv4})
	if err != nil {
		t.Fatal(err)
	}
	l := lookupMap{51: {Version: V3, AdverInt: time.Second, CheckTTL: true, OldChecksum: OldChecksumOnly}}
	var out Advert
	if res, drop := Validate(b, meta4, l, &out); drop != DropNone || res.Checksum != ChecksumPseudoHeader {
		t.Errorf("multicast with OldChecksumOnly: %v %v", res.Checksum, drop)
	}
}
