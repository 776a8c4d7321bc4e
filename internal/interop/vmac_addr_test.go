package interop

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// vmacAddrConf: use_vmac_addr, a VIP's own use_vmac and vmac_addr_prefix on
// a host with two links (eth0, eth1); VRIDs 51 and 52; VRID 53 is use_vmac
// alone with an eVIP of the other family (README "Virtual MAC").
var vmacAddrConf = fmt.Sprintf(`global_defs {
    vmac_addr_prefix vx
}
vrrp_instance VI_A {
    state BACKUP
    interface eth0
    virtual_router_id 51
    version 3
    priority %[1]d
    advert_int 0.1
    use_vmac
    use_vmac_addr
    virtual_ipaddress {
        192.0.2.100/24
        198.51.100.100/24 dev eth1
    }
    virtual_ipaddress_excluded {
        198.51.100.101/24 dev eth1
        2001:db8::100/64 dev eth0
        2001:db8:1::100/64 dev eth1
    }
}
vrrp_instance VI_B {
    state BACKUP
    interface eth0
    virtual_router_id 52
    version 3
    priority %[1]d
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.102/24
        198.51.100.102/24 dev eth1 use_vmac
        198.51.100.103/24 dev eth1
    }
}
vrrp_instance VI_C {
    state BACKUP
    interface eth0
    virtual_router_id 53
    version 3
    priority %[1]d
    advert_int 0.1
    use_vmac
    virtual_ipaddress {
        192.0.2.103/24
    }
    virtual_ipaddress_excluded {
        2001:db8::103/64
    }
}
`, prioHigh)

// vmacAddrWant is what keepalived 2.2.7 made of vmacAddrConf as master,
// observed in a namespace: each macvlan (name@parent MAC mode, its IPv4
// sysctls arp_ignore/accept_local/promote_secondaries) and the VIPs on it,
// then the VIPs left on the base links.
var vmacAddrWant = []string{
	"eth0: 192.0.2.102/24 2001:db8::103/64", // VI_C's eVIP of the other family stays on the base
	"eth1: 198.51.100.103/24",
	"vrrp.51@eth0 00:00:5e:00:01:33 private 1/1/1: 192.0.2.100/24",
	"vrrp.53@eth0 00:00:5e:00:01:35 private 1/1/1: 192.0.2.103/24",
	"vx.51@eth1 00:00:5e:00:01:33 private 1/1/1: 198.51.100.100/24 198.51.100.101/24",
	"vx.52@eth1 00:00:5e:00:01:34 private 1/1/1: 198.51.100.102/24",
	"vx1.51@eth1 00:00:5e:00:02:33 private 0/0/0: 2001:db8:1::100/64",
	"vx6.51@eth0 00:00:5e:00:02:33 private 0/0/0: 2001:db8::100/64",
}

// vmacPlacement describes h's macvlans and the VIPs (addresses other than
// the host's own and link-local ones) on every link, one line each, sorted.
func vmacPlacement(h *netlab.Host, own ...netip.Prefix) ([]string, error) {
	ctx := context.Background()
	out, err := h.Exec(ctx, "ip", "-o", "-d", "link", "show")
	if err != nil {
		return nil, fmt.Errorf("ip link: %v: %s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name, parent, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		desc := name
		if i := slices.Index(f, "macvlan"); i >= 0 && i+2 < len(f) && f[i+1] == "mode" {
			mac := f[slices.Index(f, "link/ether")+1]
			var sys []string
			for _, k := range []string{"arp_ignore", "accept_local", "promote_secondaries"} {
				v, _ := h.Exec(ctx, "cat", "/proc/sys/net/ipv4/conf/"+name+"/"+k)
				sys = append(sys, strings.TrimSpace(string(v)))
			}
			desc = fmt.Sprintf("%s@%s %s %s %s", name, parent, mac, f[i+2], strings.Join(sys, "/"))
		}
		addrs, err := h.Addrs(name)
		if err != nil {
			return nil, err
		}
		var vips []string
		for _, a := range addrs {
			if !a.Addr().IsLinkLocalUnicast() && !a.Addr().IsLoopback() && !slices.Contains(own, a) {
				vips = append(vips, a.String())
			}
		}
		if len(vips) == 0 && !strings.Contains(desc, "@") {
			continue // a base link without VIPs
		}
		slices.Sort(vips)
		lines = append(lines, desc+": "+strings.Join(vips, " "))
	}
	slices.Sort(lines)
	return lines, nil
}

// TestVMACAddr runs vmacAddrConf under keepalived 2.2.7 and govrrp, each
// alone on its own two links (so each is master): the same macvlans (names,
// parents, MACs, mode, sysctls) carrying the same VIPs, in the same nftables
// maps; govrrp reuses its links after kill -9; none left after SIGTERM.
func TestVMACAddr(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("interop: integration test skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived", "nft")
	lab := netlab.New(t)
	lan1V4, lan1V6 := netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/64")
	own := []netip.Prefix{addrA4, addrA6, netip.MustParsePrefix("198.51.100.11/24"), netip.MustParsePrefix("2001:db8:1::11/64")}
	mk := func(name string, im impl) *node {
		h := lab.AddHost(name)
		for i, seg := range []*netlab.Segment{lab.AddSegment(name+"0", lanV4, lanV6), lab.AddSegment(name+"1", lan1V4, lan1V6)} {
			if err := h.Connect(seg, fmt.Sprintf("eth%d", i), own[2*i], own[2*i+1]); err != nil {
				t.Fatalf("interop: connect %s eth%d: %v", name, i, err)
			}
		}
		return &node{t: t, name: name, impl: im, host: h, ip4: addrA4.Addr(), ip6: addrA6.Addr()}
	}
	k, g := mk("k", keepalived), mk("g", govrrp)
	k.startMulti(vmacAddrConf, prioHigh)
	g.startMulti(vmacAddrConf, prioHigh)
	t.Cleanup(func() { _ = k.kill(); _ = g.kill() })

	bound := startupMargin + scenario{version: 3, advert: vmacAdvert}.masterDown(prioHigh)
	got := map[string][]string{}
	for _, n := range []*node{k, g} {
		err := netlab.WaitFor(context.Background(), bound, 20*time.Millisecond, func() (bool, error) {
			p, err := vmacPlacement(n.host, own...)
			got[n.name] = p
			return err == nil && slices.Equal(p, vmacAddrWant), fmt.Errorf("%s: links and VIPs\n  %s\nwant\n  %s (%v)",
				n.impl, strings.Join(p, "\n  "), strings.Join(vmacAddrWant, "\n  "), err)
		})
		if err != nil {
			fail(t, "interop: vmac_addr: "+err.Error(), k, g)
		}
	}
	if !slices.Equal(got["k"], got["g"]) {
		fail(t, fmt.Sprintf("interop: vmac_addr: keepalived %q, govrrp %q", got["k"], got["g"]), k, g)
	}
	checkVMACMaps(t, k, g)

	// kill -9: govrrp's links stay (not leased); the next start reuses them
	// (the same ifindex) and places the same VIPs.
	before := ifindexOf(g.host, "vx1.51")
	if err := g.kill(); err != nil {
		t.Fatal(err)
	}
	g.startMulti(vmacAddrConf, prioHigh)
	err := netlab.WaitFor(context.Background(), bound, 20*time.Millisecond, func() (bool, error) {
		p, err := vmacPlacement(g.host, own...)
		return err == nil && slices.Equal(p, vmacAddrWant), fmt.Errorf("after kill -9 and restart: %q (%v)", p, err)
	})
	if err != nil {
		fail(t, "interop: vmac_addr: "+err.Error(), g)
	}
	if got := ifindexOf(g.host, "vx1.51"); got != before || !strings.Contains(g.proc.Log(), "reusing VMAC") {
		fail(t, fmt.Sprintf("interop: vmac_addr: restart after kill -9 did not reuse vx1.51 (ifindex %d → %d)", before, got), g)
	}
	for _, n := range []*node{k, g} {
		if err := n.signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []*node{k, g} {
		if err := n.waitExit(bound); err != nil {
			fail(t, err.Error(), k, g)
		}
		if left := macvlans(t, n.host); len(left) > 0 {
			fail(t, fmt.Sprintf("interop: vmac_addr: %s left macvlans %v after SIGTERM", n.impl, left), k, g)
		}
	}
}

// vmacMap is the vmac_map of nftables table FAMILY NAME on h ("vmac:parent"
// pairs, sorted); nil without the table.
func vmacMap(h *netlab.Host, family, name string) []string {
	out, err := h.Exec(context.Background(), "nft", "list", "table", family, name)
	if err != nil {
		return nil
	}
	s := string(out)
	i := strings.Index(s, "map vmac_map")
	if i < 0 {
		return nil
	}
	s = s[i:]
	j, k := strings.Index(s, "elements = {"), strings.Index(s, "}\n")
	if j < 0 || k < j {
		return nil
	}
	var pairs []string
	for _, e := range strings.Split(s[j+len("elements = {"):k], ",") {
		if f := strings.Fields(strings.ReplaceAll(e, "\"", "")); len(f) == 3 && f[1] == ":" {
			pairs = append(pairs, f[0]+":"+f[2])
		}
	}
	slices.Sort(pairs)
	return pairs
}

// checkVMACMaps: the VMACs of VIPs are in govrrp's nftables maps as in
// keepalived's (IGMP/MLD reports dup'ed out of the parent). IPv4: the same
// map. IPv6: keepalived also lists IPv4 instances' VMACs whose instance has
// IPv6 eVIPs, where it leaves IPv6 on; govrrp disables IPv6 on them (README
// "Virtual MAC", deliberate difference), so those are left out.
func checkVMACMaps(t *testing.T, k, g *node) {
	t.Helper()
	var k4, g4, k6, g6 []string
	err := netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		k4, g4 = vmacMap(k.host, "ip", "keepalived"), vmacMap(g.host, "ip", "govrrp_vmac")
		k6 = slices.DeleteFunc(vmacMap(k.host, "ip6", "keepalived"), func(p string) bool {
			return strings.HasPrefix(p, "vrrp.51:") || strings.HasPrefix(p, "vrrp.53:")
		})
		g6 = vmacMap(g.host, "ip6", "govrrp_vmac")
		ok := len(k4) > 0 && slices.Equal(k4, g4) && len(k6) > 0 && slices.Equal(k6, g6)
		return ok, fmt.Errorf("nftables vmac_map: ip keepalived %q govrrp %q; ip6 keepalived %q govrrp %q", k4, g4, k6, g6)
	})
	if err != nil {
		fail(t, "interop: vmac_addr: "+err.Error(), k, g)
	}
	t.Logf("nftables vmac_map: ip %q, ip6 %q", g4, g6)
}
