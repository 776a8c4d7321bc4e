package transport

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ReadBufferSize is the socket's receive buffer (SO_RCVBUF as the kernel
// reports it: twice what was asked, its bookkeeping included), 0 if unknown.
func (c *rawConn) ReadBufferSize() int {
	var n int
	var serr error
	err := c.io.rc.Control(func(fd uintptr) {
		n, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	if err != nil || serr != nil {
		return 0
	}
	return n
}

// InitialReadBuffer is the receive buffer the socket was opened with.
func (c *rawConn) InitialReadBuffer() int { return c.initRcvbuf }

// SetReadBuffer asks for bytes of receive buffer (0: the size the socket
// was opened with). SO_RCVBUFFORCE first, which root may set past
// net.core.rmem_max; SO_RCVBUF (capped at rmem_max) when that is refused.
func (c *rawConn) SetReadBuffer(bytes int) error {
	if bytes <= 0 {
		bytes = c.initRcvbuf / 2 // the kernel doubles what it is given
	}
	var serr error
	err := c.io.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bytes)
		if errors.Is(serr, unix.EPERM) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, bytes)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("transport: receive buffer of %d bytes on %s: %w", bytes, c.ifi.Name, err)
	}
	return nil
}

// KernelDrops is the socket's drop counter (sk_drops: a full receive
// buffer) as the last received packet's SO_RXQ_OVFL message carried it.
func (c *rawConn) KernelDrops() uint64 { return uint64(c.io.rdrops.Load()) }

// setupRcvbuf records the opened buffer and asks for the drop counter with
// every packet (SO_RXQ_OVFL).
func (c *rawConn) setupRcvbuf() error {
	c.initRcvbuf = c.ReadBufferSize()
	var serr error
	err := c.io.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("set SO_RXQ_OVFL: %w", err)
	}
	return nil
}

// noteDrops keeps the SO_RXQ_OVFL counter of one received packet; the
// kernel sends it only once the socket has dropped something.
func (r *rawIO) noteDrops(oob []byte) {
	eachCmsg(oob, func(level, typ int32, data []byte) {
		if level == unix.SOL_SOCKET && typ == unix.SO_RXQ_OVFL && len(data) >= 4 {
			r.rdrops.Store(binary.NativeEndian.Uint32(data))
		}
	})
}
