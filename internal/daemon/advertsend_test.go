package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
)

// twoLinkConf is per VRRPv3 100 ms instances on eth0 (VRIDs 1..per) and as
// many on eth1 (VRIDs 11..10+per), all at prio.
func twoLinkConf(per, prio int) string {
	var b strings.Builder
	for l, ifname := range []string{"eth0", "eth1"} {
		for i := 1; i <= per; i++ {
			v := 10*l + i
			fmt.Fprintf(&b, "vrrp_instance VI_%d {\n state BACKUP\n interface %s\n virtual_router_id %d\n version 3\n priority %d\n advert_int 0.1\n virtual_ipaddress {\n  198.51.100.%d/32\n }\n}\n", v, ifname, v, prio, v)
		}
	}
	return b.String()
}

// slowConn is a Segment socket whose batches take delay to write while
// slow is set: a sendmmsg that also runs the receivers' softirq, as on veth.
// The loop's own batch write (BatchWriter) and a reserved one from its
// sender (BatchReserver) cost the same.
type slowConn struct {
	*transport.SegmentConn
	delay time.Duration
	slow  *atomic.Bool
}

func (c *slowConn) pause() {
	if c.slow.Load() {
		time.Sleep(c.delay)
	}
}

func (c *slowConn) WriteBatch(msgs []transport.Message) (int, error) {
	c.pause()
	for i, m := range msgs {
		if err := c.WriteTo(m.Buf, m.Src, m.Dst); err != nil {
			return i, err
		}
	}
	return len(msgs), nil
}

func (c *slowConn) ReserveWrites() transport.Reservation {
	return slowReservation{Reservation: c.SegmentConn.ReserveWrites(), c: c}
}

type slowReservation struct {
	transport.Reservation
	c *slowConn
}

func (r slowReservation) WriteBatch(msgs []transport.Message) (int, error) {
	r.c.pause()
	return r.Reservation.WriteBatch(msgs)
}

// TestSlowSocketWriteDoesNotHoldTheLoop: two sockets' aligned masters tick
// at the same instant; each batch takes 30 ms to write. The loop hands
// each socket's write to that socket's sender, so both batches leave 30 ms
// after the tick. Written by the loop itself, one after the other, the
// second socket's adverts left 60 ms late, and at four sockets (1,020
// instances) the master fell behind its schedule.
func TestSlowSocketWriteDoesNotHoldTheLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const per, p, delay = 8, 100 * time.Millisecond, 30 * time.Millisecond
		seg := transport.NewSegment()
		log, obs := watchAdverts(seg, 150)
		var slow atomic.Bool
		a := startNodeWith(t, seg, "192.0.2.11", twoLinkConf(per, 150), func(dp *deps) {
			inner := dp.listen
			dp.listen = func(c transport.Config) (transport.Conn, error) {
				conn, err := inner(c)
				if err != nil {
					return nil, err
				}
				return &slowConn{SegmentConn: conn.(*transport.SegmentConn), delay: delay, slow: &slow}, nil
			}
		})
		time.Sleep(time.Second + p/2) // masters after 341.4 ms, aligned, off the grid now
		if c := schedStats(a); c.scheds != 2 || c.entries != 2*per {
			t.Fatalf("%d schedules with %d entries, want 2 with %d", c.scheds, c.entries, 2*per)
		}
		slow.Store(true)
		from := time.Now()
		time.Sleep(time.Second)
		to := time.Now()
		slow.Store(false)
		time.Sleep(p) // the last slow writes end before the stop's own adverts
		a.stop(t)
		obs.Close()
		synctest.Wait()

		for l := range 2 {
			for i := 1; i <= per; i++ {
				vrid := byte(10*l + i)
				n := 0
				log.mu.Lock()
				for _, at := range log.at[vrid] {
					if at.Before(from) || !at.Before(to) {
						continue
					}
					n++
					if off := at.Sub(at.Truncate(p)); off != delay {
						t.Errorf("vrid %d: advert %v after its tick, want %v (its own socket's write only)", vrid, off, delay)
					}
				}
				log.mu.Unlock()
				if want := int(to.Sub(from) / p); n != want {
					t.Errorf("vrid %d: %d adverts in %v, want %d (one per interval)", vrid, n, to.Sub(from), want)
				}
			}
		}
	})
}

// The job hand-off keeps its own copy of the bytes: the loop's arena is
// the next tick's, and what a sender writes must not change under it.
func TestHandOffCopiesTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		src := netip.MustParseAddr("192.0.2.11")
		conn := seg.Attach(src)
		peer := seg.Attach(netip.MustParseAddr("192.0.2.99"))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		d := &Daemon{ctx: ctx, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		in := &instance{name: "VI_1"}
		b := &d.adverts.batch
		b.arena = append(b.arena, "advert-one"...)
		b.items = append(b.items, batchItem{in: in, conn: conn, prio: 100, off: 0, n: 10, src: src, dst: transport.GroupV4, ttl: 255})
		d.handOff(b, conn, conn.(transport.BatchReserver))
		copy(b.arena, "XXXXXXXXXX") // the next tick reuses the arena at once
		buf := make([]byte, 64)
		n, _, err := peer.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "advert-one" {
			t.Fatalf("peer read %q, %v; want the bytes as handed off", buf[:n], err)
		}
		d.stopSender(conn)
		synctest.Wait()
		in.mu.Lock()
		got := in.counters.sent
		in.mu.Unlock()
		if got != 1 {
			t.Errorf("sent counter %d, want 1", got)
		}
	})
}

// costConn drops every write after burning cost per message on the CPU:
// the measured kernel cost of a raw advert on veth (sendmmsg plus the
// receiver's softirq in the sender's context, ~5 µs at 1,020 instances).
// As such it offers only WriteBatch (the loop writes itself, as before);
// reservingCostConn adds reservations (the sender's path).
type costConn struct {
	transport.Conn
	cost time.Duration
	sem  chan struct{}
	sent atomic.Int64
}

func (c *costConn) burn(msgs []transport.Message) (int, error) {
	end := time.Now().Add(time.Duration(len(msgs)) * c.cost)
	for time.Now().Before(end) {
	}
	c.sent.Add(int64(len(msgs)))
	return len(msgs), nil
}

func (c *costConn) WriteBatch(msgs []transport.Message) (int, error) {
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	return c.burn(msgs)
}

func (c *costConn) WriteTo(b []byte, src, dst netip.Addr) error {
	_, err := c.WriteBatch([]transport.Message{{Buf: b, Src: src, Dst: dst, TTL: 255}})
	return err
}

type costReservation struct{ c *costConn }

func (r costReservation) WriteBatch(msgs []transport.Message) (int, error) { return r.c.burn(msgs) }
func (r costReservation) Release()                                         { <-r.c.sem }

// reservingCostConn is a costConn that offers reservations.
type reservingCostConn struct{ *costConn }

func (c reservingCostConn) ReserveWrites() transport.Reservation {
	c.sem <- struct{}{}
	return costReservation{c.costConn}
}

// BenchmarkFourSocketTick is one aligned tick of 4 × 255 masters on four
// sockets (the four-link row: 1,020 instances) whose writes cost 5 µs per
// advert: "loop" writes each socket's batch on the loop, one after the
// other (before), "senders" hands each to its socket's sender. One op is the
// four schedules' expiries; adverts/s is what the master sustains, the
// writes of the previous tick holding the next one back (the reservation)
// as the socket would.
func BenchmarkFourSocketTick(b *testing.B) {
	for _, mode := range []string{"loop", "senders"} {
		b.Run(mode, func(b *testing.B) { benchFourSocketTick(b, mode == "senders") })
	}
}

func benchFourSocketTick(b *testing.B, reserve bool) {
	const per, links = 255, 4
	var conf strings.Builder
	for l := range links {
		for i := 1; i <= per; i++ {
			fmt.Fprintf(&conf, "vrrp_instance VI_%d_%d {\n state MASTER\n interface eth%d\n virtual_router_id %d\n version 3\n priority 150\n advert_int 1\n virtual_ipaddress {\n  198.51.100.%d/32\n }\n}\n", l, i, l, i, i%250+1)
		}
	}
	var conns []*costConn
	nd := newNode(&testing.T{}, transport.NewSegment(), "192.0.2.11", conf.String(), func(dp *deps) {
		inner := dp.listen
		dp.listen = func(c transport.Config) (transport.Conn, error) {
			conn, err := inner(c)
			cc := &costConn{Conn: conn, cost: 5 * time.Microsecond, sem: make(chan struct{}, 1)}
			conns = append(conns, cc) // the loop opens sockets one at a time
			if reserve {
				return reservingCostConn{cc}, err
			}
			return cc, err
		}
	})
	defer os.RemoveAll(filepath.Dir(nd.confPath)) // the zero testing.T runs no cleanups
	nd.start()
	defer nd.cancel()
	deadline := time.Now().Add(60 * time.Second)
	for entries := 0; entries < per*links && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		onLoop(nd, func() {
			entries = 0
			for _, s := range nd.d.adverts.scheds {
				entries += len(s.entries)
			}
		})
	}
	onLoop(nd, func() {
		if len(nd.d.adverts.scheds) != links {
			b.Fatalf("%d schedules, want %d", len(nd.d.adverts.scheds), links)
		}
		var scheds []*advertSched
		for _, s := range nd.d.adverts.scheds {
			scheds = append(scheds, s)
		}
		b.ResetTimer()
		for b.Loop() {
			now := time.Now()
			for _, s := range scheds {
				for i := range s.entries { // all due now: one tick
					s.entries[i].due = now
					s.entries[i].in.timers[fsm.TimerAdvert].due = now
				}
				s.armedAt = time.Time{}
				nd.d.onAdvertTick(s)
			}
		}
		for _, c := range conns { // the last tick's writes end inside the measurement
			c.sem <- struct{}{}
			<-c.sem
		}
		b.ReportMetric(float64(b.N*per*links)/b.Elapsed().Seconds(), "adverts/s")
	})
	var sent int64
	for _, c := range conns {
		sent += c.sent.Load()
	}
	if sent < int64(b.N*per*links) {
		b.Fatalf("%d adverts written, want at least %d", sent, b.N*per*links)
	}
}

// A socket's sender lives as long as aligned masters use the socket: when
// the last one leaves (here: all demoted by a higher-priority peer), the
// schedule goes and its sender with it.
func TestSenderEndsWithTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		seg := transport.NewSegment()
		a := startNode(t, seg, "192.0.2.11", schedConf(1, n, 150))
		time.Sleep(time.Second)
		var senders int
		onLoop(a, func() { senders = len(a.d.adverts.senders) })
		if senders != 1 {
			t.Fatalf("%d senders with %d aligned masters on one socket, want 1", senders, n)
		}
		b := startNode(t, seg, "192.0.2.12", schedConf(1, n, 200))
		time.Sleep(time.Second) // b preempts every instance
		onLoop(a, func() { senders = len(a.d.adverts.senders) })
		b.stop(t)
		a.stop(t)
		synctest.Wait()
		if senders != 0 {
			t.Errorf("%d senders after every master left, want 0", senders)
		}
	})
}
