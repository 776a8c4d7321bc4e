package daemon

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/firewall"
	"github.com/govrrp/govrrp/internal/transport"
)

// dropRecorder is a firewaller that keeps the last drop list.
type dropRecorder struct {
	mu   sync.Mutex
	last []firewall.Drop
}

func (r *dropRecorder) Replace(_ context.Context, _ firewall.Config, drops []firewall.Drop) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = slices.Clone(drops)
	return nil
}

func (r *dropRecorder) Delete(context.Context, string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = nil
	return nil
}

// TestNftablesIfindexChoice: a link-local VIP's drop matches its interface
// by name only for a dont_track_primary instance without nftables_ifindex
// (keepalived 2.2.7: vips_link_local_name, ipv6_addr . ifname), by index
// otherwise (vips_link_local, ipv6_addr . iface_index). (A global VIP's
// flag is irrelevant: the firewall matches it without an interface.)
func TestNftablesIfindexChoice(t *testing.T) {
	for _, tc := range []struct {
		dtp, ifindex, byName bool
	}{
		{dtp: false, ifindex: false, byName: false},
		{dtp: true, ifindex: false, byName: true},
		{dtp: true, ifindex: true, byName: false},
		{dtp: false, ifindex: true, byName: false},
	} {
		t.Run(fmt.Sprintf("dont_track_primary=%v,nftables_ifindex=%v", tc.dtp, tc.ifindex), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				global, extra := "", "no_accept"
				if tc.ifindex {
					global = "nftables_ifindex\n"
				}
				if tc.dtp {
					extra += "\n    dont_track_primary"
				}
				conf := fmt.Sprintf("global_defs {\n%s}\n", global) + fmt.Sprintf(`vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    version 3
    %s
    virtual_ipaddress {
        2001:db8::51/64
        fe80::51/64
    }
}
`, extra)
				rec := &dropRecorder{}
				n := newNode(t, transport.NewSegment(), "fe80::11", conf, nil)
				n.d.accept.fw = rec
				n.start()
				time.Sleep(5 * time.Second)
				if got := n.state(); got != "MASTER" {
					t.Fatalf("state %s, want MASTER", got)
				}
				rec.mu.Lock()
				got := map[string]bool{}
				for _, d := range rec.last {
					got[d.Addr.String()] = d.ByName
				}
				rec.mu.Unlock()
				if b, ok := got["fe80::51"]; len(got) != 2 || !ok || b != tc.byName {
					t.Errorf("drops by name %v, want fe80::51 by name %v", got, tc.byName)
				}
				n.stop(t)
			})
		})
	}
}
