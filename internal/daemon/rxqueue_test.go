package daemon

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
)

// tagged is a queue entry that records its tag when the loop serves it.
func tagged(log *[]string, tag string) loopEvent {
	return loopEvent{do: func() { *log = append(*log, tag) }}
}

// The queue keeps arrival order, refuses beyond rxQueueLen, and the loop
// takes a new batch only when it has served the one it took.
func TestRxQueueOrderAndBound(t *testing.T) {
	q := newRxQueue()
	var served []string
	for i := range rxQueueLen {
		if !q.push(tagged(&served, fmt.Sprint(i))) {
			t.Fatalf("push %d refused below the bound", i)
		}
	}
	if q.push(tagged(&served, "over")) {
		t.Fatalf("push beyond rxQueueLen accepted")
	}
	q.take()
	if !q.push(tagged(&served, "late")) { // the readers' side is free again
		t.Fatalf("push after take refused")
	}
	for range 10 {
		e, _ := q.pop()
		e.do()
	}
	q.take() // 4086 still waiting: takes nothing
	if got := q.waiting(); got != rxQueueLen-10 {
		t.Fatalf("waiting %d after a take with a backlog, want %d", got, rxQueueLen-10)
	}
	for e, ok := q.pop(); ok; e, ok = q.pop() {
		e.do()
	}
	q.take()
	e, ok := q.pop()
	if !ok {
		t.Fatal("the late advert was lost")
	}
	e.do()
	want := []string{}
	for i := range rxQueueLen {
		want = append(want, fmt.Sprint(i))
	}
	want = append(want, "late")
	if diff := cmp.Diff(want, served); diff != "" {
		t.Errorf("served order (-want +got):\n%s", diff)
	}
}

// A backlog of adverts does not hold back the loop's other inputs (advert
// and lease ticks, timers): an event queued while 500 adverts wait is served
// first, and one queued while they are served waits for at most rxChunk of
// them. With one FIFO queue for both it waited for all of them.
func TestLoopServesEventsBeforeAdvertBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		n := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", "version 3"))
		n.state()
		var served []string
		const adverts = 500
		n.d.events <- loopEvent{do: func() { // on the loop: nothing is served meanwhile
			for i := range adverts {
				e := tagged(&served, "advert")
				if i == 100 {
					e = loopEvent{do: func() {
						served = append(served, "advert")
						n.d.events <- tagged(&served, "event during")
					}}
				}
				if !n.d.rx.push(e) {
					t.Errorf("advert %d refused", i)
				}
			}
			n.d.events <- tagged(&served, "event before")
		}}
		n.state()
		n.stop(t)
		before := slices.Index(served, "event before")
		during := slices.Index(served, "event during")
		if before != 0 {
			t.Errorf("the event queued behind %d adverts was served after %d of them, want 0", adverts, before)
		}
		if got := during - 101 - 1; during < 0 || got > rxChunk {
			t.Errorf("the event queued while adverts were served waited for %d adverts, want at most %d", got, rxChunk)
		}
		if got := len(served); got != adverts+2 {
			t.Errorf("served %d entries, want %d", got, adverts+2)
		}
	})
}

// A master-down expiry never overtakes an advert that arrived before it:
// the advert resets the timer, so a backup that heard its master in time
// stays BACKUP (the adverts' queue is served after the timers', so without
// the drain the expiry would win and the backup take over).
func TestMasterDownWaitsForQueuedAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", "version 3"))
		b.state()
		in := b.d.instances[0]
		master := netip.MustParseAddr("192.0.2.11")
		mdi := fsm.MasterDownInterval(100, time.Second)
		b.d.events <- loopEvent{do: func() {
			// Heard in time, but the loop is busy: the advert waits in
			// the queue while the master-down timer fires and posts.
			b.d.rx.push(loopEvent{in: in, ev: fsm.Advert(150, time.Second, master)})
			time.Sleep(mdi + time.Millisecond)
		}}
		time.Sleep(mdi + 2*time.Millisecond) // the loop's busy spell, then what it served after
		// MASTER announces its VIPs: no announcement, no takeover.
		if st, bursts := b.state(), b.garp.log(); st != "BACKUP" || len(bursts) != 0 {
			t.Errorf("backup is %s after announcing %v: the master-down expiry overtook an advert queued before it", st, bursts)
		}
		b.stop(t)
	})
}
