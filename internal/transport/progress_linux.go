package transport

import "golang.org/x/sys/unix"

// ReadProgress asks the kernel whether a packet is queued (SIOCINQ: the
// length of the next one, 0 for none), then whether a read is in flight.
// In this order: a read takes packets off the queue only after it has
// marked itself in flight (batch_recv_linux.go), so a read that emptied
// the queue before the ioctl is seen by the load after it.
func (c *rawConn) ReadProgress() ReadProgress {
	queued := false
	_ = c.io.rc.Control(func(fd uintptr) {
		n, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ)
		queued = err == nil && n > 0
	})
	pending := queued || c.io.reading.Load()
	return ReadProgress{Pending: pending, Drains: c.io.drains.Load()}
}
