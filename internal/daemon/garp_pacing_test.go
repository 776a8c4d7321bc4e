package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
)

// addrAnnouncer records every burst with its addresses ("+T a,b×N") and,
// as the sender under a vip.Pacer, every single announcement with its time.
type addrAnnouncer struct {
	mu      sync.Mutex
	start   time.Time
	bursts  []string
	singles []time.Duration
	seen    map[string]bool
}

func newAddrAnnouncer() *addrAnnouncer {
	return &addrAnnouncer{start: time.Now(), seen: map[string]bool{}}
}

func (f *addrAnnouncer) AnnounceBurst(_ context.Context, addrs []vip.Address, repeat int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, a := range addrs {
		names = append(names, a.Dev+":"+a.Prefix.Addr().String())
		f.seen[a.Prefix.Addr().String()] = true
	}
	f.bursts = append(f.bursts, fmt.Sprintf("+%v %s×%d", time.Since(f.start).Round(100*time.Millisecond), strings.Join(names, ","), repeat))
	return nil
}

func (f *addrAnnouncer) Announce(a vip.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.singles = append(f.singles, time.Since(f.start))
	f.seen[a.Prefix.Addr().String()] = true
	return nil
}

func (f *addrAnnouncer) Close() error { return nil }

func (f *addrAnnouncer) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bursts)
}

// vrrp_min_garp: one GARP on becoming master, no second burst, and (its
// refresh repeat default being 0, as in keepalived 2.2.7) nothing at a
// garp_master_refresh; an instance's own garp_master_repeat still wins.
func TestMinGarp(t *testing.T) {
	for _, tc := range []struct {
		name, global, extra string
		want                []string
	}{
		{"defaults", "", "", []string{"+3.4s×5", "+8.4s×5"}},
		{"min_garp", "vrrp_min_garp", "", []string{"+3.4s×1"}},
		{"min_garp and refresh", "vrrp_min_garp\n vrrp_garp_master_refresh 2", "", []string{"+3.4s×1"}},
		{"min_garp, instance repeat", "vrrp_min_garp", "garp_master_repeat 3", []string{"+3.4s×3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				conf := "global_defs {\n " + tc.global + "\n}\n" + fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "version 3\n "+tc.extra)
				a := startNode(t, seg, "192.0.2.11", conf)
				time.Sleep(12 * time.Second)
				if d := cmp.Diff(tc.want, a.garp.log()); d != "" {
					t.Errorf("bursts (-want +got):\n%s", d)
				}
				a.stop(t)
			})
		})
	}
}

// garp_extra_if all SECS: while master, every SECS, one GARP for the first
// VIP of each interface other than the instance's (not eVIPs, not the
// instance's own interface); without "all" nothing; none once backup.
func TestGarpExtraIf(t *testing.T) {
	vips := "virtual_ipaddress {\n 192.0.2.100/24\n 198.51.100.100/24 dev eth1\n 198.51.100.102/24 dev eth1\n 203.0.113.1/24 dev eth2\n }\n" +
		" virtual_ipaddress_excluded {\n 198.51.100.101/24 dev eth3\n }"
	conf := `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    version 3
    garp_master_delay 0
    garp_master_repeat 1
    %s
    %s
}
`
	first := "+3.4s eth0:192.0.2.100,eth1:198.51.100.100,eth1:198.51.100.102,eth2:203.0.113.1,eth3:198.51.100.101×1"
	for _, tc := range []struct {
		name, line string
		want       []string
	}{
		{"all 2", "garp_extra_if all 2", []string{first,
			"+5.4s eth1:198.51.100.100,eth2:203.0.113.1×1", "+7.4s eth1:198.51.100.100,eth2:203.0.113.1×1"}},
		{"without all", "garp_extra_if 2", []string{first}},
		{"0: off", "garp_extra_if all 0", []string{first}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				p := newPeer(t, seg, "192.0.2.50")
				rec := newAddrAnnouncer()
				a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(conf, tc.line, vips), func(dp *deps) { dp.announce = rec })
				time.Sleep(8 * time.Second) // master at +3.4 s
				for range 4 {               // a better master from +8 s: a yields, no round at +9.4 or +11.4 s
					p.send(t, 200)
					time.Sleep(time.Second)
				}
				if a.state() != "BACKUP" {
					t.Errorf("state %s, want BACKUP", a.state())
				}
				if d := cmp.Diff(tc.want, rec.log()); d != "" {
					t.Errorf("bursts (-want +got):\n%s", d)
				}
				a.stop(t)
			})
		})
	}
}

// The daemon's loop never waits for the pacer: 255 instances become master
// together on one interface with vrrp_garp_interval 10 ms, so their GARPs
// take 2.5 s to leave; every instance's adverts still go out each advert
// interval (virtual time: the loop is never delayed at all), the GARPs are
// spaced by at least the interval, and every VIP is announced.
func TestPacingDoesNotDelayAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 255
		var b strings.Builder
		b.WriteString("global_defs {\n vrrp_garp_interval 0.01\n}\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "vrrp_instance V%d {\n state MASTER\n interface eth0\n virtual_router_id %d\n priority 150\n advert_int 1\n version 3\n"+
				" garp_master_delay 0\n virtual_ipaddress {\n 198.51.100.%d/24\n }\n}\n", i, i, i-1)
		}
		seg := transport.NewSegment()
		adverts := garpListenAll(t, seg, "192.0.2.50")
		rec := newAddrAnnouncer()
		pacer := vip.NewPacer(rec, nil)
		defer pacer.Close()
		a := startNodeWith(t, seg, "192.0.2.11", b.String(), func(dp *deps) { dp.announce = pacer })
		time.Sleep(10 * time.Second)
		a.stop(t)
		synctest.Wait()

		rec.mu.Lock()
		singles := slices.Clone(rec.singles)
		announced := len(rec.seen)
		rec.mu.Unlock()
		if announced != n {
			t.Errorf("%d VIPs announced, want %d", announced, n)
		}
		for i := 1; i < len(singles); i++ {
			if gap := singles[i] - singles[i-1]; gap < 10*time.Millisecond {
				t.Fatalf("GARPs %d and %d %v apart, under vrrp_garp_interval 10 ms", i-1, i, gap)
			}
		}
		if len(singles) < n || singles[len(singles)-1]-singles[0] < time.Duration(n-1)*10*time.Millisecond {
			t.Errorf("%d paced GARPs over %v: want %d spread over at least %v", len(singles), singles[len(singles)-1]-singles[0], n, time.Duration(n-1)*10*time.Millisecond)
		}
		adverts.check(t, n, time.Second, singles[0], singles[len(singles)-1])
	})
}

// garpAdvertLog records the arrival of every advert by VRID.
type garpAdvertLog struct {
	mu   sync.Mutex
	at   map[uint8][]time.Time
	conn *transport.SegmentConn
}

func garpListenAll(t *testing.T, seg *transport.Segment, src string) *garpAdvertLog {
	l := &garpAdvertLog{at: map[uint8][]time.Time{}, conn: seg.Attach(netip.MustParseAddr(src)).(*transport.SegmentConn)}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := l.conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 8 || buf[2] == 0 { // priority 0: the stop
				continue
			}
			l.mu.Lock()
			l.at[buf[1]] = append(l.at[buf[1]], time.Now())
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { l.conn.Close() })
	return l
}

// check: every VRID advertised throughout, never more than one advert
// interval between two adverts, including while the GARPs were paced out
// (from..to, since the announcer's start).
func (l *garpAdvertLog) check(t *testing.T, n int, every time.Duration, from, to time.Duration) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.at) != n {
		t.Errorf("adverts from %d VRIDs, want %d", len(l.at), n)
	}
	for vrid, ts := range l.at {
		if len(ts) < 5 {
			t.Errorf("VRID %d: %d adverts, want at least 5", vrid, len(ts))
			continue
		}
		for i := 1; i < len(ts); i++ {
			if gap := ts[i].Sub(ts[i-1]); gap > every {
				t.Errorf("VRID %d: %v between adverts %d and %d, more than advert_int %v (GARPs paced %v..%v)", vrid, gap, i-1, i, every, from, to)
			}
		}
	}
}

// A reload that turns garp_extra_if on for a running master starts its
// rounds without a transition; one that turns it off stops them.
func TestGarpExtraIfReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf := `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    version 3
    garp_master_delay 0
    garp_master_repeat 1
    %s
    virtual_ipaddress {
        192.0.2.100/24
        198.51.100.100/24 dev eth1
    }
}
`
		seg := transport.NewSegment()
		rec := newAddrAnnouncer()
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(conf, ""), func(dp *deps) { dp.announce = rec })
		time.Sleep(5 * time.Second) // master at +3.4 s
		if out := reloadNode(t, a, fmt.Sprintf(conf, "garp_extra_if all 2")); out.err != nil {
			t.Fatalf("reload: %v", out.err)
		}
		time.Sleep(5 * time.Second) // rounds at +7 and +9 s
		if out := reloadNode(t, a, fmt.Sprintf(conf, "")); out.err != nil {
			t.Fatalf("reload: %v", out.err)
		}
		time.Sleep(5 * time.Second) // the +11 s tick finds it off: nothing more
		want := []string{"+3.4s eth0:192.0.2.100,eth1:198.51.100.100×1", "+7s eth1:198.51.100.100×1", "+9s eth1:198.51.100.100×1"}
		if d := cmp.Diff(want, rec.log()); d != "" {
			t.Errorf("bursts (-want +got):\n%s", d)
		}
		if a.state() != "MASTER" {
			t.Errorf("state %s, want MASTER throughout", a.state())
		}
		a.stop(t)
	})
}
