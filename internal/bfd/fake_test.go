package bfd

import (
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// fabric is an in-memory network for Managers: every fakeIO owns some
// addresses; a session's send is delivered at once to the Manager owning
// its neighbour, with the session's TTL, unless the path is blocked. Every
// delivered packet is recorded.
type fabric struct {
	mu      sync.Mutex
	owners  map[netip.Addr]*fakeIO
	blocked map[[2]netip.Addr]bool // (src, dst) pairs that lose packets
	log     []wirePacket
}

type wirePacket struct {
	at       time.Time
	src, dst netip.Addr
	p        Packet
}

func newFabric() *fabric {
	return &fabric{owners: map[netip.Addr]*fakeIO{}, blocked: map[[2]netip.Addr]bool{}}
}

type fakeIO struct {
	f       *fabric
	addrs   []netip.Addr
	deliver func(rxPacket)
	closed  bool
}

func (f *fabric) node(addrs ...string) *fakeIO {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := &fakeIO{f: f}
	for _, a := range addrs {
		ip := netip.MustParseAddr(a)
		n.addrs = append(n.addrs, ip)
		f.owners[ip] = n
	}
	return n
}

func (f *fabric) block(src, dst string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked[[2]netip.Addr{netip.MustParseAddr(src), netip.MustParseAddr(dst)}] = on
}

// sent returns the delivered packets from src, in order.
func (f *fabric) sent(src string) []wirePacket {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := netip.MustParseAddr(src)
	var out []wirePacket
	for _, w := range f.log {
		if w.src == a {
			out = append(out, w)
		}
	}
	return out
}

func (n *fakeIO) listen(v4 bool, deliver func(rxPacket)) error {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	n.deliver = deliver
	return nil
}

func (n *fakeIO) close() {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	n.closed = true
}

func (n *fakeIO) open(c Config) (sessionConn, error) {
	src := c.Source
	if !src.IsValid() {
		for _, a := range n.addrs {
			if a.Is4() == c.Neighbor.Is4() {
				src = a
				break
			}
		}
	}
	ttl := c.TTL
	if !c.Neighbor.Is4() {
		ttl = c.HopLimit
	}
	return &fakeConn{n: n, src: src, dst: c.Neighbor, ttl: ttl}, nil
}

type fakeConn struct {
	n        *fakeIO
	src, dst netip.Addr
	ttl      uint8
	closed   bool
}

func (c *fakeConn) send(b []byte) error {
	f := c.n.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.closed || c.n.closed {
		return errClosedConn
	}
	to := f.owners[c.dst]
	if to == nil || to.deliver == nil || to.closed || f.blocked[[2]netip.Addr{c.src, c.dst}] {
		return nil // lost on the wire
	}
	p, _ := Decode(b)
	f.log = append(f.log, wirePacket{at: time.Now(), src: c.src, dst: c.dst, p: p})
	to.deliver(rxPacket{b: slices.Clone(b), src: c.src, dst: c.dst, ttl: c.ttl})
	return nil
}

func (c *fakeConn) close() error { c.closed = true; return nil }

// inject delivers raw bytes to n as if from src with ttl.
func (n *fakeIO) inject(b []byte, src string, ttl uint8) {
	n.f.mu.Lock()
	d := n.deliver
	n.f.mu.Unlock()
	d(rxPacket{b: b, src: netip.MustParseAddr(src), dst: n.addrs[0], ttl: ttl})
}

type closedConnError struct{}

func (closedConnError) Error() string { return "fake: closed" }

var errClosedConn = closedConnError{}

// events collects a Manager's Events.
type events struct {
	mu  sync.Mutex
	evs []Event
}

func (e *events) sink(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *events) all() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

// peer is one Manager on the fabric with its events.
type peer struct {
	m   *Manager
	io  *fakeIO
	evs *events
}

func newPeer(t *testing.T, f *fabric, addrs ...string) *peer {
	t.Helper()
	p := &peer{io: f.node(addrs...), evs: &events{}}
	p.m = newManager(Options{Sink: p.evs.sink}, p.io)
	t.Cleanup(p.m.Close)
	return p
}

func (p *peer) apply(t *testing.T, cfgs ...Config) {
	t.Helper()
	if err := p.m.Apply(cfgs); err != nil {
		t.Fatal(err)
	}
}

func (p *peer) status(t *testing.T, name string) SessionStatus {
	t.Helper()
	for _, s := range p.m.Snapshot() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no session %s", name)
	return SessionStatus{}
}

// waitFor advances the bubble's fake clock in 1 ms steps until cond holds,
// failing after limit (fake time: no wall-clock assertion).
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for range int(limit / time.Millisecond) {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	if !cond() {
		t.Fatalf("after %v: %s", limit, what)
	}
}

func cfg(name, neighbor string, mut ...func(*Config)) Config {
	c := normalize(Config{Name: name, Neighbor: netip.MustParseAddr(neighbor), MinRx: 10 * time.Millisecond,
		MinTx: 10 * time.Millisecond, Multiplier: 3})
	for _, f := range mut {
		f(&c)
	}
	return c
}

func netip6(s string) netip.Addr { return netip.MustParseAddr(s) }
