package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// burst is count adverts of one priority and interval, one every gap.
type burst struct {
	prio     uint8
	interval time.Duration
	count    int
	gap      time.Duration
}

// TestFastPathTakeoverTiming: with the backup fast path absorbing the
// master's adverts, the backup still takes over exactly when the machine
// alone would: one Master_Down_Interval after the last advert it accepts
// (not a nanosecond earlier, not later), Skew_Time after a priority-0
// advert, Master_Down_Interval after the last higher-priority advert when
// the master's adverts drop below ours (preemption), and with the
// interval it learnt from a VRRPv3 master; every advert is still counted.
func TestFastPathTakeoverTiming(t *testing.T) {
	const ours = 100
	mdi := func(mai time.Duration) time.Duration { return fsm.MasterDownInterval(ours, mai) }
	skew := fsm.SkewTime(ours, 100*time.Millisecond)
	for _, tc := range []struct {
		name   string
		bursts []burst
		// after is the takeover delay after the last advert of burst
		// lastAccepted (the last one the machine accepts).
		lastAccepted int
		after        time.Duration
		fast         bool // adverts must have been absorbed
	}{
		{"steady master", []burst{{150, 100 * time.Millisecond, 30, 100 * time.Millisecond}}, 0, mdi(100 * time.Millisecond), true},
		{"adverts late but in time", []burst{{150, 100 * time.Millisecond, 10, 300 * time.Millisecond}}, 0, mdi(100 * time.Millisecond), true},
		{"priority 0", []burst{{150, 100 * time.Millisecond, 20, 100 * time.Millisecond}, {0, 100 * time.Millisecond, 1, 100 * time.Millisecond}}, 1, skew, true},
		{"preemption: master drops below us", []burst{{150, 100 * time.Millisecond, 20, 100 * time.Millisecond}, {50, 100 * time.Millisecond, 10, 20 * time.Millisecond}}, 0, mdi(100 * time.Millisecond), true},
		{"priority change", []burst{{150, 100 * time.Millisecond, 20, 100 * time.Millisecond}, {120, 100 * time.Millisecond, 20, 100 * time.Millisecond}}, 1, mdi(100 * time.Millisecond), true},
		{"v3 learns the master's interval", []burst{{150, 200 * time.Millisecond, 20, 200 * time.Millisecond}}, 0, mdi(200 * time.Millisecond), true},
		{"v3 interval change", []burst{{150, 200 * time.Millisecond, 10, 200 * time.Millisecond}, {150, 400 * time.Millisecond, 10, 400 * time.Millisecond}}, 1, mdi(400 * time.Millisecond), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", ours, "0.1", "version 3"))
				b.state() // started: its socket receives
				src := netip.MustParseAddr("192.0.2.11")
				master := seg.Attach(src).(*transport.SegmentConn)
				sent := 0
				var lastAt time.Time
				for i, bu := range tc.bursts {
					for range bu.count {
						sendV3(t, master, src, bu.prio, bu.interval)
						sent++
						synctest.Wait()
						if i == tc.lastAccepted {
							lastAt = time.Now()
						}
						if st := b.state(); st != "BACKUP" {
							t.Fatalf("burst %d: backup is %s while its master advertises", i, st)
						}
						time.Sleep(bu.gap)
					}
				}
				in := b.d.instances[0]
				if tc.fast && in.fast.absorbed.Load() == 0 {
					t.Error("no advert took the fast path")
				}
				takeover := lastAt.Add(tc.after)
				if d := time.Until(takeover); d > 0 {
					time.Sleep(d - time.Nanosecond)
					if st := b.state(); st != "BACKUP" {
						t.Fatalf("%v before the takeover is due the backup is %s", time.Nanosecond, st)
					}
					time.Sleep(time.Nanosecond)
				}
				synctest.Wait()
				if st := b.state(); st != "MASTER" {
					t.Fatalf("at the takeover due %v after the last accepted advert the backup is %s", tc.after, st)
				}
				if got := in.snapshot().AdvertsReceived; got != uint64(sent) {
					t.Errorf("AdvertsReceived %d, want every one of the %d sent", got, sent)
				}
				t.Logf("%d of %d adverts absorbed by the fast path", in.fast.absorbed.Load(), sent)
				b.stop(t)
			})
		})
	}
}

// TestFastPathPreemptsAfterPriorityRise: a track raising our priority
// above the master's is a loop event: the next advert goes through the
// machine again, which ignores it (preempt), and the backup takes over a
// Master_Down_Interval after the last advert it accepted.
func TestFastPathPreemptsAfterPriorityRise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "0.1", "version 3"))
		b.state()
		src := netip.MustParseAddr("192.0.2.11")
		master := seg.Attach(src).(*transport.SegmentConn)
		for range 10 {
			sendV3(t, master, src, 150, 100*time.Millisecond)
			synctest.Wait()
			time.Sleep(100 * time.Millisecond)
		}
		in := b.d.instances[0]
		if in.fast.absorbed.Load() == 0 {
			t.Fatal("no advert took the fast path")
		}
		// The master-down timer was armed at the last accepted advert,
		// with the skew of our priority then.
		due := time.Now().Add(-100 * time.Millisecond).Add(fsm.MasterDownInterval(100, 100*time.Millisecond))
		b.d.events <- loopEvent{do: func() { b.d.handle(in, fsm.PriorityDelta(100, "test")) }}
		synctest.Wait()
		for time.Now().Before(due) { // 150 < our 200 now: ignored, to preempt
			if st := b.state(); st != "BACKUP" {
				t.Fatalf("%v before the master-down interval ran out the backup is %s", time.Until(due), st)
			}
			sendV3(t, master, src, 150, 100*time.Millisecond)
			synctest.Wait()
			time.Sleep(min(10*time.Millisecond, time.Until(due)))
		}
		synctest.Wait()
		if st := b.state(); st != "MASTER" {
			t.Fatalf("after our priority rose above the master's the backup is %s, want MASTER (preempt)", st)
		}
		b.stop(t)
	})
}

func sendV3(t *testing.T, c *transport.SegmentConn, src netip.Addr, prio uint8, interval time.Duration) {
	t.Helper()
	dst := vrrp.MulticastIPv4
	adv := vrrp.Advert{Version: vrrp.V3, VRID: 51, Priority: prio, AdverInt: interval, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	p, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: src, Dst: dst})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteTo(p, src, dst); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkBackupAdvert: the cost of one accepted advert at a BACKUP from
// the socket reader's handler until the loop has dealt with it, through
// the fast path (absorbed by the reader) and through the loop (a channel
// send, a goroutine wake-up, the machine, a timer reset).
func BenchmarkBackupAdvert(b *testing.B) {
	for _, bc := range []struct {
		name string
		fast bool
	}{{"fast", true}, {"loop", false}} {
		b.Run(bc.name, func(b *testing.B) {
			defer func(v bool) { fastPathEnabled = v }(fastPathEnabled)
			fastPathEnabled = bc.fast
			n := benchNode(b, fmt.Sprintf(twoNodeConf, "BACKUP", 100, "0.1", "version 3"))
			in := n.d.instances[0]
			src := netip.MustParseAddr("192.0.2.11")
			adv := vrrp.Advert{Version: vrrp.V3, VRID: 51, Priority: 150, AdverInt: 100 * time.Millisecond, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
			p, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: src, Dst: vrrp.MulticastIPv4})
			if err != nil {
				b.Fatal(err)
			}
			h := n.d.receiver(in)
			meta := transport.Meta{Src: src, Dst: vrrp.MulticastIPv4, TTL: 255}
			h(p, meta) // the first one goes through the machine either way
			flush := func() {
				done := make(chan struct{})
				n.d.events <- loopEvent{do: func() { close(done) }}
				<-done
			}
			flush()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				h(p, meta)
				if i%64 == 63 {
					flush() // never fill the loop's queue
				}
			}
			flush()
			b.StopTimer()
			if bc.fast && in.fast.absorbed.Load() == 0 {
				b.Fatal("no advert absorbed")
			}
		})
	}
}

// benchNode is newNode for a benchmark: one daemon on its own segment,
// started, stopped at cleanup.
func benchNode(b *testing.B, conf string) *node {
	b.Helper()
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, _, err := kaconf.Load(path, kaconf.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	addr := netip.MustParseAddr("192.0.2.12")
	n := &node{addrs: &fakeAddrs{set: map[netip.Prefix]bool{}}, garp: &fakeAnnouncer{start: time.Now()}, done: make(chan error, 1)}
	dp := deps{listen: transport.NewSegment().Listener(addr), addrs: n.addrs, announce: n.garp,
		lookup: addrLookup{
			primary:     func(string, bool) (netip.Addr, error) { return addr, nil },
			interfaceOf: func(netip.Addr) (string, error) { return "eth0", nil },
		}}
	n.d = newDaemon(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ConfigPath: path}, dp)
	n.start()
	b.Cleanup(func() { n.cancel(); <-n.done })
	started := make(chan struct{})
	n.d.events <- loopEvent{do: func() { close(started) }}
	<-started
	return n
}
