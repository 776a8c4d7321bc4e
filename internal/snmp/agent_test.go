package snmp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeMaster is the master side of AgentX over in-memory pipes: each Dial
// of the subagent hands it a new connection.
type fakeMaster struct {
	conns chan net.Conn
}

func newFakeMaster() *fakeMaster { return &fakeMaster{conns: make(chan net.Conn, 4)} }

func (m *fakeMaster) dial(ctx context.Context) (net.Conn, error) {
	a, b := net.Pipe()
	select {
	case m.conns <- b:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// masterConn is one accepted session.
type masterConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (m *fakeMaster) accept(t *testing.T) *masterConn {
	t.Helper()
	select {
	case c := <-m.conns:
		mc := &masterConn{t: t, c: c, br: bufio.NewReader(c)}
		t.Cleanup(func() { c.Close() })
		return mc
	case <-time.After(10 * time.Second):
		t.Fatal("subagent did not connect")
		return nil
	}
}

func (mc *masterConn) read() *pdu {
	mc.t.Helper()
	_ = mc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	hb := make([]byte, headerLen)
	if _, err := io.ReadFull(mc.br, hb); err != nil {
		mc.t.Fatalf("master read: %v", err)
	}
	h, err := decodeHeader(hb)
	if err != nil {
		mc.t.Fatal(err)
	}
	b := append(hb, make([]byte, h.PayloadLen)...)
	if _, err := io.ReadFull(mc.br, b[headerLen:]); err != nil {
		mc.t.Fatal(err)
	}
	p, err := decodePDU(b)
	if err != nil {
		mc.t.Fatal(err)
	}
	return p
}

func (mc *masterConn) write(b []byte) {
	mc.t.Helper()
	_ = mc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := mc.c.Write(b); err != nil {
		mc.t.Fatalf("master write: %v", err)
	}
}

// handshake answers the Open (giving session id) and every Register.
func (mc *masterConn) handshake(session uint32, registers int) []OID {
	mc.t.Helper()
	p := mc.read()
	if p.Type != pduOpen {
		mc.t.Fatalf("first PDU type %d, want Open", p.Type)
	}
	mc.write(encodeResponse(header{SessionID: session, PacketID: p.PacketID}, 0, 0, 0, nil))
	var subtrees []OID
	for range registers {
		p := mc.read()
		if p.Type != pduRegister || p.SessionID != session {
			mc.t.Fatalf("PDU type %d session %d, want Register on %d", p.Type, p.SessionID, session)
		}
		mc.write(encodeResponse(p.header, 0, 0, 0, nil))
		subtrees = append(subtrees, nil)
	}
	return subtrees
}

// ask sends a request and returns the Response's varbinds.
func (mc *masterConn) ask(typ uint8, session, packet uint32, nonRep, maxRep uint16, rs ...searchRange) (*pdu, []VarBind) {
	mc.t.Helper()
	mc.write(encodeRequest(typ, session, packet, nonRep, maxRep, rs))
	for range 4 {
		p := mc.read()
		if p.Type == pduResponse && p.PacketID == packet {
			return p, p.VarBinds
		}
	}
	mc.t.Fatal("no response")
	return nil, nil
}

func testTree() Tree {
	var b Builder
	ops := MustOID("1.3.6.1.2.1.207.1.1.1.1")
	b.Add(ops.Append(7), []uint32{3, 51, 1}, Gauge32(100))
	b.Add(ops.Append(6), []uint32{3, 52, 2}, Integer(2))
	b.Add(ops.Append(6), []uint32{3, 51, 1}, Integer(3))
	b.Add(MustOID("1.3.6.1.2.1.207.1.2.1"), []uint32{0}, Counter64(0))
	return b.Tree()
}

func startTestAgent(t *testing.T, m *fakeMaster) *Agent {
	t.Helper()
	a, err := Start(Config{Subtrees: []OID{VRRPv3MIB, VRRPv2MIB}, View: testTree, Dial: m.dial, RetryMax: 50 * time.Millisecond, Descr: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func TestAgentServesGetNextBulk(t *testing.T) {
	m := newFakeMaster()
	startTestAgent(t, m)
	mc := m.accept(t)
	mc.handshake(42, 2)

	_, got := mc.ask(pduGet, 42, 100, 0, 0,
		searchRange{Start: MustOID("1.3.6.1.2.1.207.1.1.1.1.7.3.51.1")},
		searchRange{Start: MustOID("1.3.6.1.2.1.207.1.1.1.1.7.3.52.2")}, // other row exists in column 6 only: noSuchInstance
		searchRange{Start: MustOID("1.3.6.1.2.1.207.9")})
	want := []VarBind{
		{Name: MustOID("1.3.6.1.2.1.207.1.1.1.1.7.3.51.1"), Value: Gauge32(100)},
		{Name: MustOID("1.3.6.1.2.1.207.1.1.1.1.7.3.52.2"), Value: Value{Type: typeNoSuchInst}},
		{Name: MustOID("1.3.6.1.2.1.207.9"), Value: Value{Type: typeNoSuchObj}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Get (-want +got):\n%s", diff)
	}

	// GetNext from the subtree root, bounded by an end, and past the end.
	_, got = mc.ask(pduGetNext, 42, 101, 0, 0,
		searchRange{Start: MustOID("1.3.6.1.2.1.207")},
		searchRange{Start: MustOID("1.3.6.1.2.1.207.1.1.1.1.6.3.51.1"), Include: true},
		searchRange{Start: MustOID("1.3.6.1.2.1.207.1.1.1.1.7"), End: MustOID("1.3.6.1.2.1.207.1.1.1.1.7.3.51.1")})
	want = []VarBind{
		testTree().VarBinds()[0],
		testTree().VarBinds()[0],
		{Name: MustOID("1.3.6.1.2.1.207.1.1.1.1.7"), Value: Value{Type: typeEndOfView}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GetNext (-want +got):\n%s", diff)
	}

	// GetBulk: one non-repeater, then the walk continues from each answer.
	_, got = mc.ask(pduGetBulk, 42, 102, 1, 10,
		searchRange{Start: MustOID("1.3.6.1.2.1.207.1.2")},
		searchRange{Start: MustOID("1.3.6.1.2.1.207.1.1")})
	tr := testTree().VarBinds()
	want = []VarBind{tr[3], tr[0], tr[1], tr[2], tr[3], {Name: tr[3].Name, Value: Value{Type: typeEndOfView}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GetBulk (-want +got):\n%s", diff)
	}

	// Set is refused: the MIB is read-only.
	mc.write(frame(header{Type: pduTestSet, SessionID: 42, PacketID: 103}, nil))
	if p := mc.read(); p.Type != pduResponse || p.Error != errNotWritable {
		t.Fatalf("TestSet answered type %d error %d, want notWritable", p.Type, p.Error)
	}
}

// A master that goes away (snmpd restarted) is reconnected to: a new Open
// and the same registrations, and requests are served on the new session.
func TestAgentReconnects(t *testing.T) {
	m := newFakeMaster()
	a := startTestAgent(t, m)
	first := m.accept(t)
	first.handshake(1, 2)
	first.c.Close() // master restarts

	second := m.accept(t)
	second.handshake(2, 2)
	_, got := second.ask(pduGet, 2, 7, 0, 0, searchRange{Start: testTree().VarBinds()[0].Name})
	if len(got) != 1 || !cmp.Equal(got[0], testTree().VarBinds()[0]) {
		t.Fatalf("after reconnect: %v", got)
	}
	if s := a.Stats(); s.Sessions != 2 {
		t.Fatalf("sessions %d, want 2", s.Sessions)
	}

	// A master that closes the session (Close PDU) is reconnected to too.
	second.write(encodeClose(2, 9, 6))
	third := m.accept(t)
	third.handshake(3, 2)
}

// A malformed PDU from the master ends the session (counted) and the
// subagent opens a new one; it does not crash.
func TestAgentSurvivesGarbage(t *testing.T) {
	m := newFakeMaster()
	a := startTestAgent(t, m)
	mc := m.accept(t)
	mc.handshake(5, 2)
	mc.write([]byte{1, pduGet, 0x10, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4, 250, 0, 0, 0})
	m.accept(t).handshake(6, 2)
	if s := a.Stats(); s.ParseErrors != 1 {
		t.Fatalf("parse errors %d, want 1", s.ParseErrors)
	}
}

func TestAgentNotify(t *testing.T) {
	m := newFakeMaster()
	a := startTestAgent(t, m)
	mc := m.accept(t)
	mc.handshake(9, 2)
	trap := []VarBind{{Name: MustOID("1.3.6.1.6.3.1.1.4.1.0"), Value: ObjectID(MustOID("1.3.6.1.2.1.207.0.1"))}}
	if !a.Notify(trap) {
		t.Fatal("Notify refused with room in the queue")
	}
	p := mc.read()
	if p.Type != pduNotify || p.SessionID != 9 || len(p.VarBinds) != 2 {
		t.Fatalf("got PDU type %d session %d varbinds %v", p.Type, p.SessionID, p.VarBinds)
	}
	if p.VarBinds[0].Name.String() != "1.3.6.1.2.1.1.3.0" || p.VarBinds[0].Value.Type != TypeTimeTicks {
		t.Fatalf("first varbind %v, want sysUpTime.0", p.VarBinds[0])
	}
	if diff := cmp.Diff(trap, p.VarBinds[1:]); diff != "" {
		t.Fatalf("trap (-want +got):\n%s", diff)
	}
}

// Notify never blocks: with no session the queue fills and the rest are
// dropped and counted.
func TestNotifyNeverBlocks(t *testing.T) {
	a, err := Start(Config{View: testTree, RetryMax: time.Hour,
		Dial: func(context.Context) (net.Conn, error) { return nil, errors.New("no master") }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for range notifyQueue + 10 {
		a.Notify(nil)
	}
	if s := a.Stats(); s.NotifiesDropped != 10 {
		t.Fatalf("dropped %d, want 10", s.NotifiesDropped)
	}
}

func TestNetwork(t *testing.T) {
	for in, want := range map[string][2]string{
		"":                  {"unix", "/var/agentx/master"},
		"unix:/tmp/x":       {"unix", "/tmp/x"},
		"/tmp/y":            {"unix", "/tmp/y"},
		"tcp:127.0.0.1:705": {"tcp", "127.0.0.1:705"},
		"localhost:705":     {"tcp", "localhost:705"},
	} {
		n, a, err := Network(in)
		if err != nil || n != want[0] || a != want[1] {
			t.Errorf("Network(%q) = %q %q %v, want %v", in, n, a, err, want)
		}
	}
	for _, bad := range []string{"udp:127.0.0.1:705", "nonsense"} {
		if _, _, err := Network(bad); err == nil {
			t.Errorf("Network(%q) accepted", bad)
		}
	}
}

// A master that stops answering (its host gone: no EOF on TCP) is found
// out by Ping and the session reopened; one that answers Pings keeps it.
func TestAgentPingsTheMaster(t *testing.T) {
	m := newFakeMaster()
	a, err := Start(Config{Subtrees: []OID{VRRPv3MIB}, View: testTree, Dial: m.dial, RetryMax: 50 * time.Millisecond,
		PingInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	mc := m.accept(t)
	mc.handshake(11, 1)
	for range 5 { // answered Pings: the session stays
		p := mc.read()
		if p.Type != pduPing || p.SessionID != 11 {
			t.Fatalf("PDU type %d session %d, want Ping on 11", p.Type, p.SessionID)
		}
		mc.write(encodeResponse(p.header, 0, 0, 0, nil))
	}
	// Silence: the subagent gives up on this session and dials again. The
	// old connection is read on in the background so writes do not block.
	go func() {
		for {
			if _, err := mc.c.Read(make([]byte, 64)); err != nil {
				return
			}
		}
	}()
	m.accept(t).handshake(12, 1)
	// The subagent counts the session after reading the last Register's
	// Response: poll, bounded.
	for deadline := time.Now().Add(10 * time.Second); a.Stats().Sessions != 2; {
		if time.Now().After(deadline) {
			t.Fatalf("sessions %d, want 2", a.Stats().Sessions)
		}
		time.Sleep(time.Millisecond)
	}
}
