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

// TestRxBufPolicyShare: keepalived 2.2.7's arithmetic, as observed with
// strace on two instances of 40-byte VRRPv2 adverts on a 1500-byte MTU
// link (the request is the sum of the two shares).
func TestRxBufPolicyShare(t *testing.T) {
	tests := []struct {
		name      string
		p         RxBufPolicy
		kernelRx  [2]int
		wantTotal int
	}{
		{"no knob", RxBufPolicy{}, [2]int{}, 0},
		{"NUMBER 100000", RxBufPolicy{Kind: RxBufNumber, Number: 100000}, [2]int{}, 200000},
		{"MTU", RxBufPolicy{Kind: RxBufMTU}, [2]int{}, 9000},
		{"MTU multiplier 5", RxBufPolicy{Kind: RxBufMTU, Multiplier: 5}, [2]int{}, 15000},
		{"ADVERT", RxBufPolicy{Kind: RxBufAdvert}, [2]int{}, 240},
		{"kernel_rx_buf_size on one, no policy", RxBufPolicy{}, [2]int{50000, 0}, 50000},
		{"kernel_rx_buf_size on one, MTU", RxBufPolicy{Kind: RxBufMTU}, [2]int{50000, 0}, 54500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shares := map[uint8]int{}
			for i, k := range tt.kernelRx {
				if s := tt.p.Share(1500, 40, k); s > 0 {
					shares[uint8(i+1)] = s
				}
			}
			got := socketRequest(shares, 2, 212992)
			if tt.wantTotal == 0 {
				if got != 0 {
					t.Errorf("request %d, want 0 (the system default holds 2 instances)", got)
				}
				return
			}
			if got != tt.wantTotal {
				t.Errorf("request %d, want %d", got, tt.wantTotal)
			}
		})
	}
}

// TestSocketRequestDefault: with no knob a socket gets DefaultShare per
// instance, never less than the system default.
func TestSocketRequestDefault(t *testing.T) {
	const sys = 212992
	for _, tt := range []struct{ n, want int }{
		{0, 0}, {1, 0}, {17, 0}, // 2 × 17 × 6144 = 208,896 fits the default
		{18, 18 * DefaultShare}, {255, 255 * DefaultShare},
	} {
		if got := socketRequest(nil, tt.n, sys); got != tt.want {
			t.Errorf("%d instances: request %d, want %d", tt.n, got, tt.want)
		}
	}
}

// setterConn records receive-buffer requests like a kernel (doubling them).
type setterConn struct {
	Conn
	initial int
	size    int
	calls   int
}

func (c *setterConn) ReadBufferSize() int    { return c.size }
func (c *setterConn) InitialReadBuffer() int { return c.initial }
func (c *setterConn) SetReadBuffer(b int) error {
	c.calls++
	if b == 0 {
		c.size = c.initial
		return nil
	}
	c.size = 2 * b
	return nil
}

// TestMuxResizesWithInstances: the buffer follows Register/Unregister and
// the shares; an unchanged request makes no call (a reload that changes
// nothing costs no syscall).
func TestMuxResizesWithInstances(t *testing.T) {
	seg := NewSegment()
	c := &setterConn{Conn: seg.Attach(netip.MustParseAddr("192.0.2.1")), initial: 212992, size: 212992}
	m := NewMux(c)
	h := func([]byte, Meta) {}
	for v := 1; v <= 40; v++ {
		if err := m.Register(uint8(v), h); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := m.ReadBufferSize(), 2*40*DefaultShare; got != want {
		t.Fatalf("40 instances: %d, want %d", got, want)
	}
	calls := c.calls
	if err := m.SetReadBufferShare(3, 0); err != nil { // no knob: no change
		t.Fatal(err)
	}
	if c.calls != calls {
		t.Errorf("unchanged request made %d calls", c.calls-calls)
	}
	if err := m.SetReadBufferShare(3, 50000); err != nil {
		t.Fatal(err)
	}
	if got := m.ReadBufferSize(); got != 100000 {
		t.Errorf("one explicit share of 50000: %d, want 100000 (keepalived: the others add nothing)", got)
	}
	m.Unregister(3) // its share goes with it
	if got, want := m.ReadBufferSize(), 2*39*DefaultShare; got != want {
		t.Errorf("after Unregister: %d, want %d", got, want)
	}
	for v := 1; v <= 40; v++ {
		m.Unregister(uint8(v))
	}
	if got := m.ReadBufferSize(); got != 212992 {
		t.Errorf("none left: %d, want the initial 212992", got)
	}
}
