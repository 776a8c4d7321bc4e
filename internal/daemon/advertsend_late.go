package daemon

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// Send lateness of aligned batches (issue 11, the 1,020 case): how long
// after its schedule's due time each socket's batch was written, measured
// by the socket's sender when sendmmsg returned. A master whose backups
// take over although it never stopped advertising sent its adverts late;
// this says by how much, per socket, without a capture. Logged when the
// sender ends (the schedule is forgotten or the daemon stops).
//
// Invariants: written only by the sender (atomics, so a reader on another
// goroutine sees whole counts); never blocks and allocates nothing per batch.

// lateBounds are the upper bounds of the histogram's buckets; the last
// bucket is everything later.
var lateBounds = [...]time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond}

// lateness is one socket's histogram.
type lateness struct {
	buckets [len(lateBounds) + 1]atomic.Uint64
	sum     atomic.Int64 // nanoseconds
	max     atomic.Int64
}

func (l *lateness) record(late time.Duration) {
	late = max(late, 0)
	i := 0
	for i < len(lateBounds) && late >= lateBounds[i] {
		i++
	}
	l.buckets[i].Add(1)
	l.sum.Add(int64(late))
	for {
		m := l.max.Load()
		if int64(late) <= m || l.max.CompareAndSwap(m, int64(late)) {
			return
		}
	}
}

// counts is the histogram's buckets, in order.
func (l *lateness) counts() []uint64 {
	out := make([]uint64, len(l.buckets))
	for i := range l.buckets {
		out[i] = l.buckets[i].Load()
	}
	return out
}

func (l *lateness) total() uint64 {
	var n uint64
	for i := range l.buckets {
		n += l.buckets[i].Load()
	}
	return n
}

// String is the histogram as a log value: "<1ms:N 1-2ms:N … >=50ms:N".
func (l *lateness) String() string {
	var b strings.Builder
	lo := "0"
	for i, c := range l.counts() {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i < len(lateBounds) {
			hi := lateBounds[i].String()
			fmt.Fprintf(&b, "%s-%s:%d", lo, hi, c)
			lo = hi
		} else {
			fmt.Fprintf(&b, ">=%s:%d", lo, c)
		}
	}
	return b.String()
}

// logLateness reports a sender's histogram when it ends.
func logLateness(log *slog.Logger, socket string, l *lateness) {
	n := l.total()
	if n == 0 {
		return
	}
	log.Info("advert batches: send lateness after the schedule's due time", "socket", socket, "batches", n,
		"mean", (time.Duration(l.sum.Load()) / time.Duration(n)).Round(time.Microsecond),
		"max", time.Duration(l.max.Load()).Round(time.Microsecond), "histogram", l.String())
}
