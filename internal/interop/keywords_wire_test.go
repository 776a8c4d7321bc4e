package interop

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/netlab"
)

// The small vrrp_instance keywords that show on the wire, keepalived 2.2.7
// and govrrp side by side in the same run: each case runs once per
// implementation on host a of its own lab while host c forges adverts and
// captures (tcpdump); the two timelines, relative to c's forged advert, must
// both match what the keyword means and each other.
//
//   - garp_lower_prio_repeat / garp_lower_prio_delay and lower_prio_no_advert:
//     a master hearing a lower priority re-advertises at once (unless
//     lower_prio_no_advert) and sends that many GARPs now and again after
//     the delay;
//   - higher_prio_send_advert: one advert of its own before yielding;
//   - unicast_ttl: the TTL of unicast adverts;
//   - down_timer_adverts: Master_Down_Interval = N×advert + skew;
//   - vrrp_startup_delay: the first advert that much later;
//   - vrrp_mcast_group4: adverts to that group, only its adverts count;
//   - unicast_fault_no_peer: FAULT (silent, no VIP) without peers;
//   - promote_secondaries: the interface's sysctl set while running,
//     restored at the stop (read in the namespace, not on the wire).

var kwForger = netip.MustParsePrefix("192.0.2.13/24")

// kwCase is one keyword check.
type kwCase struct {
	name   string
	state  string // BACKUP (default) or MASTER
	advert time.Duration
	extra  string // instance lines
	global string // global_defs lines
	run    func(t *testing.T, l *kwLab) kwResult
	want   kwResult
}

// kwResult is what a capture (or the namespace) showed, relative to the
// forged advert where there is one; compared between implementations.
type kwResult struct {
	Readvert   int    // DUT adverts within 300 ms after the forged one
	ReadvPrio  int    // their priority (0 when none)
	GarpsNow   int    // GARPs for the VIP within 1 s after it
	FirstIs    string // the DUT's first packet after it: "advert" or "garp" ("" none within 1 s)
	GarpsLater int    // GARPs after that, up to the end of the window
	LaterAtS   int    // first later GARP, seconds after the forged advert (rounded; -1 none)
	TTLs       []int  // distinct TTLs of the DUT's adverts (unicast_ttl)
	// DownAdverts: (last forged advert → DUT's first advert − Skew_Time) in
	// advert intervals, rounded: down_timer_adverts as the wire shows it.
	DownAdverts int
	// StartDelayS: (daemon start → its first advert − Master_Down_Interval)
	// in seconds, rounded: vrrp_startup_delay as the wire shows it.
	StartDelayS int
	Dsts        []string // distinct destinations of the DUT's adverts (vrrp_mcast_group4)
	// KeptOnDefault: still advertising after a better advert sent to
	// 224.0.0.18; YieldedOnGroup: silent after one sent to its own group.
	KeptOnDefault, YieldedOnGroup bool
	// SilentAndNoVIP: no advert from the DUT and no VIP on it for
	// Master_Down_Interval + 2 intervals (unicast_fault_no_peer: FAULT).
	SilentAndNoVIP bool
	Promote        string // promote_secondaries before, while running, after the stop
}

func kwCases() []kwCase {
	const adv = 2 * time.Second
	return []kwCase{
		{name: "garp_lower_prio_repeat_3_delay_2", advert: adv, extra: "garp_lower_prio_repeat 3\n    garp_lower_prio_delay 2",
			run: lowerPrioRun(50, 4*time.Second), want: kwResult{Readvert: 1, ReadvPrio: 200, GarpsNow: 3, FirstIs: "advert", GarpsLater: 3, LaterAtS: 2}},
		{name: "lower_prio_no_advert", advert: adv, extra: "lower_prio_no_advert\n    garp_lower_prio_repeat 1\n    garp_lower_prio_delay 0",
			run: lowerPrioRun(50, 3*time.Second), want: kwResult{GarpsNow: 1, FirstIs: "garp", LaterAtS: -1}},
		{name: "higher_prio_send_advert", advert: adv, extra: "higher_prio_send_advert",
			run: lowerPrioRun(254, 0), want: kwResult{Readvert: 1, ReadvPrio: 200, LaterAtS: -1}},
		{name: "yield_without_advert", advert: adv, extra: "",
			run: lowerPrioRun(254, 0), want: kwResult{LaterAtS: -1}},
		{name: "unicast_ttl_7", advert: 500 * time.Millisecond,
			extra: "unicast_src_ip " + addrA4.Addr().String() + "\n    unicast_peer {\n        " + kwForger.Addr().String() + "\n    }\n    unicast_ttl 7",
			run:   unicastTTLRun, want: kwResult{TTLs: []int{7}, LaterAtS: -1}},
		{name: "vrrp_startup_delay_3", advert: time.Second, global: "vrrp_startup_delay 3",
			run: startupDelayRun, want: kwResult{StartDelayS: 3, LaterAtS: -1}},
		{name: "vrrp_mcast_group4", advert: adv, global: "vrrp_mcast_group4 " + kwGroup.String(),
			run: mcastGroupRun, want: kwResult{Dsts: []string{kwGroup.String()}, KeptOnDefault: true, YieldedOnGroup: true, LaterAtS: -1}},
		{name: "unicast_fault_no_peer", advert: time.Second,
			extra: "unicast_src_ip " + addrA4.Addr().String() + "\n    unicast_peer {\n    }\n    unicast_fault_no_peer",
			run:   silentRun, want: kwResult{SilentAndNoVIP: true, LaterAtS: -1}},
		{name: "unicast_fault_no_peer_alone", advert: time.Second, extra: "unicast_fault_no_peer",
			run: silentRun, want: kwResult{SilentAndNoVIP: true, LaterAtS: -1}},
		{name: "promote_secondaries", advert: time.Second, extra: "promote_secondaries",
			run: promoteRun, want: kwResult{Promote: "010", LaterAtS: -1}},
		{name: "down_timer_adverts_2", advert: time.Second, extra: "down_timer_adverts 2",
			// 2×1 s + skew (256−200)/256 s = 2.22 s
			run: downTimerRun, want: kwResult{DownAdverts: 2, LaterAtS: -1}},
	}
}

func TestKeywordsOnTheWire(t *testing.T) {
	t.Parallel()
	for _, kc := range kwCases() {
		t.Run(kc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			got := map[impl]kwResult{}
			timelines := map[impl]string{}
			t.Run("impls", func(t *testing.T) {
				for _, im := range []impl{keepalived, govrrp} {
					t.Run(im.short(), func(t *testing.T) {
						t.Parallel()
						l := newKwLab(t, im, kc)
						r := kc.run(t, l)
						mu.Lock()
						got[im], timelines[im] = r, l.timeline
						mu.Unlock()
						if d := diffKw(kc.want, r); d != "" {
							fail(t, fmt.Sprintf("%s %s: %s\ncapture:\n%s", im, kc.name, d, l.timeline), l.dut)
						}
						stopBoth(t, scenario{}, l.dut)
					})
				}
			})
			ka, okA := got[keepalived]
			gv, okG := got[govrrp]
			if okA && okG {
				if d := diffKw(ka, gv); d != "" {
					t.Errorf("govrrp differs from keepalived: %s", d)
				}
				t.Logf("keepalived: %+v\ngovrrp:     %+v\n--- keepalived capture ---\n%s--- govrrp capture ---\n%s",
					ka, gv, timelines[keepalived], timelines[govrrp])
			}
		})
	}
}

// diffKw describes how got differs from want ("" when equal); timings are
// compared in whole seconds / advert intervals, the protocol's own margins.
func diffKw(want, got kwResult) string {
	if fmt.Sprint(want) == fmt.Sprint(got) {
		return ""
	}
	return fmt.Sprintf("got %+v, want %+v", got, want)
}

// kwLab is one implementation on host a and the forger c.
type kwLab struct {
	t        *testing.T
	kc       kwCase
	dut      *node
	c        *netlab.Host
	tx       *rawSender
	timeline string // the capture's relevant lines, for failure messages
}

func newKwLab(t *testing.T, im impl, kc kwCase) *kwLab {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test (namespaces, real daemons) skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived", "tcpdump")
	lab := netlab.New(t)
	seg := lab.AddSegment("lan", lanV4, lanV6)
	a := lab.AddHost("a")
	if err := a.Connect(seg, ifname, addrA4, addrA6); err != nil {
		t.Fatalf("interop: connect a: %v", err)
	}
	c := lab.AddHost("c")
	if err := c.Connect(seg, ifname, kwForger, netip.MustParsePrefix("2001:db8::13/64")); err != nil {
		t.Fatalf("interop: connect c: %v", err)
	}
	tx, err := openRawSender(c, ifname)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Close() })
	l := &kwLab{t: t, kc: kc, c: c, tx: tx,
		dut: &node{t: t, name: "a", impl: im, host: a, ip4: addrA4.Addr(), ip6: addrA6.Addr()}}
	return l
}

// startDUT starts the implementation under test on a.
func (l *kwLab) startDUT() time.Time {
	l.t.Helper()
	at := time.Now()
	l.dut.start(kwConf(l.kc), 200)
	return at
}

// kwConf is the DUT's keepalived.conf: VRRPv3, priority 200, no second
// GARP burst after becoming master (it would blur the lower-priority ones).
func kwConf(kc kwCase) string {
	state := kc.state
	if state == "" {
		state = "BACKUP"
	}
	return fmt.Sprintf(`global_defs {
    router_id kw_a
    %s
}
vrrp_instance VI_IOP {
    state %s
    interface %s
    virtual_router_id %d
    version 3
    priority 200
    advert_int %s
    garp_master_repeat 2
    garp_master_delay 0
    %s
    virtual_ipaddress {
        %s/24
    }
}
`, kc.global, state, ifname, vrid, strconv.FormatFloat(kc.advert.Seconds(), 'f', -1, 64), kc.extra, vip4)
}

// forge sends one VRRPv3 advert of priority prio from c to the group.
func (l *kwLab) forge(prio int) { l.forgeTo(prio, vrrpGroup4) }

// kwGroup is the other group of the vrrp_mcast_group4 case (link-local
// scope, 224.0.0.0/24: it never leaves the lab's segment).
var kwGroup = netip.MustParseAddr("224.0.0.19")

// forgeTo sends the advert to dst: the VRRP group or kwGroup only.
func (l *kwLab) forgeTo(prio int, dst netip.Addr) {
	l.t.Helper()
	if dst != vrrpGroup4 && dst != kwGroup {
		l.t.Fatalf("interop: refusing to forge to %s", dst)
	}
	p := advertSpec{version: 3, vrid: vrid, priority: prio, advert: l.kc.advert, addrs: []netip.Addr{vip4}}.marshal(kwForger.Addr(), dst)
	pkt := make([]byte, 20+len(p))
	pkt[0], pkt[1] = 0x45, 0xc0
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	pkt[8], pkt[9] = 255, 112
	s, d := kwForger.Addr().As4(), dst.As4()
	copy(pkt[12:], s[:])
	copy(pkt[16:], d[:])
	copy(pkt[20:], p)
	if err := unix.Sendto(l.tx.fd, pkt, 0, &unix.SockaddrInet4{Addr: d}); err != nil {
		fail(l.t, fmt.Sprintf("interop: sendto %s: %v", dst, err), l.dut)
	}
}

// waitMaster waits until the DUT holds the VIP.
func (l *kwLab) waitMaster() {
	l.t.Helper()
	sc := scenario{advert: l.kc.advert}
	if err := waitOwner(startupMargin+sc.masterDown(200), sampleEvery(l.kc.advert), vip4, "a", l.dut); err != nil {
		fail(l.t, fmt.Sprintf("a never became master: %v", err), l.dut)
	}
}

// capture starts tcpdump on c for VRRP and ARP.
func (l *kwLab) capture() *netlab.Capture {
	l.t.Helper()
	c, err := l.c.Capture(ifname, "ip proto 112 or arp")
	if err != nil {
		fail(l.t, err.Error(), l.dut)
	}
	return c
}

// wireEvent is one captured packet.
type wireEvent struct {
	at   time.Duration // capture timestamp (since the epoch)
	arp  bool          // a gratuitous ARP for the VIP
	src  netip.Addr    // VRRP source
	dst  string        // VRRP destination
	prio int
	ttl  int
	line string
}

var (
	reTTL  = regexp.MustCompile(`\bttl (\d+)\b`)
	reVRRP = regexp.MustCompile(`(\d+\.\d+\.\d+\.\d+) > (\S+): VRRPv\d, Advertisement, (?:\(ttl \d+\), )?vrid (\d+), prio (\d+)`)
	reTS   = regexp.MustCompile(`^(\d+)\.(\d{6}) `)
)

// readEvents decodes the capture so far (`tcpdump -nn -tt -v`, whose VRRP
// lines continue on an indented second line).
func readEvents(path string) ([]wireEvent, error) {
	text, err := netlab.ReadPcap(path, "-tt", "-v")
	if err != nil && text == "" {
		return nil, err
	}
	var recs []string
	for _, ln := range strings.Split(text, "\n") {
		switch {
		case ln == "":
		case (ln[0] == ' ' || ln[0] == '\t') && len(recs) > 0:
			recs[len(recs)-1] += " " + strings.TrimSpace(ln)
		default:
			recs = append(recs, ln)
		}
	}
	var out []wireEvent
	for _, r := range recs {
		m := reTS.FindStringSubmatch(r)
		if m == nil {
			continue
		}
		s, _ := strconv.ParseInt(m[1], 10, 64)
		us, _ := strconv.ParseInt(m[2], 10, 64)
		ev := wireEvent{at: time.Duration(s)*time.Second + time.Duration(us)*time.Microsecond, line: r}
		if t := reTTL.FindStringSubmatch(r); t != nil {
			ev.ttl, _ = strconv.Atoi(t[1])
		}
		switch {
		case strings.Contains(r, " ARP, ") && strings.Contains(r, vip4.String()):
			ev.arp = true
		case reVRRP.MatchString(r):
			v := reVRRP.FindStringSubmatch(r)
			ev.src, ev.dst = netip.MustParseAddr(v[1]), v[2]
			ev.prio, _ = strconv.Atoi(v[4])
		default:
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}

// waitEvents polls the capture until done says so (bounded by timeout).
func (l *kwLab) waitEvents(c *netlab.Capture, timeout time.Duration, what string, done func([]wireEvent) bool) []wireEvent {
	l.t.Helper()
	var evs []wireEvent
	err := netlab.WaitFor(context.Background(), timeout, 20*time.Millisecond, func() (bool, error) {
		var err error
		evs, err = readEvents(c.Path())
		return err == nil && done(evs), fmt.Errorf("interop: %s not seen in the capture (%d packets): %v", what, len(evs), err)
	})
	if err != nil {
		raw, _ := netlab.ReadPcap(c.Path(), "-tt", "-v")
		fail(l.t, err.Error()+"\ncapture:\n"+tailLines(raw, 20), l.dut)
	}
	return evs
}

func (l *kwLab) finish(c *netlab.Capture) []wireEvent {
	l.t.Helper()
	path, err := c.Stop()
	if err != nil {
		fail(l.t, err.Error(), l.dut)
	}
	evs, err := readEvents(path)
	if err != nil {
		fail(l.t, err.Error(), l.dut)
	}
	var b strings.Builder
	var t0 time.Duration
	for i, ev := range evs {
		if i == 0 {
			t0 = ev.at
		}
		fmt.Fprintf(&b, "  +%7.3fs %s\n", (ev.at - t0).Seconds(), shortLine(ev.line))
	}
	l.timeline = b.String()
	return evs
}

// shortLine drops the timestamp and the IP header details of a record.
func shortLine(r string) string {
	if i := strings.Index(r, " "); i > 0 {
		r = r[i+1:]
	}
	if i := strings.Index(r, ") "); strings.HasPrefix(r, "IP (") && i > 0 {
		ttl := reTTL.FindString(r)
		r = ttl + ": " + r[i+2:]
	}
	return r
}

func (ev wireEvent) fromDUT() bool { return !ev.arp && ev.src == addrA4.Addr() }
func (ev wireEvent) forged() bool  { return !ev.arp && ev.src == kwForger.Addr() }

// lowerPrioRun: once the DUT is master and has just advertised, c sends one
// advert of priority prio; the capture runs until the DUT's first regular
// advert after window (the DUT's own adverts are the clock) or, with window
// 0 (a better advert: the DUT yields), until it is master again.
func lowerPrioRun(prio int, window time.Duration) func(t *testing.T, l *kwLab) kwResult {
	return func(t *testing.T, l *kwLab) kwResult {
		l.startDUT()
		l.waitMaster()
		c := l.capture()
		// Forge right after a DUT advert, so its next regular one is a
		// whole interval away from any answer.
		l.waitEvents(c, 3*l.kc.advert, "a DUT advert", func(evs []wireEvent) bool {
			return len(evs) > 0 && evs[len(evs)-1].fromDUT()
		})
		l.forge(prio)
		var t0 time.Duration
		haveT0 := func(evs []wireEvent) bool {
			for _, ev := range evs {
				if ev.forged() {
					t0 = ev.at
					return true
				}
			}
			return false
		}
		if window > 0 {
			l.waitEvents(c, window+3*l.kc.advert, "the DUT's advert after the window", func(evs []wireEvent) bool {
				if !haveT0(evs) {
					return false
				}
				last := evs[len(evs)-1]
				return last.fromDUT() && last.at-t0 > window
			})
		} else {
			// Yielded: master again after Master_Down_Interval without adverts.
			sc := scenario{advert: l.kc.advert}
			l.waitEvents(c, sc.masterDown(200)+3*l.kc.advert, "the DUT master again", func(evs []wireEvent) bool {
				if !haveT0(evs) {
					return false
				}
				last := evs[len(evs)-1]
				return last.fromDUT() && last.at-t0 > time.Second
			})
		}
		evs := l.finish(c)
		haveT0(evs)
		r := kwResult{LaterAtS: -1}
		for _, ev := range evs {
			d := ev.at - t0
			if d >= 0 && d < time.Second && r.FirstIs == "" && window > 0 && (ev.arp || ev.fromDUT()) {
				r.FirstIs = map[bool]string{true: "garp", false: "advert"}[ev.arp]
			}
			switch {
			case d < 0:
			case ev.fromDUT() && d <= 300*time.Millisecond:
				r.Readvert++
				r.ReadvPrio = ev.prio
			case ev.arp && d < time.Second && window > 0:
				r.GarpsNow++
			case ev.arp && d <= window && window > 0:
				r.GarpsLater++
				if r.LaterAtS < 0 {
					r.LaterAtS = int(d.Round(time.Second) / time.Second)
				}
			}
		}
		return r
	}
}

// unicastTTLRun: the DUT, alone, masters and advertises to c by unicast.
func unicastTTLRun(t *testing.T, l *kwLab) kwResult {
	l.startDUT()
	l.waitMaster()
	c := l.capture()
	l.waitEvents(c, 5*l.kc.advert, "3 DUT adverts", func(evs []wireEvent) bool {
		n := 0
		for _, ev := range evs {
			if ev.fromDUT() {
				n++
			}
		}
		return n >= 3
	})
	evs := l.finish(c)
	r := kwResult{LaterAtS: -1}
	seen := map[int]bool{}
	for _, ev := range evs {
		if ev.fromDUT() && !seen[ev.ttl] {
			seen[ev.ttl] = true
			r.TTLs = append(r.TTLs, ev.ttl)
		}
	}
	return r
}

// downTimerRun: c plays a priority-250 master for 4 adverts and goes
// silent; the DUT's first advert follows Master_Down_Interval later.
func downTimerRun(t *testing.T, l *kwLab) kwResult {
	c := l.capture()
	l.startDUT()
	tick := time.NewTicker(l.kc.advert)
	defer tick.Stop()
	for i := range 4 {
		l.forge(250)
		if i < 3 {
			<-tick.C
		}
	}
	sc := scenario{advert: l.kc.advert}
	var last time.Duration
	l.waitEvents(c, sc.masterDown(200)+3*l.kc.advert, "the DUT's advert after c went silent", func(evs []wireEvent) bool {
		for _, ev := range evs {
			if ev.forged() {
				last = ev.at
			}
		}
		if len(evs) == 0 {
			return false
		}
		e := evs[len(evs)-1]
		return last > 0 && e.fromDUT() && e.at > last
	})
	evs := l.finish(c)
	r := kwResult{LaterAtS: -1}
	for _, ev := range evs {
		if ev.fromDUT() && ev.at > last && ev.prio == 200 {
			skew := time.Duration(256-200) * l.kc.advert / 256
			r.DownAdverts = int(((ev.at - last - skew) + l.kc.advert/2) / l.kc.advert)
			t.Logf("%s: first advert %v after the last forged one", l.dut.impl, (ev.at - last).Round(time.Millisecond))
			break
		}
	}
	return r
}

// startupDelayRun: the DUT starts alone; its first advert (as master)
// follows vrrp_startup_delay + Master_Down_Interval after its start.
func startupDelayRun(t *testing.T, l *kwLab) kwResult {
	c := l.capture()
	started := l.startDUT()
	sc := scenario{advert: l.kc.advert}
	evs := l.waitEvents(c, 10*time.Second+sc.masterDown(200)+startupMargin, "the DUT's first advert", func(evs []wireEvent) bool {
		for _, ev := range evs {
			if ev.fromDUT() {
				return true
			}
		}
		return false
	})
	l.finish(c)
	r := kwResult{LaterAtS: -1}
	for _, ev := range evs {
		if ev.fromDUT() {
			first := time.Duration(ev.at) - time.Duration(started.UnixNano())
			r.StartDelayS = int((first - sc.masterDown(200) + time.Second/2) / time.Second)
			t.Logf("%s: first advert %v after the start (Master_Down_Interval %v)", l.dut.impl, first.Round(time.Millisecond), sc.masterDown(200))
			break
		}
	}
	return r
}

// mcastGroupRun: the DUT masters on kwGroup; a better advert to 224.0.0.18
// is not its virtual router's (it keeps advertising), one to kwGroup is (it
// yields and falls silent).
func mcastGroupRun(t *testing.T, l *kwLab) kwResult {
	l.startDUT()
	l.waitMaster()
	c := l.capture()
	lastDUT := func(evs []wireEvent) bool { return len(evs) > 0 && evs[len(evs)-1].fromDUT() }
	l.waitEvents(c, 3*l.kc.advert, "a DUT advert", lastDUT)
	l.forgeTo(254, vrrpGroup4)
	var t18, t19 time.Duration
	forgedAt := func(evs []wireEvent, dst string, n int) time.Duration {
		for _, ev := range evs {
			if ev.forged() && ev.dst == dst {
				if n--; n == 0 {
					return ev.at
				}
			}
		}
		return 0
	}
	l.waitEvents(c, 3*l.kc.advert, "a DUT advert after the forged one to 224.0.0.18", func(evs []wireEvent) bool {
		t18 = forgedAt(evs, vrrpGroup4.String(), 1)
		return t18 > 0 && lastDUT(evs) && evs[len(evs)-1].at > t18
	})
	l.forgeTo(254, kwGroup)
	// Silent for 2 intervals after yielding (Master_Down_Interval is 6.4 s);
	// c's own forged adverts to 224.0.0.18 are the clock.
	tick := time.NewTicker(l.kc.advert)
	defer tick.Stop()
	for range 2 {
		<-tick.C
		l.forgeTo(1, vrrpGroup4)
	}
	evs := l.waitEvents(c, 3*l.kc.advert, "the clock adverts", func(evs []wireEvent) bool {
		t19 = forgedAt(evs, kwGroup.String(), 1)
		return t19 > 0 && forgedAt(evs, vrrpGroup4.String(), 3) > 0
	})
	l.finish(c)
	end := forgedAt(evs, vrrpGroup4.String(), 3)
	r := kwResult{LaterAtS: -1, YieldedOnGroup: true}
	seen := map[string]bool{}
	for _, ev := range evs {
		if !ev.fromDUT() {
			continue
		}
		if !seen[ev.dst] {
			seen[ev.dst] = true
			r.Dsts = append(r.Dsts, ev.dst)
		}
		if ev.at > t18 && ev.at < t19 {
			r.KeptOnDefault = true
		}
		if ev.at > t19+300*time.Millisecond && ev.at <= end {
			r.YieldedOnGroup = false
		}
	}
	return r
}

// silentRun: the DUT starts alone and must stay silent without the VIP
// (FAULT) for Master_Down_Interval + 2 intervals, clocked by c's forged
// priority-1 adverts (a BACKUP would preempt them and advertise).
func silentRun(t *testing.T, l *kwLab) kwResult {
	c := l.capture()
	l.startDUT()
	sc := scenario{advert: l.kc.advert}
	n := int(sc.masterDown(200)/l.kc.advert) + 3
	tick := time.NewTicker(l.kc.advert)
	defer tick.Stop()
	for i := range n {
		l.forge(1)
		if i < n-1 {
			<-tick.C
		}
	}
	evs := l.waitEvents(c, 3*l.kc.advert, "the last clock advert", func(evs []wireEvent) bool {
		k := 0
		for _, ev := range evs {
			if ev.forged() {
				k++
			}
		}
		return k >= n
	})
	l.finish(c)
	has, err := l.dut.hasVIP(vip4)
	if err != nil {
		fail(t, err.Error(), l.dut)
	}
	r := kwResult{LaterAtS: -1, SilentAndNoVIP: !has}
	for _, ev := range evs {
		if ev.fromDUT() || ev.arp {
			r.SilentAndNoVIP = false
		}
	}
	return r
}

// promoteRun reads net.ipv4.conf.eth0.promote_secondaries on a before the
// start, while running and after the stop (keepalived restores it).
func promoteRun(t *testing.T, l *kwLab) kwResult {
	read := func() string {
		out, err := l.dut.host.Exec(context.Background(), "cat", "/proc/sys/net/ipv4/conf/"+ifname+"/promote_secondaries")
		if err != nil {
			fail(t, err.Error(), l.dut)
		}
		return strings.TrimSpace(string(out))
	}
	before := read()
	l.startDUT()
	l.waitMaster()
	during := read()
	stopBoth(t, scenario{}, l.dut)
	after := read()
	return kwResult{LaterAtS: -1, Promote: before + during + after}
}
