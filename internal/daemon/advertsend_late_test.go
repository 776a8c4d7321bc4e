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
