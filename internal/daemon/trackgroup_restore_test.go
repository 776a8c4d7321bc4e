package daemon

import (
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// unreachableRoutes refuses to add routes while refuse is set, as the
// kernel does (ENETUNREACH) for a route via a gateway no connected route
// reaches.
type unreachableRoutes struct {
	*fakeRoutes
	refuse atomic.Bool
}

func (u *unreachableRoutes) AddRoute(r kaconf.Route) error {
	if u.refuse.Load() {
		u.log("+route refused " + rk(r))
		return syscall.ENETUNREACH
	}
	return u.fakeRoutes.AddRoute(r)
}

// TestTrackGroupStaticRestoreFails: a track_group'd static route deleted
// while its link is up, and impossible to put back (its gateway made
// unreachable), is tried once and logged; the group's instance stays
// MASTER. keepalived 2.2.7, observed in a namespace (connected route of the
// gateway's subnet deleted, then the static route): "Netlink: error: Network
// is unreachable(101), type=RTM_NEWROUTE", "Restoring deleted static route
// ... track_group TG1", both instances still MASTER (SIGUSR1 dump), no
// retry when the gateway's subnet came back. Only the link going down and
// up again (the track_group fault and its restore) brings the route back.
func TestTrackGroupStaticRestoreFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers(link("eth0", true), link("veth2", true))
		var ur *unreachableRoutes
		a := startNodeWith(t, seg, "192.0.2.11", trackGroupConf, func(dp *deps) {
			withTracking(ft, &fakeNotifier{})(dp)
			ur = &unreachableRoutes{fakeRoutes: newFakeRoutes(dp.addrs.(*fakeAddrs))}
			dp.addrs = ur
		})
		time.Sleep(5 * time.Second)
		states := func() []string {
			a.state() // drain the loop
			return []string{a.d.instances[0].snapshot().State, a.d.instances[1].snapshot().State}
		}
		if got := states(); !cmp.Equal(got, []string{"MASTER", "MASTER"}) {
			t.Fatalf("states = %v, want both MASTER", got)
		}
		route := kaconf.Route{Dst: netip.MustParsePrefix("198.51.100.128/25"), Via: netip.MustParseAddr("198.51.100.1"), Dev: "veth2"}
		ur.takeOps()

		ur.refuse.Store(true)
		_ = ur.fakeRoutes.RemoveRoute(route)
		ur.takeOps()
		a.d.events <- loopEvent{routesDeleted: true}
		if got := states(); !cmp.Equal(got, []string{"MASTER", "MASTER"}) {
			t.Fatalf("after an unrestorable deletion states = %v, want both MASTER (keepalived 2.2.7 stays MASTER)", got)
		}
		if got, want := ur.takeOps(), []string{"+route refused  198.51.100.128/25"}; !cmp.Equal(got, want) {
			t.Errorf("restore attempts %q, want exactly %q", got, want)
		}

		// The gateway is reachable again: nothing retries (no deletion,
		// no link change), as in keepalived.
		ur.refuse.Store(false)
		time.Sleep(10 * time.Second)
		if has, _ := ur.HasRoute(route); has {
			t.Error("route came back without a link change; keepalived 2.2.7 does not retry")
		}
		if got := states(); !cmp.Equal(got, []string{"MASTER", "MASTER"}) {
			t.Fatalf("states = %v, want both MASTER", got)
		}

		// Link down and up: FAULT, then the restore on link-up puts it back.
		ft.report(link("veth2", false))
		if got := states(); got[0] != "FAULT" {
			t.Fatalf("after veth2 down VI_1 = %s, want FAULT", got[0])
		}
		ft.report(link("veth2", true))
		states()
		if has, _ := ur.HasRoute(route); !has {
			t.Errorf("static route not restored after veth2 came back; ops %q", ur.takeOps())
		}
		a.stop(t)
	})
}
