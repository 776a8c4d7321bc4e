package transport

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	a4 = netip.MustParseAddr("192.0.2.1")
	b4 = netip.MustParseAddr("192.0.2.2")
	c4 = netip.MustParseAddr("192.0.2.3")
	a6 = netip.MustParseAddr("2001:db8::1")
	b6 = netip.MustParseAddr("2001:db8::2")
)

// addrCmp compares netip.Addr by value (it has unexported fields).
var addrCmp = cmp.Comparer(func(x, y netip.Addr) bool { return x == y })

type got struct {
	Payload string
	Meta    Meta
}

// pending drains what has been delivered to c; delivery is synchronous, so
// after WriteTo returns this is exactly what c received.
func pending(c Conn) []got {
	sc := c.(*SegmentConn)
	var out []got
	for range segmentQueue {
		select {
		case p := <-sc.inbox:
			out = append(out, got{string(p.b), p.meta})
		default:
			return out
		}
	}
	return out
}

func TestSegmentDelivery(t *testing.T) {
	type write struct {
		from     string
		src, dst netip.Addr
		ttl      int // 0: WriteTo (255)
	}
	tests := []struct {
		name    string
		cut     [][2]string
		writes  []write
		want    map[string][]got
		wantErr bool
	}{
		{
			name:   "multicast v4 reaches all others with v4",
			writes: []write{{from: "a", src: a4, dst: GroupV4}},
			want: map[string][]got{
				"b": {{"msg", Meta{Src: a4, Dst: GroupV4, TTL: 255, Ifindex: 2}}},
				"c": {{"msg", Meta{Src: a4, Dst: GroupV4, TTL: 255, Ifindex: 3}}},
			},
		},
		{
			name:   "multicast v6 skips conns without v6",
			writes: []write{{from: "a", src: a6, dst: GroupV6}},
			want:   map[string][]got{"b": {{"msg", Meta{Src: a6, Dst: GroupV6, TTL: 255, Ifindex: 2}}}},
		},
		{
			name:   "unicast reaches only the owner",
			writes: []write{{from: "a", src: a4, dst: c4}},
			want:   map[string][]got{"c": {{"msg", Meta{Src: a4, Dst: c4, TTL: 255, Ifindex: 3}}}},
		},
		{
			name:   "unicast to nobody is lost",
			writes: []write{{from: "a", src: a4, dst: netip.MustParseAddr("192.0.2.99")}},
			want:   map[string][]got{},
		},
		{
			name:   "WriteWithTTL keeps the ttl",
			writes: []write{{from: "b", src: b6, dst: a6, ttl: 64}},
			want:   map[string][]got{"a": {{"msg", Meta{Src: b6, Dst: a6, TTL: 64, Ifindex: 1}}}},
		},
		{
			name:   "partition drops both ways, others still hear",
			cut:    [][2]string{{"a", "b"}},
			writes: []write{{from: "a", src: a4, dst: GroupV4}, {from: "b", src: b4, dst: a4}},
			want:   map[string][]got{"c": {{"msg", Meta{Src: a4, Dst: GroupV4, TTL: 255, Ifindex: 3}}}},
		},
		{
			name:    "src not owned is refused",
			writes:  []write{{from: "a", src: b4, dst: GroupV4}},
			want:    map[string][]got{},
			wantErr: true,
		},
		{
			name:    "mixed family is refused",
			writes:  []write{{from: "a", src: a4, dst: GroupV6}},
			want:    map[string][]got{},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSegment()
			conns := map[string]Conn{
				"a": s.Attach(a4, a6),
				"b": s.Attach(b4, b6),
				"c": s.Attach(c4),
			}
			for _, pair := range tt.cut {
				s.Partition(conns[pair[0]], conns[pair[1]], true)
			}
			var err error
			for _, w := range tt.writes {
				sc := conns[w.from].(*SegmentConn)
				if w.ttl == 0 {
					err = sc.WriteTo([]byte("msg"), w.src, w.dst)
				} else {
					err = sc.WriteWithTTL([]byte("msg"), w.src, w.dst, w.ttl)
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("write error = %v, want error %v", err, tt.wantErr)
			}
			gotAll := map[string][]got{}
			for name, c := range conns {
				if g := pending(c); len(g) > 0 {
					gotAll[name] = g
				}
			}
			if diff := cmp.Diff(tt.want, gotAll, addrCmp); diff != "" {
				t.Errorf("delivered (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSegmentPartitionHeals(t *testing.T) {
	s := NewSegment()
	a, b := s.Attach(a4), s.Attach(b4)
	s.Partition(a, b, true)
	s.Partition(a, b, false)
	if err := a.WriteTo([]byte("x"), a4, b4); err != nil {
		t.Fatal(err)
	}
	want := []got{{"x", Meta{Src: a4, Dst: b4, TTL: 255, Ifindex: 2}}}
	if diff := cmp.Diff(want, pending(b), addrCmp); diff != "" {
		t.Errorf("after heal (-want +got):\n%s", diff)
	}
}

func TestSegmentClose(t *testing.T) {
	s := NewSegment()
	a, b := s.Attach(a4), s.Attach(b4)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteTo([]byte("x"), a4, GroupV4); err != nil {
		t.Fatalf("write to a closed peer: %v", err)
	}
	tests := []struct {
		name string
		err  error
	}{
		{"read after close", func() error { _, _, err := b.ReadFrom(make([]byte, 8)); return err }()},
		{"write after close", b.WriteTo([]byte("x"), b4, a4)},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(ErrClosed.Error(), errString(tt.err)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestSegmentReadDeadline(t *testing.T) {
	s := NewSegment()
	a, b := s.Attach(a4), s.Attach(b4).(*SegmentConn)
	if err := b.SetReadDeadline(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	_, _, err := b.ReadFrom(make([]byte, 8))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	// Clearing the deadline makes reads work again.
	if err := b.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteTo([]byte("hi"), a4, b4); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, m, err := b.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := got{"hi", Meta{Src: a4, Dst: b4, TTL: 255, Ifindex: 2}}
	if diff := cmp.Diff(want, got{string(buf[:n]), m}, addrCmp); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
