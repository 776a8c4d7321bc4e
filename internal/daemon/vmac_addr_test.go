package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
)

// resolveConf resolves conf's instances as apply would, without starting.
func resolveConf(t *testing.T, conf string) []*instance {
	t.Helper()
	cfg := loadConf(t, conf)
	d := newDaemon(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, deps{
		lookup: addrLookup{primary: func(_ string, v6 bool) (netip.Addr, error) {
			if v6 {
				return netip.MustParseAddr("fe80::1"), nil
			}
			return netip.MustParseAddr("192.0.2.11"), nil
		}},
	})
	next, err := d.resolveInstances(cfg)
	if err != nil {
		t.Fatalf("resolveInstances: %v", err)
	}
	return next
}

// placement lists an instance's VIP VMACs ("name@parent/family") and where
// each VIP goes ("addr dev").
func placement(in *instance) (links, vips []string) {
	for _, v := range in.addrVMACs {
		fam := "4"
		if v.IPv6 {
			fam = "6"
		}
		links = append(links, fmt.Sprintf("%s@%s/%s %s", v.Name, v.Parent, fam, v.MAC()))
	}
	for _, a := range in.vips {
		vips = append(vips, a.Prefix.Addr().String()+" "+a.Dev)
	}
	return links, vips
}

const vmacAddrInst = `vrrp_instance %s {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority 150
    advert_int 0.1
    version 3
    %s
    virtual_ipaddress {
%s
    }
    virtual_ipaddress_excluded {
%s
    }
}
`

// TestAddrVMACPlacement: which VIP gets a VMAC, on which link, by which
// name — each row is a configuration run under keepalived 2.2.7 in a
// namespace, and its `ip -br addr` / `ip -d link` (README "Virtual MAC").
func TestAddrVMACPlacement(t *testing.T) {
	for _, c := range []struct {
		name, global, opts, vips, evips string
		links, devs                     []string
	}{{
		name: "use_vmac + use_vmac_addr, vmac_addr_prefix vx", global: "global_defs {\n vmac_addr_prefix vx\n}\n",
		opts: "use_vmac\n use_vmac_addr", vips: "192.0.2.100/24\n198.51.100.100/24 dev eth1",
		evips: "198.51.100.101/24 dev eth1\n2001:db8:1::100/64 dev eth0\n2001:db8:2::100/64 dev eth1",
		links: []string{"vx.51@eth1/4 00:00:5e:00:01:33", "vx6.51@eth0/6 00:00:5e:00:02:33", "vx1.51@eth1/6 00:00:5e:00:02:33"},
		devs:  []string{"192.0.2.100 vrrp.51", "198.51.100.100 vx.51", "198.51.100.101 vx.51", "2001:db8:1::100 vx6.51", "2001:db8:2::100 vx1.51"},
	}, {
		name: "use_vmac_addr alone, default prefix", opts: "use_vmac_addr",
		vips: "192.0.2.100/24\n198.51.100.100/24 dev eth1", evips: "2001:db8:2::100/64 dev eth1\n2001:db8:1::100/64 dev eth0",
		links: []string{"vrrp.51@eth1/4 00:00:5e:00:01:33", "vrrp6.51@eth1/6 00:00:5e:00:02:33", "vrrp1.51@eth0/6 00:00:5e:00:02:33"},
		devs:  []string{"192.0.2.100 eth0", "198.51.100.100 vrrp.51", "2001:db8:2::100 vrrp6.51", "2001:db8:1::100 vrrp1.51"},
	}, {
		name: "the instance's vrrp.51 is taken", opts: "use_vmac\n use_vmac_addr",
		vips: "192.0.2.100/24\n198.51.100.100/24 dev eth1\n198.51.100.200/32 dev eth2", evips: "2001:db8:3::100/64 dev eth2",
		links: []string{"vrrp1.51@eth1/4 00:00:5e:00:01:33", "vrrp2.51@eth2/4 00:00:5e:00:01:33", "vrrp6.51@eth2/6 00:00:5e:00:02:33"},
		devs:  []string{"192.0.2.100 vrrp.51", "198.51.100.100 vrrp1.51", "198.51.100.200 vrrp2.51", "2001:db8:3::100 vrrp6.51"},
	}, {
		name: "a VIP's own use_vmac, no use_vmac_addr", global: "global_defs {\n vmac_addr_prefix vx\n}\n",
		vips: "192.0.2.100/24", evips: "2001:db8:3::100/64 dev eth2 use_vmac\n198.51.100.200/32 dev eth2 use_vmac\n198.51.100.201/32 dev eth2",
		links: []string{"vx.51@eth2/6 00:00:5e:00:02:33", "vx1.51@eth2/4 00:00:5e:00:01:33"},
		devs:  []string{"192.0.2.100 eth0", "2001:db8:3::100 vx.51", "198.51.100.200 vx1.51", "198.51.100.201 eth2"},
	}, {
		name: "use_vmac on the instance's interface; the other family without dev", opts: "use_vmac_addr",
		vips: "192.0.2.100/24\n192.0.2.101/32 dev eth0 use_vmac", evips: "2001:db8:3::100/64",
		links: []string{"vrrp.51@eth0/4 00:00:5e:00:01:33", "vrrp6.51@eth0/6 00:00:5e:00:02:33"},
		devs:  []string{"192.0.2.100 eth0", "192.0.2.101 vrrp.51", "2001:db8:3::100 vrrp6.51"},
	}, {
		name: "use_vmac alone: an eVIP of the other family stays on the base", opts: "use_vmac",
		vips: "192.0.2.100/24", evips: "2001:db8:3::100/64\n2001:db8:4::100/64 dev eth0",
		devs: []string{"192.0.2.100 vrrp.51", "2001:db8:3::100 eth0", "2001:db8:4::100 eth0"},
	}, {
		name: "no VMAC option: nothing moves", vips: "192.0.2.100/24\n198.51.100.100/24 dev eth1", evips: "2001:db8:3::100/64 dev eth1",
		devs: []string{"192.0.2.100 eth0", "198.51.100.100 eth1", "2001:db8:3::100 eth1"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			next := resolveConf(t, c.global+fmt.Sprintf(vmacAddrInst, "VI_1", 51, c.opts, c.vips, c.evips))
			links, devs := placement(next[0])
			if diff := cmp.Diff(c.links, links); diff != "" {
				t.Errorf("VIP VMACs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.devs, devs); diff != "" {
				t.Errorf("VIP devices (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAddrVMACTwoInstances: another VRID is another name space (vx.52 beside
// vx.51: keepalived 2.2.7), and a VIP VMAC never takes a name an
// instance's own VMAC has.
func TestAddrVMACTwoInstances(t *testing.T) {
	conf := fmt.Sprintf(vmacAddrInst, "VI_1", 51, "use_vmac_addr", "192.0.2.100/24\n198.51.100.100/24 dev eth1", "") +
		fmt.Sprintf(vmacAddrInst, "VI_2", 52, "", "192.0.2.102/24\n198.51.100.102/24 dev eth1 use_vmac\n198.51.100.103/24 dev eth1", "") +
		fmt.Sprintf(vmacAddrInst, "VI_3", 53, "use_vmac vrrp.51", "192.0.2.103/24", "")
	next := resolveConf(t, conf)
	var got []string
	for _, in := range next {
		links, devs := placement(in)
		got = append(got, strings.Join(links, ",")+" | "+strings.Join(devs, ","))
	}
	want := []string{
		"vrrp1.51@eth1/4 00:00:5e:00:01:33 | 192.0.2.100 eth0,198.51.100.100 vrrp1.51",
		"vrrp.52@eth1/4 00:00:5e:00:01:34 | 192.0.2.102 eth0,198.51.100.102 vrrp.52,198.51.100.103 eth1",
		" | 192.0.2.103 vrrp.51",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// recordingAddrs logs VIP additions into the VMAC fake's call list, so a
// test sees links and addresses in one order.
type recordingAddrs struct {
	*fakeAddrs
	links *fakeVMACs
}

func (r recordingAddrs) Add(a vip.Address) error {
	r.links.mu.Lock()
	r.links.calls = append(r.links.calls, "add "+a.Prefix.String()+" on "+a.Dev)
	r.links.mu.Unlock()
	return r.fakeAddrs.Add(a)
}

const vmacAddrNode = `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.1
    version 3
    use_vmac_addr
    virtual_ipaddress {
        192.0.2.100/24
        %s
    }
}
`

// TestAddrVMACLifecycle: the VIP VMACs exist before the instance is master
// (created at start, as keepalived 2.2.7 does also as BACKUP) and before any
// VIP goes on them; a reload that no longer needs one deletes it (and adds a
// new one before its VIP), a reload keeping one keeps it; stop deletes
// what is left.
func TestAddrVMACLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		links := &fakeVMACs{exists: map[string]bool{}}
		n := newNode(t, seg, "192.0.2.11", fmt.Sprintf(vmacAddrNode, "198.51.100.100/24 dev eth1"), func(dp *deps) {
			dp.vmacs = links
			dp.addrs = recordingAddrs{fakeAddrs: dp.addrs.(*fakeAddrs), links: links}
		})
		n.start()
		time.Sleep(time.Second)
		if n.state() != "MASTER" {
			t.Fatalf("state %s, want MASTER", n.state())
		}
		for _, line := range []string{
			"198.51.100.100/24 dev eth1\n 198.51.100.101/24 dev eth1", // the same link: kept
			"198.51.100.102/24 dev eth2",                              // eth1's link goes, eth2's comes
			"198.51.100.102/24 dev eth3",                              // the same name on eth3: its VIP is put back
		} {
			cfg := loadConf(t, fmt.Sprintf(vmacAddrNode, line))
			done := make(chan error, 1)
			n.d.events <- loopEvent{do: func() { _, err := n.d.apply(cfg); done <- err }}
			if err := <-done; err != nil {
				t.Fatalf("apply: %v", err)
			}
			time.Sleep(time.Second)
		}
		n.stop(t)
		want := []string{
			"ensure vrrp.51 on eth1 00:00:5e:00:01:33",
			"add 192.0.2.100/24 on eth0", "add 198.51.100.100/24 on vrrp.51",
			"add 198.51.100.101/24 on vrrp.51",
			"delete vrrp.51", "ensure vrrp.51 on eth2 00:00:5e:00:01:33", "add 198.51.100.102/24 on vrrp.51",
			"delete vrrp.51", "ensure vrrp.51 on eth3 00:00:5e:00:01:33", "add 198.51.100.102/24 on vrrp.51",
			"delete vrrp.51",
		}
		if diff := cmp.Diff(want, links.log()); diff != "" {
			t.Errorf("VMAC and VIP calls (-want +got):\n%s", diff)
		}
	})
}

// TestAddrVMACNeedsSupport: without VMAC support a VIP's use_vmac is refused
// by name, not silently left on its interface.
func TestAddrVMACNeedsSupport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		n := newNode(t, seg, "192.0.2.11", fmt.Sprintf(vmacAddrNode, "198.51.100.100/24 dev eth1"), nil)
		n.start()
		err := <-n.done
		if err == nil || !strings.Contains(err.Error(), "use_vmac") {
			t.Fatalf("run = %v, want a use_vmac refusal", err)
		}
	})
}

// garp_extra_if SECS without "all", with VMACs of VIPs: every SECS while
// master, one announcement for the first address of each such VMAC (an
// eVIP's too), none for the instance's interface (keepalived 2.2.7,
// tcpdump); none once backup.
func TestAddrVMACGarpExtraIf(t *testing.T) {
	conf := `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    version 3
    garp_master_delay 0
    garp_master_repeat 1
    garp_extra_if 2
    use_vmac_addr
    virtual_ipaddress {
        192.0.2.100/24
        198.51.100.100/24 dev eth1
        198.51.100.104/24 dev eth1
        198.51.100.105/24 dev eth2
    }
    virtual_ipaddress_excluded {
        198.51.100.101/24 dev eth1
        2001:db8:2::100/64 dev eth1
    }
}
`
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		p := newPeer(t, seg, "192.0.2.50")
		rec := newAddrAnnouncer()
		links := &fakeVMACs{exists: map[string]bool{}}
		a := startNodeWith(t, seg, "192.0.2.11", conf, func(dp *deps) { dp.announce, dp.vmacs = rec, links })
		time.Sleep(8 * time.Second) // master at +3.4 s
		for range 4 {               // a better master from +8 s: a yields, no round at +9.4 or +11.4 s
			p.send(t, 200)
			time.Sleep(time.Second)
		}
		if a.state() != "BACKUP" {
			t.Errorf("state %s, want BACKUP", a.state())
		}
		round := "eth0:192.0.2.100,vrrp.51:198.51.100.100,vrrp.51:198.51.100.104,vrrp1.51:198.51.100.105,vrrp.51:198.51.100.101,vrrp6.51:2001:db8:2::100×1"
		extra := "vrrp.51:198.51.100.100,vrrp1.51:198.51.100.105,vrrp6.51:2001:db8:2::100×1"
		want := []string{"+3.4s " + round, "+5.4s " + extra, "+7.4s " + extra}
		if d := cmp.Diff(want, rec.log()); d != "" {
			t.Errorf("bursts (-want +got):\n%s", d)
		}
		a.stop(t)
	})
}
