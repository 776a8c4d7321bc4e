package interop

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// oneHost is a lab with host a on one segment (eth0, .11), running im.
func oneHost(t *testing.T, im impl) (*netlab.Lab, *netlab.Segment, *node) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test (namespaces, real daemons) skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived", "tcpdump", "nft")
	lab := netlab.New(t)
	seg := lab.AddSegment("lan", lanV4, lanV6)
	h := lab.AddHost("a")
	if err := h.Connect(seg, ifname, addrA4, addrA6); err != nil {
		t.Fatalf("interop: connect a: %v", err)
	}
	return lab, seg, &node{t: t, name: "a", impl: im, host: h, ip4: addrA4.Addr(), ip6: addrA6.Addr()}
}

// sysctl reads one sysctl in h's namespace.
func sysctl(t *testing.T, h *netlab.Host, name string) string {
	t.Helper()
	out, err := h.Exec(context.Background(), "sysctl", "-n", name)
	if err != nil {
		t.Fatalf("sysctl %s: %v: %s", name, err, out)
	}
	return strings.TrimSpace(string(out))
}

const igmpSysctl = "net.ipv4.igmp_link_local_mcast_reports"

// TestDisableLocalIGMP: with disable_local_igmp no IGMP membership report
// for 224.0.0.18 leaves the host, without it the join (and the leave at
// stop) is reported; the sysctl is 0 while the daemon runs and 1 again
// after it stopped. keepalived 2.2.7 beside govrrp on the same file
// (observed with strace: it reads the sysctl, writes "0" before its socket
// joins, writes "1" back at stop; two IGMPv3 reports on join without the
// keyword, none with it).
func TestDisableLocalIGMP(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		for _, on := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/disable_local_igmp=%v", im, on), func(t *testing.T) {
				t.Parallel()
				_, _, a := oneHost(t, im)
				keyword := ""
				if on {
					keyword = "disable_local_igmp"
				}
				conf := fmt.Sprintf(`global_defs {
    router_id igmp
    %s
}
vrrp_instance VI_1 {
    state BACKUP
    interface %s
    virtual_router_id %d
    version 3
    priority 150
    advert_int 0.1
    virtual_ipaddress {
        %s/24
    }
}
`, keyword, ifname, vrid, vip4)
				if got := sysctl(t, a.host, igmpSysctl); got != "1" {
					t.Fatalf("%s before start: %s, want the kernel's default 1", igmpSysctl, got)
				}
				capt, err := a.host.Capture(ifname, "igmp")
				if err != nil {
					t.Fatal(err)
				}
				a.start(conf, 150)
				// Master-down at 100 ms adverts, priority 150: 362 ms.
				if err := a.host.WaitAddr(context.Background(), ifname, vip4, true, time.Second+startupMargin); err != nil {
					fail(t, fmt.Sprintf("%s did not become master: %v", im, err), a)
				}
				running := sysctl(t, a.host, igmpSysctl)
				if err := a.signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				if err := a.waitExit(10 * time.Second); err != nil {
					fail(t, err.Error(), a)
				}
				after := sysctl(t, a.host, igmpSysctl)
				path, err := capt.Stop()
				if err != nil {
					t.Fatal(err)
				}
				text, err := netlab.ReadPcap(path, "-v")
				if err != nil {
					t.Fatal(err)
				}
				reports := strings.Count(text, "gaddr 224.0.0.18")
				t.Logf("%s disable_local_igmp=%v: sysctl running %s, after stop %s; IGMP records for 224.0.0.18: %d\n%s", im, on, running, after, reports, text)
				wantRunning := "1"
				if on {
					wantRunning = "0"
				}
				if running != wantRunning || after != "1" {
					t.Errorf("%s: running %s, after stop %s; want %s and 1", igmpSysctl, running, after, wantRunning)
				}
				if on && reports != 0 {
					t.Errorf("with disable_local_igmp %d IGMP records for 224.0.0.18 went out, want none", reports)
				}
				if !on && reports == 0 {
					t.Errorf("without disable_local_igmp no IGMP report for 224.0.0.18 was seen: the capture cannot tell")
				}
			})
		}
	}
}

// startNoWait starts a's daemon without node.start's readiness check
// (which reads a one-instance status); callers wait for addresses.
func startNoWait(t *testing.T, a *node, conf string) {
	t.Helper()
	var p *netlab.Proc
	var err error
	if a.impl == govrrp {
		p, err = a.host.StartGovrrp(govrrpBin(t), conf)
	} else {
		p, err = a.host.StartKeepalived(conf)
	}
	if err != nil {
		t.Fatalf("interop: start %s: %v", a.impl, err)
	}
	a.proc, a.procs = p, append(a.procs, p)
}

// pingOK: count echoes to dst from h, 200 ms apart; true when any is
// answered (ping waits a second after the last).
func pingOK(h *netlab.Host, dst string, count int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := h.Exec(ctx, "ping", "-6", "-n", "-c", fmt.Sprint(count), "-i", "0.2", "-W", "1", dst)
	return err == nil
}

// TestNoAcceptLinkLocalIfindex: with link-local VIPs matched by interface
// index (keepalived's default, and always with nftables_ifindex), a
// no_accept non-owner master's VIP does not answer a ping and an accept
// instance's does; after the interface is deleted and re-created (a new
// index) the rules follow it: the drop again names the live interface and
// the same pings give the same answers. keepalived 2.2.7, observed with
// `nft list set`: the element goes when the link goes (the instance is
// FAULT, "removing firewall drop rule") and comes back with the new index
// when the instance is master again; govrrp does the same through its
// FAULT and the index it resolves for each batch.
func TestNoAcceptLinkLocalIfindex(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		for _, dtp := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dont_track_primary=%v", im, dtp), func(t *testing.T) {
				t.Parallel()
				linkLocalIfindex(t, im, dtp)
			})
		}
	}
}

// linkLocalIfindex is TestNoAcceptLinkLocalIfindex for one implementation;
// dtp puts dont_track_primary on the no_accept instance, which (with
// nftables_ifindex) still matches by index but stays master while its link
// is gone in govrrp: the drop must follow the re-created link all the same.
func linkLocalIfindex(t *testing.T, im impl, dtp bool) {
	lab, seg, a := oneHost(t, im)
	c := lab.AddHost("c")
	if err := c.Connect(seg, ifname, addrB4, addrB6); err != nil {
		t.Fatal(err)
	}
	const dropped, accepted = "fe80::100", "fe80::200"
	extra := ""
	if dtp {
		extra = "dont_track_primary"
	}
	conf := fmt.Sprintf(`global_defs {
    router_id nftidx
    nftables_ifindex
}
vrrp_instance VI_1 {
    state BACKUP
    interface %[1]s
    virtual_router_id 51
    priority 150
    advert_int 0.1
    no_accept
    %[4]s
    virtual_ipaddress {
        %[2]s/64
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface %[1]s
    virtual_router_id 52
    priority 150
    advert_int 0.1
    accept
    virtual_ipaddress {
        %[3]s/64
    }
}
`, ifname, dropped, accepted, extra)
	startNoWait(t, a, conf) // two instances: node.status wants one
	check := func(phase string) {
		t.Helper()
		for _, v := range []string{dropped, accepted} {
			if err := a.host.WaitAddr(context.Background(), ifname, netip.MustParseAddr(v), true, time.Second+startupMargin); err != nil {
				fail(t, fmt.Sprintf("%s %s: %s not on %s: %v", im, phase, v, ifname, err), a)
			}
		}
		// The accept VIP answers (bounded poll: neighbour discovery first).
		err := netlab.WaitFor(context.Background(), startupMargin, 100*time.Millisecond, func() (bool, error) {
			return pingOK(c, accepted+"%"+ifname, 1), nil
		})
		if err != nil {
			fail(t, fmt.Sprintf("%s %s: accept VIP %s does not answer: %v", im, phase, accepted, err), a)
		}
		// Same link, same neighbour state: the no_accept VIP must not.
		if pingOK(c, dropped+"%"+ifname, 3) {
			fail(t, fmt.Sprintf("%s %s: no_accept VIP %s answered a ping", im, phase, dropped), a)
		}
		out, err := a.host.Exec(context.Background(), "nft", "list", "ruleset")
		if err != nil {
			t.Fatalf("nft: %v: %s", err, out)
		}
		// An element whose index no longer exists is listed as a
		// number; a live one by its name.
		if want := dropped + ` . "` + ifname + `"`; !strings.Contains(string(out), want) {
			fail(t, fmt.Sprintf("%s %s: no set element %s in\n%s", im, phase, want, out), a)
		}
		if !strings.Contains(string(out), "iface_index") {
			fail(t, fmt.Sprintf("%s %s: link-local VIPs not matched by index:\n%s", im, phase, out), a)
		}
		t.Logf("%s %s: ruleset\n%s", im, phase, out)
	}
	check("at start")
	before, _ := a.host.Exec(context.Background(), "cat", "/sys/class/net/"+ifname+"/ifindex")
	if out, err := a.host.Exec(context.Background(), "ip", "link", "del", ifname); err != nil {
		t.Fatalf("ip link del: %v: %s", err, out)
	}
	if err := a.host.Connect(seg, ifname, addrA4, addrA6); err != nil {
		t.Fatalf("re-create %s: %v", ifname, err)
	}
	after, _ := a.host.Exec(context.Background(), "cat", "/sys/class/net/"+ifname+"/ifindex")
	t.Logf("%s ifindex %s -> %s", ifname, strings.TrimSpace(string(before)), strings.TrimSpace(string(after)))
	if string(before) == string(after) {
		t.Fatalf("re-created %s kept index %s", ifname, before)
	}
	// The re-created link has a new MAC and the client still holds the
	// old one: the accept VIP answers again only once the new master's
	// unsolicited NAs correct the client (keepalived 2.2.7 at once; govrrp
	// too since its NA socket names the link by index only, not by a
	// zone name Go's caches map to the dead index for up to a minute).
	check("after re-creating " + ifname)
}
