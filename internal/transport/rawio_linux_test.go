package transport

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestFinish4(t *testing.T) {
	hdr := func(ihl byte, ttl byte) [ipv4HeaderLen]byte {
		return [ipv4HeaderLen]byte{0x40 | ihl, 0, 0, 0, 0, 0, 0, 0, ttl, 112, 0, 0, 192, 0, 2, 1, 224, 0, 0, 18}
	}
	type result struct {
		Payload string
		Meta    Meta
		Err     bool
	}
	tests := []struct {
		name string
		hdr  [ipv4HeaderLen]byte
		rest string // what landed in b after the fixed header
		n    int    // total bytes received
		want result
	}{
		{
			name: "plain header",
			hdr:  hdr(5, 255), rest: "advert", n: 26,
			want: result{Payload: "advert", Meta: Meta{Src: a4, Dst: GroupV4, TTL: 255}},
		},
		{
			name: "options are stripped",
			hdr:  hdr(6, 64), rest: "\x01\x01\x01\x00advert", n: 30,
			want: result{Payload: "advert", Meta: Meta{Src: a4, Dst: GroupV4, TTL: 64}},
		},
		{name: "shorter than a header", hdr: hdr(5, 255), n: 12, want: result{Err: true}},
		{name: "ihl below 5", hdr: hdr(4, 255), rest: "x", n: 21, want: result{Err: true}},
		{name: "options longer than packet", hdr: hdr(15, 255), rest: "x", n: 21, want: result{Err: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &rawIO{rhdr: tt.hdr, rn: tt.n}
			b := make([]byte, 64)
			copy(b, tt.rest)
			m := Meta{TTL: -1}
			n, err := r.finish4(b, nil, &m)
			got := result{Err: err != nil}
			if err == nil {
				got.Payload, got.Meta = string(b[:n]), m
			}
			if diff := cmp.Diff(tt.want, got, addrCmp); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// What we write as a control message parses back to the same values, and
// malformed control data is ignored rather than crashing.
func TestCmsgRoundTrip(t *testing.T) {
	ll := netip.MustParseAddr("fe80::1")
	tests := []struct {
		name  string
		build func(b []byte) int
		v6    bool
		want  Meta
	}{
		{"v4 pktinfo", func(b []byte) int { return putPktinfo4(b, a4, 7) }, false, Meta{TTL: -1, Ifindex: 7}},
		{"v6 pktinfo and hop limit", func(b []byte) int {
			n := putPktinfo6(b, ll, 9)
			return n + putCmsgInt(b[n:], unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, 255)
		}, true, Meta{Dst: ll, TTL: 255, Ifindex: 9}},
		{"truncated", func(b []byte) int { return putPktinfo6(b, ll, 9) - 8 }, true, Meta{TTL: -1}},
		{"garbage length", func(b []byte) int { putCmsgHeader(b, 1<<20, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO); return 32 }, true, Meta{TTL: -1}},
		{"empty", func([]byte) int { return 0 }, true, Meta{TTL: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, 128)
			oob := b[:tt.build(b)]
			got := Meta{TTL: -1}
			if tt.v6 {
				parseCmsgs6(oob, &got)
			} else {
				parseCmsgs4(oob, &got)
			}
			if diff := cmp.Diff(tt.want, got, addrCmp); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
