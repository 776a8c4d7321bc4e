package transport

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder collects handler calls; safe across the reader goroutine.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) handler(tag string) Handler {
	return func(p []byte, m Meta) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.seen = append(r.seen, tag+":"+string(p))
	}
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// waitFor polls until cond holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestMuxDispatch(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		unknown bool // install an unknown handler
		want    []string
	}{
		{name: "registered vrid 1", payload: "\x31\x01rest", want: []string{"vrid1:\x31\x01rest"}},
		{name: "registered vrid 255", payload: "\x31\xffrest", want: []string{"vrid255:\x31\xffrest"}},
		{name: "unregistered goes to unknown", payload: "\x31\x07", unknown: true, want: []string{"unknown:\x31\x07"}},
		{name: "unregistered without unknown is dropped", payload: "\x31\x07"},
		{name: "too short goes to unknown", payload: "\x31", unknown: true, want: []string{"unknown:\x31"}},
		{name: "empty goes to unknown", payload: "", unknown: true, want: []string{"unknown:"}},
		{name: "unregistered vrid is not delivered", payload: "\x31\x02", unknown: true, want: []string{"unknown:\x31\x02"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			m := NewMux(nil)
			for _, reg := range []struct {
				vrid uint8
				tag  string
			}{{1, "vrid1"}, {2, "vrid2"}, {255, "vrid255"}} {
				if err := m.Register(reg.vrid, r.handler(reg.tag)); err != nil {
					t.Fatal(err)
				}
			}
			m.Unregister(2)
			if tt.unknown {
				m.SetUnknown(r.handler("unknown"))
			}
			m.dispatch([]byte(tt.payload), Meta{})
			if diff := cmp.Diff(tt.want, r.snapshot()); diff != "" {
				t.Errorf("handled (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMuxRegister(t *testing.T) {
	m := NewMux(nil)
	nop := func([]byte, Meta) {}
	steps := []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{"first register", func() error { return m.Register(9, nop) }, nil},
		{"second register of same vrid", func() error { return m.Register(9, nop) }, ErrVRIDTaken},
		{"other vrid", func() error { return m.Register(10, nop) }, nil},
		{"register after unregister", func() error { m.Unregister(9); return m.Register(9, nop) }, nil},
		{"nil handler", func() error { return m.Register(11, nil) }, errNilHandler},
	}
	for _, s := range steps {
		err := s.do()
		if !errors.Is(err, s.wantErr) {
			t.Errorf("%s: err = %v, want %v", s.name, err, s.wantErr)
		}
	}
}

func TestMuxRunOnSegment(t *testing.T) {
	s := NewSegment()
	a, b := s.Attach(a4), s.Attach(b4)
	m := NewMux(b)
	var r recorder
	if err := m.Register(5, r.handler("vrid5")); err != nil {
		t.Fatal(err)
	}
	m.SetUnknown(r.handler("unknown"))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	for _, p := range []string{"\x31\x05a", "\x31\x06b", "\x31\x05c"} {
		if err := a.WriteTo([]byte(p), a4, GroupV4); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"vrid5:\x31\x05a", "unknown:\x31\x06b", "vrid5:\x31\x05c"}
	waitFor(t, "three dispatches", func() bool { return len(r.snapshot()) == len(want) })
	if diff := cmp.Diff(want, r.snapshot()); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}

	// Cancelling stops Run but leaves the Conn usable for a second Run.
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel = %v, want context.Canceled", err)
	}
	go func() { done <- m.Run(context.Background()) }()
	if err := a.WriteTo([]byte("\x31\x05d"), a4, b4); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dispatch after restart", func() bool { return len(r.snapshot()) == len(want)+1 })

	// Closing the Conn ends Run cleanly.
	b.Close()
	if err := <-done; err != nil {
		t.Fatalf("Run after Close = %v, want nil", err)
	}
}

func TestMuxRunTwice(t *testing.T) {
	s := NewSegment()
	m := NewMux(s.Attach(a4))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitFor(t, "first Run to start", m.running.Load)
	if err := m.Run(ctx); err == nil {
		t.Error("second concurrent Run succeeded, want error")
	}
	cancel()
	<-done
}

// replayConn returns the same message n times, then ErrClosed. It does not
// allocate, so any allocation measured belongs to the Mux.
type replayConn struct {
	msg  []byte
	left int
}

func (c *replayConn) ReadFrom(b []byte) (int, Meta, error) {
	if c.left == 0 {
		return 0, Meta{}, ErrClosed
	}
	c.left--
	return copy(b, c.msg), Meta{Src: a4, Dst: GroupV4, TTL: 255, Ifindex: 1}, nil
}
func (c *replayConn) WriteTo([]byte, netip.Addr, netip.Addr) error { return nil }
func (c *replayConn) Close() error                                 { return nil }

func TestMuxZeroAllocsPerPacket(t *testing.T) {
	var count int
	h := func(p []byte, m Meta) { count += len(p) }
	msg := []byte("\x31\x05\x64\x01\x00\x64\x00\x00\xc0\x00\x02\x0a")

	m := NewMux(nil)
	if err := m.Register(5, h); err != nil {
		t.Fatal(err)
	}
	m.SetUnknown(h)
	perDispatch := testing.AllocsPerRun(1000, func() {
		m.dispatch(msg, Meta{})
		m.dispatch(msg[:1], Meta{})
	})

	// Run's fixed setup (buffer, context hook) must not grow with packets.
	runAllocs := func(packets int) float64 {
		return testing.AllocsPerRun(20, func() {
			mm := NewMux(&replayConn{msg: msg, left: packets})
			_ = mm.Register(5, h)
			_ = mm.Run(context.Background())
		})
	}
	got := map[string]float64{
		"per dispatch":                perDispatch,
		"run 1000 minus run 1 packet": runAllocs(1000) - runAllocs(1),
	}
	want := map[string]float64{"per dispatch": 0, "run 1000 minus run 1 packet": 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("allocations (-want +got):\n%s", diff)
	}
}

func BenchmarkMuxDispatch(b *testing.B) {
	msg := []byte("\x31\x05\x64\x01\x00\x64\x00\x00\xc0\x00\x02\x0a")
	m := NewMux(nil)
	var n int
	_ = m.Register(5, func(p []byte, _ Meta) { n += len(p) })
	b.ReportAllocs()
	for b.Loop() {
		m.dispatch(msg, Meta{})
	}
}

func BenchmarkMuxRunSegment(b *testing.B) {
	s := NewSegment()
	a, c := s.Attach(a4), s.Attach(b4)
	m := NewMux(c)
	got := make(chan struct{}, segmentQueue)
	_ = m.Register(5, func([]byte, Meta) { got <- struct{}{} })
	go m.Run(context.Background())
	defer c.Close()
	msg := []byte("\x31\x05\x64\x01\x00\x64\x00\x00\xc0\x00\x02\x0a")
	b.ReportAllocs()
	for b.Loop() {
		_ = a.WriteTo(msg, a4, b4)
		<-got
	}
}
