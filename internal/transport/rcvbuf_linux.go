package transport

import "golang.org/x/sys/unix"

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
