package interop

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
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
	addBenchLinks(b, lab, a, bk) // bench_memory_test.go
	n := benchLinks * perLink
	row := func(metric string) string { return fmt.Sprintf("%d×v3@10ms, %d links %s", n, benchLinks, metric) }
	start := time.Now()
	var extra []string
	if f := os.Getenv("BENCH_LINKS_FLAGS"); f != "" && im == govrrp {
		extra = strings.Fields(f) // local experiments (e.g. --no-vip-lease)
	}
	a.startScaleMetrics(linksConf("iop_a", perLink, prioHigh), prioHigh, extra...)
	bk.startScale(linksConf("iop_b", perLink, prioLow), prioLow, extra...)
	settleScale(b, 120*time.Second, n, func(nd *node) (int, error) { return linksHeld(nd, perLink) }, a, bk)
	settle := time.Since(start)
	res.add(row("settle"), unitS, im, settle.Seconds())
	done := make(chan struct{})
	go func() { defer close(done); logLinksCounters(b, im, perLink, window, a, bk) }()
	master := a.proc // measureScale stops it (waitExit forgets the Proc)
	measureScale(b, im, n, window, settle, row, res, a, bk)
	<-done
	if im == govrrp && master != nil {
		// Each socket's sender logs, when it ends, how late its batches
		// were written after their due time (the whole run: settle, idle
		// and busy windows).
		for _, l := range strings.Split(master.Log(), "\n") {
			if strings.Contains(l, "send lateness") {
				b.Logf("bench: master %s", l)
			}
		}
	}
}

// ipOut is the IPv4 and IPv6 packets the node's namespace sent
// (OutRequests of /proc/net/snmp and snmp6): adverts, and the few NAs and
// MLD reports beside them, counted alike for both implementations.
func ipOut(nd *node) (int64, error) {
	out, err := nd.host.Exec(context.Background(), "cat", "/proc/net/snmp", "/proc/net/snmp6")
	if err != nil {
		return 0, err
	}
	var sum int64
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "Ip6OutRequests":
			v, _ := strconv.ParseInt(f[1], 10, 64)
			sum += v
		case len(f) > 0 && f[0] == "Ip:" && i+1 < len(lines) && slices.Contains(f, "OutRequests"):
			vals := strings.Fields(lines[i+1])
			if k := slices.Index(f, "OutRequests"); k < len(vals) && vals[0] == "Ip:" {
				v, _ := strconv.ParseInt(vals[k], 10, 64)
				sum += v
			}
		}
	}
	return sum, nil
}

// linksCounters is what govrrp's status says of one node, summed over its
// instances and sockets: what tells a master failing to send on time
// (adverts_sent short of the schedule) from a backup failing to receive
// (socket or queue drops, transitions without a missing advert).
type linksCounters struct {
	sent, received, transitions uint64
	drops                       map[string]uint64 // instance and socket reasons
}

func linksCountersOf(nd *node) (linksCounters, error) {
	st, err := nd.floodStatusOf()
	if err != nil {
		return linksCounters{}, err
	}
	c := linksCounters{drops: map[string]uint64{}}
	for _, in := range st {
		c.sent += in.AdvertsSent
		c.received += in.AdvertsReceived
		c.transitions += in.Transitions
		for r, v := range in.Drops {
			c.drops[r] += v
		}
	}
	return c, nil
}

// logLinksCounters logs, over the idle window (sampled at its start and
// 0.5 s before its end: the window is a duration of load, so a timer bounded
// by it), the packets the master's namespace sent and its CPU-seconds per
// packet (both implementations alike), and for govrrp both nodes' counter
// deltas and the master's log lines about adverts not sent.
func logLinksCounters(b *testing.B, im impl, perLink int, window time.Duration, a, bk *node) {
	span := window - 500*time.Millisecond
	pa := daemonPids(b, a)
	u0 := scaleUsage(b, pa, a, bk)
	out0, err := ipOut(a)
	if err != nil {
		b.Logf("bench: ip counters: %v", err)
		return
	}
	var before [2]linksCounters
	if im == govrrp {
		for i, nd := range []*node{a, bk} {
			c, err := linksCountersOf(nd)
			if err != nil {
				b.Logf("bench: counters: %v", err)
				return
			}
			before[i] = c
		}
	}
	t := time.NewTimer(span)
	defer t.Stop()
	<-t.C
	u1 := scaleUsage(b, pa, a, bk)
	out1, err := ipOut(a)
	if err != nil {
		b.Logf("bench: ip counters: %v", err)
		return
	}
	cpu := cpuPct(u0, u1) / 100 * u1.at.Sub(u0.at).Seconds()
	sent := out1 - out0
	b.Logf("bench: %s master sent %d IP packets in %v (%.0f/s of %d adverts/s scheduled), %.2f CPU-s, %.2f µs CPU per packet [%s]",
		im, sent, u1.at.Sub(u0.at).Round(time.Millisecond), float64(sent)/u1.at.Sub(u0.at).Seconds(), benchLinks*perLink*100,
		cpu, cpu/float64(max(sent, 1))*1e6, loadAvg())
	if im != govrrp {
		return
	}
	for i, nd := range []*node{a, bk} {
		c, err := linksCountersOf(nd)
		if err != nil {
			b.Logf("bench: counters: %v", err)
			return
		}
		drops := map[string]uint64{}
		for r, v := range c.drops {
			if d := v - before[i].drops[r]; d > 0 {
				drops[r] = d
			}
		}
		b.Logf("bench: %s counters over ~%v idle: adverts sent %d (%.0f/s), received %d (%.0f/s), transitions %d, drops %v",
			nd.name, span, c.sent-before[i].sent, float64(c.sent-before[i].sent)/span.Seconds(),
			c.received-before[i].received, float64(c.received-before[i].received)/span.Seconds(),
			c.transitions-before[i].transitions, drops)
	}
	if a.proc != nil {
		notSent := strings.Count(a.proc.Log(), "advert not sent")
		b.Logf("bench: master log: %d \"advert not sent\" lines so far", notSent)
	}
}
