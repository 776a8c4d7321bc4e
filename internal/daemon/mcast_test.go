package daemon

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/govrrp/govrrp/internal/transport"
)

// keepalived's vrrp_mcast_group4 and mcast_dst_ip: adverts go to the
// configured group (the instance's own over the global one), and the group
// is part of the virtual router's identity.
func TestMulticastGroup(t *testing.T) {
	for _, tc := range []struct {
		name, global, extra string
		want                string
	}{
		{"default", "", "", "224.0.0.18"},
		{"vrrp_mcast_group4", "vrrp_mcast_group4 224.0.0.19", "", "224.0.0.19"},
		{"mcast_dst_ip over the global group", "vrrp_mcast_group4 224.0.0.19", "mcast_dst_ip 224.0.0.20", "224.0.0.20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				p := newPeer(t, seg, "192.0.2.50")
				conf := "global_defs {\n " + tc.global + "\n}\n" + fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "version 3\n "+tc.extra)
				a := startNode(t, seg, "192.0.2.11", conf)
				time.Sleep(6 * time.Second)
				p.mu.Lock()
				dsts := append([]netip.Addr(nil), p.dsts...)
				p.mu.Unlock()
				if len(dsts) < 2 {
					t.Errorf("peer saw %d adverts, want at least 2", len(dsts))
				}
				want := netip.MustParseAddr(tc.want)
				for i, d := range dsts {
					if d != want {
						t.Errorf("advert %d to %v, want %v", i, d, want)
					}
				}
				a.stop(t)
			})
		})
	}
}

func TestMulticastGroupInIdentity(t *testing.T) {
	ids := map[string]identity{}
	for _, g := range []string{"", "vrrp_mcast_group4 224.0.0.18", "vrrp_mcast_group4 224.0.0.19"} {
		cfg := loadConf(t, "global_defs {\n "+g+"\n}\n"+fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", ""))
		d := &Daemon{lookup: addrLookup{
			primary:     func(string, bool) (netip.Addr, error) { return netip.MustParseAddr("192.0.2.11"), nil },
			interfaceOf: func(netip.Addr) (string, error) { return "eth0", nil },
		}}
		next, err := d.resolveInstances(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ids[g] = next[0].identity()
	}
	opt := cmp.AllowUnexported(identity{})
	if d := cmp.Diff(ids[""], ids["vrrp_mcast_group4 224.0.0.18"], opt, cmpopts.EquateComparable(netip.Addr{})); d != "" {
		t.Errorf("explicit default group is another virtual router:\n%s", d)
	}
	if ids[""] == ids["vrrp_mcast_group4 224.0.0.19"] {
		t.Error("another group is the same virtual router")
	}
}
