package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var errNilHandler = errors.New("transport: nil handler")

// Handler receives one message. It is called synchronously on the reader
// goroutine and must not retain payload after it returns.
type Handler func(payload []byte, m Meta)

// Mux demultiplexes one Conn by VRID (byte 1 of every VRRP message) to many
// instances. Handler lookup is lock-free so the per-packet path does not
// allocate or contend with Register/Unregister.
type Mux struct {
	conn     Conn
	handlers [256]atomic.Pointer[Handler]
	unknown  atomic.Pointer[Handler]

	running atomic.Bool
	done    chan struct{} // closed by Pool when its reader goroutine exits
	errMu   sync.Mutex
	err     error

	registered atomic.Int32 // handlers set, for Registered
	rcvbuf     atomic.Int64 // ReadBufferSize, read at Register and resize
	bufs       rcvbufShares // receive-buffer shares by VRID (rcvbuf.go)
}

// NewMux returns a Mux reading from c. Nothing is read until Run.
func NewMux(c Conn) *Mux {
	return &Mux{conn: c, done: make(chan struct{})}
}

// Conn returns the underlying connection, for sending.
func (m *Mux) Conn() Conn { return m.conn }

// Register routes messages for vrid to h. It fails if vrid is taken.
func (m *Mux) Register(vrid uint8, h Handler) error {
	if h == nil {
		return errNilHandler
	}
	if !m.handlers[vrid].CompareAndSwap(nil, &h) {
		return fmt.Errorf("%w: %d", ErrVRIDTaken, vrid)
	}
	m.registered.Add(1)
	m.resize() // the buffer follows the instances on the socket (rcvbuf.go)
	return nil
}

// Registered is how many VRIDs have a handler: how many instances share
// this socket (the daemon aligns their advert timers when there are many).
func (m *Mux) Registered() int { return int(m.registered.Load()) }

// Unregister removes the handler of vrid. A call already in progress on the
// reader goroutine may still finish after Unregister returns.
func (m *Mux) Unregister(vrid uint8) {
	if m.handlers[vrid].Swap(nil) != nil {
		m.registered.Add(-1)
		m.unshare(vrid)
	}
}

// SetUnknown sets the handler for messages whose VRID has no handler and for
// messages too short to carry a VRID (so the caller can count drops). nil
// silently drops them.
func (m *Mux) SetUnknown(h Handler) {
	if h == nil {
		m.unknown.Store(nil)
		return
	}
	m.unknown.Store(&h)
}

// Run reads and dispatches until ctx is done (returns ctx.Err(), the Conn
// stays open if it supports read deadlines, else it is closed) or the Conn is
// closed (returns nil). Any other read error is returned. One Run at a time.
func (m *Mux) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("transport: mux already running")
	}
	defer m.running.Store(false)

	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { m.interrupt(); close(fired) })
	defer func() {
		if !stop() { // interrupt ran or is running: wait, then undo it
			<-fired
			m.clearDeadline()
		}
	}()

	if br, ok := m.conn.(batchReader); ok {
		return m.runBatch(ctx, br)
	}
	buf := make([]byte, MaxMessage)
	for {
		n, meta, err := m.conn.ReadFrom(buf)
		if err != nil {
			return m.readErr(ctx, err)
		}
		m.dispatch(buf[:n], meta)
	}
}

// batchReader is a Conn that reads many messages per syscall (recvmmsg).
type batchReader interface {
	ReadBatch(f func(p []byte, m Meta)) error
}

// runBatch is Run's loop over a batchReader: every message of a batch is
// dispatched in order, with its own Meta.
func (m *Mux) runBatch(ctx context.Context, br batchReader) error {
	dispatch := m.dispatch // bound once: a method value allocates
	for {
		if err := br.ReadBatch(dispatch); err != nil {
			return m.readErr(ctx, err)
		}
	}
}

// readErr is how Run ends on a read error: ctx's error when cancelled, nil
// for a closed Conn, else the error.
func (m *Mux) readErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, ErrClosed) || isClosedErr(err) {
		return nil
	}
	return fmt.Errorf("transport: read: %w", err)
}

// dispatch is the per-packet path: no allocation, no lock.
func (m *Mux) dispatch(p []byte, meta Meta) {
	var h *Handler
	if len(p) >= 2 {
		h = m.handlers[p[1]].Load()
	}
	if h == nil {
		h = m.unknown.Load()
	}
	if h != nil {
		(*h)(p, meta)
	}
}

// interrupt makes a blocked ReadFrom return.
func (m *Mux) interrupt() {
	if d, ok := m.conn.(ReadDeadliner); ok {
		if d.SetReadDeadline(time.Unix(1, 0)) == nil {
			return
		}
	}
	_ = m.conn.Close()
}

func (m *Mux) clearDeadline() {
	if d, ok := m.conn.(ReadDeadliner); ok {
		_ = d.SetReadDeadline(time.Time{})
	}
}

// Done is closed when a Pool-run Mux stops reading (its last user released it,
// or the socket failed; see Err). For a Mux you Run yourself it never closes.
func (m *Mux) Done() <-chan struct{} { return m.done }

// Err reports why a Pool-run Mux stopped; nil while running or after a clean
// release.
func (m *Mux) Err() error {
	m.errMu.Lock()
	defer m.errMu.Unlock()
	return m.err
}

func (m *Mux) setErr(err error) {
	m.errMu.Lock()
	m.err = err
	m.errMu.Unlock()
}

func isClosedErr(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed)
}
