package transport

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// WriteWithTTL on a daemon's own socket (keepalived's unicast_ttl): the
// message carries that TTL / hop limit, and the socket's later WriteTo is
// back at 255, so unicast and multicast instances can share it.
func TestLinuxWriteWithTTL(t *testing.T) {
	l := newLab(t)
	ifB := ifindexIn(t, l.nsB, labIfB)
	for _, tt := range []struct {
		name     string
		ipv6     bool
		src, dst netip.Addr
		ttl      int
	}{
		{"v4 unicast ttl 1", false, a4, b4, 1},
		{"v4 unicast ttl 9", false, a4, b4, 9},
		{"v6 unicast hop limit 9", true, a6, b6, 9},
		{"v4 multicast ttl 3", false, a4, GroupV4, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rx := listenIn(t, l.nsB, Config{Interface: labIfB, IPv6: tt.ipv6, Multicast: true})
			tx := listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: tt.ipv6})
			w, ok := tx.(TTLWriter)
			if !ok {
				t.Fatalf("%T is not a TTLWriter", tx)
			}
			if err := w.WriteWithTTL(advert, tt.src, tt.dst, tt.ttl); err != nil {
				t.Fatal(err)
			}
			want := got{string(advert), Meta{Src: tt.src, Dst: tt.dst, TTL: tt.ttl, Ifindex: ifB}}
			if diff := cmp.Diff(want, readOne(t, rx), addrCmp); diff != "" {
				t.Errorf("with ttl (-want +got):\n%s", diff)
			}
			if err := tx.WriteTo(advert, tt.src, tt.dst); err != nil {
				t.Fatal(err)
			}
			want.Meta.TTL = 255
			if diff := cmp.Diff(want, readOne(t, rx), addrCmp); diff != "" {
				t.Errorf("WriteTo after (-want +got):\n%s", diff)
			}
		})
	}
	tx := listenIn(t, l.nsA, Config{Interface: labIfA})
	for _, ttl := range []int{0, -1, 256} {
		if err := tx.(TTLWriter).WriteWithTTL(advert, a4, b4, ttl); err == nil {
			t.Errorf("IPv4 ttl %d accepted", ttl)
		}
	}
}
