package transport

import "testing"

// TestLinuxReadBufferSize: a real socket reports the kernel's SO_RCVBUF
// and a Mux on it carries it after Register (the daemon aligns advert
// timers only when a burst fits).
func TestLinuxReadBufferSize(t *testing.T) {
	l := newLab(t)
	c := listenIn(t, l.nsB, Config{Interface: labIfB, Multicast: true})
	rc, ok := c.(*rawConn)
	if !ok {
		t.Fatalf("Listen gave %T", c)
	}
	n := rc.ReadBufferSize()
	if n <= 0 {
		t.Fatalf("ReadBufferSize() = %d, want the kernel's SO_RCVBUF", n)
	}
	m := NewMux(c)
	if err := m.Register(1, func([]byte, Meta) {}); err != nil {
		t.Fatal(err)
	}
	if got := m.ReadBufferSize(); got != n {
		t.Errorf("Mux.ReadBufferSize() = %d, want %d", got, n)
	}
	t.Logf("SO_RCVBUF %d bytes", n)
}
