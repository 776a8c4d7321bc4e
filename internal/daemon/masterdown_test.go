package daemon

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// backupsConf is n VRRPv3 BACKUP instances at priority 100, 100 ms
// adverts, VRIDs 1..n on eth0 (so one socket), VIP 192.0.2.(100+i).
func backupsConf(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "vrrp_instance VI_%d {\n state BACKUP\n interface eth0\n virtual_router_id %d\n priority 100\n advert_int 0.1\n version 3\n virtual_ipaddress {\n 192.0.2.%d/24\n }\n}\n", i, i, 100+i)
	}
	return b.String()
}

// sendV3For is sendV3 for VRID vrid (backupsConf's VIP).
func sendV3For(t *testing.T, c *transport.SegmentConn, src netip.Addr, vrid, prio uint8, interval time.Duration) {
	t.Helper()
	adv := vrrp.Advert{Version: vrrp.V3, VRID: vrid, Priority: prio, AdverInt: interval, Addrs: []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, 100 + vrid})}}
	p, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: src, Dst: vrrp.MulticastIPv4})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteTo(p, src, vrrp.MulticastIPv4); err != nil {
		t.Fatal(err)
	}
}

// instState is the state of the instance of VRID vrid, after the loop
// drained what is queued.
func (n *node) instState(vrid uint8) string {
	n.state()
	for _, in := range n.d.instances {
		if in.cfg.VRID == vrid {
			return in.snapshot().State
		}
	}
	return "none"
}

// onLoop runs f on n's loop and waits for it.
func (n *node) onLoop(f func()) {
	done := make(chan struct{})
	n.d.events <- loopEvent{do: func() { f(); close(done) }}
	<-done
}

// TestMasterDownSharedScheduleTimings: 16 backups of one socket share one
// master-down timer (masterdown.go), and each still takes over exactly when
// its own machine says, not a nanosecond earlier or later, while the others
// keep hearing their master:
//   - VRIDs 1-6: the master falls silent: Master_Down_Interval after its last advert;
//   - VRIDs 7-8: priority 0 (the master resigns): Skew_Time after it, a
//     deadline earlier than the schedule's timer was set for;
//   - VRIDs 9-10: the master's priority changes (150 -> 120, through the loop
//     again, then absorbed): Master_Down_Interval after its last advert;
//   - VRIDs 11-12: preemption, the master's adverts drop below our priority:
//     Master_Down_Interval after the last one we accepted;
//   - VRIDs 13-16: the master goes on longer, then falls silent.
//
// And the point of the schedule: while every master advertises, its one
// timer fires about once per (Master_Down_Interval - Advertisement_Interval),
// not once per instance.
func TestMasterDownSharedScheduleTimings(t *testing.T) {
	const (
		n        = 16
		interval = 100 * time.Millisecond
		steady   = 30 // rounds every VRID hears
		rounds   = 35
	)
	mdi := fsm.MasterDownInterval(100, interval)
	skew := fsm.SkewTime(100, interval)
	// prio is what VRID v's master sends in round r (0: nothing).
	prio := func(v uint8, r int) uint8 {
		switch {
		case r < steady:
			return 150
		case v <= 8:
			return 0 // silent (7-8 resign once: resign below)
		case v <= 10:
			return 120
		case v <= 12:
			return 50
		}
		return 150
	}
	resign := func(v uint8, r int) bool { return v >= 7 && v <= 8 && r == steady+1 }
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		b := startNode(t, seg, "192.0.2.12", backupsConf(n))
		b.state()
		src := netip.MustParseAddr("192.0.2.11")
		master := seg.Attach(src).(*transport.SegmentConn)
		start := time.Now()
		at := func(r int) time.Time { return start.Add(time.Duration(r) * interval) }
		// due is when VRID v must take over.
		due := map[uint8]time.Time{}
		for v := uint8(1); v <= n; v++ {
			switch {
			case v <= 6, v >= 11 && v <= 12:
				due[v] = at(steady - 1).Add(mdi)
			case v <= 8:
				due[v] = at(steady + 1).Add(skew)
			default:
				due[v] = at(rounds - 1).Add(mdi)
			}
		}
		var scans0 uint64
		scans := func() (s uint64) {
			b.onLoop(func() {
				for _, sc := range b.d.downs.scheds {
					s += sc.scans()
				}
			})
			return s
		}
		for r := range rounds {
			time.Sleep(time.Until(at(r)))
			for v := uint8(1); v <= n; v++ {
				switch p := prio(v, r); {
				case resign(v, r):
					sendV3For(t, master, src, v, 0, interval)
				case p != 0:
					sendV3For(t, master, src, v, p, interval)
				}
			}
			synctest.Wait()
			if r == 5 {
				scans0 = scans()
			}
			if r == steady-1 {
				// 24 rounds of 16 instances all hearing their master.
				got := scans() - scans0
				bound := uint64(time.Duration(steady-1-5)*interval/(mdi-interval)) + 2
				if got > bound {
					t.Errorf("the shared master-down timer fired %d times in %d rounds of %d instances, want at most %d (one per Master_Down_Interval - Advertisement_Interval)", got, steady-1-5, n, bound)
				}
				t.Logf("master-down schedule: %d scans in %d rounds of %d backups", got, steady-1-5, n)
			}
		}
		// Every takeover, in order of due time, checked a nanosecond before
		// and at its due time.
		vrids := make([]uint8, 0, n)
		for v := range due {
			vrids = append(vrids, v)
		}
		slices.SortFunc(vrids, func(x, y uint8) int { return due[x].Compare(due[y]) })
		for _, v := range vrids {
			if d := time.Until(due[v]); d > 0 {
				time.Sleep(d - time.Nanosecond)
				if st := b.instState(v); st != "BACKUP" {
					t.Fatalf("VRID %d: 1ns before its takeover is due (%v after start) it is %s", v, due[v].Sub(start), st)
				}
				time.Sleep(time.Nanosecond)
			}
			if st := b.instState(v); st != "MASTER" {
				t.Fatalf("VRID %d: at its takeover due %v after start it is %s", v, due[v].Sub(start), st)
			}
		}
		b.onLoop(func() {
			for _, in := range b.d.instances {
				if in.fast.absorbed.Load() == 0 {
					t.Errorf("%s: no advert absorbed by the fast path", in.name)
				}
			}
		})
		b.stop(t)
	})
}

// TestFastPathWithMetrics: --metrics-listen no longer turns the fast path
// off. The reader records every advert's gap in the inter-arrival
// histogram, absorbed or not: 20 adverts 100 ms apart are 19 gaps of
// exactly 100 ms (synctest's clock), and most of the adverts never woke
// the loop.
func TestFastPathWithMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		b := newNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "0.1", "version 3"), nil)
		reg, err := b.d.newMetrics()
		if err != nil {
			t.Fatal(err)
		}
		b.start()
		b.state()
		src := netip.MustParseAddr("192.0.2.11")
		master := seg.Attach(src).(*transport.SegmentConn)
		const adverts = 20
		for range adverts {
			sendV3(t, master, src, 150, 100*time.Millisecond)
			synctest.Wait()
			time.Sleep(100 * time.Millisecond)
		}
		b.state()
		in := b.d.instances[0]
		if got := in.fast.absorbed.Load(); got < adverts/2 {
			t.Errorf("%d of %d adverts absorbed with metrics on, want most", got, adverts)
		}
		count, sum := histogram(t, reg, "govrrp_advert_interarrival_seconds")
		if count != adverts-1 || math.Abs(sum-(adverts-1)*0.1) > 1e-9 {
			t.Errorf("inter-arrival histogram: %d gaps summing %vs, want %d summing %vs", count, sum, adverts-1, (adverts-1)*0.1)
		}
		mcount, _ := histogram(t, reg, "govrrp_master_down_margin_ratio")
		if mcount != adverts-1 {
			t.Errorf("master-down margin histogram: %d observations, want %d", mcount, adverts-1)
		}
		b.stop(t)
	})
}

// histogram is the sample count and sum of the one histogram named name.
func histogram(t *testing.T, reg interface {
	Gather() ([]*dto.MetricFamily, error)
}, name string) (uint64, float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("no single series %s", name)
	return 0, 0
}

// BenchmarkMasterDownScan: one firing of a socket's shared master-down
// timer with 255 backups that all heard their master since the last scan
// (the steady state at 255 instances: one such scan per Master_Down_Interval
// minus Advertisement_Interval, instead of 255 timer expiries, goroutines
// and re-arms).
func BenchmarkMasterDownScan(b *testing.B) {
	const n = 255
	s := &downSched{post: func(loopEvent) {}}
	base := time.Now()
	ins := make([]*instance, n)
	for i := range ins {
		in := &instance{}
		in.fast.base = base
		in.fast.down = downEntry{sched: s, idx: i, armDown: 36 * time.Millisecond}
		ins[i], s.entries = in, append(s.entries, in)
	}
	b.ReportAllocs()
	for b.Loop() {
		now := time.Now()
		heard := int64(now.Sub(base))
		for _, in := range ins {
			in.fast.heard.Store(heard) // what the readers did meanwhile
		}
		s.mu.Lock()
		if out := s.scan(now); len(out) != 0 {
			b.Fatalf("%d expiries of backups that all heard their master", len(out))
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.timer.Stop()
	s.mu.Unlock()
}

// stallableBackup starts a BACKUP of one VRRPv3 instance (VRID 1, 100 ms)
// on seg, with metrics, and returns it with its socket, which the test can
// stall (transport.SegmentConn.StallReads), and the master's conn and
// address, after ten adverts heard.
func stallableBackup(t *testing.T, seg *transport.Segment) (*node, *transport.SegmentConn, *transport.SegmentConn, netip.Addr) {
	t.Helper()
	var sock *transport.SegmentConn
	b := newNode(t, seg, "192.0.2.12", backupsConf(1), func(dp *deps) {
		listen := dp.listen
		dp.listen = func(c transport.Config) (transport.Conn, error) {
			cn, err := listen(c)
			if sc, ok := cn.(*transport.SegmentConn); ok {
				sock = sc
			}
			return cn, err
		}
	})
	reg, err := b.d.newMetrics()
	if err != nil {
		t.Fatal(err)
	}
	b.reg = reg
	b.start()
	b.state()
	src := netip.MustParseAddr("192.0.2.11")
	master := seg.Attach(src).(*transport.SegmentConn)
	for range 10 {
		sendV3For(t, master, src, 1, 150, 100*time.Millisecond)
		time.Sleep(100 * time.Millisecond)
	}
	synctest.Wait()
	if sock == nil {
		t.Fatal("no socket captured")
	}
	if st := b.instState(1); st != "BACKUP" {
		t.Fatalf("hearing its master the instance is %s", st)
	}
	return b, sock, master, src
}

// catchUpWaits sums the schedules' held-back expiries.
func (n *node) catchUpWaits() (w uint64) {
	n.onLoop(func() {
		for _, sc := range n.d.downs.scheds {
			w += sc.catchUpWaits()
		}
	})
	return w
}

// TestMasterDownWaitsForTheReader: Master_Down_Timer expires on silence,
// not on a reader that the scheduler has not run. Adverts that reached the
// socket before the deadline but were still unread count once read (the
// spurious takeovers of govrrp backups at 255 instances at 10 ms, with
// keepalived's backups of the same master at none, were this); a silent
// master is still taken over exactly on time while nothing waits in the
// socket; and a reader that never comes back delays the takeover by at
// most one more Master_Down_Interval.
func TestMasterDownWaitsForTheReader(t *testing.T) {
	const interval = 100 * time.Millisecond
	mdi := fsm.MasterDownInterval(100, interval)

	t.Run("queued adverts count", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			seg := transport.NewSegment()
			b, sock, master, src := stallableBackup(t, seg)
			sock.StallReads(true)
			for range 6 { // 600 ms of adverts, none read: beyond mdi
				sendV3For(t, master, src, 1, 150, interval)
				time.Sleep(interval)
			}
			synctest.Wait()
			if st := b.instState(1); st != "BACKUP" {
				t.Fatalf("took over (%s) while its master's adverts waited unread in the socket", st)
			}
			sock.StallReads(false)
			synctest.Wait()
			time.Sleep(mdi - time.Millisecond) // from the last advert, now read
			if st := b.instState(1); st != "BACKUP" {
				t.Errorf("after the reader caught up: %s", st)
			}
			waits := b.catchUpWaits()
			if waits == 0 {
				t.Error("no expiry was held back")
			}
			if got := counterValue(t, b.reg, "govrrp_master_down_reader_waits_total", "interface", "eth0", "family", "inet"); got != float64(waits) {
				t.Errorf("govrrp_master_down_reader_waits_total{eth0,inet} = %v, want the schedule's %d", got, waits)
			}
			b.stop(t)
		})
	})

	t.Run("silence is taken over on time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			seg := transport.NewSegment()
			b, sock, _, _ := stallableBackup(t, seg)
			last := time.Now().Add(-interval) // the tenth advert
			sock.StallReads(true)             // stalled, but nothing arrives
			time.Sleep(time.Until(last.Add(mdi)) - time.Nanosecond)
			if st := b.instState(1); st != "BACKUP" {
				t.Fatalf("1 ns before Master_Down_Interval ran out: %s", st)
			}
			time.Sleep(time.Nanosecond)
			if st := b.instState(1); st != "MASTER" {
				t.Fatalf("when Master_Down_Interval ran out with nothing queued: %s", st)
			}
			if w := b.catchUpWaits(); w != 0 {
				t.Errorf("%d expiries held back with an empty socket", w)
			}
			sock.StallReads(false)
			b.stop(t)
		})
	})

	t.Run("a reader that never comes back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			seg := transport.NewSegment()
			b, sock, master, src := stallableBackup(t, seg)
			last := time.Now().Add(-interval)
			sock.StallReads(true)
			stop := make(chan struct{})
			go func() { // the master goes on: the socket never empties
				for {
					select {
					case <-stop:
						return
					case <-time.After(interval):
						sendV3For(t, master, src, 1, 150, interval)
					}
				}
			}()
			cap := last.Add(2 * mdi)
			time.Sleep(time.Until(cap) - time.Millisecond)
			if st := b.instState(1); st != "BACKUP" {
				t.Fatalf("before the hold-back's bound: %s", st)
			}
			time.Sleep(catchUpPoll + 2*time.Millisecond)
			if st := b.instState(1); st != "MASTER" {
				t.Fatalf("one Master_Down_Interval after the deadline, with the reader still stalled: %s", st)
			}
			close(stop)
			sock.StallReads(false)
			b.stop(t)
		})
	})
}

// counterValue is the value of the counter name whose labels include the
// given name/value pairs (0 when no such series).
func counterValue(t *testing.T, reg interface {
	Gather() ([]*dto.MetricFamily, error)
}, name string, labelPairs ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labelPairs); i += 2 {
				if have[labelPairs[i]] != labelPairs[i+1] {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
