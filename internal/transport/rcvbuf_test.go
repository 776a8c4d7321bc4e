package transport

import (
	"net/netip"
	"testing"
)

// sizedConn is a Conn that reports a receive buffer.
type sizedConn struct {
	Conn
	size int
}

func (c sizedConn) ReadBufferSize() int { return c.size }

func TestMuxRegisteredAndReadBuffer(t *testing.T) {
	seg := NewSegment()
	m := NewMux(seg.Attach(netip.MustParseAddr("192.0.2.1")))
	h := func([]byte, Meta) {}
	for vrid := uint8(1); vrid <= 3; vrid++ {
		if err := m.Register(vrid, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Register(2, h); err == nil {
		t.Fatal("second Register of VRID 2 succeeded")
	}
	m.Unregister(2)
	m.Unregister(2) // twice: counted once
	m.Unregister(9) // never registered
	if got := m.Registered(); got != 2 {
		t.Errorf("Registered() = %d, want 2", got)
	}
	if got := m.ReadBufferSize(); got != -1 {
		t.Errorf("segment ReadBufferSize() = %d, want -1 (unknown)", got)
	}

	sm := NewMux(sizedConn{Conn: seg.Attach(netip.MustParseAddr("192.0.2.2")), size: 212992})
	if got := sm.ReadBufferSize(); got != 0 {
		t.Errorf("before any Register ReadBufferSize() = %d, want 0", got)
	}
	if err := sm.Register(1, h); err != nil {
		t.Fatal(err)
	}
	if got := sm.ReadBufferSize(); got != 212992 {
		t.Errorf("ReadBufferSize() = %d, want the conn's 212992", got)
	}
}
