package daemon

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// peer is a forged VRRP node on the segment: it sends adverts for VRID 51
// and records when the daemons' adverts arrive (virtual time since start).
type peer struct {
	conn  *transport.SegmentConn
	src   netip.Addr
	start time.Time
	mu    sync.Mutex
	seen  []time.Duration
	prios []uint8
	ttls  []int
	dsts  []netip.Addr
}

func newPeer(t *testing.T, seg *transport.Segment, src string) *peer {
	p := &peer{conn: seg.Attach(netip.MustParseAddr(src)).(*transport.SegmentConn), src: netip.MustParseAddr(src), start: time.Now()}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, m, err := p.conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 8 || buf[1] != 51 {
				continue
			}
			p.mu.Lock() // byte 2 of a VRRP message is the priority (v2 and v3)
			p.seen, p.prios = append(p.seen, time.Since(p.start)), append(p.prios, buf[2])
			p.ttls, p.dsts = append(p.ttls, m.TTL), append(p.dsts, m.Dst)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { p.conn.Close() })
	return p
}

func (p *peer) send(t *testing.T, prio uint8) {
	t.Helper()
	adv := vrrp.Advert{Version: vrrp.V3, VRID: 51, Priority: prio, AdverInt: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	b, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: p.src, Dst: vrrp.MulticastIPv4})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.conn.WriteTo(b, p.src, vrrp.MulticastIPv4); err != nil {
		t.Fatal(err)
	}
}

// between lists the priorities of the adverts seen in (from, to].
func (p *peer) between(from, to time.Duration) []uint8 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []uint8
	for i, at := range p.seen {
		if at > from && at <= to {
			out = append(out, p.prios[i])
		}
	}
	return out
}

// keepalived's garp_lower_prio_repeat / garp_lower_prio_delay and
// lower_prio_no_advert: a master hearing a lower-priority advert announces
// its VIPs again (now and after the delay) and, unless lower_prio_no_advert,
// re-advertises at once.
func TestLowerPriorityAdvertAtMaster(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		bursts      []string
		readvert    bool
	}{
		{"defaults: global vrrp_garp_master_repeat 5, delay 5 s", "", []string{"+3.4s×3", "+5s×5", "+10s×5"}, true},
		{"repeat 2 delay 4", "garp_lower_prio_repeat 2\n garp_lower_prio_delay 4", []string{"+3.4s×3", "+5s×2", "+9s×2"}, true},
		{"repeat 2 no delay", "garp_lower_prio_repeat 2\n garp_lower_prio_delay 0", []string{"+3.4s×3", "+5s×2"}, true},
		{"repeat 0: no burst", "garp_lower_prio_repeat 0", []string{"+3.4s×3"}, true},
		{"lower_prio_no_advert", "lower_prio_no_advert\n garp_lower_prio_repeat 1\n garp_lower_prio_delay 0", []string{"+3.4s×3", "+5s×1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				p := newPeer(t, seg, "192.0.2.50")
				extra := "version 3\n garp_master_repeat 3\n garp_master_delay 0\n " + tc.extra
				a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", extra))
				time.Sleep(5 * time.Second) // master at +3.414 s, adverts at +3.414, +4.414
				p.send(t, 50)
				time.Sleep(6 * time.Second)
				if a.state() != "MASTER" {
					t.Errorf("state %s, want MASTER", a.state())
				}
				if d := cmp.Diff(tc.bursts, a.garp.log()); d != "" {
					t.Errorf("bursts (-want +got):\n%s", d)
				}
				// The regular adverts fall at +5.414 s; an answer to the
				// lower-priority advert leaves at +5 s.
				answered := len(p.between(4900*time.Millisecond, 5100*time.Millisecond)) == 1
				if answered != tc.readvert {
					t.Errorf("advert at once after the lower-priority one = %v, want %v (adverts seen 4.9..5.1 s: %v)",
						answered, tc.readvert, p.between(4900*time.Millisecond, 5100*time.Millisecond))
				}
				a.stop(t)
			})
		})
	}
}

// A follow-up burst that is still pending when the master yields is not sent.
func TestLowerPriorityBurstCancelledOnYield(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		p := newPeer(t, seg, "192.0.2.50")
		extra := "version 3\n garp_master_repeat 3\n garp_master_delay 0\n garp_lower_prio_repeat 2\n garp_lower_prio_delay 4"
		a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", extra))
		time.Sleep(5 * time.Second)
		p.send(t, 50)
		time.Sleep(time.Second)
		for range 5 { // a yields at +6 s, before its +9 s burst
			p.send(t, 200)
			time.Sleep(time.Second)
		}
		if a.state() != "BACKUP" {
			t.Errorf("state %s, want BACKUP", a.state())
		}
		if d := cmp.Diff([]string{"+3.4s×3", "+5s×2"}, a.garp.log()); d != "" {
			t.Errorf("bursts (-want +got):\n%s", d)
		}
		a.stop(t)
	})
}

// keepalived's higher_prio_send_advert: one advert of our own before
// yielding to a better one.
func TestHigherPrioSendAdvert(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				p := newPeer(t, seg, "192.0.2.50")
				extra := "version 3\n higher_prio_send_advert " + map[bool]string{false: "off", true: "on"}[on]
				a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", extra))
				time.Sleep(5 * time.Second)
				p.send(t, 200)
				time.Sleep(time.Second)
				if a.state() != "BACKUP" {
					t.Errorf("state %s, want BACKUP", a.state())
				}
				got := p.between(4900*time.Millisecond, 5100*time.Millisecond)
				if sent := len(got) == 1 && got[0] == 150; sent != on {
					t.Errorf("adverts 4.9..5.1 s = %v; want one at priority 150: %v", got, on)
				}
				a.stop(t)
			})
		})
	}
}

// keepalived's down_timer_adverts: Master_Down_Interval = N*MAI + Skew_Time.
func TestDownTimerAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		// priority 128: skew 0.5 s; master down after 10.5 s.
		a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "BACKUP", 128, "1", "version 3\n down_timer_adverts 10"))
		time.Sleep(10400 * time.Millisecond)
		if got := a.state(); got != "BACKUP" {
			t.Errorf("at +10.4 s state %s, want BACKUP", got)
		}
		time.Sleep(200 * time.Millisecond)
		if got := a.state(); got != "MASTER" {
			t.Errorf("at +10.6 s state %s, want MASTER", got)
		}
		a.stop(t)
	})
}

// keepalived's unicast_ttl: unicast adverts leave with that TTL (unset: 255).
func TestUnicastTTL(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int
	}{{"", 255}, {"unicast_ttl 9", 9}, {"unicast_ttl 1", 1}, {"unicast_ttl 255", 255}} {
		t.Run(tc.line, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				p := newPeer(t, seg, "192.0.2.50")
				extra := "version 3\n unicast_src_ip 192.0.2.11\n unicast_peer {\n 192.0.2.50\n }\n " + tc.line
				a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", extra))
				time.Sleep(6 * time.Second)
				p.mu.Lock()
				ttls := append([]int(nil), p.ttls...)
				p.mu.Unlock()
				if len(ttls) < 2 {
					t.Errorf("peer saw %d adverts, want at least 2", len(ttls))
				}
				for i, ttl := range ttls {
					if ttl != tc.want {
						t.Errorf("advert %d: ttl %d, want %d", i, ttl, tc.want)
					}
				}
				a.stop(t)
			})
		})
	}
}
