package vrrp

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	src4 = netip.MustParseAddr("192.0.2.1")
	src6 = netip.MustParseAddr("fe80::1")
	opt4 = MarshalOptions{Family: IPv4, Src: src4, Dst: MulticastIPv4}
	opt6 = MarshalOptions{Family: IPv6, Src: src6, Dst: MulticastIPv6}
)

func mustMarshal(t testing.TB, a Advert, o MarshalOptions) []byte {
	t.Helper()
	b, err := a.AppendMarshal(nil, o)
	if err != nil {
		t.Fatalf("AppendMarshal(%+v): %v", a, err)
	}
	return b
}

func TestPassword(t *testing.T) {
	tests := []struct {
		in        string
		want      string
		truncated bool
	}{
		{"", "\x00\x00\x00\x00\x00\x00\x00\x00", false},
		{"1234", "1234\x00\x00\x00\x00", false},
		{"12345678", "12345678", false},
		{"secretpassword", "secretpa", true}, // keepalived keeps the first 8 characters
	}
	for _, tt := range tests {
		d, tr := Password(tt.in)
		if diff := cmp.Diff([]any{tt.want, tt.truncated}, []any{string(d[:]), tr}); diff != "" {
			t.Errorf("Password(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestMarshalLayout pins the wire layout field by field.
func TestMarshalLayout(t *testing.T) {
	tests := []struct {
		name string
		a    Advert
		o    MarshalOptions
		want string // hex with the checksum bytes (6-7) shown as ....
	}{
		{
			name: "v2 auth bytes trail the addresses, interval in seconds",
			a: Advert{Version: V2, VRID: 9, Priority: 100, AdverInt: 2 * time.Second, AuthType: AuthPass,
				AuthData: pass("ab"), Addrs: addrs("192.0.2.10")},
			o:    opt4,
			want: "2109640101 02 .... c000020a 6162000000000000",
		},
		{
			name: "v3 has no auth words and sends interval as 12-bit centiseconds",
			a: Advert{Version: V3, VRID: 9, Priority: 100, AdverInt: 1230 * time.Millisecond, AuthType: AuthPass,
				AuthData: pass("ignored"), Addrs: addrs("192.0.2.10")},
			o:    opt4,
			want: "31096401 007b .... c000020a",
		},
		{
			name: "v3 max interval keeps the reserved nibble zero",
			a:    Advert{Version: V3, VRID: 1, Priority: 0, AdverInt: 40950 * time.Millisecond, Addrs: addrs("2001:db8::1")},
			o:    opt6,
			want: "31010001 0fff .... 20010db8000000000000000000000001",
		},
		{
			name: "no addresses",
			a:    Advert{Version: V3, VRID: 1, Priority: 1, AdverInt: time.Second},
			o:    opt4,
			want: "31010100 0064 ....",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustMarshal(t, tt.a, tt.o)
			got := hex.EncodeToString(b[:6]) + "...." + hex.EncodeToString(b[8:])
			want := ""
			for _, c := range tt.want {
				if c != ' ' {
					want += string(c)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if _, ok := VerifyChecksum(b, tt.a.Version, tt.o.Family, tt.o.Src, tt.o.Dst); !ok {
				t.Errorf("own checksum does not verify")
			}
		})
	}
}

func TestMarshalAppends(t *testing.T) {
	a := Advert{Version: V2, VRID: 1, Priority: 1, AdverInt: time.Second, Addrs: addrs("192.0.2.1")}
	prefix := []byte{0xde, 0xad}
	b, err := a.AppendMarshal(prefix, opt4)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("dead", hex.EncodeToString(b[:2])); diff != "" {
		t.Errorf("prefix (-want +got):\n%s", diff)
	}
	if _, ok := VerifyChecksum(b[2:], V2, IPv4, netip.Addr{}, netip.Addr{}); !ok {
		t.Errorf("appended message does not verify")
	}
}

func TestMarshalErrors(t *testing.T) {
	many := make([]netip.Addr, 256)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
	}
	tests := []struct {
		name string
		a    Advert
		o    MarshalOptions
	}{
		{"v2 sub-second interval", Advert{Version: V2, AdverInt: 1500 * time.Millisecond}, opt4},
		{"v2 interval over 255 s", Advert{Version: V2, AdverInt: 256 * time.Second}, opt4},
		{"v2 negative interval", Advert{Version: V2, AdverInt: -time.Second}, opt4},
		{"v3 interval not centiseconds", Advert{Version: V3, AdverInt: 15 * time.Millisecond}, opt4},
		{"v3 interval over 12 bits", Advert{Version: V3, AdverInt: 40960 * time.Millisecond}, opt4},
		{"256 addresses", Advert{Version: V2, AdverInt: time.Second, Addrs: many}, opt4},
		{"mixed families", Advert{Version: V3, AdverInt: time.Second, Addrs: addrs("192.0.2.1", "2001:db8::1")}, opt4},
		{"v6 address in v4 packet", Advert{Version: V3, AdverInt: time.Second, Addrs: addrs("2001:db8::1")}, opt4},
		{"v4-mapped address in v4 packet", Advert{Version: V3, AdverInt: time.Second, Addrs: addrs("::ffff:192.0.2.1")}, opt4},
		{"v2 over IPv6", Advert{Version: V2, AdverInt: time.Second, Addrs: addrs("2001:db8::1")}, opt6},
		{"unknown version", Advert{Version: 4, AdverInt: time.Second}, opt4},
		{"no family anywhere", Advert{Version: V3, AdverInt: time.Second}, MarshalOptions{}},
		{"v3 v4 pseudo-header without src", Advert{Version: V3, AdverInt: time.Second}, MarshalOptions{Family: IPv4, Dst: MulticastIPv4}},
		{"v3 v6 without dst", Advert{Version: V3, AdverInt: time.Second}, MarshalOptions{Family: IPv6, Src: src6}},
		{"unknown checksum mode", Advert{Version: V3, AdverInt: time.Second}, MarshalOptions{Family: IPv4, Src: src4, Dst: MulticastIPv4, Checksum: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.a.AppendMarshal(nil, tt.o)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
			if len(b) != 0 {
				t.Errorf("wrote %d bytes on error", len(b))
			}
		})
	}
}

// TestMarshalFamilyInferred: a zero Family comes from Src, then Addrs[0];
// message-only v3 IPv4 and v2 need no addresses at all.
func TestMarshalFamilyInferred(t *testing.T) {
	tests := []struct {
		name string
		a    Advert
		o    MarshalOptions
		want int // length
	}{
		{"from src", Advert{Version: V3, AdverInt: time.Second, Addrs: addrs("2001:db8::1")}, MarshalOptions{Src: src6, Dst: MulticastIPv6}, 24},
		{"from addrs", Advert{Version: V2, AdverInt: time.Second, Addrs: addrs("192.0.2.1")}, MarshalOptions{}, 20},
		{"v3 v4 message-only needs no src/dst", Advert{Version: V3, AdverInt: time.Second, Addrs: addrs("192.0.2.1")}, MarshalOptions{Checksum: ChecksumMessageOnly}, 12},
	}
	for _, tt := range tests {
		b := mustMarshal(t, tt.a, tt.o)
		if diff := cmp.Diff(tt.want, len(b)); diff != "" {
			t.Errorf("%s: length (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	v2 := mustMarshal(t, Advert{Version: V2, VRID: 1, AdverInt: time.Second, Addrs: addrs("192.0.2.1")}, opt4)
	v3 := mustMarshal(t, Advert{Version: V3, VRID: 1, AdverInt: time.Second, Addrs: addrs("2001:db8::1")}, opt6)
	tests := []struct {
		name string
		b    []byte
		fam  Family
		want error
	}{
		{"empty", nil, IPv4, ErrTooShort},
		{"7 bytes", v2[:7], IPv4, ErrTooShort},
		{"version 1", with(v2, 0, 0x11), IPv4, ErrVersion},
		{"version 4", with(v2, 0, 0x41), IPv4, ErrVersion},
		{"type 2", with(v2, 0, 0x22), IPv4, ErrType},
		{"type 0", with(v2, 0, 0x20), IPv4, ErrType},
		{"v2 missing auth bytes", v2[:len(v2)-8], IPv4, ErrLength},
		{"v2 trailing byte", append(append([]byte{}, v2...), 0), IPv4, ErrLength},
		{"count larger than length", with(v2, 3, 2), IPv4, ErrLength},
		{"count smaller than length", with(v3, 3, 0), IPv6, ErrLength},
		{"v6 packet read as v4", v3, IPv4, ErrLength},
		{"v2 over IPv6", append(append([]byte{}, v2[:8]...), make([]byte, 24)...), IPv6, ErrFamily},
		{"unknown family", v2, 5, ErrFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Advert
			if err := a.Unmarshal(tt.b, tt.fam); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// with returns a copy of b with b[i] = v.
func with(b []byte, i int, v byte) []byte {
	c := append([]byte{}, b...)
	c[i] = v
	return c
}

// TestUnmarshalV3ReservedBitsIgnored: the 4 bits above Max Adver Int are
// reserved; a receiver ignores them (and Marshal sends them as zero).
func TestUnmarshalV3ReservedBitsIgnored(t *testing.T) {
	b := mustMarshal(t, Advert{Version: V3, VRID: 1, AdverInt: time.Second, Addrs: addrs("192.0.2.1")}, opt4)
	b[4] |= 0xf0
	var a Advert
	if err := a.Unmarshal(b, IPv4); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(time.Second, a.AdverInt); diff != "" {
		t.Errorf("AdverInt (-want +got):\n%s", diff)
	}
	re := mustMarshal(t, a, opt4)
	if diff := cmp.Diff(byte(0), re[4]&0xf0); diff != "" {
		t.Errorf("reserved bits on send (-want +got):\n%s", diff)
	}
}

// TestUnmarshalReusesAddrs: decoding into an Advert with capacity neither
// allocates nor keeps stale addresses or auth data.
func TestUnmarshalReusesAddrs(t *testing.T) {
	big := mustMarshal(t, Advert{Version: V2, VRID: 1, AdverInt: time.Second, AuthType: AuthPass, AuthData: pass("x"),
		Addrs: addrs("192.0.2.1", "192.0.2.2", "192.0.2.3")}, opt4)
	small := mustMarshal(t, Advert{Version: V3, VRID: 2, AdverInt: time.Second, Addrs: addrs("192.0.2.9")}, opt4)
	a := Advert{Addrs: make([]netip.Addr, 0, 4)}
	if err := a.Unmarshal(big, IPv4); err != nil {
		t.Fatal(err)
	}
	if err := a.Unmarshal(small, IPv4); err != nil {
		t.Fatal(err)
	}
	want := Advert{Version: V3, VRID: 2, AdverInt: time.Second, Addrs: addrs("192.0.2.9")}
	if diff := cmp.Diff(want, a, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := a.Unmarshal(big, IPv4); err != nil {
			t.Fatal(err)
		}
	})
	if diff := cmp.Diff(0.0, allocs); diff != "" {
		t.Errorf("allocs per Unmarshal (-want +got):\n%s", diff)
	}
}

// TestV2ChecksumCoversAuthNotAddresses: v2 sums the whole message including
// the 8 auth bytes, and no pseudo-header (any src/dst verify).
func TestV2ChecksumCoversAuth(t *testing.T) {
	b := mustMarshal(t, Advert{Version: V2, VRID: 1, AdverInt: time.Second, AuthType: AuthPass, AuthData: pass("secret"),
		Addrs: addrs("192.0.2.1")}, opt4)
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     bool
	}{
		{"as sent", b, src4, MulticastIPv4, true},
		{"other addresses (no pseudo-header)", b, netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2"), true},
		{"last auth byte changed", with(b, len(b)-1, 1), src4, MulticastIPv4, false},
		{"first auth byte changed", with(b, len(b)-8, 'S'), src4, MulticastIPv4, false},
	}
	for _, tt := range tests {
		mode, ok := VerifyChecksum(tt.b, V2, IPv4, tt.src, tt.dst)
		if diff := cmp.Diff([]any{ChecksumMessageOnly, tt.want}, []any{mode, ok}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestV3ChecksumForms: v3 IPv4 is accepted in both forms and reports which;
// v3 IPv6 has only the pseudo-header form.
func TestV3ChecksumForms(t *testing.T) {
	a4 := Advert{Version: V3, VRID: 1, Priority: 100, AdverInt: time.Second, Addrs: addrs("192.0.2.1")}
	a6 := Advert{Version: V3, VRID: 1, Priority: 100, AdverInt: time.Second, Addrs: addrs("2001:db8::1")}
	msgOnly4 := opt4
	msgOnly4.Checksum = ChecksumMessageOnly
	msgOnly6 := opt6
	msgOnly6.Checksum = ChecksumMessageOnly // ignored: v6 has one form
	tests := []struct {
		name     string
		b        []byte
		fam      Family
		src, dst netip.Addr
		wantMode ChecksumMode
		wantOK   bool
	}{
		{"v4 pseudo-header", mustMarshal(t, a4, opt4), IPv4, src4, MulticastIPv4, ChecksumPseudoHeader, true},
		{"v4 message-only", mustMarshal(t, a4, msgOnly4), IPv4, src4, MulticastIPv4, ChecksumMessageOnly, true},
		{"v4 pseudo-header, wrong dst", mustMarshal(t, a4, opt4), IPv4, src4, netip.MustParseAddr("192.0.2.2"), ChecksumMessageOnly, false},
		{"v4 message-only, any addresses", mustMarshal(t, a4, msgOnly4), IPv4, netip.Addr{}, netip.Addr{}, ChecksumMessageOnly, true},
		{"v6 pseudo-header", mustMarshal(t, a6, opt6), IPv6, src6, MulticastIPv6, ChecksumPseudoHeader, true},
		{"v6 mode option ignored", mustMarshal(t, a6, msgOnly6), IPv6, src6, MulticastIPv6, ChecksumPseudoHeader, true},
		{"v6 wrong src", mustMarshal(t, a6, opt6), IPv6, netip.MustParseAddr("fe80::2"), MulticastIPv6, ChecksumPseudoHeader, false},
		{"v6 no addresses given", mustMarshal(t, a6, opt6), IPv6, netip.Addr{}, netip.Addr{}, ChecksumPseudoHeader, false},
	}
	for _, tt := range tests {
		mode, ok := VerifyChecksum(tt.b, V3, tt.fam, tt.src, tt.dst)
		if diff := cmp.Diff([]any{tt.wantMode, tt.wantOK}, []any{mode, ok}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestV6PseudoHeaderLayout recomputes the RFC 8200 pseudo-header by hand
// (src, dst, 32-bit length, 3 zeros, next header 112) for one message.
func TestV6PseudoHeaderLayout(t *testing.T) {
	b := mustMarshal(t, Advert{Version: V3, VRID: 1, AdverInt: time.Second, Addrs: addrs("2001:db8::1")}, opt6)
	s, d := src6.As16(), MulticastIPv6.As16()
	ph := append(append(append([]byte{}, s[:]...), d[:]...), 0, 0, 0, byte(len(b)), 0, 0, 0, ProtocolNumber)
	if diff := cmp.Diff(uint16(0xffff), fold(sum(sum(0, ph), b))); diff != "" {
		t.Errorf("pseudo-header + message sum (-want +got):\n%s", diff)
	}
}

func TestStrings(t *testing.T) {
	got := []string{ChecksumPseudoHeader.String(), ChecksumMessageOnly.String(), IPv4.String(), IPv6.String(),
		(WarnNotLinkLocal | WarnAddrMismatch).String(), Warning(0).String()}
	want := []string{"pseudo_header", "message_only", "ipv4", "ipv6", "src_not_link_local|addr_mismatch", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
