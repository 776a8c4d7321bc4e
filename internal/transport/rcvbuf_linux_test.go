package transport

import (
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

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

// TestLinuxReadBufferSized: the socket really gets the size its instances
// need (getsockopt), past net.core.rmem_max (SO_RCVBUFFORCE as root), and
// returns to the system default when they go.
func TestLinuxReadBufferSized(t *testing.T) {
	l := newLab(t)
	c := listenIn(t, l.nsB, Config{Interface: labIfB, Multicast: true})
	m := NewMux(c)
	def := c.(*rawConn).InitialReadBuffer()
	rmemMax := readSysctl(t, "/proc/sys/net/core/rmem_max")
	h := func([]byte, Meta) {}
	n := 255
	for v := 1; v <= n; v++ {
		if err := m.Register(uint8(v), h); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := m.ReadBufferSize(), 2*n*DefaultShare; got != want {
		t.Errorf("%d instances, no knob: SO_RCVBUF %d, want %d (2 × %d × DefaultShare)", n, got, want, n)
	}
	// keepalived's NUMBER policy, past rmem_max: only SO_RCVBUFFORCE can.
	big := rmemMax/n + 4096
	for v := 1; v <= n; v++ {
		if err := m.SetReadBufferShare(uint8(v), big); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := m.ReadBufferSize(), 2*n*big; got != want {
		t.Errorf("NUMBER %d × %d: SO_RCVBUF %d, want %d (rmem_max %d)", big, n, got, want, rmemMax)
	}
	for v := 1; v <= n; v++ {
		m.Unregister(uint8(v))
	}
	if got := m.ReadBufferSize(); got != def {
		t.Errorf("no instances left: SO_RCVBUF %d, want the default %d", got, def)
	}
}

// TestLinuxRcvbufOverflowCounted: a reader that stops while adverts keep
// coming loses the excess in the kernel; the next packet read carries the
// kernel's drop counter (SO_RXQ_OVFL) and KernelDrops reports it: every
// advert sent was either queued or counted.
func TestLinuxRcvbufOverflowCounted(t *testing.T) {
	l := newLab(t)
	tx := listenIn(t, l.nsA, Config{Interface: labIfA, Multicast: true})
	rx := listenIn(t, l.nsB, Config{Interface: labIfB, Multicast: true})
	m := NewMux(rx)
	if err := m.Register(7, func([]byte, Meta) {}); err != nil {
		t.Fatal(err)
	}
	// The smallest buffer the kernel allows: a few adverts fill it.
	if err := m.SetReadBufferShare(7, 1); err != nil {
		t.Fatal(err)
	}
	rcvbuf := m.ReadBufferSize()
	src := netip.MustParseAddr("192.0.2.1")
	const sent = 200
	for range sent { // nobody reads meanwhile
		if err := tx.WriteTo(advert, src, GroupV4); err != nil {
			t.Fatal(err)
		}
	}
	if m.KernelDrops() != 0 {
		t.Fatalf("KernelDrops() = %d before any read", m.KernelDrops())
	}
	queued := drainQueued(t, rx)
	// One more, read after the drops: it carries the counter.
	if err := tx.WriteTo(advert, src, GroupV4); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxMessage)
	if _, _, err := rx.ReadFrom(buf); err != nil {
		t.Fatal(err)
	}
	drops := m.KernelDrops()
	if drops == 0 || int(drops)+queued != sent {
		t.Fatalf("KernelDrops() = %d with %d queued of %d sent, want the rest dropped", drops, queued, sent)
	}
	t.Logf("SO_RCVBUF %d held %d adverts (%d bytes each as the kernel counts); %d dropped", rcvbuf, queued, rcvbuf/queued, drops)
}

// drainQueued reads what is queued, without blocking past it.
func drainQueued(t *testing.T, c Conn) int {
	t.Helper()
	d := c.(ReadDeadliner)
	buf := make([]byte, MaxMessage)
	n := 0
	for ; n < 100000; n++ {
		if err := d.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadFrom(buf); err != nil {
			break
		}
	}
	if err := d.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	return n
}

func readSysctl(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
