package daemon

import (
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govrrp/govrrp/internal/transport"
)

// Off-loop writes of aligned batches (issue 11, the four-link profile).
//
// At 1,020 masters on four sockets the loop itself sent 102,000 adverts/s,
// one sendmmsg per socket per tick, and on veth each of them also runs the
// receiving side's softirq in the sender's context: the master fell behind
// its schedule (40,000 adverts/s sent of 102,000, measured with the lease;
// 72,000 without) and the backups took over. The loop now only encodes: each
// socket's batch is copied into a job and written by a goroutine of that
// socket, so the four writes of a tick run on both cores while the loop
// goes on with the next event.
//
// Invariants:
//   - Order per socket is unchanged: the loop reserves the socket's send
//     side (transport.BatchReserver) before handing the job off, and any
//     later write on that socket (a priority-0 advert, an unaligned
//     instance's advert, the next batch) waits for the sender to release it.
//     The loop waits only when a socket's previous batch is still being
//     written one whole tick later: as long as it waited before.
//   - A socket has at most one job in flight and two job buffers, reused;
//     the sender reads no instance field (the job carries names and the
//     counting happens through instance.countSent, which locks).
//   - Senders end when their socket's schedule is forgotten (no aligned
//     master left on it) or when the daemon's context ends, after writing
//     and releasing what they were handed.

// sockSender writes one socket's batches on its own goroutine.
type sockSender struct {
	jobs chan *sendJob // capacity 1; closed by stopSender
	free chan *sendJob // the two job buffers between uses
	name string        // interface/family, for the lateness log
	late lateness      // written by the sender (advertsend_late.go)
	// lateObs is --metrics-listen's lateness histogram of the socket
	// (govrrp_advert_batch_send_lateness_seconds); nil without metrics.
	lateObs prometheus.Observer
	log     *slog.Logger
	once    sync.Once // the lateness is logged once: by stopSender, or when the daemon's context ends
}

// sendJob is one socket's batch of one tick, owned by the sender while in
// flight.
type sendJob struct {
	res   transport.Reservation
	due   time.Time // the schedule's due time of the batch (lateness)
	arena []byte
	msgs  []transport.Message
	by    []sentBy // by[i] sent msgs[i]
}

type sentBy struct {
	in   *instance // for countSent only
	name string
	prio uint8
}

// handOff reserves c, copies the batch's messages for c into a free job
// and gives it to c's sender.
func (d *Daemon) handOff(b *advertBatch, c transport.Conn, r transport.BatchReserver) {
	s := d.senderFor(c, b)
	res := r.ReserveWrites() // waits only while c's previous batch is still being written
	j := <-s.free            // never blocks: one job at most is in flight, and it released c first
	j.res, j.due = res, b.due
	j.msgs, j.by = j.msgs[:0], j.by[:0]
	size := 0
	for _, it := range b.items {
		if it.conn == c {
			j.msgs = append(j.msgs, transport.Message{Buf: b.arena[it.off : it.off+it.n], Src: it.src, Dst: it.dst, TTL: it.ttl})
			j.by = append(j.by, sentBy{in: it.in, name: it.in.name, prio: it.prio})
			size += it.n
		}
	}
	// The job's own copy of the bytes: the loop's arena is the next tick's.
	j.arena = slices.Grow(j.arena[:0], size)
	for i := range j.msgs {
		off := len(j.arena)
		j.arena = append(j.arena, j.msgs[i].Buf...)
		j.msgs[i].Buf = j.arena[off:len(j.arena):len(j.arena)]
	}
	b.writes++
	s.jobs <- j // never blocks: the sender took the previous job before releasing c
}

// senderFor is c's sender, started on first use (named after b's first
// advert for c).
func (d *Daemon) senderFor(c transport.Conn, b *advertBatch) *sockSender {
	if s := d.adverts.senders[c]; s != nil {
		return s
	}
	if d.adverts.senders == nil {
		d.adverts.senders = map[transport.Conn]*sockSender{}
	}
	s := &sockSender{jobs: make(chan *sendJob, 1), free: make(chan *sendJob, 2), name: "?", log: d.log}
	if in := batchInstance(b, c); in != nil {
		s.name = in.ifname + "/" + in.family.String()
		if u := d.socks[in.mux]; u != nil && d.metrics != nil {
			s.lateObs = d.metrics.SendLateness(u.stats.Interface, u.stats.Family)
		}
	}
	s.free <- &sendJob{}
	s.free <- &sendJob{}
	d.adverts.senders[c] = s
	go s.run(d.ctx.Done(), d.log)
	return s
}

// stopSender ends c's sender, if it has one, after what it was handed.
func (d *Daemon) stopSender(c transport.Conn) {
	if s := d.adverts.senders[c]; s != nil {
		s.logLate() // on the loop: the process may exit before the sender's goroutine ends
		close(s.jobs)
		delete(d.adverts.senders, c)
	}
}

func (s *sockSender) run(done <-chan struct{}, log *slog.Logger) {
	defer s.logLate()
	for {
		select {
		case j, ok := <-s.jobs:
			if !ok {
				return
			}
			s.write(j, log)
		case <-done:
			// The loop has ended; a job it handed off last still holds its
			// socket's send side: write and release it.
			select {
			case j, ok := <-s.jobs:
				if ok {
					s.write(j, log)
				}
			default:
			}
			return
		}
	}
}

// write sends the job, counts what the kernel took and releases the
// socket. A failed message is logged and skipped and the rest retried, as
// writeBatch does: at most len(msgs) calls.
func (s *sockSender) write(j *sendJob, log *slog.Logger) {
	for done := 0; done < len(j.msgs); {
		n, err := j.res.WriteBatch(j.msgs[done:])
		for _, by := range j.by[done : done+n] {
			by.in.countSent(by.prio)
		}
		done += n
		if err == nil {
			break
		}
		if done < len(j.msgs) {
			logNotSent(log, j.by[done].name, j.msgs[done].Dst, err)
			done++
		}
	}
	if !j.due.IsZero() {
		late := time.Since(j.due)
		s.late.record(late)
		if s.lateObs != nil {
			s.lateObs.Observe(max(late, 0).Seconds())
		}
	}
	j.res.Release()
	j.res = nil
	clear(j.msgs)
	clear(j.by)
	s.free <- j
}

func logNotSent(log *slog.Logger, name string, dst netip.Addr, err error) {
	log.Warn("advert not sent", "instance", name, "to", dst, "err", err)
}

// batchInstance is an instance of b writing on c: the socket's names and
// statistics come from it. nil when there is none.
func batchInstance(b *advertBatch, c transport.Conn) *instance {
	for _, it := range b.items {
		if it.conn == c {
			return it.in
		}
	}
	return nil
}

func (s *sockSender) logLate() { s.once.Do(func() { logLateness(s.log, s.name, &s.late) }) }
