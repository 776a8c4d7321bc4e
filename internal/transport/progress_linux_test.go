package transport

import (
	"testing"
	"time"
)

// TestLinuxReadProgress: a packet that reached the socket is Pending until
// the reader has taken and dispatched it; Pending is still set inside the
// dispatch; the read that finds the queue empty counts a drain.
func TestLinuxReadProgress(t *testing.T) {
	l := newLab(t)
	for _, fam := range labFamilies {
		t.Run(fam.name, func(t *testing.T) {
			rx, tx := l.multicastPair(t, fam.ipv6)
			rp := rx.(progressReporter)
			if p := rp.ReadProgress(); p.Pending {
				t.Fatalf("pending before anything was sent: %+v", p)
			}
			if err := tx.WriteTo(advert, fam.src, fam.dst); err != nil {
				t.Fatal(err)
			}
			// veth delivers at once, but bound the wait by time and count.
			deadline := time.Now().Add(5 * time.Second)
			for !rp.ReadProgress().Pending {
				if time.Now().After(deadline) {
					t.Fatal("the advert sent never showed as pending")
				}
				time.Sleep(time.Millisecond)
			}
			before := rp.ReadProgress().Drains
			br := rx.(batchReader)
			var inDispatch ReadProgress
			if err := br.ReadBatch(func([]byte, Meta) { inDispatch = rp.ReadProgress() }); err != nil {
				t.Fatal(err)
			}
			if !inDispatch.Pending {
				t.Errorf("not pending while the batch was dispatched: %+v", inDispatch)
			}
			after := rp.ReadProgress()
			if after.Pending {
				t.Errorf("pending after the batch was dispatched: %+v", after)
			}
			// The next read finds the queue empty: a drain, then it waits
			// (its deadline ends the wait).
			if err := rx.(ReadDeadliner).SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			_ = br.ReadBatch(func([]byte, Meta) {})
			if got := rp.ReadProgress().Drains; got <= before {
				t.Errorf("drains %d after a read found the queue empty, was %d", got, before)
			}
		})
	}
}
