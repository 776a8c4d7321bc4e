package transport

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batched send (issue 11): the adverts of all aligned masters of one socket
// leave in one sendmmsg(2) rather than one sendmsg each. The headers, names,
// iovecs and control messages live in slices that grow to the largest batch
// seen and are reused, so a batch allocates nothing once warm.

// mmsghdr is struct mmsghdr: x/sys/unix has no type for it. Go pads it to
// the C layout (8-byte aligned on 64-bit).
type mmsghdr struct {
	Hdr unix.Msghdr
	Len uint32
}

// oobPerMsg holds PKTINFO plus one int cmsg for either family (52 bytes
// for IPv6 on 64-bit), the same room as rawIO.woob.
const oobPerMsg = 64

// maxBatch is the kernel's limit on messages per sendmmsg (UIO_MAXIOV);
// longer batches go out in several calls.
const maxBatch = 1024

// sendBatch is rawIO's sendmmsg state; guarded by rawIO.wmu.
type sendBatch struct {
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	name4 []unix.RawSockaddrInet4
	name6 []unix.RawSockaddrInet6
	oob   []byte
	n     int // messages prepared
	sent  int // messages the kernel took
	err   syscall.Errno
	fn    func(fd uintptr) bool // bound once: a method value allocates
}

// WriteBatch sends msgs in as few sendmmsg calls as the kernel allows, each
// with its own source (IP(V6)_PKTINFO) and TTL / hop limit. A message that
// fails the same checks as WriteTo / WriteWithTTL ends the batch there.
func (c *rawConn) WriteBatch(msgs []Message) (int, error) {
	c.io.wmu.Lock()
	defer c.io.wmu.Unlock()
	return c.writeBatchLocked(msgs)
}

// ReserveWrites takes the socket's send side (BatchReserver, reserve.go).
// The socket has one reservation value, reused: wmu admits one holder.
func (c *rawConn) ReserveWrites() Reservation {
	c.io.wmu.Lock()
	c.res = rawReservation{c: c, held: true}
	return &c.res
}

// rawReservation is a held send side of a rawConn; its fields belong to the
// holder.
type rawReservation struct {
	c    *rawConn
	held bool
}

func (r *rawReservation) WriteBatch(msgs []Message) (int, error) { return r.c.writeBatchLocked(msgs) }

func (r *rawReservation) Release() {
	if r.held {
		r.held = false
		r.c.io.wmu.Unlock()
	}
}

// writeBatchLocked is WriteBatch with wmu held.
func (c *rawConn) writeBatchLocked(msgs []Message) (int, error) {
	valid, verr := len(msgs), error(nil)
	for i := range msgs {
		if err := c.checkMessage(&msgs[i]); err != nil {
			valid, verr = i, err
			break
		}
	}
	n, err := c.io.writeBatch(msgs[:valid])
	if err != nil {
		return n, fmt.Errorf("transport: send %s -> %s on %s: %w", msgs[n].Src, msgs[n].Dst, c.ifi.Name, err)
	}
	return n, verr
}

func (c *rawConn) checkMessage(m *Message) error {
	m.Src, m.Dst = m.Src.Unmap(), m.Dst.Unmap()
	if err := c.checkFamily(m.Src, m.Dst); err != nil {
		return err
	}
	if m.TTL < 0 || m.TTL > 255 || (!c.ipv6 && m.TTL == 0) {
		return fmt.Errorf("transport: send on %s: ttl %d out of range", c.ifi.Name, m.TTL)
	}
	return nil
}

// writeBatch sends msgs; it returns how many the kernel took and, when
// fewer than all, the error of the first one it did not. Callers hold wmu.
func (r *rawIO) writeBatch(msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	b := &r.wb
	b.prepare(r, msgs)
	err := r.rc.Write(b.fn)
	b.release()
	if err != nil {
		return b.sent, err
	}
	if b.err != 0 {
		return b.sent, os.NewSyscallError("sendmmsg", b.err)
	}
	return b.sent, nil
}

func (b *sendBatch) prepare(r *rawIO, msgs []Message) {
	if b.fn == nil {
		b.fn = b.send
	}
	if n := len(msgs); cap(b.hdrs) < n {
		b.hdrs = make([]mmsghdr, n)
		b.iovs = make([]unix.Iovec, n)
		b.name4 = make([]unix.RawSockaddrInet4, n)
		b.name6 = make([]unix.RawSockaddrInet6, n)
		b.oob = make([]byte, n*oobPerMsg)
	}
	b.n, b.sent, b.err = len(msgs), 0, 0
	for i, m := range msgs {
		h := &b.hdrs[i]
		r.fillWrite(&h.Hdr, &b.iovs[i], &b.name4[i], &b.name6[i], b.oob[i*oobPerMsg:(i+1)*oobPerMsg], m.Buf, m.Src, m.Dst, m.TTL)
		h.Len = 0
	}
}

// release drops the references to the callers' buffers.
func (b *sendBatch) release() {
	clear(b.iovs[:b.n])
}

// rawSendmmsg selects a raw sendmmsg (no entersyscall/exitsyscall). It is
// off: kept only so that BenchmarkLinuxSendPaced can compare the two.
//
// Measured (issue 11): a runtime syscall wakes the runtime's sysmon on every
// entry, which then polls every 20 µs for a millisecond or more (at 255
// masters on one socket ~50 wake-ups per 10 ms tick); the raw call saves
// ~15 % of the master's CPU per advert (BenchmarkMasterSide: 9.1 against
// 10.5 µs). But it holds its P for the whole batch, and when the kernel
// preempts the thread inside sendmmsg (the backup's veth receive runs in
// it) nothing can take the P back, so a GC stop-the-world or the loop's
// next tick waits for the thread: in the same run on a quiet machine, 4
// rounds of 20 s at 255 × 10 ms, the raw call gave 227 and 1,500 spurious
// takeovers in two rounds, the runtime syscall none. Correct first.
var rawSendmmsg = false

// send runs on the poller's terms: false means "not writable, wait"; the
// messages already sent stay sent (b.sent) when it is called again.
// Splitting a batch in chunks with a runtime.Gosched between them was
// measured worse at 1,020 instances on four sockets (36,000 adverts/s sent
// and a mean lateness of 44 ms against 97,000/s and 18 ms whole).
func (b *sendBatch) send(fd uintptr) bool {
	for b.sent < b.n {
		vlen := min(b.n-b.sent, maxBatch)
		sys := unix.RawSyscall6
		if !rawSendmmsg {
			sys = unix.Syscall6
		}
		n, _, errno := sys(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[b.sent])), uintptr(vlen), 0, 0, 0)
		switch errno {
		case 0:
			if n == 0 { // cannot happen for vlen > 0; never spin on it
				b.err = unix.EIO
				return true
			}
			b.sent += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			b.err = errno // the failure of message b.sent
			return true
		}
	}
	return true
}
