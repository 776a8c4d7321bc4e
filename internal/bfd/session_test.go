package bfd

import (
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	ipA = "192.0.2.1"
	ipB = "192.0.2.2"
)

// pair is two Managers with one session each towards the other.
func pair(t *testing.T, f *fabric, mutA, mutB func(*Config)) (a, b *peer) {
	a, b = newPeer(t, f, ipA), newPeer(t, f, ipB)
	id := func(*Config) {}
	if mutA == nil {
		mutA = id
	}
	if mutB == nil {
		mutB = id
	}
	a.apply(t, cfg("s", ipB, mutA))
	b.apply(t, cfg("s", ipA, mutB))
	return a, b
}

func bothUp(t *testing.T, a, b *peer) func() bool {
	return func() bool { return a.status(t, "s").State == Up && b.status(t, "s").State == Up }
}

// TestUpWithinThreePackets: RFC 5880 6.2's three-way handshake. A passive
// side answers the first Down at once (Init), the active side goes Up on
// it and its next packet (Up) brings the passive side Up: three packets.
func TestUpWithinThreePackets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		b := newPeer(t, f, ipB)
		b.apply(t, cfg("s", ipA, func(c *Config) { c.Passive = true }))
		a := newPeer(t, f, ipA)
		a.apply(t, cfg("s", ipB))
		waitFor(t, 2*time.Second, "both Up", bothUp(t, a, b))
		var states []State
		for _, w := range f.log[:3] {
			states = append(states, w.p.State)
		}
		if d := cmp.Diff([]State{Down, Init, Up}, states); d != "" {
			t.Fatalf("handshake (-want +got):\n%s", d)
		}
		if got := b.evs.all(); len(got) != 1 || !got[0].Up || got[0].At != f.log[2].at {
			t.Fatalf("passive side events %+v, want one Up at the third packet (%v)", got, f.log[2].at)
		}
		// Before Up both advertised idle_tx (1 s, as keepalived 2.2.7 on the
		// wire); the Up packet already carries min_tx with a Poll (6.8.3).
		if f.log[0].p.DesiredMinTx != time.Second || f.log[1].p.DesiredMinTx != time.Second {
			t.Errorf("Down/Init advertised %v/%v, want idle_tx 1s", f.log[0].p.DesiredMinTx, f.log[1].p.DesiredMinTx)
		}
		if up := f.log[2].p; up.DesiredMinTx != 10*time.Millisecond || !up.Poll {
			t.Errorf("first Up packet %+v, want min_tx 10ms with Poll", up)
		}
	})
}

// TestPollFinalOnUp: reaching Up changes Desired Min TX from idle_tx to
// min_tx; the Poll is answered by a Final and both sides then transmit at
// the negotiated 10 ms (75-100 % jitter).
func TestPollFinalOnUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		a, b := pair(t, f, nil, nil)
		waitFor(t, 3*time.Second, "both Up", bothUp(t, a, b))
		waitFor(t, time.Second, "polls done", func() bool {
			return !a.status(t, "s").Polling && !b.status(t, "s").Polling
		})
		sawPoll, sawFinal := false, false
		for _, w := range f.log {
			sawPoll = sawPoll || w.p.Poll
			sawFinal = sawFinal || w.p.Final
		}
		if !sawPoll || !sawFinal {
			t.Fatalf("poll %v final %v on the wire", sawPoll, sawFinal)
		}
		for _, p := range []*peer{a, b} {
			if st := p.status(t, "s"); st.TxInterval != 10*time.Millisecond || st.DetectTime != 30*time.Millisecond {
				t.Errorf("tx %v detect %v, want 10ms/30ms", st.TxInterval, st.DetectTime)
			}
		}
		start := len(f.sent(ipA))
		time.Sleep(time.Second)
		checkGaps(t, f.sent(ipA)[start:], 10*time.Millisecond, 3)
	})
}

// checkGaps asserts every gap between consecutive packets is within 6.8.7's
// jitter of interval: [75 %, 100 %), or [75 %, 90 %] when mult is 1.
func checkGaps(t *testing.T, ws []wirePacket, interval time.Duration, mult uint8) {
	t.Helper()
	if len(ws) < 10 {
		t.Fatalf("only %d packets", len(ws))
	}
	hi := interval
	if mult == 1 {
		hi = interval * 90 / 100
	}
	for i := 1; i < len(ws); i++ {
		if ws[i].p.Final || ws[i-1].p.Final {
			continue // a Final leaves at once, off the schedule
		}
		g := ws[i].at.Sub(ws[i-1].at)
		if g < interval*75/100 || g > hi {
			t.Fatalf("gap %d: %v outside [%v, %v] of %v", i, g, interval*75/100, hi, interval)
		}
	}
}

// TestDownAfterDetectionTime: with the peer silent, Up goes Down with diag
// 1 exactly one detection time (remote mult x max(min_rx, remote tx) =
// 3 x 10 ms) after the last packet heard and says so at once (keepalived
// 2.2.7 sends its Down diag 1 packet at the expiry, seen on the wire); the
// peer, hearing that Down before its own detection time, goes Down with
// diag 3.
func TestDownAfterDetectionTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		a, b := pair(t, f, nil, nil)
		waitFor(t, 3*time.Second, "both Up", bothUp(t, a, b))
		waitFor(t, time.Second, "polls done", func() bool {
			return !a.status(t, "s").Polling && !b.status(t, "s").Polling
		})
		f.block(ipB, ipA, true)
		waitFor(t, time.Second, "A Down", func() bool { return a.status(t, "s").State == Down })
		fromB := f.sent(ipB)
		last := fromB[len(fromB)-1].at
		evs := a.evs.all()
		down := evs[len(evs)-1]
		if down.Up || down.State != Down || down.Diag != DiagTimeExpired {
			t.Fatalf("A's last event %+v, want Down diag 1", down)
		}
		if got := down.At.Sub(last); got != 30*time.Millisecond {
			t.Fatalf("Down %v after the last packet, want the detection time 30ms", got)
		}
		waitFor(t, time.Second, "B Down", func() bool { return b.status(t, "s").State == Down })
		if evs := b.evs.all(); evs[len(evs)-1].Diag != DiagNeighborDown {
			t.Fatalf("B's events %+v, want Down diag 3", evs)
		}
		if st := a.status(t, "s"); st.RemoteDisc != 0 || st.LastDiag != DiagTimeExpired {
			t.Fatalf("after timeout: remote disc %x, last diag %d; want 0 (6.8.1) and 1", st.RemoteDisc, st.LastDiag)
		}
		fromA := f.sent(ipA)
		if w := fromA[len(fromA)-1]; w.at != down.At || w.p.State != Down || w.p.Diag != DiagTimeExpired ||
			w.p.DesiredMinTx != time.Second || w.p.YourDisc != 0 {
			t.Fatalf("A's packet at expiry %+v at %v, want Down diag 1, idle_tx 1s, your disc 0 at %v", w.p, w.at, down.At)
		}
	})
}

// TestPeerAdminDown: the peer's Close sends AdminDown with diag 7; the
// local side goes Down with diag 3 at once (no detection time).
func TestPeerAdminDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		a, b := pair(t, f, nil, nil)
		waitFor(t, 3*time.Second, "both Up", bothUp(t, a, b))
		b.m.Close()
		closed := time.Now()
		fromB := f.sent(ipB)
		if p := fromB[len(fromB)-1].p; p.State != AdminDown || p.Diag != DiagAdminDown {
			t.Fatalf("B's last packet %+v, want AdminDown diag 7", p)
		}
		waitFor(t, time.Second, "A Down", func() bool { return a.status(t, "s").State == Down })
		evs := a.evs.all()
		if e := evs[len(evs)-1]; e.Up || e.Diag != DiagNeighborDown || e.At != closed {
			t.Fatalf("A's event %+v, want Down diag 3 at %v", e, closed)
		}
	})
}

// TestPollChangesRate: a reload raising min_tx on A polls; while no Final
// has come back A keeps the old 10 ms rate (6.8.3); after it, 50 ms.
// Raising min_rx on A slows B's transmissions to 50 ms.
func TestPollChangesRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		a, b := pair(t, f, nil, nil)
		waitFor(t, 3*time.Second, "both Up", bothUp(t, a, b))
		waitFor(t, time.Second, "polls done", func() bool {
			return !a.status(t, "s").Polling && !b.status(t, "s").Polling
		})
		f.block(ipB, ipA, true) // no Final yet
		n := len(f.sent(ipA))
		a.apply(t, cfg("s", ipB, func(c *Config) { c.MinTx = 50 * time.Millisecond }))
		time.Sleep(20 * time.Millisecond) // less than A's 30 ms detection time
		polls := f.sent(ipA)[n:]
		for _, w := range polls {
			if !w.p.Poll || w.p.DesiredMinTx != 50*time.Millisecond {
				t.Fatalf("while polling: %+v, want P and 50ms", w.p)
			}
		}
		if len(polls) < 2 {
			t.Fatalf("%d packets in 20 ms while polling: the old 10 ms rate must hold", len(polls))
		}
		f.block(ipB, ipA, false)
		waitFor(t, time.Second, "A's poll done", func() bool { return !a.status(t, "s").Polling })
		if st := a.status(t, "s"); st.TxInterval != 50*time.Millisecond || st.State != Up {
			t.Fatalf("A after Final: %v tx %v, want Up 50ms", st.State, st.TxInterval)
		}
		n = len(f.sent(ipA))
		time.Sleep(time.Second)
		checkGaps(t, f.sent(ipA)[n:], 50*time.Millisecond, 3)

		a.apply(t, cfg("s", ipB, func(c *Config) { c.MinTx = 50 * time.Millisecond; c.MinRx = 50 * time.Millisecond }))
		waitFor(t, time.Second, "B slows", func() bool { return b.status(t, "s").TxInterval == 50*time.Millisecond })
		waitFor(t, time.Second, "A's poll done", func() bool { return !a.status(t, "s").Polling })
		n = len(f.sent(ipB))
		time.Sleep(time.Second)
		checkGaps(t, f.sent(ipB)[n:], 50*time.Millisecond, 3)
		if len(a.evs.all()) != 1 || len(b.evs.all()) != 1 {
			t.Fatalf("events %+v / %+v: rate changes must not leave Up", a.evs.all(), b.evs.all())
		}
	})
}

// TestPassiveWaits: a passive session sends nothing until spoken to
// (RFC 5880 6.1), then comes Up.
func TestPassiveWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		a := newPeer(t, f, ipA)
		b := newPeer(t, f, ipB)
		a.apply(t, cfg("s", ipB, func(c *Config) { c.Passive = true }))
		// B's Manager runs but has no session: A must stay silent.
		time.Sleep(10 * time.Second)
		if n := len(f.sent(ipA)); n != 0 {
			t.Fatalf("passive session sent %d packets unheard", n)
		}
		b.apply(t, cfg("s", ipA))
		waitFor(t, 3*time.Second, "both Up", bothUp(t, a, b))
	})
}

// TestReloadKeepsSession: Apply with the same list changes nothing (no
// event, same discriminators, no AdminDown); removing the session tells
// the peer AdminDown, which goes Down with diag 3.
func TestReloadKeepsSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		a, b := pair(t, f, nil, func(c *Config) { c.MaxHops = 255 })
		waitFor(t, 3*time.Second, "both Up", bothUp(t, a, b))
		before := a.status(t, "s")
		a.apply(t, cfg("s", ipB), cfg("t", "192.0.2.3"))
		time.Sleep(time.Second)
		after := a.status(t, "s")
		if after.State != Up || after.LocalDisc != before.LocalDisc || after.Since != before.Since {
			t.Fatalf("reload touched the session: %+v -> %+v", before, after)
		}
		for _, w := range f.sent(ipA) {
			if w.p.State == AdminDown {
				t.Fatalf("reload sent AdminDown: %+v", w.p)
			}
		}
		if len(a.evs.all()) != 1 || len(b.evs.all()) != 1 {
			t.Fatalf("events %+v / %+v, want only the first Up", a.evs.all(), b.evs.all())
		}
		// A new TTL needs a new socket: the session is replaced, the
		// tracker sees it leave Up (diag 7) and come back.
		a.apply(t, cfg("s", ipB, func(c *Config) { c.TTL = 254 }))
		waitFor(t, 3*time.Second, "replaced session Up", func() bool { return len(a.evs.all()) == 3 })
		if evs := a.evs.all(); evs[1].Up || evs[1].Diag != DiagAdminDown || !evs[2].Up {
			t.Fatalf("A's events on replacement %+v, want Down diag 7 then Up", evs)
		}
		if st := a.status(t, "s"); st.LocalDisc == before.LocalDisc {
			t.Fatalf("replaced session kept discriminator %x", st.LocalDisc)
		}
		a.apply(t, cfg("t", "192.0.2.3"))
		waitFor(t, time.Second, "B Down", func() bool { return b.status(t, "s").State == Down })
		evs := b.evs.all()
		if e := evs[len(evs)-1]; e.Diag != DiagNeighborDown {
			t.Fatalf("B's event %+v, want diag 3", e)
		}
		fromA := f.sent(ipA)
		if p := fromA[len(fromA)-1].p; p.State != AdminDown || p.Diag != DiagAdminDown {
			t.Fatalf("A's last packet %+v, want AdminDown diag 7", p)
		}
		if got := len(a.m.Snapshot()); got != 1 {
			t.Fatalf("%d sessions after removal, want 1", got)
		}
	})
}

// TestReceiveDrops: each drop is counted by reason, against the session
// when it can be told, never acted on.
func TestReceiveDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		a := newPeer(t, f, ipA)
		a.apply(t, cfg("s", ipB), cfg("m", "192.0.2.9", func(c *Config) { c.MaxHops = 255 }))
		disc := a.status(t, "s").LocalDisc
		down := Packet{State: Down, DetectMult: 3, MyDisc: 77, RequiredMinRx: time.Millisecond}
		a.io.inject(down.Append(nil), ipB, 254) // keepalived: "ttl(254) < 255"
		a.io.inject(down.Append(nil), "192.0.2.9", 1)
		a.io.inject(down.Append(nil), "192.0.2.50", 255)
		up := Packet{State: Up, DetectMult: 3, MyDisc: 77, YourDisc: disc}
		a.io.inject(up.Append(nil), "192.0.2.50", 255)
		bad := up.Append(nil)
		bad[0] = 3 << 5
		a.io.inject(bad, ipB, 255)
		auth := append(up.Append(nil), 1, 2)
		auth[1] |= flagAuth
		auth[3] = 26
		a.io.inject(auth, ipB, 255)
		a.io.inject([]byte("garbage"), "192.0.2.77", 255)
		for range 1000 {
			a.io.inject([]byte{0x20}, ipB, 255) // a flood costs a decode and a counter
		}
		waitFor(t, time.Second, "counted", func() bool { return a.status(t, "s").Dropped["short"] == 1000 })
		want := map[string]uint64{"ttl": 1, "wrong-source": 1, "bad-version": 1, "auth": 1, "short": 1000}
		if d := cmp.Diff(want, a.status(t, "s").Dropped); d != "" {
			t.Errorf("session drops (-want +got):\n%s", d)
		}
		if st := a.status(t, "m"); st.State != Init || st.RxPackets != 1 {
			t.Errorf("max_hops 255 session: %v rx %d, want Init after a TTL-1 packet", st.State, st.RxPackets)
		}
		if d := cmp.Diff(map[string]uint64{"no-session": 1, "bad-version": 1}, a.m.Dropped()); d != "" {
			t.Errorf("manager drops (-want +got):\n%s", d)
		}
		if st := a.status(t, "s"); st.State != Down || st.RxPackets != 0 {
			t.Errorf("dropped packets moved the session: %v rx %d", st.State, st.RxPackets)
		}
	})
}

func TestTTLRule(t *testing.T) {
	v4 := cfg("s", ipB)
	v6 := cfg("s", "2001:db8::2")
	hops := func(c Config, n uint8) Config { c.MaxHops = n; return c }
	ttl := func(c Config, n uint8) Config { c.TTL = n; return c }
	for _, tc := range []struct {
		c    Config
		ttl  uint8
		want bool
	}{
		{v4, 255, true}, {v4, 254, false}, {v6, 64, true}, {v6, 63, false}, {v6, 255, true},
		{hops(ttl(v4, 250), 2), 248, true}, {hops(ttl(v4, 250), 2), 247, false},
		{hops(v4, 255), 1, true}, {hops(v4, 254), 1, true}, {hops(v4, 253), 1, false},
	} {
		if got := ttlOK(tc.c, tc.ttl); got != tc.want {
			t.Errorf("ttl %d hop %d sent %d/%d max_hops %d: %v, want %v", tc.ttl, tc.c.HopLimit, tc.c.TTL,
				tc.c.HopLimit, tc.c.MaxHops, got, tc.want)
		}
	}
}

func TestJitter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mult := range []uint8{1, 3} {
		s := &session{cfg: Config{Multiplier: mult}, rng: rng}
		lo, hi := 75*time.Millisecond, 99*time.Millisecond
		if mult == 1 {
			hi = 90 * time.Millisecond
		}
		seen := map[time.Duration]bool{}
		for range 10000 {
			d := s.jitter(100 * time.Millisecond)
			if d < lo || d > hi {
				t.Fatalf("mult %d: %v outside [%v, %v]", mult, d, lo, hi)
			}
			seen[d] = true
		}
		if !seen[lo] || !seen[hi] {
			t.Errorf("mult %d: the bounds %v and %v never drawn", mult, lo, hi)
		}
	}
}

func TestApplyRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		a := newPeer(t, f, ipA)
		a.apply(t, cfg("s", ipB))
		disc := a.status(t, "s").LocalDisc
		for _, bad := range [][]Config{
			{cfg("s", ipB), cfg("s", "192.0.2.3")},
			{cfg("s", ipB), cfg("t", ipB)},
			{cfg("s", ipB), cfg("t", ipB, func(c *Config) { c.Source = netip6(ipA) })},
			{cfg("s", ipB, func(c *Config) { c.Source = netip6(ipA) }), cfg("t", ipB, func(c *Config) { c.Source = netip6(ipA) })},
			{cfg("", ipB)},
			{cfg("s", "0.0.0.0")},
			{cfg("s", "224.0.0.1")},
			{cfg("s", ipB, func(c *Config) { c.Source = netip6("2001:db8::1") })},
			{cfg("s", "fe80::2")},
		} {
			if err := a.m.Apply(bad); err == nil {
				t.Errorf("Apply(%+v) accepted", bad)
			}
		}
		if ss := a.m.Snapshot(); len(ss) != 1 || ss[0].LocalDisc != disc {
			t.Fatalf("a refused Apply changed the sessions: %+v", ss)
		}
		// One neighbour, two distinct source_ips: accepted (keepalived 2.2.7
		// too), and told apart by the packet's destination.
		two := []Config{
			cfg("s", ipB, func(c *Config) { c.Source = netip6(ipA) }),
			cfg("t", ipB, func(c *Config) { c.Source = netip6("192.0.2.5") }),
		}
		if err := a.m.Apply(two); err != nil {
			t.Fatalf("two sources towards one neighbour: %v", err)
		}
		down := Packet{State: Down, DetectMult: 3, MyDisc: 5, RequiredMinRx: time.Millisecond}
		a.io.inject(down.Append(nil), ipB, 255) // to ipA (inject's dst): session s
		waitFor(t, time.Second, "s Init", func() bool { return a.status(t, "s").State == Init })
		if st := a.status(t, "t"); st.RxPackets != 0 {
			t.Fatalf("the packet to %s reached t (source 192.0.2.5): %+v", ipA, st)
		}
		a.m.Close()
		if err := a.m.Apply(nil); err != ErrClosed {
			t.Fatalf("Apply after Close: %v", err)
		}
	})
}

// TestIPv6Session: the same handshake over IPv6 with the default hop
// limit 64 and max_hops 0.
func TestIPv6Session(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		a, b := newPeer(t, f, "2001:db8::1"), newPeer(t, f, "2001:db8::2")
		a.apply(t, cfg("s", "2001:db8::2"))
		b.apply(t, cfg("s", "2001:db8::1"))
		waitFor(t, 3*time.Second, "both Up", bothUp(t, a, b))
	})
}

type nopOut struct{ sent []Packet }

func (o *nopOut) send(_ *session, p *Packet) { o.sent = append(o.sent, *p) }
func (o *nopOut) emit(Event)                 {}

// TestRescheduleOnRateChange: when the peer's Required Min RX changes, the
// next packet is one new (jittered) interval after the last one sent,
// never re-drawn from the moment of the change (which stretched FRR's
// 1 s -> 100 ms switch into a 1.3 s gap) and never in the past.
func TestRescheduleOnRateChange(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name     string
		from, to time.Duration
		at       time.Duration // when the peer's new value arrives, after the last packet
		lo, hi   time.Duration // bounds of the next packet, after the last one
	}{
		{"faster, already due", time.Second, 100 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond},
		{"faster, not yet due", time.Second, 100 * time.Millisecond, 10 * time.Millisecond, 75 * time.Millisecond, 100 * time.Millisecond},
		{"slower", 100 * time.Millisecond, time.Second, 10 * time.Millisecond, 750 * time.Millisecond, time.Second},
	} {
		out := &nopOut{}
		c := cfg("s", ipB, func(c *Config) { c.MinTx = time.Millisecond; c.IdleTx = time.Millisecond; c.Multiplier = 3 })
		s := newSession(c, 1, nil, t0, rng)
		s.remoteMinRx, s.heard = tc.from, true
		s.transmit(out, t0)
		p := Packet{State: Down, DetectMult: 3, MyDisc: 9, RequiredMinRx: tc.to, DesiredMinTx: tc.to}
		s.receive(out, &p, t0.Add(tc.at))
		got := s.nextTx.Sub(t0)
		if got < tc.lo || got > tc.hi {
			t.Errorf("%s: next packet %v after the last, want within [%v, %v]", tc.name, got, tc.lo, tc.hi)
		}
	}
}

// TestPeerDemandMode: a peer asking for Demand mode (D bit, both Up) gets
// no periodic packets (RFC 5880 6.8.7) but its Poll gets a Final; clearing
// D restarts the periodic packets.
func TestPeerDemandMode(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := &nopOut{}
	s := newSession(cfg("s", ipB), 1, nil, t0, rand.New(rand.NewPCG(5, 6)))
	rx := func(at time.Duration, p Packet) { s.receive(out, &p, t0.Add(at)) }
	base := Packet{DetectMult: 3, MyDisc: 9, YourDisc: 1, DesiredMinTx: 10 * time.Millisecond, RequiredMinRx: 10 * time.Millisecond}
	down, up := base, base
	down.State, up.State = Down, Up
	rx(0, down) // Down -> Init
	rx(time.Millisecond, up)
	if s.state != Up || s.nextTx.IsZero() {
		t.Fatalf("state %v next %v, want Up and sending", s.state, s.nextTx)
	}
	s.finishPoll()
	demand := up
	demand.Demand = true
	rx(2*time.Millisecond, demand)
	if !s.nextTx.IsZero() {
		t.Fatalf("periodic packet at %v to a peer in Demand mode", s.nextTx)
	}
	n := len(out.sent)
	poll := demand
	poll.Poll = true
	rx(3*time.Millisecond, poll)
	if len(out.sent) != n+1 || !out.sent[n].Final {
		t.Fatalf("Poll in Demand mode answered with %+v", out.sent[n:])
	}
	if !s.nextTx.IsZero() {
		t.Fatalf("periodic packets resumed after the Final")
	}
	rx(4*time.Millisecond, up)
	if s.nextTx.IsZero() {
		t.Fatalf("D cleared: periodic packets must resume")
	}
}

// TestStalledLoopServesPacketsFirst: when the loop was held up past a
// detection deadline (a loaded host; here a Sink that takes 100 ms), the
// packets that arrived meanwhile are served before the timer, so a live
// peer is not declared Down (architecture: a master-down expiry first
// serves the adverts that arrived before it).
func TestStalledLoopServesPacketsFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFabric()
		evs := &events{}
		aio := f.node(ipA)
		a := &peer{io: aio, evs: evs}
		a.m = newManager(Options{Sink: func(e Event) {
			evs.sink(e)
			if e.Name == "t" && e.Up {
				time.Sleep(100 * time.Millisecond) // the stall
			}
		}}, aio)
		t.Cleanup(a.m.Close)
		b, c := newPeer(t, f, ipB), newPeer(t, f, "192.0.2.3")
		a.apply(t, cfg("s", ipB))
		// B sends every 10 ms, A's detection time is 30 ms; B asks A for
		// one packet a second, so B's own detection (3 s) outlives the stall.
		b.apply(t, cfg("s", ipA, func(c *Config) { c.MinRx = time.Second }))
		waitFor(t, 3*time.Second, "s Up", bothUp(t, a, b))
		waitFor(t, time.Second, "polls done", func() bool { return !a.status(t, "s").Polling && !b.status(t, "s").Polling })
		if st := a.status(t, "s"); st.DetectTime != 30*time.Millisecond {
			t.Fatalf("A's detection time %v, want 30ms", st.DetectTime)
		}
		a.apply(t, cfg("s", ipB), cfg("t", "192.0.2.3"))
		c.apply(t, cfg("t", ipA))
		waitFor(t, 3*time.Second, "t Up", func() bool { return c.status(t, "t").State == Up })
		time.Sleep(200 * time.Millisecond)
		for _, e := range evs.all() {
			if e.Name == "s" && !e.Up {
				t.Fatalf("A declared a live peer Down after its loop stalled: %+v", e)
			}
		}
		if st := a.status(t, "s"); st.State != Up {
			t.Fatalf("s %v, want Up", st.State)
		}
	})
}
