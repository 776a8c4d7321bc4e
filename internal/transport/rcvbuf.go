package transport

// readBufferSizer is a Conn that knows its receive buffer.
type readBufferSizer interface {
	ReadBufferSize() int
}

// ReadBufferSize is the receive buffer of the Mux's socket in bytes, read
// when a VRID was last registered; -1 when the Conn does not say (the
// in-memory Segment queues whole packets instead).
func (m *Mux) ReadBufferSize() int { return int(m.rcvbuf.Load()) }

// noteReadBuffer refreshes ReadBufferSize (Register calls it: a syscall,
// not for the per-packet path).
func (m *Mux) noteReadBuffer() {
	s, ok := m.conn.(readBufferSizer)
	if !ok {
		m.rcvbuf.Store(-1)
		return
	}
	m.rcvbuf.Store(int64(s.ReadBufferSize()))
}
