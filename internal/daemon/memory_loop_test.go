package daemon

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// The loop's posts to itself never block it: with the event channel full
// (nothing but the loop drains it), apply's start-up post of the firewall
// cover's end (accept.go) must still return, and the event must be served.
// Before postSelf, this post waited on the full channel for ever: the
// bubble deadlocks and synctest fails the test.
func TestLoopSelfPostWithFullChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a, fw, _ := acceptNode(t, seg, "192.0.2.11", acceptConf("", "MASTER", 100, "no_accept"), "192.0.2.100")
		time.Sleep(5 * time.Second) // master-down interval and then some: MASTER, cover over
		var filled int
		onLoop(a, func() {
			for full := false; !full; {
				select {
				case a.d.events <- loopEvent{do: func() {}}:
					filled++
				default:
					full = true
				}
			}
			// As at start-up: cover on, its end posted by the loop itself.
			if err := a.d.acceptApplied(true); err != nil {
				t.Errorf("acceptApplied: %v", err)
			}
		})
		if filled != cap(a.d.events) {
			t.Fatalf("filled %d slots of %d", filled, cap(a.d.events))
		}
		var cover bool
		var queued int
		onLoop(a, func() { cover, queued = a.d.accept.cover, len(a.d.selfq) })
		if cover || queued != 0 {
			t.Errorf("after the self-post: cover %v, %d self-posts unserved; want the cover ended, none left", cover, queued)
		}
		if got := fw.state()["govrrp"]; len(got) != 1 || got[0] != "192.0.2.100" {
			t.Errorf("firewall %v: want the held VIP dropped", fw.state())
		}
		a.stop(t)
	})
}

// Self-posts are served in order, before the channel's events, and what a
// served self-post posts in turn is served on the next round, not lost.
func TestLoopSelfPostOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a := startNode(t, seg, "192.0.2.11", acceptConf("", "MASTER", 100, ""))
		var got []int
		done := make(chan struct{})
		onLoop(a, func() {
			a.d.events <- loopEvent{do: func() { got = append(got, 3); close(done) }}
			a.d.postSelf(loopEvent{do: func() {
				got = append(got, 1)
				a.d.postSelf(loopEvent{do: func() { got = append(got, 2) }})
			}})
		})
		<-done
		var left int
		onLoop(a, func() { left = len(a.d.selfq) })
		if want := []int{1, 2, 3}; !slices.Equal(got, want) || left != 0 {
			t.Errorf("served %v with %d left, want %v and none", got, left, want)
		}
		a.stop(t)
	})
}

// The event channel is sized from the configuration: one slot per
// instance plus the other inputs, within [eventQueueMin, eventQueueLen].
func TestEventQueueCap(t *testing.T) {
	for _, tt := range []struct{ instances, want int }{
		{0, eventQueueMin},
		{1, eventQueueMin},
		{255, 255 + eventQueueExtra},
		{1020, 1020 + eventQueueExtra},
		{10000, eventQueueLen},
	} {
		if got := eventQueueCap(tt.instances); got != tt.want {
			t.Errorf("eventQueueCap(%d) = %d, want %d", tt.instances, got, tt.want)
		}
	}
	// and the daemon uses it
	d := newDaemon(loadConf(t, acceptConf("", "MASTER", 100, "")), Options{Logger: slog.New(slog.DiscardHandler)}, deps{})
	if c := cap(d.events); c != eventQueueCap(1) {
		t.Errorf("daemon's event channel holds %d, want %d", c, eventQueueCap(1))
	}
}

// A receiver's decode buffer holds the instance's own address count (its
// peers send the same list), and an advert listing more is still taken:
// the buffer grows rather than the advert being refused.
func TestReceiverDecodeBufferSizedToVIPs(t *testing.T) {
	seg := transport.NewSegment()
	conf := strings.Replace(twoNodeConfFor("BACKUP", 100), "%s", "version 3", 1)
	conf = strings.Replace(conf, "192.0.2.100/24\n", "192.0.2.100/24\n        192.0.2.101/24\n        2001:db8::100/64\n", 1)
	n := newNode(t, seg, "192.0.2.12", conf, nil)
	in, err := newInstance(n.d.cfg.Instances[0], n.d.lookup, fsm.ReleaseImmediate)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeAddrsCap(in); got != 2 {
		t.Errorf("decode buffer for 2 IPv4 VIPs (and 1 IPv6 one, not in IPv4 adverts): %d addresses, want 2", got)
	}
	n.d.ctx = context.Background()
	recv := n.d.receiver(in)
	adv := in.advert
	adv.Priority = 150
	adv.Addrs = nil
	for i := range 40 {
		adv.Addrs = append(adv.Addrs, netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)}))
	}
	src, dst := netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("224.0.0.18")
	pkt, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: src, Dst: dst, Checksum: vrrp.ChecksumPseudoHeader})
	if err != nil {
		t.Fatal(err)
	}
	recv(pkt, transport.Meta{Src: src, Dst: dst, TTL: 255})
	recv(pkt, transport.Meta{Src: src, Dst: dst, TTL: 255})
	if got := n.d.rx.queued(); got != 2 {
		t.Errorf("adverts listing 40 addresses: %d queued, want 2 (drops %v)", got, in.snapshot().Drops)
	}
}

// BenchmarkLoopSelfPost is one self-post and its serving on the loop (the
// queue's slice is reused, so steady state allocates nothing).
func BenchmarkLoopSelfPost(b *testing.B) {
	d := newDaemon(&kaconf.Config{}, Options{Logger: slog.New(slog.DiscardHandler)}, deps{})
	n := 0
	e := loopEvent{do: func() { n++ }}
	b.ReportAllocs()
	for b.Loop() {
		d.postSelf(e)
		d.serveSelf()
	}
	if n != b.N {
		b.Fatalf("served %d of %d", n, b.N)
	}
}
