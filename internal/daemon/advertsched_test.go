package daemon

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// schedConf is VRIDs first..last, VRRPv3 at 100 ms on eth0 at prio, all
// BACKUP at start.
func schedConf(first, last, prio int) string {
	var b strings.Builder
	for i := first; i <= last; i++ {
		fmt.Fprintf(&b, "vrrp_instance VI_%d {\n state BACKUP\n interface eth0\n virtual_router_id %d\n version 3\n priority %d\n advert_int 0.1\n virtual_ipaddress {\n  198.51.100.%d/32\n }\n}\n", i, i, prio, i)
	}
	return b.String()
}

// advertLog records, per VRID, when adverts of a priority arrived at an
// observer on the segment.
type advertLog struct {
	mu   sync.Mutex
	prio byte
	at   map[byte][]time.Time
}

func watchAdverts(seg *transport.Segment, prio byte) (*advertLog, transport.Conn) {
	l := &advertLog{prio: prio, at: map[byte][]time.Time{}}
	obs := seg.Attach(netip.MustParseAddr("192.0.2.99"))
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := obs.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 4 && buf[2] == l.prio {
				l.mu.Lock()
				l.at[buf[1]] = append(l.at[buf[1]], time.Now())
				l.mu.Unlock()
			}
		}
	}()
	return l, obs
}

// between counts vrid's adverts in [from, to).
func (l *advertLog) between(vrid byte, from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.at[vrid] {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// maxGap is the longest time between two consecutive adverts of vrid.
func (l *advertLog) maxGap(vrid byte) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var g time.Duration
	at := l.at[vrid]
	for i := 1; i < len(at); i++ {
		g = max(g, at[i].Sub(at[i-1]))
	}
	return g
}

type schedCounts struct {
	ticks, writes uint64
	scheds        int
	entries       int
}

func schedStats(n *node) (c schedCounts) {
	onLoop(n, func() {
		c.ticks, c.writes, c.scheds = n.d.adverts.ticks, n.d.adverts.batch.writes, len(n.d.adverts.scheds)
		for _, s := range n.d.adverts.scheds {
			c.entries += len(s.entries)
		}
	})
	return c
}

// TestAlignedMastersOneWakeUpPerTick: 10 masters on one socket share one
// schedule: one loop event and one batched write per interval for all of
// them, each instance still advertising exactly once per interval and
// never more than one interval after its previous advert.
func TestAlignedMastersOneWakeUpPerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, p = 10, 100 * time.Millisecond
		seg := transport.NewSegment()
		log, obs := watchAdverts(seg, 150)
		a := startNode(t, seg, "192.0.2.11", schedConf(1, n, 150))
		time.Sleep(time.Second + p/2) // all masters (after 341.4 ms), off the grid
		from, c0 := time.Now(), schedStats(a)
		time.Sleep(time.Second)
		to, c1 := time.Now(), schedStats(a)
		a.stop(t)
		obs.Close()
		synctest.Wait()

		if c0.scheds != 1 || c0.entries != n {
			t.Fatalf("%d schedules with %d entries, want 1 with %d", c0.scheds, c0.entries, n)
		}
		intervals := uint64(to.Sub(from) / p)
		if got := c1.ticks - c0.ticks; got != intervals {
			t.Errorf("%d schedule events in %v, want %d: one per interval for all %d masters", got, to.Sub(from), intervals, n)
		}
		if got := c1.writes - c0.writes; got != intervals {
			t.Errorf("%d batched writes in %v, want %d: one per socket per tick", got, to.Sub(from), intervals)
		}
		for vrid := byte(1); vrid <= n; vrid++ {
			if got := log.between(vrid, from, to); got != int(intervals) {
				t.Errorf("vrid %d: %d adverts in %v, want %d (one per interval)", vrid, got, to.Sub(from), intervals)
			}
			if g := log.maxGap(vrid); g > p {
				t.Errorf("vrid %d: %v between two adverts, longer than its %v interval", vrid, g, p)
			}
		}
	})
}

// TestScheduleLosesDemotedAndRemovedMasters: an instance leaving MASTER
// (a higher priority peer appears) or removed by a reload leaves the
// schedule, and a demoted one sends no more adverts of its own.
func TestScheduleLosesDemotedAndRemovedMasters(t *testing.T) {
	t.Run("reload", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			seg := transport.NewSegment()
			a := startNode(t, seg, "192.0.2.11", schedConf(1, 12, 150))
			time.Sleep(time.Second)
			if c := schedStats(a); c.entries != 12 {
				t.Fatalf("before the reload: %d entries, want 12", c.entries)
			}
			if out := reloadNode(t, a, schedConf(1, 10, 150)); out.err != nil {
				t.Fatalf("reload: %v", out.err)
			}
			// At once, not only at the next tick: no time has passed.
			var inSched []string
			onLoop(a, func() {
				for _, s := range a.d.adverts.scheds {
					for _, e := range s.entries {
						inSched = append(inSched, e.in.name)
					}
				}
			})
			a.stop(t)
			if len(inSched) != 10 || strings.Contains(strings.Join(inSched, ","), "VI_11") || strings.Contains(strings.Join(inSched, ","), "VI_12") {
				t.Fatalf("after removing VI_11 and VI_12: scheduled %v, want VI_1..VI_10", inSched)
			}
		})
	})
	t.Run("demotion", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const n, p = 10, 100 * time.Millisecond
			seg := transport.NewSegment()
			log, obs := watchAdverts(seg, 150)
			a := startNode(t, seg, "192.0.2.11", schedConf(1, n, 150))
			time.Sleep(time.Second)
			if c := schedStats(a); c.entries != n {
				t.Fatalf("a master: %d entries, want %d", c.entries, n)
			}
			b := startNode(t, seg, "192.0.2.12", schedConf(1, n, 200))
			time.Sleep(time.Second) // b preempts within its master-down interval
			c := schedStats(a)
			quiet := time.Now()
			time.Sleep(5 * p)
			for vrid := byte(1); vrid <= n; vrid++ {
				if got := log.between(vrid, quiet, time.Now()); got != 0 {
					t.Errorf("vrid %d: the demoted master sent %d adverts at its priority", vrid, got)
				}
			}
			b.stop(t)
			a.stop(t)
			obs.Close()
			synctest.Wait()
			if c.scheds != 0 || c.entries != 0 {
				t.Fatalf("after demotion: %d schedules with %d entries, want none", c.scheds, c.entries)
			}
		})
	})
}

// unicastSchedConf is VRIDs 1..n as unicast masters from 192.0.2.11 to two
// peers with unicast_ttl 9 and auth_hmac, VRRPv3 at 100 ms.
func unicastSchedConf(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "vrrp_instance VI_%d {\n state MASTER\n interface eth0\n virtual_router_id %d\n priority 150\n advert_int 0.1\n %s\n unicast_src_ip 192.0.2.11\n unicast_peer {\n  192.0.2.50\n  192.0.2.51\n }\n unicast_ttl 9\n virtual_ipaddress {\n  198.51.100.%d/32\n }\n}\n", i, i, authBlock(""), i)
	}
	return b.String()
}

type hmacLookup map[uint8]*vrrp.InstanceParams

func (l hmacLookup) LookupVRID(v uint8) (*vrrp.InstanceParams, bool) { p, ok := l[v]; return p, ok }

// A batched tick still does per advert what a single send does: one
// advert per unicast peer, each with unicast_ttl and signed (auth_hmac)
// for its own destination; every one verifies at the peer.
func TestBatchedAdvertsSignedPerPeerWithTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, p = 10, 100 * time.Millisecond
		cfg, err := vrrp.NewHMACConfig([]vrrp.HMACKey{{ID: 1, Secret: authTestKey()}}, 1, vrrp.HMACEnforce, vrrp.ReplayTime, 5)
		if err != nil {
			t.Fatal(err)
		}
		seg := transport.NewSegment()
		type seen struct{ ok, badTTL, bad int }
		var mu sync.Mutex
		got := map[netip.Addr]map[byte]*seen{}
		var from time.Time
		for _, peer := range []string{"192.0.2.50", "192.0.2.51"} {
			addr := netip.MustParseAddr(peer)
			lookup := hmacLookup{}
			for v := 1; v <= n; v++ {
				lookup[uint8(v)] = &vrrp.InstanceParams{Version: vrrp.V3, AdverInt: p, HMAC: cfg, HMACState: vrrp.NewHMACVerifier()}
			}
			got[addr] = map[byte]*seen{}
			obs := seg.Attach(addr)
			defer obs.Close()
			go func() {
				buf := make([]byte, 1500)
				var adv vrrp.Advert
				for {
					k, m, err := obs.ReadFrom(buf)
					if err != nil {
						return
					}
					mu.Lock()
					if !from.IsZero() && !time.Now().Before(from) && k >= 2 {
						s := got[addr][buf[1]]
						if s == nil {
							s = &seen{}
							got[addr][buf[1]] = s
						}
						_, reason := vrrp.Validate(buf[:k], vrrp.RecvMeta{Family: vrrp.IPv4, Src: m.Src, Dst: m.Dst, TTL: m.TTL}, lookup, &adv)
						switch {
						case m.TTL != 9:
							s.badTTL++
						case reason != vrrp.DropNone || m.Dst != addr:
							s.bad++
						default:
							s.ok++
						}
					}
					mu.Unlock()
				}
			}()
		}
		a := startNode(t, seg, "192.0.2.11", unicastSchedConf(n))
		time.Sleep(time.Second + p/2)
		mu.Lock()
		from = time.Now()
		mu.Unlock()
		c0 := schedStats(a)
		time.Sleep(time.Second)
		c1 := schedStats(a)
		mu.Lock()
		from = time.Now().Add(time.Hour) // stop counting before the stop's adverts
		mu.Unlock()
		a.stop(t)
		synctest.Wait()

		if c0.entries != n {
			t.Fatalf("%d instances on the schedule, want %d", c0.entries, n)
		}
		if w := c1.writes - c0.writes; w != 10 {
			t.Errorf("%d batched writes in 1 s, want 10", w)
		}
		mu.Lock()
		defer mu.Unlock()
		for peer, byVRID := range got {
			for v := byte(1); v <= n; v++ {
				s := byVRID[v]
				if s == nil || s.ok != 10 || s.bad != 0 || s.badTTL != 0 {
					t.Errorf("peer %v vrid %d: %+v, want 10 verified adverts with ttl 9 in 1 s", peer, v, s)
				}
			}
		}
	})
}

// discardConn takes every write and drops it, so a benchmark measures the
// daemon's send path alone.
type discardConn struct {
	transport.Conn
	sent atomic.Int64
}

func (c *discardConn) WriteTo([]byte, netip.Addr, netip.Addr) error { c.sent.Add(1); return nil }

func (c *discardConn) WriteBatch(msgs []transport.Message) (int, error) {
	c.sent.Add(int64(len(msgs)))
	return len(msgs), nil
}

// BenchmarkAdvertTick is one aligned tick of 255 masters on one socket, on
// the loop: every machine's TimerFired, 255 encodings, one batched write
// (dropped), the schedule re-armed. adverts/s is what one core sustains.
func BenchmarkAdvertTick(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchAdvertTick(b, "version 3") })
	b.Run("auth_hmac", func(b *testing.B) { benchAdvertTick(b, authBlock("")) })
}

func benchAdvertTick(b *testing.B, extra string) {
	const n = 255
	var mu sync.Mutex
	var conns []*discardConn
	var conf strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&conf, "vrrp_instance VI_%d {\n state MASTER\n interface eth0\n virtual_router_id %d\n %s\n priority 150\n advert_int 1\n virtual_ipaddress {\n  198.51.100.%d/32\n }\n}\n", i, i, extra, i%250+1)
	}
	// newNode wants a *testing.T for its helpers; a benchmark has none.
	nd := newNode(&testing.T{}, transport.NewSegment(), "192.0.2.11", conf.String(), func(dp *deps) {
		inner := dp.listen
		dp.listen = func(c transport.Config) (transport.Conn, error) {
			conn, err := inner(c)
			dc := &discardConn{Conn: conn}
			mu.Lock()
			conns = append(conns, dc)
			mu.Unlock()
			return dc, err
		}
	})
	defer os.RemoveAll(filepath.Dir(nd.confPath)) // the zero testing.T runs no cleanups
	nd.start()
	defer nd.cancel()
	deadline := time.Now().Add(30 * time.Second)
	for entries := 0; entries < n && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		onLoop(nd, func() {
			entries = 0
			for _, s := range nd.d.adverts.scheds {
				entries += len(s.entries)
			}
		})
	}
	onLoop(nd, func() {
		var s *advertSched
		for _, x := range nd.d.adverts.scheds {
			s = x
		}
		if s == nil || len(s.entries) != n {
			b.Fatalf("no schedule of %d masters", n)
		}
		b.ReportAllocs()
		for b.Loop() {
			now := time.Now()
			for i := range s.entries { // all due now: one tick
				s.entries[i].due = now
				s.entries[i].in.timers[fsm.TimerAdvert].due = now
			}
			s.armedAt = time.Time{}
			nd.d.onAdvertTick(s)
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "adverts/s")
	})
	mu.Lock()
	defer mu.Unlock()
	var sent int64
	for _, c := range conns {
		sent += c.sent.Load()
	}
	if sent < int64(b.N*n) {
		b.Fatalf("%d adverts written, want at least %d", sent, b.N*n)
	}
}
