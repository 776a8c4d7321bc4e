package daemon

import (
	"net/netip"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// The adverts of one schedule tick (advertsched.go) are encoded into one
// reused arena while the loop runs the due machines, then written with one
// transport.WriteBatch per socket (sendmmsg on Linux). Everything sendTo
// does per advert still happens per advert: an encoding per destination
// (the v3 IPv4 checksum covers it), auth_hmac signing (marshalAdvert),
// unicast_ttl; only the write is deferred to the end of the tick, and the
// sent counters follow the kernel's answer. Priority-0 adverts (stop,
// fault) never wait for a batch: they keep sendAdvert's fallback source.

// advertBatch is the loop's batch; active only inside onAdvertTick.
type advertBatch struct {
	active bool
	arena  []byte
	items  []batchItem
	msgs   []transport.Message // reused per socket at flush
	idx    []int               // items[idx[i]] is msgs[i]
	conns  []transport.Conn    // distinct sockets of the batch
	writes uint64              // WriteBatch calls (tests)
	due    time.Time           // the tick's due time (senders measure lateness from it)
}

type batchItem struct {
	in       *instance
	conn     transport.Conn
	prio     uint8
	off, n   int
	src, dst netip.Addr
	ttl      int
}

func (b *advertBatch) begin(due time.Time) { b.active, b.due = true, due }

// queueAdvert encodes in's advert for every destination into the batch and
// reports whether it did; false leaves the advert to sendAdvert's own path.
func (d *Daemon) queueAdvert(in *instance, prio uint8) bool {
	b := &d.adverts.batch
	if !b.active || prio == 0 {
		return false
	}
	conn, ttl := in.sendConn(), in.unicastTTL()
	if _, ok := conn.(transport.TTLWriter); ttl != 255 && !ok {
		return false // sendTo refuses it by name
	}
	for _, dst := range in.dsts {
		off := len(b.arena)
		buf, err := in.marshalAdvert(b.arena, advertOptions(in, in.src, dst))
		if err != nil {
			d.log.Warn("advert not sent", "instance", in.name, "to", dst, "err", err)
			continue
		}
		b.arena = buf
		b.items = append(b.items, batchItem{in: in, conn: conn, prio: prio, off: off, n: len(buf) - off, src: in.src, dst: dst, ttl: ttl})
	}
	return true
}

// advertOptions is how in's adverts are encoded for src and dst.
func advertOptions(in *instance, src, dst netip.Addr) vrrp.MarshalOptions {
	mode := sendChecksum(in.cfg) // oldchecksum.go: v3_checksum_as_v2, old_unicast_checksum
	return vrrp.MarshalOptions{Family: in.family, Src: src, Dst: dst, Checksum: mode}
}

// flushAdverts writes the batch, one WriteBatch per socket, and ends it. A
// socket that can be reserved (transport.BatchReserver) gets its write
// handed to its sender (advertsend.go), so the loop does not wait for it.
func (d *Daemon) flushAdverts() {
	b := &d.adverts.batch
	b.active = false
	b.conns = b.conns[:0]
	for _, it := range b.items {
		if !containsConn(b.conns, it.conn) {
			b.conns = append(b.conns, it.conn)
		}
	}
	for _, c := range b.conns {
		if r, ok := c.(transport.BatchReserver); ok && d.ctx != nil {
			d.handOff(b, c, r)
			continue
		}
		d.writeBatch(b, c)
	}
	clear(b.items)
	clear(b.conns)
	clear(b.msgs)
	b.items, b.conns, b.msgs, b.arena = b.items[:0], b.conns[:0], b.msgs[:0], b.arena[:0]
}

func containsConn(cs []transport.Conn, c transport.Conn) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// writeBatch sends the batch's messages for socket c. A failed message is
// logged and skipped and the rest retried: at most len(msgs) calls.
func (d *Daemon) writeBatch(b *advertBatch, c transport.Conn) {
	b.msgs, b.idx = b.msgs[:0], b.idx[:0]
	for i, it := range b.items {
		if it.conn == c {
			b.msgs = append(b.msgs, transport.Message{Buf: b.arena[it.off : it.off+it.n], Src: it.src, Dst: it.dst, TTL: it.ttl})
			b.idx = append(b.idx, i)
		}
	}
	for done := 0; done < len(b.msgs); {
		n, err := transport.WriteBatch(c, b.msgs[done:])
		b.writes++
		for _, i := range b.idx[done : done+n] {
			b.items[i].in.countSent(b.items[i].prio)
		}
		done += n
		if err == nil {
			return
		}
		if done < len(b.msgs) {
			it := b.items[b.idx[done]]
			d.log.Warn("advert not sent", "instance", it.in.name, "to", it.dst, "err", err)
			done++
		}
	}
}
