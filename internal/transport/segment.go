package transport

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// segmentQueue is how many messages a Segment Conn buffers before it drops,
// like a full socket receive buffer.
const segmentQueue = 1024

// Segment is an in-memory L2 segment for tests that need no root. Every Conn
// attached gets copies of what the others write: a multicast dst reaches all
// other Conns owning an address of that family, a unicast dst reaches the Conn
// owning it. Messages arrive with TTL 255 unless the writer used WriteWithTTL.
type Segment struct {
	mu    sync.Mutex
	conns []*SegmentConn
	cut   map[[2]*SegmentConn]bool
}

// NewSegment returns an empty segment.
func NewSegment() *Segment {
	return &Segment{cut: make(map[[2]*SegmentConn]bool)}
}

// SegmentConn is a Conn attached to a Segment.
type SegmentConn struct {
	seg     *Segment
	addrs   []netip.Addr
	ifindex int
	inbox   chan segmentPacket
	closed  chan struct{}
	once    sync.Once

	dlMu     sync.Mutex
	deadline chan struct{} // closed when the read deadline passes
	dlTimer  *time.Timer

	send sendLock // every write holds it; a reservation across goroutines (reserve.go)

	// ReadProgress (progress.go): queued counts packets put in inbox, taken
	// the ones ReadFrom has taken and whose dispatch has ended (counted when
	// the next ReadFrom begins), drains the ReadFroms that found nothing
	// outstanding. stall (StallReads) holds ReadFrom back.
	queued, taken, drains atomic.Uint64
	reading               atomic.Bool // a packet was returned and the next ReadFrom has not begun
	stallMu               sync.Mutex
	stall                 chan struct{} // non-nil while stalled; closed on release
}

type segmentPacket struct {
	b    []byte
	meta Meta
}

// Attach adds a Conn that owns addrs (its sources and unicast destinations).
// Each Conn gets its own Ifindex, starting at 1.
func (s *Segment) Attach(addrs ...netip.Addr) Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &SegmentConn{
		seg:      s,
		addrs:    unzoned(addrs),
		ifindex:  len(s.conns) + 1,
		inbox:    make(chan segmentPacket, segmentQueue),
		closed:   make(chan struct{}),
		deadline: make(chan struct{}),
	}
	s.conns = append(s.conns, c)
	return c
}

// Listener returns a listen function for NewPool that attaches a new Conn
// owning addrs on every call.
func (s *Segment) Listener(addrs ...netip.Addr) func(Config) (Conn, error) {
	return func(Config) (Conn, error) { return s.Attach(addrs...), nil }
}

// Partition drops (cut) or restores traffic in both directions between a and b.
func (s *Segment) Partition(a, b Conn, cut bool) {
	ca, okA := a.(*SegmentConn)
	cb, okB := b.(*SegmentConn)
	if !okA || !okB {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cut {
		s.cut[[2]*SegmentConn{ca, cb}] = true
		s.cut[[2]*SegmentConn{cb, ca}] = true
		return
	}
	delete(s.cut, [2]*SegmentConn{ca, cb})
	delete(s.cut, [2]*SegmentConn{cb, ca})
}

// deliver copies b to every Conn that should see it; a full inbox drops.
func (s *Segment) deliver(from *SegmentConn, b []byte, src, dst netip.Addr, ttl int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, to := range s.conns {
		if to == from || s.cut[[2]*SegmentConn{from, to}] || !to.wants(dst) {
			continue
		}
		p := segmentPacket{b: slices.Clone(b), meta: Meta{Src: src, Dst: dst, TTL: ttl, Ifindex: to.ifindex}}
		to.queued.Add(1) // before the packet can be taken (ReadProgress)
		select {
		case to.inbox <- p:
		default:
			to.queued.Add(^uint64(0)) // dropped: the queue is full
		}
	}
}

func (c *SegmentConn) wants(dst netip.Addr) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	if dst.IsMulticast() {
		return slices.ContainsFunc(c.addrs, func(a netip.Addr) bool { return a.Is4() == dst.Is4() })
	}
	return c.owns(dst)
}

func (c *SegmentConn) owns(a netip.Addr) bool {
	return slices.Contains(c.addrs, a.WithZone(""))
}

// ReadFrom returns the next message, ErrClosed after Close, or an error
// wrapping os.ErrDeadlineExceeded after the read deadline.
func (c *SegmentConn) ReadFrom(b []byte) (int, Meta, error) {
	if c.reading.Swap(false) {
		c.taken.Add(1) // the previous packet's dispatch has ended
	}
	if c.taken.Load() == c.queued.Load() {
		c.drains.Add(1)
	}
	c.dlMu.Lock()
	dl := c.deadline
	c.dlMu.Unlock()
	select {
	case p := <-c.inbox:
		c.reading.Store(true)
		if ch := c.stalled(); ch != nil { // taken, not dispatched: still pending
			select {
			case <-ch:
			case <-c.closed:
				return 0, Meta{}, ErrClosed
			}
		}
		return copy(b, p.b), p.meta, nil
	case <-c.closed:
		return 0, Meta{}, ErrClosed
	case <-dl:
		return 0, Meta{}, errDeadline
	}
}

var errDeadline = fmt.Errorf("transport: read: %w", os.ErrDeadlineExceeded)

// WriteTo sends b with TTL 255.
func (c *SegmentConn) WriteTo(b []byte, src, dst netip.Addr) error {
	return c.WriteWithTTL(b, src, dst, 255)
}

// WriteWithTTL sends b with the given TTL / hop limit (for forging bad adverts).
func (c *SegmentConn) WriteWithTTL(b []byte, src, dst netip.Addr, ttl int) error {
	h := c.send.reserve() // after any reserved batch (reserve.go)
	defer h.release()
	return c.write(b, src, dst, ttl)
}

// write is WriteWithTTL with the send side held.
func (c *SegmentConn) write(b []byte, src, dst netip.Addr, ttl int) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	if src.Is4() != dst.Is4() {
		return fmt.Errorf("transport: src %s and dst %s differ in family", src, dst)
	}
	if !c.owns(src) {
		return fmt.Errorf("transport: src %s is not an address of this conn", src)
	}
	c.seg.deliver(c, b, src.WithZone(""), dst.WithZone(""), ttl)
	return nil
}

// JoinMulticast is a no-op: Segment Conns receive multicast by family.
func (c *SegmentConn) JoinMulticast() error { return nil }

// SetReadDeadline makes a pending or future ReadFrom fail after t; zero clears.
func (c *SegmentConn) SetReadDeadline(t time.Time) error {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if c.dlTimer != nil && !c.dlTimer.Stop() {
		// Fired or firing: the old channel is, or is about to be, closed.
		c.deadline = make(chan struct{})
	}
	c.dlTimer = nil
	if t.IsZero() {
		return nil
	}
	ch := c.deadline
	c.dlTimer = time.AfterFunc(time.Until(t), func() { close(ch) })
	return nil
}

// Close detaches the Conn; pending reads return ErrClosed.
func (c *SegmentConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// Addrs returns the addresses this Conn owns.
func (c *SegmentConn) Addrs() []netip.Addr { return slices.Clone(c.addrs) }

func unzoned(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = a.WithZone("")
	}
	return out
}

// ReadProgress reports packets delivered but not yet read and dispatched
// (the Mux dispatches each before its next ReadFrom).
func (c *SegmentConn) ReadProgress() ReadProgress {
	taken := c.taken.Load()
	return ReadProgress{Pending: c.queued.Load() > taken, Drains: c.drains.Load()}
}

// StallReads holds ReadFrom back while on, as a reader the scheduler does
// not run would be: packets queue meanwhile (tests of what the daemon does
// with adverts that arrived but were not read yet).
func (c *SegmentConn) StallReads(on bool) {
	c.stallMu.Lock()
	defer c.stallMu.Unlock()
	switch {
	case on && c.stall == nil:
		c.stall = make(chan struct{})
	case !on && c.stall != nil:
		close(c.stall)
		c.stall = nil
	}
}

func (c *SegmentConn) stalled() chan struct{} {
	c.stallMu.Lock()
	defer c.stallMu.Unlock()
	return c.stall
}
