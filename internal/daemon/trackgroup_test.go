package daemon

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

const trackGroupConf = `track_group TG1 {
    group {
        VI_1
    }
}
static_ipaddress {
    198.51.100.77/25 dev veth2 track_group TG1
}
static_routes {
    198.51.100.128/25 via 198.51.100.1 dev veth2 track_group TG1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.101/24
    }
}
`

// TestTrackGroupFaultsOnStaticLinkDown: as keepalived 2.2.7 does, the
// interface of a track_group'd static line going down puts the group's
// instances (VI_1, not VI_2) in FAULT; back up, they leave FAULT and the
// route the kernel flushed meanwhile is restored.
func TestTrackGroupFaultsOnStaticLinkDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers(link("eth0", true), link("veth2", true))
		notes := &fakeNotifier{}
		var fr *fakeRoutes
		a := startNodeWith(t, seg, "192.0.2.11", trackGroupConf, func(dp *deps) {
			withTracking(ft, notes)(dp)
			fr = newFakeRoutes(dp.addrs.(*fakeAddrs))
			dp.addrs = fr
		})
		time.Sleep(5 * time.Second)
		states := func() []string {
			a.state() // drain the loop
			return []string{a.d.instances[0].snapshot().State, a.d.instances[1].snapshot().State}
		}
		if got := states(); !cmp.Equal(got, []string{"MASTER", "MASTER"}) {
			t.Fatalf("states = %v, want both MASTER", got)
		}
		if need := keyStrings(ft.needed()); !slices.Contains(need, "track_interface veth2") {
			t.Fatalf("tracked objects %v do not include veth2", need)
		}

		// Link down: the kernel flushes the route silently.
		route := kaconf.Route{Dst: netip.MustParsePrefix("198.51.100.128/25"), Via: netip.MustParseAddr("198.51.100.1"), Dev: "veth2"}
		ft.report(link("veth2", false))
		_ = fr.RemoveRoute(route)
		if got := states(); !cmp.Equal(got, []string{"FAULT", "MASTER"}) {
			t.Fatalf("after veth2 down states = %v, want [FAULT MASTER]", got)
		}
		want := "fault: static address 198.51.100.77/25 (track_group TG1): interface veth2 down (carrier down)"
		if r := a.d.instances[0].snapshot().Reason; r != want {
			t.Errorf("reason = %q, want %q", r, want)
		}
		if a.addrs.holds("192.0.2.100/24") || !a.addrs.holds("192.0.2.101/24") {
			t.Errorf("VIPs: VI_1's %v VI_2's %v, want only VI_2's", a.addrs.holds("192.0.2.100/24"), a.addrs.holds("192.0.2.101/24"))
		}

		ft.report(link("veth2", true))
		if got := states(); got[0] != "BACKUP" {
			t.Fatalf("after veth2 up VI_1 = %s, want BACKUP", got[0])
		}
		if has, _ := fr.HasRoute(route); !has {
			t.Errorf("static route not restored after veth2 came back; ops %q", fr.takeOps())
		}
		time.Sleep(4 * time.Second) // master-down interval
		if got := states(); !cmp.Equal(got, []string{"MASTER", "MASTER"}) {
			t.Fatalf("after recovery states = %v, want both MASTER", got)
		}
		a.stop(t)
		if got := fr.installed(); len(got) != 0 {
			t.Errorf("left after stop: %q", got)
		}
		if ok, _ := fr.Has(vip.Address{Prefix: netip.MustParsePrefix("198.51.100.77/25")}); ok {
			t.Error("static address left after stop")
		}
	})
}

// TestDefaultInterface: a static address without dev goes on
// default_interface (eth0 when not given), and so does its track_group
// interface.
func TestDefaultInterface(t *testing.T) {
	for _, tc := range []struct{ global, want string }{
		{"", "eth0"},
		{"global_defs {\n    default_interface veth9\n}\n", "veth9"},
	} {
		cfg := loadConf(t, tc.global+strings.Replace(trackGroupConf, "198.51.100.77/25 dev veth2", "198.51.100.77/25", 1))
		if got := staticAddresses(cfg); len(got) != 1 || got[0].Dev != tc.want {
			t.Errorf("%q: static addresses %+v, want one on %s", tc.global, got, tc.want)
		}
		var devs []string
		for _, u := range trackGroupUses(cfg, "VI_1") {
			devs = append(devs, u.key.name)
		}
		if want := []string{tc.want, "veth2"}; !cmp.Equal(devs, want) {
			t.Errorf("%q: VI_1 tracks %v, want %v", tc.global, devs, want)
		}
		if u := trackGroupUses(cfg, "VI_2"); len(u) != 0 {
			t.Errorf("VI_2 (not in the group) tracks %v", u)
		}
	}
}
