package interop

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// GARP/NA pacing on the wire, keepalived 2.2.7 and govrrp with the same
// file, each on host a of its own lab while host c captures on both links:
//
//   - vrrp_garp_interval / vrrp_gna_interval: every two GARPs (NAs) a sends
//     on eth0 are at least the interval apart, across two instances and the
//     transition and second bursts;
//   - garp_group over eth0 and eth1: ONE budget, so GARPs on both links
//     together are at least its garp_interval apart;
//   - garp_extra_if all 1: the first VIP on eth1 (not the instance's
//     interface) announced again every second while master.
//
// govrrp must keep the spacing (protocol-derived lower bounds; capture
// timestamps get capJitter of slack); keepalived's numbers are logged
// beside govrrp's.

// capJitter is the slack on a spacing seen in a capture: the kernel stamps
// frames as c receives them, not as a sends them.
const capJitter = time.Millisecond

var (
	lan2V4  = netip.MustParsePrefix("198.51.100.0/24")
	lan2V6  = netip.MustParsePrefix("2001:db8:1::/64")
	garpC4  = netip.MustParsePrefix("192.0.2.13/24")
	garpC6  = netip.MustParsePrefix("2001:db8::13/64")
	garpA42 = netip.MustParsePrefix("198.51.100.11/24")
	garpA62 = netip.MustParsePrefix("2001:db8:1::11/64")
	garpC42 = netip.MustParsePrefix("198.51.100.13/24")
	garpC62 = netip.MustParsePrefix("2001:db8:1::13/64")
)

// announceEv is one GARP or unsolicited NA seen by c.
type announceEv struct {
	at   time.Duration // capture timestamp
	link string        // c's interface
	na   bool
	addr string
}

type garpPacingCase struct {
	name   string
	conf   string
	wait   func(evs []announceEv) bool // enough seen
	check  func(t *testing.T, evs []announceEv) string
	report func(evs []announceEv) string
}

func garpPacingCases() []garpPacingCase {
	return []garpPacingCase{
		{
			name: "vrrp_garp_interval_50ms_gna_80ms",
			conf: `global_defs {
    router_id garp_a
    vrrp_garp_interval 0.05
    vrrp_gna_interval 0.08
}
vrrp_instance V4 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 1
    garp_master_repeat 3
    garp_master_delay 2
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24
        192.0.2.102/24
        192.0.2.103/24
        192.0.2.104/24
        192.0.2.105/24
    }
}
vrrp_instance V6 {
    state MASTER
    interface eth0
    virtual_router_id 52
    priority 200
    advert_int 1
    garp_master_repeat 2
    garp_master_delay 2
    virtual_ipaddress {
        2001:db8::100/64
        2001:db8::101/64
        2001:db8::102/64
    }
}
`,
			// both bursts: 6 VIPs twice, 3 NAs twice
			wait: func(evs []announceEv) bool { return count(evs, "eth0", false) >= 12 && count(evs, "eth0", true) >= 6 },
			check: func(t *testing.T, evs []announceEv) string {
				return minGapAtLeast(pick(evs, "eth0", false), 50*time.Millisecond, "GARPs on eth0") +
					minGapAtLeast(pick(evs, "eth0", true), 80*time.Millisecond, "NAs on eth0")
			},
			report: func(evs []announceEv) string {
				return fmt.Sprintf("GARPs %d min gap %v; NAs %d min gap %v", count(evs, "eth0", false), minGap(pick(evs, "eth0", false)),
					count(evs, "eth0", true), minGap(pick(evs, "eth0", true)))
			},
		},
		{
			name: "garp_group_eth0_eth1_100ms_extra_if_all_1",
			conf: `global_defs {
    router_id garp_a
}
garp_group {
    garp_interval 0.1
    gna_interval 0.1
    interfaces {
        eth0
        eth1
    }
}
vrrp_instance V4 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 1
    garp_master_repeat 2
    garp_master_delay 0
    garp_extra_if all 1
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24
        198.51.100.100/24 dev eth1
        198.51.100.101/24 dev eth1
    }
}
`,
			// the burst, then three extra-interface rounds
			wait: func(evs []announceEv) bool { return countAddr(evs, "198.51.100.100") >= 5 },
			check: func(t *testing.T, evs []announceEv) string {
				all := pickAll(evs, false)
				extra := extraRounds(evs)
				msg := minGapAtLeast(all, 100*time.Millisecond, "GARPs on eth0 and eth1 together (one garp_group)") +
					minGapAtLeast(extra, time.Second, "extra-interface GARPs of 198.51.100.100")
				if len(extra) < 3 {
					msg += fmt.Sprintf("; %d extra-interface GARPs for 198.51.100.100, want at least 3", len(extra))
				}
				if n := countAddr(evs, "198.51.100.101"); n > 2 {
					msg += fmt.Sprintf("; 198.51.100.101 announced %d times, want only in the burst (extra_if: first VIP per interface)", n)
				}
				if n := countAddr(evs, "192.0.2.100"); n > 2 {
					msg += fmt.Sprintf("; 192.0.2.100 (instance's own interface) announced %d times, want only in the burst", n)
				}
				return msg
			},
			report: func(evs []announceEv) string {
				extra := extraRounds(evs)
				return fmt.Sprintf("GARPs %d, min gap across both links %v; extra-interface GARPs %d, min gap %v",
					len(pickAll(evs, false)), minGap(pickAll(evs, false)), len(extra), minGap(extra))
			},
		},
	}
}

func TestGarpPacingOnTheWire(t *testing.T) {
	t.Parallel()
	for _, gc := range garpPacingCases() {
		t.Run(gc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			reports := map[impl]string{}
			t.Run("impls", func(t *testing.T) {
				for _, im := range []impl{keepalived, govrrp} {
					t.Run(im.short(), func(t *testing.T) {
						t.Parallel()
						evs, dut := runGarpCase(t, im, gc)
						mu.Lock()
						reports[im] = gc.report(evs)
						mu.Unlock()
						if im == govrrp {
							if msg := gc.check(t, evs); msg != "" {
								fail(t, fmt.Sprintf("govrrp %s: %s\n%s", gc.name, strings.TrimPrefix(msg, "; "), timeline(evs)), dut)
							}
						}
						stopBoth(t, scenario{}, dut)
					})
				}
			})
			t.Logf("%s\n  keepalived: %s\n  govrrp:     %s", gc.name, reports[keepalived], reports[govrrp])
		})
	}
}

// runGarpCase starts im with the case's file on a, captures on c's two
// links until the case has seen enough (bounded), and returns what c saw.
func runGarpCase(t *testing.T, im impl, gc garpPacingCase) ([]announceEv, *node) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test (namespaces, real daemons) skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived", "tcpdump")
	lab := netlab.New(t)
	lan := lab.AddSegment("lan", lanV4, lanV6)
	lan2 := lab.AddSegment("lan2", lan2V4, lan2V6)
	a, c := lab.AddHost("a"), lab.AddHost("c")
	for _, cn := range []struct {
		h      *netlab.Host
		s      *netlab.Segment
		ifn    string
		v4, v6 netip.Prefix
	}{{a, lan, "eth0", addrA4, addrA6}, {a, lan2, "eth1", garpA42, garpA62}, {c, lan, "eth0", garpC4, garpC6}, {c, lan2, "eth1", garpC42, garpC62}} {
		if err := cn.h.Connect(cn.s, cn.ifn, cn.v4, cn.v6); err != nil {
			t.Fatalf("interop: connect %s: %v", cn.ifn, err)
		}
	}
	dut := &node{t: t, name: "a", impl: im, host: a, ip4: addrA4.Addr(), ip6: addrA6.Addr()}
	var caps []*netlab.Capture
	for _, ifn := range []string{"eth0", "eth1"} {
		cp, err := c.Capture(ifn, "arp or (icmp6 and ip6[40] == 136)")
		if err != nil {
			t.Fatal(err)
		}
		caps = append(caps, cp)
	}
	garpStartDUT(t, dut, gc.conf)
	var evs []announceEv
	err := netlab.WaitFor(context.Background(), 20*time.Second, 50*time.Millisecond, func() (bool, error) {
		var err error
		evs, err = readAnnouncements(caps)
		return err == nil && gc.wait(evs), fmt.Errorf("interop: not enough announcements (%d): %v", len(evs), err)
	})
	if err != nil {
		fail(t, err.Error()+"\n"+timeline(evs), dut)
	}
	for _, cp := range caps {
		if _, err := cp.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	evs, err = readAnnouncements(caps)
	if err != nil {
		t.Fatal(err)
	}
	return evs, dut
}

// garpStartDUT starts the DUT without node.start's one-instance readiness
// check (these files have two instances); the capture is the readiness.
func garpStartDUT(t *testing.T, n *node, conf string) {
	t.Helper()
	var p *netlab.Proc
	var err error
	if n.impl == keepalived {
		p, err = n.host.StartKeepalived(conf)
	} else {
		p, err = n.host.StartGovrrp(govrrpBin(t), conf)
	}
	if err != nil {
		t.Fatalf("interop: start %s: %v", n.impl, err)
	}
	n.proc, n.prio = p, 200
	n.procs = append(n.procs, p)
}

var (
	reGARP = regexp.MustCompile(`^(\d+)\.(\d{6}) ARP, Request who-has (\S+) \(ff:ff:ff:ff:ff:ff\) tell (\S+),`)
	reNA   = regexp.MustCompile(`^(\d+)\.(\d{6}) IP6 \S+ > ff02::1: ICMP6, neighbor advertisement, tgt is (\S+),`)
)

// readAnnouncements decodes both captures into one time-ordered list.
func readAnnouncements(caps []*netlab.Capture) ([]announceEv, error) {
	var out []announceEv
	for i, cp := range caps {
		text, err := netlab.ReadPcap(cp.Path(), "-tt")
		if err != nil && text == "" {
			return nil, err
		}
		link := []string{"eth0", "eth1"}[i]
		for _, ln := range strings.Split(text, "\n") {
			var ev announceEv
			if m := reGARP.FindStringSubmatch(ln); m != nil && m[3] == m[4] {
				ev = announceEv{at: stamp(m[1], m[2]), link: link, addr: m[3]}
			} else if m := reNA.FindStringSubmatch(ln); m != nil {
				ev = announceEv{at: stamp(m[1], m[2]), link: link, na: true, addr: m[3]}
			} else {
				continue
			}
			out = append(out, ev)
		}
	}
	slices.SortFunc(out, func(x, y announceEv) int { return int(x.at - y.at) })
	return out, nil
}

func stamp(s, us string) time.Duration {
	sec, _ := strconv.ParseInt(s, 10, 64)
	u, _ := strconv.ParseInt(us, 10, 64)
	return time.Duration(sec)*time.Second + time.Duration(u)*time.Microsecond
}

func pick(evs []announceEv, link string, na bool) []time.Duration {
	var out []time.Duration
	for _, e := range evs {
		if e.link == link && e.na == na {
			out = append(out, e.at)
		}
	}
	return out
}

func pickAll(evs []announceEv, na bool) []time.Duration {
	var out []time.Duration
	for _, e := range evs {
		if e.na == na {
			out = append(out, e.at)
		}
	}
	return out
}

func count(evs []announceEv, link string, na bool) int { return len(pick(evs, link, na)) }

func countAddr(evs []announceEv, addr string) int {
	n := 0
	for _, e := range evs {
		if e.addr == addr {
			n++
		}
	}
	return n
}

// extraRounds are the announcements of 198.51.100.100 after its burst (its
// first two, repeat 2).
func extraRounds(evs []announceEv) []time.Duration {
	var out []time.Duration
	for _, e := range evs {
		if e.addr == "198.51.100.100" {
			out = append(out, e.at)
		}
	}
	if len(out) <= 2 {
		return nil
	}
	return out[2:]
}

func minGap(ts []time.Duration) time.Duration {
	var m time.Duration = -1
	for i := 1; i < len(ts); i++ {
		if g := ts[i] - ts[i-1]; m < 0 || g < m {
			m = g
		}
	}
	return m
}

// minGapAtLeast: "" when every gap is at least want (less capJitter).
func minGapAtLeast(ts []time.Duration, want time.Duration, what string) string {
	if len(ts) < 2 {
		return fmt.Sprintf("; %s: %d seen, cannot measure spacing", what, len(ts))
	}
	if g := minGap(ts); g < want-capJitter {
		return fmt.Sprintf("; %s: a gap of %v, want at least %v", what, g, want)
	}
	return ""
}

func timeline(evs []announceEv) string {
	var b strings.Builder
	for i, e := range evs {
		kind := "GARP"
		if e.na {
			kind = "NA"
		}
		fmt.Fprintf(&b, "  +%8.3fs %s %s %s\n", (e.at - evs[0].at).Seconds(), e.link, kind, e.addr)
		if i > 80 {
			b.WriteString("  ...\n")
			break
		}
	}
	return b.String()
}
