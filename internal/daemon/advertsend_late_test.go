package daemon

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/transport"
)

// TestSendLatenessPerSocket: aligned masters of two sockets whose batches
// take 30 ms to write (the receivers' softirq inside sendmmsg, as on veth)
// are counted by each socket's sender as 30 ms after their due time, and
// on time once the writes are fast again: the measure of adverts leaving
// late that the 1,020 case needs.
func TestSendLatenessPerSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const per, p, delay = 8, 100 * time.Millisecond, 30 * time.Millisecond
		seg := transport.NewSegment()
		var slow atomic.Bool
		a := startNodeWith(t, seg, "192.0.2.11", twoLinkConf(per, 150), slowListen(delay, &slow))
		time.Sleep(time.Second + p/2) // masters, aligned
		before := senderLateness(a)
		slow.Store(true)
		time.Sleep(time.Second)
		slow.Store(false) // half a tick after the last slow one: written 20 ms ago
		mid := senderLateness(a)
		time.Sleep(time.Second)
		after := senderLateness(a)
		a.stop(t)
		synctest.Wait()

		if len(after) != 2 {
			t.Fatalf("lateness of %d sockets, want 2: %v", len(after), after)
		}
		for name := range after {
			slowPart := sub(mid[name], before[name])
			fastPart := sub(after[name], mid[name])
			// 10 ticks of 100 ms were slow: every one 30 ms late (bucket
			// 20–50 ms); the next second's 10 on time (bucket 0–1 ms).
			if diff := cmp.Diff([]uint64{0, 0, 0, 0, 0, 10, 0}, slowPart); diff != "" {
				t.Errorf("%s: slow second's lateness buckets (-want +got):\n%s", name, diff)
			}
			if diff := cmp.Diff([]uint64{10, 0, 0, 0, 0, 0, 0}, fastPart); diff != "" {
				t.Errorf("%s: fast second's lateness buckets (-want +got):\n%s", name, diff)
			}
		}
	})
}

// slowListen makes every socket's batch writes take delay while slow is
// set (slowConn).
func slowListen(delay time.Duration, slow *atomic.Bool) func(*deps) {
	return func(dp *deps) {
		inner := dp.listen
		dp.listen = func(c transport.Config) (transport.Conn, error) {
			conn, err := inner(c)
			if err != nil {
				return nil, err
			}
			return &slowConn{SegmentConn: conn.(*transport.SegmentConn), delay: delay, slow: slow}, nil
		}
	}
}

// TestSendLatenessMetric: --metrics-listen exports each socket's batch
// lateness as govrrp_advert_batch_send_lateness_seconds{interface,family},
// the same batches the sender's own histogram counts, at their lateness.
func TestSendLatenessMetric(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const per, delay = 8, 30 * time.Millisecond
		seg := transport.NewSegment()
		var slow atomic.Bool
		slow.Store(true)
		a := newNode(t, seg, "192.0.2.11", twoLinkConf(per, 150), slowListen(delay, &slow))
		reg, err := a.d.newMetrics()
		if err != nil {
			t.Fatal(err)
		}
		a.start()
		time.Sleep(2 * time.Second)
		own := map[string]uint64{}
		onLoop(a, func() {
			for _, s := range a.d.adverts.senders {
				own[s.name] = s.late.total()
			}
		})
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, mf := range mfs {
			if mf.GetName() != "govrrp_advert_batch_send_lateness_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				h := m.GetHistogram()
				name := labels["interface"] + "/" + map[string]string{"inet": "ipv4", "inet6": "ipv6"}[labels["family"]]
				got[name] = h.GetSampleCount()
				if want := float64(h.GetSampleCount()) * delay.Seconds(); h.GetSampleCount() == 0 || h.GetSampleSum() < want-1e-9 || h.GetSampleSum() > want+1e-9 {
					t.Errorf("%s: %d batches summing %vs, want each %v late", name, h.GetSampleCount(), h.GetSampleSum(), delay)
				}
			}
		}
		if len(own) != 2 {
			t.Fatalf("%d senders, want one per socket (2): %v", len(own), own)
		}
		if diff := cmp.Diff(own, got); diff != "" {
			t.Errorf("batches per socket, the senders' own count (-) against the metric (+):\n%s", diff)
		}
		slow.Store(false)
		a.stop(t)
	})
}

// senderLateness is each sender's histogram, by socket name, read on the loop.
func senderLateness(n *node) map[string][]uint64 {
	out := map[string][]uint64{}
	onLoop(n, func() {
		for _, s := range n.d.adverts.senders {
			out[s.name] = s.late.counts()
		}
	})
	return out
}

func sub(a, b []uint64) []uint64 {
	out := make([]uint64, len(a))
	for i := range a {
		out[i] = a[i]
		if i < len(b) {
			out[i] -= b[i]
		}
	}
	return out
}

// TestLatenessBuckets: each bound starts the next bucket; negative (a clock
// step) counts as on time; the maximum and the log form follow.
func TestLatenessBuckets(t *testing.T) {
	var l lateness
	for _, d := range []time.Duration{-time.Millisecond, 0, 999 * time.Microsecond, time.Millisecond, 5 * time.Millisecond, 49 * time.Millisecond, 50 * time.Millisecond, time.Second} {
		l.record(d)
	}
	if diff := cmp.Diff([]uint64{3, 1, 0, 1, 0, 1, 2}, l.counts()); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}
	if got := time.Duration(l.max.Load()); got != time.Second {
		t.Errorf("max %v, want 1s", got)
	}
	if got, want := l.String(), "0-1ms:3 1ms-2ms:1 2ms-5ms:0 5ms-10ms:1 10ms-20ms:0 20ms-50ms:1 >=50ms:2"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
