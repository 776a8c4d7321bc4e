package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// metricValue fetches the metrics page and returns the value of the first
// line matching re, or -1 when none does.
func metricValue(t *testing.T, url string, re *regexp.Regexp) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if re.MatchString(line) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return v
		}
	}
	return -1
}

// waitMetric polls until the series matching re reaches at least min.
func waitMetric(t *testing.T, url string, re *regexp.Regexp, min float64, within time.Duration) float64 {
	t.Helper()
	v := -1.0
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if v = metricValue(t, url, re); v >= min {
			return v
		}
	}
	t.Fatalf("%s = %v after %v, want >= %v", re, v, within, min)
	return v
}

// The metrics move for a bad-checksum advert and for a transition, and the
// backup's advert inter-arrival histogram fills. Served over loopback HTTP
// from the daemon's own registry.
func TestMetricsMove(t *testing.T) {
	seg := transport.NewSegment()
	fast := func(state string, prio int) string {
		return strings.Replace(strings.Replace(twoNodeConfFor(state, prio), "%s", "version 3", 1), "advert_int 1", "advert_int 0.1", 1)
	}
	b := newNode(t, seg, "192.0.2.12", fast("BACKUP", 100), nil)
	reg, err := b.d.newMetrics()
	if err != nil {
		t.Fatal(err)
	}
	b.start()
	srv := httptest.NewServer(control.Handler(reg))
	defer srv.Close()
	url := srv.URL + "/metrics"
	transitions := regexp.MustCompile(`^govrrp_transitions_total\{from="BACKUP",to="MASTER",vrrp_instance="VI_1"\}`)
	// b alone becomes master after its master-down interval (0.36 s).
	waitMetric(t, url, transitions, 1, 5*time.Second)

	a := startNode(t, seg, "192.0.2.11", fast("MASTER", 150))
	waitMetric(t, url, regexp.MustCompile(`^govrrp_transitions_total\{from="MASTER",to="BACKUP",vrrp_instance="VI_1"\}`), 1, 5*time.Second)
	gaps := regexp.MustCompile(`^govrrp_advert_interarrival_seconds_count\{vrrp_instance="VI_1"\}`)
	waitMetric(t, url, gaps, 5, 5*time.Second)

	badSum := regexp.MustCompile(`^govrrp_adverts_dropped_total\{.*reason="checksum".*vrrp_instance="VI_1"`)
	before := metricValue(t, url, badSum)
	if before != 0 {
		t.Fatalf("checksum drops before the forged advert = %v, want a pre-registered 0", before)
	}
	forged := []byte{0x31, 51, 200, 1, 0, 10, 0, 0, 192, 0, 2, 100} // v3, VRID 51, prio 200, checksum 0
	attacker := seg.Attach(netip.MustParseAddr("192.0.2.66")).(*transport.SegmentConn)
	if err := attacker.WriteWithTTL(forged, netip.MustParseAddr("192.0.2.66"), netip.MustParseAddr("224.0.0.18"), 255); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, url, badSum, 1, 5*time.Second)
	a.cancel()
	b.cancel()
	<-a.done
	<-b.done
}

// An advert from our own source address (looped back on lo or by a
// bridge) is dropped and counted, never taken for a peer's: a master would
// otherwise re-advertise to itself without end.
func TestOwnAdvertDropped(t *testing.T) {
	seg := transport.NewSegment()
	n := newNode(t, seg, "192.0.2.11", strings.Replace(twoNodeConfFor("MASTER", 150), "%s", "version 3", 1), nil)
	in, err := newInstance(n.d.cfg.Instances[0], n.d.lookup, fsm.ReleaseImmediate)
	if err != nil {
		t.Fatal(err)
	}
	adv := in.advert
	adv.Priority = 150
	src, dst := netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("224.0.0.18")
	pkt, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: src, Dst: dst, Checksum: vrrp.ChecksumPseudoHeader})
	if err != nil {
		t.Fatal(err)
	}
	n.d.ctx = context.Background()
	n.d.receiver(in)(pkt, transport.Meta{Src: src, Dst: dst, TTL: 255})
	if got := in.snapshot().Drops["own_advert"]; got != 1 || n.d.rx.queued() != 0 {
		t.Errorf("own_advert drops %d, queued events %d; want 1 and 0", got, n.d.rx.queued())
	}
}

// Unicast: an advert from a source that is no unicast_peer is dropped as
// not_a_peer, and one outside the peer's min_ttl..max_ttl as ttl; one in
// range is taken.
func TestUnicastPeerSourceAndTTL(t *testing.T) {
	seg := transport.NewSegment()
	conf := `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    version 3
    unicast_src_ip 192.0.2.11
    unicast_peer {
        192.0.2.12 min_ttl 250 max_ttl 255
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`
	n := newNode(t, seg, "192.0.2.11", conf, nil)
	in, err := newInstance(n.d.cfg.Instances[0], n.d.lookup, fsm.ReleaseImmediate)
	if err != nil {
		t.Fatal(err)
	}
	n.d.ctx = context.Background()
	recv := n.d.receiver(in)
	self, dst := netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.11")
	send := func(src string, ttl int) {
		adv := in.advert
		adv.Priority = 150
		from := netip.MustParseAddr(src)
		pkt, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: from, Dst: dst, Checksum: vrrp.ChecksumPseudoHeader})
		if err != nil {
			t.Fatal(err)
		}
		recv(pkt, transport.Meta{Src: from, Dst: self, TTL: ttl})
	}
	send("192.0.2.66", 255) // not a peer
	send("192.0.2.12", 64)  // a peer, below min_ttl
	send("192.0.2.12", 251) // a peer, in range
	s := in.snapshot()
	if s.Drops["not_a_peer"] != 1 || s.Drops["ttl"] != 1 || s.AdvertsReceived != 1 || n.d.rx.queued() != 1 {
		t.Errorf("drops %v, received %d, queued %d; want not_a_peer 1, ttl 1, 1 received and queued", s.Drops, s.AdvertsReceived, n.d.rx.queued())
	}
}
