package vip

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in      string
		want    netip.Prefix
		wantErr bool
	}{
		{in: "192.0.2.10", want: netip.MustParsePrefix("192.0.2.10/32")},
		{in: "192.0.2.10/24", want: netip.MustParsePrefix("192.0.2.10/24")},
		{in: "2001:db8::10", want: netip.MustParsePrefix("2001:db8::10/128")},
		{in: "2001:db8::10/64", want: netip.MustParsePrefix("2001:db8::10/64")},
		{in: "::ffff:192.0.2.1", want: netip.MustParsePrefix("192.0.2.1/32")},
		{in: "::ffff:192.0.2.1/120", want: netip.MustParsePrefix("192.0.2.1/24")},
		{in: "::ffff:192.0.2.1/64", wantErr: true},
		{in: "fe80::1%eth0", wantErr: true},
		{in: "192.0.2.300", wantErr: true},
		{in: "192.0.2.1/33", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePrefix(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePrefix(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("ParsePrefix(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    netlink.Scope
		wantErr bool
	}{
		{in: "", want: netlink.SCOPE_UNIVERSE},
		{in: "global", want: netlink.SCOPE_UNIVERSE},
		{in: "host", want: netlink.SCOPE_HOST},
		{in: "LINK", want: netlink.SCOPE_LINK},
		{in: "site", want: netlink.SCOPE_SITE},
		{in: "nowhere", want: netlink.SCOPE_NOWHERE},
		{in: "100", want: 100},
		{in: "0xfd", want: netlink.SCOPE_LINK},
		{in: "256", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "planet", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseScope(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseScope(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestAddressValidate(t *testing.T) {
	v4 := netip.MustParsePrefix("192.0.2.10/32")
	v6 := netip.MustParsePrefix("2001:db8::10/128")
	tests := []struct {
		name string
		a    Address
		ok   bool
	}{
		{name: "minimal v4", a: Address{Prefix: v4, Dev: "eth0"}, ok: true},
		{name: "minimal v6", a: Address{Prefix: v6, Dev: "eth0"}, ok: true},
		{name: "full v4", a: Address{Prefix: v4, Dev: "eth0", Label: "eth0:1", Scope: "link", Broadcast: netip.MustParseAddr("192.0.2.255")}, ok: true},
		{name: "no prefix", a: Address{Dev: "eth0"}},
		{name: "no dev", a: Address{Prefix: v4}},
		{name: "long dev", a: Address{Prefix: v4, Dev: "abcdefghijklmnop"}},
		{name: "label not starting with dev", a: Address{Prefix: v4, Dev: "eth0", Label: "eth1:1"}},
		{name: "label too long", a: Address{Prefix: v4, Dev: "eth0", Label: "eth0:0123456789a"}},
		{name: "label on v6", a: Address{Prefix: v6, Dev: "eth0", Label: "eth0:1"}},
		{name: "bad scope", a: Address{Prefix: v4, Dev: "eth0", Scope: "planet"}},
		{name: "broadcast on v6", a: Address{Prefix: v6, Dev: "eth0", Broadcast: netip.MustParseAddr("192.0.2.255")}},
		{name: "v6 broadcast", a: Address{Prefix: v4, Dev: "eth0", Broadcast: netip.MustParseAddr("2001:db8::ff")}},
		{name: "mapped", a: Address{Prefix: netip.MustParsePrefix("::ffff:192.0.2.1/128"), Dev: "eth0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Validate()
			if diff := cmp.Diff(tt.ok, err == nil); diff != "" {
				t.Fatalf("Validate() = %v (-want ok +got ok):\n%s", err, diff)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestAddressString(t *testing.T) {
	tests := []struct {
		a    Address
		want string
	}{
		{a: Address{Prefix: netip.MustParsePrefix("192.0.2.10/32"), Dev: "eth0"}, want: "192.0.2.10/32 dev eth0 scope global"},
		{a: Address{Prefix: netip.MustParsePrefix("2001:db8::10/128"), Dev: "eth1", Scope: "link"}, want: "2001:db8::10/128 dev eth1 scope link"},
		{
			a:    Address{Prefix: netip.MustParsePrefix("192.0.2.10/24"), Dev: "eth0", Label: "eth0:1", Broadcast: netip.MustParseAddr("192.0.2.255")},
			want: "192.0.2.10/24 brd 192.0.2.255 dev eth0 scope global label eth0:1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.a.String()); diff != "" {
				t.Errorf("String() (-want +got):\n%s", diff)
			}
		})
	}
}

// nlView is the part of netlink.Addr that toNetlink decides.
type nlView struct {
	IPNet     string
	Label     string
	Flags     int
	Scope     int
	Broadcast string
}

func TestToNetlink(t *testing.T) {
	tests := []struct {
		name string
		a    Address
		want nlView
	}{
		{
			name: "v4 bare gets no broadcast",
			a:    Address{Prefix: netip.MustParsePrefix("192.0.2.10/24"), Dev: "eth0"},
			want: nlView{IPNet: "192.0.2.10/24", Broadcast: "0.0.0.0"},
		},
		{
			name: "v4 full",
			a:    Address{Prefix: netip.MustParsePrefix("192.0.2.10/24"), Dev: "eth0", Label: "eth0:vip", Scope: "host", Broadcast: netip.MustParseAddr("192.0.2.255")},
			want: nlView{IPNet: "192.0.2.10/24", Label: "eth0:vip", Scope: int(netlink.SCOPE_HOST), Broadcast: "192.0.2.255"},
		},
		{
			name: "v6 nodad",
			a:    Address{Prefix: netip.MustParsePrefix("2001:db8::10/128"), Dev: "eth0", Scope: "site"},
			want: nlView{IPNet: "2001:db8::10/128", Flags: unix.IFA_F_NODAD, Scope: int(netlink.SCOPE_SITE), Broadcast: "<nil>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			na := toNetlink(tt.a)
			got := nlView{IPNet: na.IPNet.String(), Label: na.Label, Flags: na.Flags, Scope: na.Scope, Broadcast: net.IP(na.Broadcast).String()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("toNetlink (-want +got):\n%s", diff)
			}
			back, ok := prefixOf(*na)
			if diff := cmp.Diff(tt.a.Prefix.String(), back.String()); !ok || diff != "" {
				t.Errorf("prefixOf round trip ok=%v (-want +got):\n%s", ok, diff)
			}
		})
	}
}
