package transport

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLinuxReadBatch: one ReadBatch returns a queued burst in order, each
// message with its own Meta (IPv4 from the header, IPv6 from the control
// messages), and allocates nothing once warm.
func TestLinuxReadBatch(t *testing.T) {
	l := newLab(t)
	for _, fam := range labFamilies {
		t.Run(fam.name, func(t *testing.T) {
			rx, tx := l.multicastPair(t, fam.ipv6)
			br := rx.(batchReader)
			ifB := ifindexIn(t, l.nsB, labIfB)
			const n = 10
			for i := range n {
				msg := append([]byte(nil), advert...)
				msg[2] = byte(i) // priority byte: the order
				if err := tx.WriteTo(msg, fam.src, fam.dst); err != nil {
					t.Fatal(err)
				}
			}
			var got []byte
			var metas []Meta
			for len(got) < n {
				if err := br.ReadBatch(func(p []byte, m Meta) { got = append(got, p[2]); metas = append(metas, m) }); err != nil {
					t.Fatal(err)
				}
			}
			want := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			for _, m := range metas {
				if diff := cmp.Diff(Meta{Src: fam.src, Dst: fam.dst, TTL: 255, Ifindex: ifB}, m, addrCmp); diff != "" {
					t.Fatalf("meta (-want +got):\n%s", diff)
				}
			}
			var failed error
			count := func([]byte, Meta) {}
			allocs := testing.AllocsPerRun(100, func() {
				if err := tx.WriteTo(advert, fam.src, fam.dst); err != nil && failed == nil {
					failed = err
				}
				if err := br.ReadBatch(count); err != nil && failed == nil {
					failed = err
				}
			})
			if failed != nil {
				t.Fatal(failed)
			}
			if allocs != 0 {
				t.Errorf("%v allocs per write+ReadBatch, want 0", allocs)
			}
		})
	}
}

// BenchmarkLinuxReadPath: receiving bursts of 32 adverts one recvmsg at a
// time (ReadFrom) or with one recvmmsg (ReadBatch). Reports packets/s.
func BenchmarkLinuxReadPath(b *testing.B) {
	l := newLab(b)
	rx := listenIn(b, l.nsB, Config{Interface: labIfB, Multicast: true})
	tx := listenIn(b, l.nsA, Config{Interface: labIfA})
	if err := rx.(ReadDeadliner).SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	const burst = 32
	send := func(b *testing.B) {
		for range burst {
			if err := tx.WriteTo(advert, a4, GroupV4); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("recvmsg", func(b *testing.B) {
		buf := make([]byte, MaxMessage)
		b.ReportAllocs()
		var rxTime time.Duration
		for b.Loop() {
			send(b)
			start := time.Now()
			for range burst {
				if _, _, err := rx.ReadFrom(buf); err != nil {
					b.Fatal(err)
				}
			}
			rxTime += time.Since(start)
		}
		b.ReportMetric(float64(b.N*burst)/rxTime.Seconds(), "rx-pkts/s")
	})
	b.Run("recvmmsg", func(b *testing.B) {
		br := rx.(batchReader)
		got := 0
		count := func([]byte, Meta) { got++ }
		b.ReportAllocs()
		var rxTime time.Duration
		for b.Loop() {
			send(b)
			start := time.Now()
			for got = 0; got < burst; {
				if err := br.ReadBatch(count); err != nil {
					b.Fatal(err)
				}
			}
			rxTime += time.Since(start)
		}
		b.ReportMetric(float64(b.N*burst)/rxTime.Seconds(), "rx-pkts/s")
	})
}
