package interop

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// The multi-link scale rows of `make bench` (issue 11): perLink VRRPv3
// instances at 10 ms on each of four links, 1,020 at 255 per link (102,000
// adverts/s from the master). 192.0.2.0/24 and 198.51.100.0/24 hold only
// one link's worth of IPv4 VIPs, so eth0 carries the IPv4 instances of the
// one-link rows and eth1..eth3 IPv6 ones (VIPs 2001:db8:L::1:i, adverts
// from link-local addresses): the same file for both implementations.

// benchLinks is the number of links of the multi-link rows.
const benchLinks = 4

// linkIf is link L's interface (eth0 is the lab's lan).
func linkIf(l int) string { return fmt.Sprintf("eth%d", l) }

// linkVIP is the VIP of instance i (1-based) on link l.
func linkVIP(l, i int) netip.Addr {
	if l == 0 {
		return scaleVIP(i)
	}
	return netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::1:%x", l, i))
}

// linksConf is perLink instances on each link.
func linksConf(routerID string, perLink, prio int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n", routerID)
	for l := range benchLinks {
		bits := 32
		if l > 0 {
			bits = 128
		}
		for i := 1; i <= perLink; i++ {
			fmt.Fprintf(&b, "vrrp_instance VI_%d_%d {\n    state BACKUP\n    interface %s\n    virtual_router_id %d\n"+
				"    version 3\n    priority %d\n    advert_int 0.01\n    virtual_ipaddress {\n        %s/%d\n    }\n}\n",
				l, i, linkIf(l), i, prio, linkVIP(l, i), bits)
		}
	}
	return b.String()
}

// linksHeld counts the node's VIPs over all links.
func linksHeld(nd *node, perLink int) (int, error) {
	held := 0
	for l := range benchLinks {
		addrs, err := nd.host.Addrs(linkIf(l))
		if err != nil {
			return 0, err
		}
		want := map[netip.Addr]bool{}
		for i := 1; i <= perLink; i++ {
			want[linkVIP(l, i)] = true
		}
		for _, p := range addrs {
			if want[p.Addr()] {
				held++
			}
		}
	}
	return held, nil
}

// benchLinksCell runs one round of the multi-link rows for im.
func benchLinksCell(b *testing.B, im impl, perLink int, window time.Duration, res *benchResults) {
	lab, a, bk := twoHosts(b, im, im)
	for l := 1; l < benchLinks; l++ {
		seg := lab.AddSegment(fmt.Sprintf("l%d", l), netip.Prefix{}, netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/64", l)))
		for _, c := range []struct {
			n    *node
			host string
		}{{a, "11"}, {bk, "12"}} {
			if err := c.n.host.Connect(seg, linkIf(l), netip.Prefix{}, netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::%s/64", l, c.host))); err != nil {
				b.Fatalf("bench: connect %s to link %d: %v", c.n.name, l, err)
			}
		}
	}
	n := benchLinks * perLink
	row := func(metric string) string { return fmt.Sprintf("%d×v3@10ms, %d links %s", n, benchLinks, metric) }
	start := time.Now()
	var extra []string
	if f := os.Getenv("BENCH_LINKS_FLAGS"); f != "" && im == govrrp {
		extra = strings.Fields(f) // local experiments (e.g. --no-vip-lease)
	}
	a.startScale(linksConf("iop_a", perLink, prioHigh), prioHigh, extra...)
	bk.startScale(linksConf("iop_b", perLink, prioLow), prioLow, extra...)
	settleScale(b, 120*time.Second, n, func(nd *node) (int, error) { return linksHeld(nd, perLink) }, a, bk)
	settle := time.Since(start)
	res.add(row("settle"), unitS, im, settle.Seconds())
	measureScale(b, im, n, window, settle, row, res, a, bk)
}
