package interop

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// The failover rows of `make bench`: a client pings the VIP every 2 ms
// while the priority-150 master a is stopped (SIGTERM), comes back and
// preempts b, and loses its link (carrier off on its switch port). The row
// is the client-seen outage: the longest silence spanning unanswered
// probes (0 when none was lost).

var benchProtos = []scenario{
	{name: "v2-1s", version: 2, advert: time.Second},
	{name: "v3-50ms", version: 3, advert: 50 * time.Millisecond},
	{name: "v3-10ms", version: 3, advert: 10 * time.Millisecond},
}

// benchLab is a, b and a client c on one segment.
type benchLab struct {
	seg  *netlab.Segment
	a, b *node
	c    *netlab.Host
}

func newBenchLab(tb testing.TB, im impl) *benchLab {
	tb.Helper()
	netlab.Require(tb, "ip", "keepalived", "ping")
	lab := netlab.New(tb)
	seg := lab.AddSegment("lan", lanV4, lanV6)
	mk := func(name string, v4, v6 netip.Prefix) *netlab.Host {
		h := lab.AddHost(name)
		if err := h.Connect(seg, ifname, v4, v6); err != nil {
			tb.Fatalf("bench: connect %s: %v", name, err)
		}
		return h
	}
	a := &node{t: tb, name: "a", impl: im, host: mk("a", addrA4, addrA6), ip4: addrA4.Addr(), ip6: addrA6.Addr()}
	b := &node{t: tb, name: "b", impl: im, host: mk("b", addrB4, addrB6), ip4: addrB4.Addr(), ip6: addrB6.Addr()}
	return &benchLab{seg: seg, a: a, b: b, c: mk("c", mbbClient4, mbbClient6)}
}

// clientOutage runs event (which waits for its own end) with the client
// pinging the VIP, then waits for replies from 200 ms after it, so the
// window covers the whole event, and returns what the client saw.
func (l *benchLab) clientOutage(tb testing.TB, sc scenario, event func()) netlab.PingGaps {
	tb.Helper()
	pg, err := l.c.StartPinger(sc.vip(), pingEvery)
	if err != nil {
		fail(tb, err.Error(), l.a, l.b)
	}
	if err := pg.WaitReplies(50, startupMargin); err != nil {
		pg.Stop()
		fail(tb, err.Error(), l.a, l.b)
	}
	event()
	if err := pg.WaitPast(time.Now().Add(200*time.Millisecond), 5*time.Second); err != nil {
		pg.Stop()
		fail(tb, err.Error(), l.a, l.b)
	}
	return pg.Stop()
}

// waitHolder polls until n holds the VIP (the other may still hold it).
func waitHolder(tb testing.TB, sc scenario, n *node, timeout time.Duration, all ...*node) {
	tb.Helper()
	err := netlab.WaitFor(tb.Context(), timeout, 2*time.Millisecond, func() (bool, error) {
		has, err := n.hasVIP(sc.vip())
		return has, cmpOr(err, fmt.Errorf("%s has no VIP yet", n.name))
	})
	if err != nil {
		fail(tb, err.Error(), all...)
	}
}

// benchFailoverCell runs rounds of stop / preempt / link death for one
// implementation on both nodes at one advert interval.
func benchFailoverCell(b *testing.B, sc scenario, im impl, rounds int, res *benchResults) {
	l := newBenchLab(b, im)
	aConf, bConf := l.a.confFor(sc, l.b, prioHigh), l.b.confFor(sc, l.a, prioLow)
	l.a.start(aConf, prioHigh)
	l.b.start(bConf, prioLow)
	converge(b, sc, l.a, l.b, l.a, l.b)
	record := func(event string, g netlab.PingGaps) {
		res.add(sc.name+" "+event, unitMs, im, float64(g.Outage)/float64(time.Millisecond))
		b.Logf("%s %s %s: outage %v, %d probes lost, %d replies, longest silence %v [%s]",
			im, sc.name, event, g.Outage, g.Lost, g.Replies, g.Longest, loadAvg())
	}
	for range rounds {
		record("graceful stop", l.clientOutage(b, sc, func() {
			if err := l.a.signal(syscall.SIGTERM); err != nil {
				fail(b, err.Error(), l.a, l.b)
			}
			if err := waitOwner(sc.masterDown(prioLow)+2*time.Second, 2*time.Millisecond, sc.vip(), "b", l.a, l.b); err != nil {
				fail(b, err.Error(), l.a, l.b)
			}
			if err := l.a.waitExit(exitTimeout); err != nil {
				fail(b, err.Error(), l.a, l.b)
			}
		}))
		record("preemption", l.clientOutage(b, sc, func() {
			l.a.start(aConf, prioHigh)
			if err := waitOwner(startupMargin+sc.masterDown(prioHigh), 2*time.Millisecond, sc.vip(), "a", l.a, l.b); err != nil {
				fail(b, err.Error(), l.a, l.b)
			}
		}))
		record("link death", l.clientOutage(b, sc, func() {
			if err := l.a.host.SetCarrier(l.seg, ifname, false); err != nil {
				fail(b, err.Error(), l.a, l.b)
			}
			waitHolder(b, sc, l.b, sc.masterDown(prioLow)+2*time.Second, l.a, l.b)
		}))
		if err := l.a.host.SetCarrier(l.seg, ifname, true); err != nil {
			fail(b, err.Error(), l.a, l.b)
		}
		converge(b, sc, l.a, l.b, l.a, l.b)
	}
	stopBoth(b, sc, l.a, l.b)
}
