package bfd

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Manager runs the BFD sessions of one daemon. One loop goroutine owns
// every session; socket readers hand it packets through a bounded queue;
// Apply, Snapshot and Close are typed requests to that loop.
type Manager struct {
	log  *slog.Logger
	sink Sink
	io   netIO

	rx     chan rxPacket
	reqs   chan request
	quit   chan struct{}
	done   chan struct{}
	closer sync.Once

	rxFull atomic.Uint64 // packets lost because the loop's queue was full

	// Owned by the loop goroutine.
	sessions map[string]*session
	byDisc   map[uint32]*session
	byPeer   map[netip.Addr][]*session // by neighbour; several only with distinct source_ips
	dropped  map[string]uint64         // drops not attributable to a session
	rng      *rand.Rand
	timer    *time.Timer
}

// rxQueue bounds what a packet flood can queue ahead of the loop.
const rxQueue = 1024

// rxPacket is one received datagram with what the kernel said about it.
type rxPacket struct {
	b        []byte
	src, dst netip.Addr
	ttl      uint8     // IPv4 TTL or IPv6 hop limit; 0 when unknown
	at       time.Time // when the reader got it (zero: when the loop does)
}

// request is a typed call into the loop.
type request struct {
	apply []Config
	snap  bool
	drops bool
	reply chan reply
}

type reply struct {
	err      error
	sessions []SessionStatus
	drops    map[string]uint64
}

// NewManager starts a Manager on the host's UDP sockets. The listening
// sockets (port 3784) open with the first Apply that needs them.
func NewManager(o Options) *Manager {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return newManager(o, newUDPIO(log))
}

// newManager is NewManager over any transport (tests use an in-memory one).
func newManager(o Options, io netIO) *Manager {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	m := &Manager{log: log, sink: o.Sink, io: io,
		rx: make(chan rxPacket, rxQueue), reqs: make(chan request), quit: make(chan struct{}), done: make(chan struct{}),
		sessions: map[string]*session{}, byDisc: map[uint32]*session{}, byPeer: map[netip.Addr][]*session{},
		dropped: map[string]uint64{}, rng: rand.New(rand.NewChaCha8(seed))}
	go m.loop()
	return m
}

// ErrClosed is returned by Apply after Close.
var ErrClosed = errors.New("bfd: manager closed")

func (m *Manager) call(r request) (reply, bool) {
	r.reply = make(chan reply, 1)
	select {
	case m.reqs <- r:
		return <-r.reply, true
	case <-m.done:
		return reply{}, false
	}
}

// Apply makes the running sessions those of cfgs (start-up and reload). A
// session whose Config is unchanged keeps running untouched; one whose
// intervals, multiplier, passive or max_hops changed is updated in place
// (a Poll sequence when Up); one whose neighbour, source, TTL or hop limit
// changed is replaced; one no longer listed is told AdminDown and removed.
// An invalid list, or a socket that cannot be opened, changes nothing.
func (m *Manager) Apply(cfgs []Config) error {
	r, ok := m.call(request{apply: cfgs})
	if !ok {
		return ErrClosed
	}
	return r.err
}

// Snapshot returns every session's status, sorted by name (nil after Close).
func (m *Manager) Snapshot() []SessionStatus {
	r, _ := m.call(request{snap: true})
	return r.sessions
}

// Dropped counts received packets that matched no session, by reason, plus
// "queue_full" for packets the loop could not take (nil after Close).
func (m *Manager) Dropped() map[string]uint64 {
	r, ok := m.call(request{drops: true})
	if !ok {
		return nil
	}
	return r.drops
}

// Close tells every peer AdminDown (diag 7), closes the sockets and waits
// for every goroutine of the Manager to end. It is idempotent.
func (m *Manager) Close() {
	m.closer.Do(func() { close(m.quit) })
	<-m.done
}

// deliver is the socket readers' hand-off: it never blocks.
func (m *Manager) deliver(p rxPacket) {
	select {
	case m.rx <- p:
	default:
		m.rxFull.Add(1)
	}
}

func (m *Manager) loop() {
	defer close(m.done)
	m.timer = time.NewTimer(time.Hour)
	defer m.timer.Stop()
	for {
		// Packets already queued are served before any timer: after a stall
		// (a loaded host) the detection timer and the packets that would
		// have re-armed it are both due, and the packets came first.
		m.drain()
		m.runTimers(time.Now())
		select {
		case <-m.quit:
			m.shutdown()
			return
		case r := <-m.reqs:
			r.reply <- m.serve(r)
		case p := <-m.rx:
			m.receive(p)
		case <-m.timer.C:
		}
	}
}

// drain serves the queued packets, at most one queue's worth.
func (m *Manager) drain() {
	for range cap(m.rx) {
		select {
		case p := <-m.rx:
			m.receive(p)
		default:
			return
		}
	}
}

// runTimers fires what is due and arms the one timer for the earliest next
// deadline.
func (m *Manager) runTimers(now time.Time) {
	var next time.Time
	for _, s := range m.sessions {
		s.tick(m, now)
		if t := s.next(); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	d := time.Hour
	if !next.IsZero() {
		d = max(next.Sub(now), 0)
	}
	m.timer.Reset(d)
}

func (m *Manager) serve(r request) reply {
	switch {
	case r.snap:
		return reply{sessions: m.snapshot()}
	case r.drops:
		d := make(map[string]uint64, len(m.dropped)+1)
		for k, v := range m.dropped {
			d[k] = v
		}
		if n := m.rxFull.Load(); n > 0 {
			d["queue_full"] = n
		}
		return reply{drops: d}
	}
	return reply{err: m.apply(r.apply, time.Now())}
}

func (m *Manager) shutdown() {
	now := time.Now()
	for _, s := range m.sessions {
		s.adminDown(m, now)
		_ = s.conn.close()
	}
	m.io.close()
}

// send implements output.
func (m *Manager) send(s *session, p *Packet) {
	var buf [headerLen]byte
	if err := s.conn.send(p.Append(buf[:0])); err != nil {
		s.txErrors++
		m.log.Debug("bfd: send", "session", s.cfg.Name, "err", err)
	}
}

// emit implements output. The Sink must only post to a buffered channel.
func (m *Manager) emit(e Event) {
	m.log.Info("bfd: session state", "session", e.Name, "state", e.State.String(), "diag", e.Diag)
	if m.sink != nil {
		m.sink(e)
	}
}

// receive demultiplexes one datagram (6.8.6): by Your Discriminator, or by
// the peer's address while it is zero.
func (m *Manager) receive(rp rxPacket) {
	now := rp.at
	if now.IsZero() {
		now = time.Now()
	}
	src := rp.src.Unmap().WithZone("")
	p, err := Decode(rp.b)
	if err != nil {
		s := m.byDisc[peekYourDisc(rp.b)]
		if s == nil {
			s = m.byAddr(src, rp.dst)
		}
		m.count(s, Reason(err))
		return
	}
	var s *session
	if p.YourDisc != 0 {
		s = m.byDisc[p.YourDisc]
	} else {
		s = m.byAddr(src, rp.dst)
	}
	switch {
	case s == nil:
		m.count(nil, "no-session")
	case s.cfg.Neighbor.Unmap().WithZone("") != src:
		// A discriminator is no credential: only the configured neighbour
		// may drive the session.
		m.count(s, "wrong-source")
	case !ttlOK(s.cfg, rp.ttl):
		m.count(s, "ttl")
	default:
		s.receive(m, &p, now)
	}
}

// byAddr is the session for a packet from src to dst: the neighbour's
// session whose source_ip is dst, or the one without a source_ip.
func (m *Manager) byAddr(src, dst netip.Addr) *session {
	ss := m.byPeer[src]
	if len(ss) == 1 {
		return ss[0]
	}
	dst = dst.Unmap().WithZone("")
	for _, s := range ss {
		if !s.cfg.Source.IsValid() || s.cfg.Source.Unmap().WithZone("") == dst {
			return s
		}
	}
	return nil
}

func (m *Manager) count(s *session, reason string) {
	if s == nil {
		m.dropped[reason]++
		return
	}
	s.dropped[reason]++
}

// ttlOK is keepalived 2.2.7's rule, observed: a packet is accepted when
// its TTL (hop limit) is at least the TTL (hop limit) this session sends
// minus max_hops ("Packet ttl(254) < 255 - discarding" with the defaults;
// "hop_limit(63) < 64" for IPv6; ttl 250 + max_hops 2 accepts 248, not
// 247). max_hops 255 disables the check.
func ttlOK(c Config, ttl uint8) bool {
	if c.MaxHops == 255 {
		return true
	}
	sent := c.TTL
	if !c.Neighbor.Unmap().Is4() {
		sent = c.HopLimit
	}
	return int(ttl) >= int(sent)-int(c.MaxHops)
}

// newDisc picks a random, non-zero discriminator unique in the Manager.
func (m *Manager) newDisc() uint32 {
	for range 1 << 10 {
		d := m.rng.Uint32()
		if d != 0 && m.byDisc[d] == nil {
			return d
		}
	}
	panic("bfd: no free discriminator") // 1024 collisions among < 2^32: unreachable
}

// Keepalived's bfd_instance defaults (keepalived.conf(5)), for zero fields.
const (
	defaultInterval = 10 * time.Millisecond
	defaultIdleTx   = time.Second
	defaultMult     = 5
	defaultTTL      = 255
	defaultHopLimit = 64
)

// normalize applies the defaults to zero fields.
func normalize(c Config) Config {
	for _, d := range []*time.Duration{&c.MinRx, &c.MinTx} {
		if *d == 0 {
			*d = defaultInterval
		}
	}
	if c.IdleTx == 0 {
		c.IdleTx = defaultIdleTx
	}
	if c.Multiplier == 0 {
		c.Multiplier = defaultMult
	}
	if c.TTL == 0 {
		c.TTL = defaultTTL
	}
	if c.HopLimit == 0 {
		c.HopLimit = defaultHopLimit
	}
	return c
}

func validate(cfgs []Config) ([]Config, error) {
	out := make([]Config, 0, len(cfgs))
	names := map[string]bool{}
	peers := map[netip.Addr][]Config{}
	for _, c := range cfgs {
		c = normalize(c)
		n := c.Neighbor.Unmap().WithZone("")
		switch {
		case c.Name == "":
			return nil, errors.New("bfd: session without a name")
		case names[c.Name]:
			return nil, fmt.Errorf("bfd: %s: defined twice", c.Name)
		case !c.Neighbor.IsValid() || c.Neighbor.IsUnspecified() || c.Neighbor.IsMulticast():
			return nil, fmt.Errorf("bfd: %s: neighbor_ip %v is not a unicast address", c.Name, c.Neighbor)
		case n.Is6() && n.IsLinkLocalUnicast() && c.Neighbor.Zone() == "" && c.Source.Zone() == "":
			return nil, fmt.Errorf("bfd: %s: link-local neighbor_ip %v needs an interface (%v%%eth0)", c.Name, c.Neighbor, c.Neighbor)
		case c.Source.IsValid() && c.Source.Unmap().Is4() != n.Is4():
			return nil, fmt.Errorf("bfd: %s: source_ip %v and neighbor_ip %v differ in family", c.Name, c.Source, c.Neighbor)
		case dupPeer(c, peers[n]) != "":
			// keepalived 2.2.7: "BFD instance b has duplicate source/neighbor
			// address", also when either has no source_ip.
			return nil, fmt.Errorf("bfd: %s: duplicate source/neighbor address %v/%v (%s)", c.Name, c.Source, n, dupPeer(c, peers[n]))
		case c.MinTx < time.Microsecond || c.MinRx < time.Microsecond || c.IdleTx < time.Microsecond:
			return nil, fmt.Errorf("bfd: %s: intervals below 1 µs", c.Name)
		}
		names[c.Name], peers[n] = true, append(peers[n], c)
		out = append(out, c)
	}
	return out, nil
}

// dupPeer names the session of same that c cannot be told apart from.
func dupPeer(c Config, same []Config) string {
	for _, o := range same {
		if !c.Source.IsValid() || !o.Source.IsValid() || c.Source.Unmap() == o.Source.Unmap() {
			return o.Name
		}
	}
	return ""
}

// sameIdentity: what a session cannot change in place (its socket): the
// addresses and the TTL (IPv4) or hop limit (IPv6) it sends with.
func sameIdentity(a, b Config) bool {
	if a.Neighbor != b.Neighbor || a.Source != b.Source {
		return false
	}
	if a.Neighbor.Unmap().Is4() {
		return a.TTL == b.TTL
	}
	return a.HopLimit == b.HopLimit
}

func (m *Manager) apply(cfgs []Config, now time.Time) error {
	cfgs, err := validate(cfgs)
	if err != nil {
		return err
	}
	// Open every socket first, so a failure changes nothing.
	conns := map[string]sessionConn{}
	fail := func(err error) error {
		for _, c := range conns {
			_ = c.close()
		}
		return err
	}
	for _, c := range cfgs {
		if old := m.sessions[c.Name]; old != nil && sameIdentity(old.cfg, c) {
			continue
		}
		if err := m.io.listen(c.Neighbor.Unmap().Is4(), m.deliver); err != nil {
			return fail(fmt.Errorf("bfd: %s: listen: %w", c.Name, err))
		}
		conn, err := m.io.open(c)
		if err != nil {
			return fail(fmt.Errorf("bfd: %s: %w", c.Name, err))
		}
		conns[c.Name] = conn
	}
	keep := map[string]bool{}
	for _, c := range cfgs {
		if conns[c.Name] == nil {
			keep[c.Name] = true
		}
	}
	var replaced []Event
	for name, s := range m.sessions {
		if keep[name] {
			continue
		}
		if conns[name] != nil && s.state == Up {
			// Replaced under the same name: the tracker saw it Up and must
			// see it leave Up (it comes back through the new session).
			replaced = append(replaced, Event{Name: name, State: Down, Diag: DiagAdminDown, At: now})
		}
		m.remove(s, now)
	}
	for _, e := range replaced {
		m.emit(e)
	}
	for _, c := range cfgs {
		if s := m.sessions[c.Name]; s != nil {
			if s.cfg != c {
				s.reconfigure(c, now)
			}
			continue
		}
		s := newSession(c, m.newDisc(), conns[c.Name], now, m.rng)
		n := c.Neighbor.Unmap().WithZone("")
		m.sessions[c.Name], m.byDisc[s.localDisc], m.byPeer[n] = s, s, append(m.byPeer[n], s)
	}
	return nil
}

// remove tells the peer AdminDown and forgets the session. No Event for a
// session no longer configured: what tracked it is gone with it (apply
// reports a replaced one).
func (m *Manager) remove(s *session, now time.Time) {
	s.adminDown(m, now)
	_ = s.conn.close()
	delete(m.sessions, s.cfg.Name)
	delete(m.byDisc, s.localDisc)
	n := s.cfg.Neighbor.Unmap().WithZone("")
	m.byPeer[n] = slices.DeleteFunc(m.byPeer[n], func(o *session) bool { return o == s })
	if len(m.byPeer[n]) == 0 {
		delete(m.byPeer, n)
	}
}

func (m *Manager) snapshot() []SessionStatus {
	out := make([]SessionStatus, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, s.status())
	}
	sortByName(out)
	return out
}
