package transport

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// advert is a VRRPv3 message for VRID 7 whose checksum field is deliberately
// wrong: transport must deliver it untouched (the kernel must not verify).
var advert = []byte{0x31, 0x07, 0x64, 0x01, 0x00, 0x64, 0xde, 0xad, 0xc0, 0x00, 0x02, 0x0a}

// readOne reads one message, bounded by a deadline.
func readOne(t testing.TB, c Conn) got {
	t.Helper()
	if err := c.(ReadDeadliner).SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxMessage)
	n, m, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return got{string(buf[:n]), m}
}

func TestLinuxRoundTrip(t *testing.T) {
	l := newLab(t)
	ifB := ifindexIn(t, l.nsB, labIfB)
	tests := []struct {
		name     string
		ipv6     bool
		src, dst netip.Addr
		ttl      int // 0: Conn.WriteTo (255); else WriteRaw with this TTL
	}{
		{name: "v4 multicast", src: a4, dst: GroupV4},
		{name: "v4 unicast", src: a4, dst: b4},
		{name: "v6 multicast", ipv6: true, src: a6, dst: GroupV6},
		{name: "v6 unicast", ipv6: true, src: a6, dst: b6},
		{name: "v4 multicast ttl 64 kept for the validator", src: a4, dst: GroupV4, ttl: 64},
		{name: "v4 unicast ttl 64", src: a4, dst: b4, ttl: 64},
		{name: "v6 multicast hop limit 64", ipv6: true, src: a6, dst: GroupV6, ttl: 64},
		{name: "v6 unicast hop limit 1", ipv6: true, src: a6, dst: b6, ttl: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Interface: labIfB, IPv6: tt.ipv6, Multicast: true}
			rx := listenIn(t, l.nsB, cfg)
			if tt.ttl == 0 {
				tx := listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: tt.ipv6})
				if err := tx.WriteTo(advert, tt.src, tt.dst); err != nil {
					t.Fatal(err)
				}
			} else {
				inNS(t, l.nsA, func() error { return WriteRaw(labIfA, tt.src, tt.dst, tt.ttl, advert) })
			}
			wantTTL := tt.ttl
			if wantTTL == 0 {
				wantTTL = 255
			}
			want := got{string(advert), Meta{Src: tt.src, Dst: tt.dst, TTL: wantTTL, Ifindex: ifB}}
			if diff := cmp.Diff(want, readOne(t, rx), addrCmp); diff != "" {
				t.Errorf("received (-want +got):\n%s", diff)
			}
		})
	}
}

// The IPv6 link-local default source (PrimaryAddr) works for multicast and
// for unicast to the peer's link-local address (no zone needed).
func TestLinuxIPv6LinkLocal(t *testing.T) {
	l := newLab(t)
	var srcA, llB netip.Addr
	inNS(t, l.nsA, func() (err error) { srcA, err = PrimaryAddr(labIfA, true); return err })
	inNS(t, l.nsB, func() (err error) { llB, err = PrimaryAddr(labIfB, true); return err })
	ifB := ifindexIn(t, l.nsB, labIfB)
	rx := listenIn(t, l.nsB, Config{Interface: labIfB, IPv6: true, Multicast: true})
	tx := listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: true})
	for _, dst := range []netip.Addr{GroupV6, llB} {
		t.Run(dst.String(), func(t *testing.T) {
			if err := tx.WriteTo(advert, srcA, dst); err != nil {
				t.Fatal(err)
			}
			want := got{string(advert), Meta{Src: srcA, Dst: dst, TTL: 255, Ifindex: ifB}}
			if diff := cmp.Diff(want, readOne(t, rx), addrCmp); diff != "" {
				t.Errorf("received (-want +got):\n%s", diff)
			}
		})
	}
}

// Loopback is off: a sender joined to the group does not read its own
// multicast. Proof without sleeping: the peer answers, and the first thing
// the sender reads must be the answer (its own copy would have been queued
// first, at send time).
func TestLinuxNoMulticastLoopback(t *testing.T) {
	l := newLab(t)
	for _, fam := range []struct {
		name       string
		ipv6       bool
		self, peer netip.Addr
		group      netip.Addr
	}{
		{"v4", false, a4, b4, GroupV4},
		{"v6", true, a6, b6, GroupV6},
	} {
		t.Run(fam.name, func(t *testing.T) {
			a := listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: fam.ipv6, Multicast: true})
			b := listenIn(t, l.nsB, Config{Interface: labIfB, IPv6: fam.ipv6, Multicast: true})
			if err := a.WriteTo(advert, fam.self, fam.group); err != nil {
				t.Fatal(err)
			}
			readOne(t, b) // it left the host
			if err := b.WriteTo([]byte("reply"), fam.peer, fam.group); err != nil {
				t.Fatal(err)
			}
			first := readOne(t, a)
			if diff := cmp.Diff("reply", first.Payload); diff != "" {
				t.Errorf("sender's first read (-want +got):\n%s\nmeta %+v", diff, first.Meta)
			}
		})
	}
}

// SO_BINDTODEVICE: a socket on lo does not see what arrives on vb, and a
// unicast-only socket does not see multicast (even though another socket
// joined the group). Same ordering proof as above: a marker sent afterwards
// must be the first thing read.
func TestLinuxBoundToDevice(t *testing.T) {
	l := newLab(t)
	for _, fam := range []struct {
		name           string
		ipv6           bool
		self, peer, lo netip.Addr
		group          netip.Addr
	}{
		{"v4", false, a4, b4, netip.MustParseAddr("127.0.0.1"), GroupV4},
		{"v6", true, a6, b6, netip.MustParseAddr("::1"), GroupV6},
	} {
		t.Run(fam.name, func(t *testing.T) {
			onLo := listenIn(t, l.nsB, Config{Interface: "lo", IPv6: fam.ipv6})
			unicastOnly := listenIn(t, l.nsB, Config{Interface: labIfB, IPv6: fam.ipv6})
			tx := listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: fam.ipv6})
			watcher := listenIn(t, l.nsB, Config{Interface: labIfB, IPv6: fam.ipv6, Multicast: true})

			for _, dst := range []netip.Addr{fam.peer, fam.group} {
				if err := tx.WriteTo(advert, fam.self, dst); err != nil {
					t.Fatal(err)
				}
				readOne(t, watcher) // arrived in nsB
			}
			inNS(t, l.nsB, func() error { return WriteRaw("lo", fam.lo, fam.lo, 255, []byte("lo-marker")) })
			if err := tx.WriteTo([]byte("vb-marker"), fam.self, fam.peer); err != nil {
				t.Fatal(err)
			}
			got := []string{readOne(t, onLo).Payload, readOne(t, unicastOnly).Payload, readOne(t, unicastOnly).Payload}
			want := []string{"lo-marker", string(advert), "vb-marker"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("[lo first, vb unicast-only first two] (-want +got):\n%s", diff)
			}
		})
	}
}

// IPV6_CHECKSUM is not set, so the kernel neither fills nor verifies the
// checksum: messages with a zero or wrong checksum reach the caller intact.
func TestLinuxIPv6BadChecksumDelivered(t *testing.T) {
	l := newLab(t)
	rx := listenIn(t, l.nsB, Config{Interface: labIfB, IPv6: true, Multicast: true})
	tx := listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: true})
	zero := []byte{0x31, 0x07, 0x64, 0x01, 0x00, 0x64, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x0a}
	var want, gotAll []string
	for _, msg := range [][]byte{zero, advert} {
		if err := tx.WriteTo(msg, a6, GroupV6); err != nil {
			t.Fatal(err)
		}
		want = append(want, string(msg))
		gotAll = append(gotAll, readOne(t, rx).Payload)
	}
	if diff := cmp.Diff(want, gotAll); diff != "" {
		t.Errorf("payloads (-want +got):\n%s", diff)
	}
}

func TestLinuxWriteErrors(t *testing.T) {
	l := newLab(t)
	c4 := listenIn(t, l.nsA, Config{Interface: labIfA})
	c6 := listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: true})
	tests := []struct {
		name     string
		c        Conn
		src, dst netip.Addr
	}{
		{"v6 src on v4 socket", c4, a6, GroupV4},
		{"v4 dst on v6 socket", c6, a6, GroupV4},
		{"invalid src", c4, netip.Addr{}, GroupV4},
		{"src not ours v4", c4, netip.MustParseAddr("198.51.100.9"), GroupV4},
		{"src not ours v6", c6, netip.MustParseAddr("2001:db8:1::9"), GroupV6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.c.WriteTo(advert, tt.src, tt.dst); err == nil {
				t.Error("WriteTo succeeded, want error")
			}
		})
	}
	if err := WriteRaw(labIfA, a4, b4, 0, advert); err == nil {
		t.Error("WriteRaw with IPv4 ttl 0 succeeded, want error")
	}
}

func TestLinuxPrimaryAddr(t *testing.T) {
	l := newLab(t)
	tests := []struct {
		name   string
		ifname string
		ipv6   bool
		want   func(netip.Addr) bool
	}{
		{"v4", labIfA, false, func(a netip.Addr) bool { return a == a4 }},
		{"v6 is link-local", labIfA, true, netip.Addr.IsLinkLocalUnicast},
		{"lo has no v6 link-local", "lo", true, nil},
		{"missing interface", "nope0", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a netip.Addr
			var err error
			inNS(t, l.nsA, func() error { a, err = PrimaryAddr(tt.ifname, tt.ipv6); return nil })
			if tt.want == nil {
				if err == nil {
					t.Errorf("PrimaryAddr = %v, want error", a)
				}
				return
			}
			if err != nil || !tt.want(a) {
				t.Errorf("PrimaryAddr = %v, %v", a, err)
			}
		})
	}
}

// A pooled real socket: unicast first, then a multicast user upgrades it.
func TestLinuxPoolUpgrade(t *testing.T) {
	l := newLab(t)
	var p *Pool
	inNS(t, l.nsB, func() error { p = NewPool(Listen); return nil })
	t.Cleanup(func() { p.Close() })
	acquire := func(cfg Config) *Mux {
		var m *Mux
		// Listen must run inside nsB; the Pool calls it on Acquire.
		inNS(t, l.nsB, func() (err error) { m, err = p.Acquire(context.Background(), cfg); return err })
		return m
	}
	m := acquire(Config{Interface: labIfB})
	if m2 := acquire(Config{Interface: labIfB, Multicast: true}); m2 != m {
		t.Fatal("second Acquire returned a different Mux")
	}
	gotc := make(chan got, 4)
	if err := m.Register(7, func(b []byte, meta Meta) { gotc <- got{string(b), meta} }); err != nil {
		t.Fatal(err)
	}
	tx := listenIn(t, l.nsA, Config{Interface: labIfA})
	if err := tx.WriteTo(advert, a4, GroupV4); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-gotc:
		want := got{string(advert), Meta{Src: a4, Dst: GroupV4, TTL: 255, Ifindex: ifindexIn(t, l.nsB, labIfB)}}
		if diff := cmp.Diff(want, g, addrCmp); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("multicast not delivered after upgrade")
	}
	p.Release(Config{Interface: labIfB})
	p.Release(Config{Interface: labIfB})
	select {
	case <-m.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("reader did not stop after last Release")
	}
	if err := m.Err(); err != nil {
		t.Errorf("Mux.Err after release = %v", err)
	}
}

// Mux.Run on a real socket stops on cancel and leaves the socket open.
func TestLinuxMuxCancel(t *testing.T) {
	l := newLab(t)
	c := listenIn(t, l.nsB, Config{Interface: labIfB})
	m := NewMux(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitFor(t, "Run to start", m.running.Load)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	tx := listenIn(t, l.nsA, Config{Interface: labIfA})
	if err := tx.WriteTo(advert, a4, b4); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(advert), readOne(t, c).Payload); diff != "" {
		t.Errorf("read after cancelled Run (-want +got):\n%s", diff)
	}
}

// labFamilies are the two families of the lab: our address and the VRRP
// group.
var labFamilies = []struct {
	name     string
	ipv6     bool
	src, dst netip.Addr
}{
	{"v4", false, a4, GroupV4},
	{"v6", true, a6, GroupV6},
}

// BenchmarkLinuxRoundTrip measures one advert through a veth pair: WriteTo in
// nsA, ReadFrom in nsB (root only).
func BenchmarkLinuxRoundTrip(b *testing.B) {
	for _, fam := range labFamilies {
		b.Run(fam.name, func(b *testing.B) {
			l := newLab(b)
			rx := listenIn(b, l.nsB, Config{Interface: labIfB, IPv6: fam.ipv6, Multicast: true})
			tx := listenIn(b, l.nsA, Config{Interface: labIfA, IPv6: fam.ipv6})
			buf := make([]byte, MaxMessage)
			b.ReportAllocs()
			for b.Loop() {
				if err := tx.WriteTo(advert, fam.src, fam.dst); err != nil {
					b.Fatal(err)
				}
				if _, _, err := rx.ReadFrom(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The real socket path allocates nothing per advert, sending or receiving.
func TestLinuxZeroAllocs(t *testing.T) {
	l := newLab(t)
	for _, fam := range labFamilies {
		t.Run(fam.name, func(t *testing.T) {
			rx, tx := l.multicastPair(t, fam.ipv6)
			buf := make([]byte, MaxMessage)
			var failed error
			allocs := testing.AllocsPerRun(100, func() {
				if err := tx.WriteTo(advert, fam.src, fam.dst); err != nil && failed == nil {
					failed = err
				}
				if _, _, err := rx.ReadFrom(buf); err != nil && failed == nil {
					failed = err
				}
			})
			if failed != nil {
				t.Fatal(failed)
			}
			if diff := cmp.Diff(0.0, allocs); diff != "" {
				t.Errorf("allocs per write+read (-want +got):\n%s", diff)
			}
		})
	}
}
