package transport

import (
	"context"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// keepalived's vrrp_mcast_group4/6 (and mcast_dst_ip): a socket for another
// group joins that group and reads only adverts sent to it; the default
// socket (shared with unicast instances) does not see them. Each check sends
// what must not be read first and a marker that must, then wants the marker
// as the first read.
func TestLinuxCustomMulticastGroup(t *testing.T) {
	l := newLab(t)
	for _, fam := range []struct {
		name              string
		ipv6              bool
		self, peer, group netip.Addr
		dflt              netip.Addr
	}{
		{"v4", false, a4, b4, netip.MustParseAddr("224.0.0.19"), GroupV4},
		{"v6", true, a6, b6, netip.MustParseAddr("ff02::13"), GroupV6},
	} {
		t.Run(fam.name, func(t *testing.T) {
			custom := Config{Interface: labIfB, IPv6: fam.ipv6, Multicast: true, McastGroup: fam.group}
			if got := custom.Group(); got != fam.group {
				t.Fatalf("Group() = %v, want %v", got, fam.group)
			}
			rxCustom := listenIn(t, l.nsB, custom)
			rxDefault := listenIn(t, l.nsB, Config{Interface: labIfB, IPv6: fam.ipv6, Multicast: true})
			tx := listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: fam.ipv6})
			send := func(payload string, dst netip.Addr) {
				t.Helper()
				if err := tx.WriteTo([]byte(payload), fam.self, dst); err != nil {
					t.Fatal(err)
				}
			}
			send("default", fam.dflt)
			send("unicast", fam.peer)
			send("custom", fam.group)
			if got := readOne(t, rxCustom); got.Payload != "custom" || got.Meta.Dst != fam.group {
				t.Errorf("custom-group socket's first read %q to %v, want \"custom\" to %v", got.Payload, got.Meta.Dst, fam.group)
			}
			var firsts []string
			for range 2 {
				firsts = append(firsts, readOne(t, rxDefault).Payload)
			}
			if diff := cmp.Diff([]string{"default", "unicast"}, firsts); diff != "" {
				t.Errorf("default socket's reads (-want +got):\n%s", diff)
			}
			send("custom2", fam.group)
			send("default2", fam.dflt)
			if got := readOne(t, rxDefault).Payload; got != "default2" {
				t.Errorf("default socket read %q, want default2 (not the custom group's advert)", got)
			}
		})
	}
}

// Pool: another group is another socket; the same group shares one.
func TestPoolKeysOnGroup(t *testing.T) {
	seg := NewSegment()
	p := NewPool(seg.Listener(a4))
	ctx := context.Background()
	g19 := netip.MustParseAddr("224.0.0.19")
	dflt, err := p.Acquire(ctx, Config{Interface: "x", Multicast: true})
	if err != nil {
		t.Fatal(err)
	}
	explicit, _ := p.Acquire(ctx, Config{Interface: "x", Multicast: true, McastGroup: GroupV4})
	uni, _ := p.Acquire(ctx, Config{Interface: "x"})
	c1, _ := p.Acquire(ctx, Config{Interface: "x", Multicast: true, McastGroup: g19})
	c2, _ := p.Acquire(ctx, Config{Interface: "x", Multicast: true, McastGroup: g19})
	if dflt != explicit || dflt != uni {
		t.Error("default group, explicit 224.0.0.18 and unicast users do not share one socket")
	}
	if c1 != c2 || c1 == dflt {
		t.Error("224.0.0.19 users do not share one socket of their own")
	}
}
