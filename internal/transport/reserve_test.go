package transport

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	_ BatchReserver = (*SegmentConn)(nil)
	_ BatchReserver = (*rawConn)(nil)
)

// reservedOrder is the reservation's contract on any Conn: a write issued
// after ReserveWrites waits until the reserved batch went out and the
// reservation was released, so rx sees the batch first, then the write,
// whichever goroutine writes the batch and whenever.
func reservedOrder(t *testing.T, tx, rx Conn, src, dst netip.Addr) {
	t.Helper()
	res := tx.(BatchReserver).ReserveWrites()
	wrote := make(chan error, 1)
	go func() { // the loop's own write (a priority-0 advert) after the hand-off
		later := append([]byte(nil), advert...)
		later[1] = 99
		wrote <- tx.WriteTo(later, src, dst)
	}()
	select {
	case err := <-wrote:
		t.Fatalf("WriteTo returned (%v) while the send side was reserved", err)
	case <-time.After(50 * time.Millisecond): // a bounded look for a write that must not happen
	}
	batchDone := make(chan error, 1)
	go func() { // the socket's sender
		defer res.Release()
		_, err := res.WriteBatch(batchMsgs(3, src, dst, ttl255))
		batchDone <- err
	}()
	if err := <-batchDone; err != nil {
		t.Fatalf("reserved WriteBatch: %v", err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("WriteTo after the release: %v", err)
	}
	var order []byte
	buf := make([]byte, MaxMessage)
	if err := rx.(ReadDeadliner).SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, _, err := rx.ReadFrom(buf); err != nil {
			t.Fatalf("read after %v: %v", order, err)
		}
		order = append(order, buf[1])
	}
	if diff := cmp.Diff([]byte{1, 2, 3, 99}, order); diff != "" {
		t.Errorf("VRIDs in arrival order (-want +got):\n%s", diff)
	}
}

func TestSegmentReservationOrdersWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := NewSegment()
		src, peer := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
		tx, rx := seg.Attach(src), seg.Attach(peer)
		reservedOrder(t, tx, rx, src, peer)
	})
}

func TestLinuxReservationOrdersWrites(t *testing.T) {
	l := newLab(t)
	rx := listenIn(t, l.nsB, Config{Interface: labIfB, Multicast: true})
	tx := listenIn(t, l.nsA, Config{Interface: labIfA})
	reservedOrder(t, tx, rx, a4, GroupV4)
}
