package transport

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// countingListener wraps a Segment listener and records opens and joins.
type countingListener struct {
	seg   *Segment
	mu    sync.Mutex
	opens []Config
	joins int
	conns []*joinCounter
	fail  error
}

type joinCounter struct {
	*SegmentConn
	l *countingListener
}

func (j *joinCounter) JoinMulticast() error {
	j.l.mu.Lock()
	defer j.l.mu.Unlock()
	j.l.joins++
	return nil
}

func (l *countingListener) listen(cfg Config) (Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return nil, l.fail
	}
	l.opens = append(l.opens, cfg)
	c := &joinCounter{SegmentConn: l.seg.Attach(b4, b6).(*SegmentConn), l: l}
	l.conns = append(l.conns, c)
	return c, nil
}

func TestPoolSharing(t *testing.T) {
	eth0v4 := Config{Interface: "eth0"}
	eth0v4m := Config{Interface: "eth0", Multicast: true}
	eth0v6 := Config{Interface: "eth0", IPv6: true, Multicast: true}
	eth1v4 := Config{Interface: "eth1", Multicast: true}

	type result struct {
		Opens      []Config
		Joins      int
		SameAsPrev []bool // each Acquire returned the Mux of the previous one
	}
	tests := []struct {
		name     string
		acquires []Config
		want     result
	}{
		{
			name:     "same interface and family share one socket",
			acquires: []Config{eth0v4m, eth0v4m, eth0v4m},
			want:     result{Opens: []Config{eth0v4m}, SameAsPrev: []bool{false, true, true}},
		},
		{
			name:     "unicast then multicast upgrades by joining once",
			acquires: []Config{eth0v4, eth0v4m, eth0v4m},
			want:     result{Opens: []Config{eth0v4}, Joins: 1, SameAsPrev: []bool{false, true, true}},
		},
		{
			name:     "multicast then unicast needs no join",
			acquires: []Config{eth0v4m, eth0v4},
			want:     result{Opens: []Config{eth0v4m}, SameAsPrev: []bool{false, true}},
		},
		{
			name:     "family and interface separate sockets",
			acquires: []Config{eth0v4m, eth0v6, eth1v4},
			want:     result{Opens: []Config{eth0v4m, eth0v6, eth1v4}, SameAsPrev: []bool{false, false, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &countingListener{seg: NewSegment()}
			p := NewPool(l.listen)
			t.Cleanup(func() { p.Close() })
			var got result
			var prev *Mux
			for _, cfg := range tt.acquires {
				m, err := p.Acquire(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				got.SameAsPrev = append(got.SameAsPrev, m == prev)
				prev = m
			}
			got.Opens, got.Joins = l.opens, l.joins
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPoolRefcount(t *testing.T) {
	l := &countingListener{seg: NewSegment()}
	p := NewPool(l.listen)
	cfg := Config{Interface: "eth0", Multicast: true}
	m1, err := p.Acquire(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Acquire(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	isDone := func() bool {
		select {
		case <-m1.Done():
			return true
		default:
			return false
		}
	}
	var got []bool
	p.Release(cfg)
	got = append(got, isDone())
	p.Release(cfg) // last: closes and waits for the reader
	got = append(got, isDone())
	p.Release(cfg) // extra release is harmless
	m2, err := p.Acquire(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, m2 == m1, len(l.opens) == 2, m1.Err() == nil)
	p.Release(cfg)
	if diff := cmp.Diff([]bool{false, true, false, true, true}, got); diff != "" {
		t.Errorf("[done after 1st release, done after 2nd, reused, reopened, clean] (-want +got):\n%s", diff)
	}
}

func TestPoolDelivers(t *testing.T) {
	seg := NewSegment()
	peer := seg.Attach(a4)
	p := NewPool(seg.Listener(b4))
	t.Cleanup(func() { p.Close() })
	cfg := Config{Interface: "eth0", Multicast: true}
	var r recorder
	for _, vrid := range []uint8{1, 2} {
		m, err := p.Acquire(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Register(vrid, r.handler(string(rune('0'+vrid)))); err != nil {
			t.Fatal(err)
		}
	}
	for _, msg := range []string{"\x31\x02x", "\x31\x01y"} {
		if err := peer.WriteTo([]byte(msg), a4, GroupV4); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"2:\x31\x02x", "1:\x31\x01y"}
	waitFor(t, "two dispatches", func() bool { return len(r.snapshot()) == 2 })
	if diff := cmp.Diff(want, r.snapshot()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPoolErrors(t *testing.T) {
	errListen := errors.New("boom")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		fail    error
		wantErr error
	}{
		{"listen error is wrapped", context.Background(), errListen, errListen},
		{"cancelled context", cancelled, nil, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &countingListener{seg: NewSegment(), fail: tt.fail}
			p := NewPool(l.listen)
			_, err := p.Acquire(tt.ctx, Config{Interface: "eth0"})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Acquire = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestPoolUpgradeNeedsJoiner(t *testing.T) {
	p := NewPool(func(Config) (Conn, error) { return &replayConn{}, nil })
	t.Cleanup(func() { p.Close() })
	if _, err := p.Acquire(context.Background(), Config{Interface: "eth0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Acquire(context.Background(), Config{Interface: "eth0", Multicast: true}); err == nil {
		t.Error("upgrade on a Conn without JoinMulticast succeeded, want error")
	}
}
