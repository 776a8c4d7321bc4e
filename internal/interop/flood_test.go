package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
	"golang.org/x/sys/unix"
)

// This file is issue 9's flood: a third host sends 10,000 bogus adverts a
// second for 10 s at a govrrp pair and, in the same run, at a keepalived pair
// with the same configuration. One packet kind per drop reason the daemon can
// reach with this configuration, plus valid adverts for VRIDs nobody runs.
// Well-formed higher-priority adverts are left out on purpose: VRRP without
// authentication must yield to them, so they would legitimately move the VIP.
//
// Asserted: no VIP ever leaves the master or shows up on the backup (sampled),
// no govrrp transition, every expected drop counter moved, `govrrp status`
// answers during and after the flood. Measured and logged only: CPU of each
// daemon over the flood window (and over an idle window before it), RSS,
// threads, goroutines and heap before and after, bytes allocated per flood
// packet, and the packets the kernel dropped at the master's full receive
// queues (which no daemon counter can see).
//
// Drop reasons pkg/vrrp knows that no keepalived.conf govrrp accepts can
// reach, so not sent: auth_ah_unsupported (auth_type AH is refused at load),
// owner_received (owner_ignore_adverts is refused), src_not_link_local
// (the daemon never sets StrictLinkLocal), queue_full (only for valid adverts),
// hmac_replay (needs a validly signed advert; TestAuthHMACOnTheWire replays
// one). The auth_hmac kinds go to govrrp only: keepalived 2.2.7 lacks it.

const (
	floodRate     = 10000           // packets per second
	floodBaseline = 2 * time.Second // idle window before the flood, for CPU beside it
	floodMetrics  = "127.0.0.1:9650"
	userHZ        = 100 // /proc/PID/stat clock ticks per second on Linux

	vridV2 = 52 // v2 PASS, IPv4 multicast
	vridV6 = 53 // v3 IPv6 multicast
	vridUC = 54 // v3 IPv4 unicast a<->b
	vridHM = 55 // v3 IPv4 multicast, auth_hmac enforce (govrrp only)
	// vrid (51) is v3 IPv4 multicast.
)

// floodDuration is 10 s, or GOVRRP_FLOOD_DURATION (at most 10 minutes) for
// a longer manual run that shows whether RSS keeps growing or levels off:
// GOVRRP_FLOOD_DURATION=2m go test -run '^TestFlood$/gv' -v ./internal/interop/
var floodDuration = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("GOVRRP_FLOOD_DURATION")); err == nil && d > 0 {
		return min(d, 10*time.Minute)
	}
	return 10 * time.Second
}()

var (
	addrF4   = netip.MustParsePrefix("192.0.2.13/24")
	addrF6   = netip.MustParsePrefix("2001:db8::13/64")
	vip4v2   = netip.MustParseAddr("192.0.2.101")
	vip4uc   = netip.MustParseAddr("192.0.2.102")
	vip4hm   = netip.MustParseAddr("192.0.2.103")
	group6   = netip.MustParseAddr("ff02::12")
	floodPW  = "floodpw1"
	floodAdv = 200 * time.Millisecond // v3 instances; v2 is at 1 s
)

// floodVIPs is every VIP of the flood config for im; all stay on a.
func floodVIPs(im impl) []netip.Addr {
	if im == keepalived {
		return []netip.Addr{vip4, vip4v2, vip6, vip4uc}
	}
	return []netip.Addr{vip4, vip4v2, vip6, vip4uc, vip4hm}
}

// floodConf is the config both implementations read: four instances, one
// per receive path the flood attacks, and for govrrp a fifth signed with
// auth_hmac (keepalived 2.2.7 has no auth_hmac: it would run it unsigned).
func floodConf(im impl, routerID string, prio int, state string, self, peer netip.Addr) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n    vrrp_check_unicast_src\n}\n", routerID)
	inst := func(name string, vr, version int, adv string, body, vip string) {
		fmt.Fprintf(&b, "vrrp_instance %s {\n    state %s\n    interface %s\n    virtual_router_id %d\n"+
			"    version %d\n    priority %d\n    advert_int %s\n%s    virtual_ipaddress {\n        %s\n    }\n}\n",
			name, state, ifname, vr, version, prio, adv, body, vip)
	}
	inst("VI_V3", vrid, 3, "0.2", "", vip4.String()+"/24")
	inst("VI_V2", vridV2, 2, "1", "    authentication {\n        auth_type PASS\n        auth_pass "+floodPW+"\n    }\n", vip4v2.String()+"/24")
	inst("VI_V6", vridV6, 3, "0.2", "", vip6.String()+"/64")
	inst("VI_UC", vridUC, 3, "0.2", fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n", self, peer), vip4uc.String()+"/24")
	if im == govrrp {
		inst("VI_HM", vridHM, 3, "0.2", "    auth_hmac {\n        key 1 hex:"+hmacHexKey+"\n        active_key 1\n        time_window 5\n        mode enforce\n    }\n", vip4hm.String()+"/24")
	}
	return b.String()
}

// floodKind is one kind of bogus packet and the counter it must move on a.
type floodKind struct {
	name     string
	instance string // status instance whose drops[reason] moves; "" = the socket's
	reason   string
	v6       bool
	unicast  bool       // to a's address instead of the group
	src      netip.Addr // IPv4 source; zero = the flooder's
	ttl      int
	payloads [][]byte // rotated
	kaSkip   string   // not sent to keepalived, and why
	// stamp: the payload ends in an auth_hmac trailer whose seconds are set
	// to the send time, so it stays inside time_window however long the
	// flood runs (the defect it carries is elsewhere).
	stamp bool
}

// floodKinds builds the packets. Every advert claims priority 254, so one
// that is wrongly accepted moves the VIP, not only a counter.
func floodKinds(a, f *node) []floodKind {
	g := vrrpGroup4
	v3 := advertSpec{version: 3, vrid: vrid, priority: 254, advert: floodAdv, addrs: []netip.Addr{vip4}}
	v2 := advertSpec{version: 2, vrid: vridV2, priority: 254, advert: time.Second, addrs: []netip.Addr{vip4v2}, authPass: floodPW}
	mk := func(s advertSpec, src, dst netip.Addr, mut func([]byte) []byte) [][]byte {
		b := s.marshal(src, dst)
		if mut != nil {
			b = mut(b)
		}
		return [][]byte{b}
	}
	re := func(version int, src, dst netip.Addr, edit func([]byte)) func([]byte) []byte {
		return func(b []byte) []byte { edit(b); fixChecksum(b, version, src, dst); return b }
	}
	unknown := make([][]byte, 0, 10)
	for id := 60; id < 70; id++ {
		s := v3
		s.vrid = id
		unknown = append(unknown, s.marshal(f.ip4, g))
	}
	asV2 := v2
	asV2.vrid, asV2.addrs = vrid, []netip.Addr{vip4}
	noAuth := v2
	noAuth.authPass = ""
	wrongPW := v2
	wrongPW.authPass = "wrongpw!"
	slow := v2
	slow.advert = 2 * time.Second
	zero := v3
	zero.advert = 0
	uc := v3
	uc.vrid, uc.addrs = vridUC, []netip.Addr{vip4uc}
	v2over6 := advertSpec{version: 2, vrid: vridV6, priority: 254, advert: time.Second, addrs: []netip.Addr{vip6}}
	v3over6 := advertSpec{version: 3, vrid: vridV6, priority: 254, advert: floodAdv, addrs: []netip.Addr{vip6}}
	// The v6 checksum covers a v6 pseudo-header; one computed over a v4
	// one and then flipped cannot match it.
	bad6 := v3over6.marshal(f.ip4, g)
	bad6[6] ^= 0x5a

	// auth_hmac: the message's checksum is over the message alone (IPv4),
	// the trailer follows. None carries a valid HMAC (no key is used here).
	hm := v3
	hm.vrid, hm.addrs = vridHM, []netip.Addr{vip4hm}
	signedLike := func(ext, key byte, sec uint32) [][]byte {
		b := hm.marshal(f.ip4, g)
		b = append(b, ext, key, 0, 0)
		b = binary.BigEndian.AppendUint32(b, sec)
		b = append(b, 0, 0, 0, 1)                        // sequence low half
		b = append(b, bytes.Repeat([]byte{0xa5}, 16)...) // not the HMAC
		return [][]byte{b}
	}
	const noHMAC = "keepalived 2.2.7 has no auth_hmac (the instance is govrrp's only)"
	hmacKinds := []floodKind{
		{name: "hmac-unsigned", instance: "VI_HM", reason: "hmac_missing", ttl: 255, payloads: mk(hm, f.ip4, g, nil), kaSkip: noHMAC},
		{name: "hmac-ext-type", instance: "VI_HM", reason: "hmac_malformed", ttl: 255, payloads: signedLike(2, 1, 0), stamp: true, kaSkip: noHMAC},
		{name: "hmac-an-hour-old", instance: "VI_HM", reason: "hmac_stale", ttl: 255, payloads: signedLike(1, 1, uint32(time.Now().Add(-time.Hour).Unix())), kaSkip: noHMAC},
		{name: "hmac-key-9", instance: "VI_HM", reason: "hmac_unknown_key", ttl: 255, payloads: signedLike(1, 9, 0), stamp: true, kaSkip: noHMAC},
		{name: "hmac-forged", instance: "VI_HM", reason: "hmac_invalid", ttl: 255, payloads: signedLike(1, 1, 0), stamp: true, kaSkip: noHMAC},
	}

	return append([]floodKind{
		{name: "ttl64", instance: "VI_V3", reason: "ttl", ttl: 64, payloads: mk(v3, f.ip4, g, nil)},
		{name: "truncated", instance: "VI_V3", reason: "too_short", ttl: 255, payloads: mk(v3, f.ip4, g, func(b []byte) []byte { return b[:6] })},
		{name: "version4", instance: "VI_V3", reason: "version", ttl: 255, payloads: mk(v3, f.ip4, g, re(3, f.ip4, g, func(b []byte) { b[0] = 4<<4 | 1 }))},
		{name: "type2", instance: "VI_V3", reason: "type", ttl: 255, payloads: mk(v3, f.ip4, g, re(3, f.ip4, g, func(b []byte) { b[0] = 3<<4 | 2 }))},
		{name: "lying-count", instance: "VI_V3", reason: "length", ttl: 255, payloads: mk(v3, f.ip4, g, re(3, f.ip4, g, func(b []byte) { b[3] = 3 }))},
		{name: "bad-checksum", instance: "VI_V3", reason: "checksum", ttl: 255, payloads: mk(v3, f.ip4, g, func(b []byte) []byte { b[6] ^= 0x5a; return b })},
		{name: "v2-at-v3", instance: "VI_V3", reason: "version_mismatch", ttl: 255, payloads: mk(asV2, f.ip4, g, nil)},
		{name: "zero-interval", instance: "VI_V3", reason: "zero_interval", ttl: 255, payloads: mk(zero, f.ip4, g, nil),
			kaSkip: "keepalived 2.2.7 accepts Max Adver Int 0 and yields to it"},
		// The master's own address as source: the kernel drops it as a
		// martian unless accept_local is on (set on a for this reason).
		{name: "own-source", instance: "VI_V3", reason: "own_advert", src: a.ip4, ttl: 255, payloads: mk(v3, a.ip4, g, nil),
			kaSkip: "keepalived 2.2.7 takes an advert from its own address for a peer's and yields to priority 254"},
		{name: "unknown-vrid", reason: "unknown_vrid", ttl: 255, payloads: unknown},
		{name: "no-auth", instance: "VI_V2", reason: "auth_type", ttl: 255, payloads: mk(noAuth, f.ip4, g, nil)},
		{name: "wrong-password", instance: "VI_V2", reason: "auth_mismatch", ttl: 255, payloads: mk(wrongPW, f.ip4, g, nil)},
		{name: "v2-interval-2s", instance: "VI_V2", reason: "interval_mismatch", ttl: 255, payloads: mk(slow, f.ip4, g, nil)},
		{name: "not-a-peer", instance: "VI_UC", reason: "not_a_peer", unicast: true, ttl: 255, payloads: mk(uc, f.ip4, a.ip4, nil)},
		{name: "v2-over-ipv6", instance: "VI_V6", reason: "family", v6: true, payloads: mk(v2over6, f.ip4, g, nil)},
		{name: "v6-bad-checksum", instance: "VI_V6", reason: "checksum", v6: true, payloads: [][]byte{bad6}},
	}, hmacKinds...)
}

// TestFlood is not parallel with the package's other tests: its 20,000
// packets a second (two labs) would take CPU from their 100 ms adverts, and
// theirs would blur its CPU figures. Its two labs run side by side.
func TestFlood(t *testing.T) {
	for _, im := range []impl{govrrp, keepalived} {
		t.Run(im.short(), func(t *testing.T) {
			t.Parallel()
			runFlood(t, im)
		})
	}
}

// floodLab is a pair (a master, b backup) and the flooding host f.
type floodLab struct {
	a, b, f *node
}

func newFloodLab(t *testing.T, im impl) *floodLab {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test (namespaces, real daemons) skipped in -short mode")
	}
	netlab.Require(t, "ip", "sysctl")
	if im == keepalived {
		netlab.Require(t, "keepalived")
	}
	lab := netlab.New(t)
	seg := lab.AddSegment("lan", lanV4, lanV6)
	mk := func(name string, v4, v6 netip.Prefix) *node {
		h := lab.AddHost(name)
		if err := h.Connect(seg, ifname, v4, v6); err != nil {
			t.Fatalf("interop: connect %s: %v", name, err)
		}
		return &node{t: t, name: name, impl: im, host: h, ip4: v4.Addr(), ip6: v6.Addr()}
	}
	return &floodLab{a: mk("a", addrA4, addrA6), b: mk("b", addrB4, addrB6), f: mk("f", addrF4, addrF6)}
}

// startFlood starts the node's daemon (govrrp with its metrics endpoint).
func (n *node) startFlood(conf string, prio int) {
	n.t.Helper()
	if n.impl != govrrp {
		n.start(conf, prio)
		return
	}
	p, err := n.host.StartGovrrp(govrrpBin(n.t), conf, "--metrics-listen", floodMetrics)
	if err != nil {
		n.t.Fatalf("interop: start govrrp on %s: %v", n.name, err)
	}
	n.proc, n.prio = p, prio
	n.procs = append(n.procs, p)
	err = netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, netlab.Permanent(fmt.Errorf("govrrp on %s exited during start-up", n.name))
		}
		_, err := n.floodStatusOf()
		return err == nil, err
	})
	if err != nil {
		fail(n.t, fmt.Sprintf("interop: govrrp on %s not ready: %v", n.name, err), n)
	}
}

// stateLines are the state changes in every log of the nodes (the log
// tails of a flood are all drop lines).
func stateLines(nodes ...*node) string {
	var b strings.Builder
	for _, n := range nodes {
		for _, p := range n.procs {
			for _, line := range strings.Split(p.Log(), "\n") {
				if strings.Contains(line, "Entering") || strings.Contains(line, "transition") || strings.Contains(line, "higher") {
					fmt.Fprintf(&b, "\n%s: %s", n.name, line)
				}
			}
		}
	}
	return b.String()
}

func runFlood(t *testing.T, im impl) {
	l := newFloodLab(t, im)
	a, b := l.a, l.b
	// The own-source kind must reach the daemon to test its check.
	if out, err := a.host.Exec(context.Background(), "sysctl", "-qw", "net.ipv4.conf.all.accept_local=1", "net.ipv4.conf."+ifname+".accept_local=1"); err != nil {
		t.Fatalf("accept_local on a: %v: %s", err, out)
	}
	a.startFlood(floodConf(im, "flood_a", prioHigh, "MASTER", a.ip4, b.ip4), prioHigh)
	for _, v := range floodVIPs(im) {
		if err := waitOwner(startupMargin+4*time.Second, 20*time.Millisecond, v, "a", a, b); err != nil {
			fail(t, fmt.Sprintf("a never became master of %s: %v", v, err), a)
		}
	}
	b.startFlood(floodConf(im, "flood_b", prioLow, "BACKUP", b.ip4, a.ip4), prioLow)

	watch := watchVIPs(a, b, 10*time.Millisecond)
	t.Cleanup(func() { watch.stop() })
	baseline := measure(t, a, b)
	// The idle window for the CPU figures doubles as the settle check.
	if _, err := holdOwner(floodBaseline, 20*time.Millisecond, vip4, "a", a, b); err != nil {
		fail(t, "before the flood: "+err.Error(), a, b)
	}
	idle := measure(t, a, b)
	if lost := watch.check(); lost != "" {
		fail(t, "before the flood: "+lost, a, b)
	}
	before := floodStatuses(t, a, b)

	kinds := floodKinds(a, l.f)
	if im == keepalived {
		kinds = slices.DeleteFunc(kinds, func(k floodKind) bool {
			if k.kaSkip != "" {
				t.Logf("flood kind %s not sent to keepalived: %s", k.name, k.kaSkip)
			}
			return k.kaSkip != ""
		})
	}
	kdropA, kdropB := kernelDrops(t, a), kernelDrops(t, b)
	probe := probeStatus(a, 500*time.Millisecond)
	t.Cleanup(func() { probe.stop() }) // also on early failure; stop is idempotent
	sent := sendFlood(t, l.f, a, kinds)
	probed := probe.stop()
	end := measure(t, a, b)
	lost := watch.stop()
	t.Logf("%s: the kernel dropped %d (master a) and %d (backup b) VRRP packets at full receive queues during the flood (/proc/net/raw{,6} drops)",
		im, kernelDrops(t, a)-kdropA, kernelDrops(t, b)-kdropB)

	logFloodUsage(t, im, sent, baseline, idle, end)
	switch {
	case im == keepalived:
		// Measured beside govrrp, not asserted: keepalived's behaviour.
		t.Logf("keepalived during the flood: VIP samples: %s; backup b entered MASTER %d times",
			cmpOrStr(lost, "all as expected"), strings.Count(stateLines(b), "Entering MASTER STATE"))
	case lost != "":
		fail(t, "during the flood: "+lost+stateLines(a, b), a, b)
	default:
		t.Logf("govrrp: VIPs stayed on the master over %d samples", watch.n)
	}
	if probed.err != nil {
		fail(t, fmt.Sprintf("govrrp status failed during the flood (%d of %d answered): %v", probed.ok, probed.tries, probed.err), a)
	}
	if im == govrrp {
		t.Logf("govrrp status answered %d of %d probes during the flood, slowest %v", probed.ok, probed.tries, probed.slowest.Round(time.Millisecond))
		checkFloodCounters(t, kinds, before, a, b)
	}
	stopBoth(t, scenario{version: 3, advert: floodAdv}, a, b)
	for _, v := range floodVIPs(im) {
		if got, err := vipOwners(v, a, b); err != nil || got != "" {
			fail(t, fmt.Sprintf("after stopping both %s held by %q (err %v)", v, got, err), a, b)
		}
	}
}

// ---- the flooder

// raw6Sender writes VRRP payloads to ff02::12 with hop limit 255 out of one
// interface; the kernel adds the IPv6 header and no checksum.
type raw6Sender struct {
	fd      int
	ifindex int
}

func openRaw6Sender(h *netlab.Host, ifname string) (*raw6Sender, error) {
	r := &raw6Sender{fd: -1}
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("interop: %s: %w", ifname, err)
		}
		r.ifindex = ifi.Index
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 112)
		if err != nil {
			return fmt.Errorf("interop: raw6 socket: %w", err)
		}
		r.fd = fd
		for _, o := range [][2]int{{unix.IPV6_MULTICAST_HOPS, 255}, {unix.IPV6_MULTICAST_IF, ifi.Index}, {unix.IPV6_MULTICAST_LOOP, 0}} {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, o[0], o[1]); err != nil {
				return fmt.Errorf("interop: raw6 sockopt %d: %w", o[0], err)
			}
		}
		return unix.BindToDevice(fd, ifname)
	})
	if err != nil {
		if r.fd >= 0 {
			unix.Close(r.fd)
		}
		return nil, err
	}
	return r, nil
}

func (r *raw6Sender) Close() error { return unix.Close(r.fd) }

func (r *raw6Sender) send(payload []byte) error {
	return unix.Sendto(r.fd, payload, 0, &unix.SockaddrInet6{Addr: group6.As16(), ZoneId: uint32(r.ifindex)})
}

// floodSent is what the flooder did.
type floodSent struct {
	packets, errs int
	firstErr      error
	took          time.Duration
	kinds         int
}

// sendFlood sends floodRate packets a second for floodDuration, the kinds
// in turn, paced in 5 ms slices. ENOBUFS (the flooder outrunning its own
// qdisc) is counted, not fatal; anything else ends the test.
func sendFlood(t *testing.T, f, a *node, kinds []floodKind) floodSent {
	t.Helper()
	tx4, err := openRawSender(f.host, ifname)
	if err != nil {
		t.Fatal(err)
	}
	defer tx4.Close()
	tx6, err := openRaw6Sender(f.host, ifname)
	if err != nil {
		t.Fatal(err)
	}
	defer tx6.Close()
	send := func(i int) error {
		k := kinds[i%len(kinds)]
		p := k.payloads[(i/len(kinds))%len(k.payloads)]
		if k.stamp {
			binary.BigEndian.PutUint32(p[len(p)-24:], uint32(time.Now().Unix()))
		}
		if k.v6 {
			return tx6.send(p)
		}
		src, dst := f.ip4, vrrpGroup4
		if k.src.IsValid() {
			src = k.src
		}
		if k.unicast {
			dst = a.ip4
		}
		return tx4.send(src, dst, k.ttl, p)
	}
	total := int(floodRate * floodDuration / time.Second)
	res := floodSent{kinds: len(kinds)}
	const slice = 5 * time.Millisecond
	tick := time.NewTicker(slice)
	defer tick.Stop()
	start := time.Now()
	for n := 0; n < int((floodDuration+2*time.Second)/slice) && res.packets < total; n++ {
		due := min(total, int(time.Since(start).Seconds()*floodRate))
		for res.packets < due {
			if err := send(res.packets); err != nil {
				if !errors.Is(err, unix.ENOBUFS) {
					t.Fatalf("flood packet %d: %v", res.packets, err)
				}
				res.errs++
				res.firstErr = cmpOr(res.firstErr, err)
			}
			res.packets++
		}
		<-tick.C
	}
	res.took = time.Since(start)
	return res
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// ---- observation

// pairWatch samples that a holds every flood VIP and b none, and keeps
// sampling after a deviation so the report can say how much time it cost.
type pairWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	first  string // first deviation, with when
	bad, n int    // deviating samples, all samples
}

func watchVIPs(a, b *node, every time.Duration) *pairWatch {
	limit := floodDuration + 2*time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	w := &pairWatch{cancel: cancel, done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(w.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; i < int(limit/every); i++ {
			msg := vipDeviation(a, b)
			w.mu.Lock()
			w.n++
			if msg != "" {
				w.bad++
				if w.first == "" {
					w.first = fmt.Sprintf("after %v: %s", time.Since(start).Round(time.Millisecond), msg)
				}
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// vipDeviation is "" when a has every flood VIP and b none.
func vipDeviation(a, b *node) string {
	for _, n := range []*node{a, b} {
		have, err := n.host.Addrs(ifname)
		if err != nil {
			return err.Error()
		}
		for _, v := range floodVIPs(a.impl) {
			has := slices.ContainsFunc(have, func(p netip.Prefix) bool { return p.Addr() == v })
			if has != (n == a) {
				return fmt.Sprintf("%s on %s: %v", v, n.name, has)
			}
		}
	}
	return ""
}

// check is "" while every sample so far was as expected, else how many
// deviated and the first deviation.
func (w *pairWatch) check() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d VIP samples wrong, first %s", w.bad, w.n, w.first)
}

// stop ends the watch and reports like check.
func (w *pairWatch) stop() string {
	w.cancel()
	<-w.done
	return w.check()
}

// statusProbe runs `govrrp status` on a every interval while the flood runs.
type statusProbe struct {
	cancel    context.CancelFunc
	done      chan struct{}
	tries, ok int
	slowest   time.Duration
	err       error
}

func probeStatus(n *node, every time.Duration) *statusProbe {
	ctx, cancel := context.WithTimeout(context.Background(), floodDuration+30*time.Second)
	p := &statusProbe{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if n.impl != govrrp {
			return
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; i < int((floodDuration+30*time.Second)/every); i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			start := time.Now()
			_, err := n.floodStatusOf()
			p.tries++
			if err != nil {
				p.err = cmpOr(p.err, err)
				continue
			}
			p.ok++
			p.slowest = max(p.slowest, time.Since(start))
		}
	}()
	return p
}

// stop ends the probe and returns what it saw (once).
func (p *statusProbe) stop() *statusProbe {
	p.cancel()
	<-p.done
	return p
}

// usage is one sample of a daemon's processes.
type usage struct {
	at         time.Time
	ticks      int64 // utime+stime of every process of the daemon
	rssKB      int64
	anonKB     int64 // RssAnon: the heap and stacks, what a leak grows
	threads    int
	goroutines int // -1 unknown (keepalived)
	heapKB     int64
	allocBytes float64 // govrrp: go_memstats_alloc_bytes_total
}

// pairUsage is a sample of both nodes.
type pairUsage struct{ a, b usage }

func measure(t *testing.T, a, b *node) pairUsage {
	t.Helper()
	return pairUsage{a: nodeUsage(t, a), b: nodeUsage(t, b)}
}

func nodeUsage(t *testing.T, n *node) usage {
	t.Helper()
	u := usage{at: time.Now(), goroutines: -1}
	for _, pid := range daemonPids(t, n) {
		p, err := procUsage(pid)
		if err != nil {
			fail(t, err.Error(), n)
		}
		u.ticks += p.ticks
		u.rssKB += p.status["VmRSS"]
		u.anonKB += p.status["RssAnon"]
		u.threads += int(p.status["Threads"])
	}
	if n.impl == govrrp {
		g, err := metricValue(n, "go_goroutines")
		if err != nil {
			fail(t, err.Error(), n)
		}
		u.goroutines = int(g)
		h, err1 := metricValue(n, "go_memstats_heap_inuse_bytes")
		al, err2 := metricValue(n, "go_memstats_alloc_bytes_total")
		if err := errors.Join(err1, err2); err != nil {
			fail(t, err.Error(), n)
		}
		u.heapKB, u.allocBytes = int64(h)/1024, al
	}
	return u
}

// daemonPids: govrrp is one process; keepalived a parent and its VRRP child.
func daemonPids(t testing.TB, n *node) []int {
	t.Helper()
	pids := []int{n.proc.Pid()}
	if n.impl != keepalived {
		return pids
	}
	_, vrrpPid, _ := n.host.KeepalivedPidFiles()
	var child int
	err := netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		b, err := os.ReadFile(vrrpPid)
		if err != nil {
			return false, err
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && child > 0, err
	})
	if err != nil {
		fail(t, fmt.Sprintf("keepalived VRRP child pid of %s: %v", n.name, err), n)
	}
	return append(pids, child)
}

// procSample is what /proc says about one process.
type procSample struct {
	ticks  int64            // utime+stime
	status map[string]int64 // numeric /proc/PID/status fields (kB for sizes)
}

// procUsage reads utime+stime (fields 14 and 15 of /proc/PID/stat, after
// the parenthesised command name) and the numeric fields of status.
func procUsage(pid int) (procSample, error) {
	var p procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, fmt.Errorf("interop: %w", err)
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return p, fmt.Errorf("interop: /proc/%d/stat: %q", pid, stat)
	}
	f := strings.Fields(string(stat[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return p, fmt.Errorf("interop: /proc/%d/stat: %q", pid, stat)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return p, fmt.Errorf("interop: /proc/%d/stat: %w", pid, err)
	}
	p.ticks = ut + st
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, fmt.Errorf("interop: %w", err)
	}
	p.status = map[string]int64{}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
			p.status[k] = n
		}
	}
	return p, nil
}

// metricValue reads one unlabelled sample from the node's metrics endpoint.
func metricValue(n *node, name string) (float64, error) {
	resp, err := n.host.HTTPClient(5 * time.Second).Get("http://" + floodMetrics + "/metrics")
	if err != nil {
		return 0, fmt.Errorf("interop: metrics of %s: %w", n.name, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("interop: metrics of %s: no %s (err %v)", n.name, name, sc.Err())
}

// cpuPct is the share of one core used between two samples.
func cpuPct(from, to usage) float64 {
	wall := to.at.Sub(from.at).Seconds()
	if wall <= 0 {
		return 0
	}
	return 100 * float64(to.ticks-from.ticks) / userHZ / wall
}

func logFloodUsage(t *testing.T, im impl, s floodSent, base, idle, end pairUsage) {
	t.Helper()
	t.Logf("%s flood: %d packets of %d kinds in %v (%.0f/s), %d ENOBUFS (first %v)",
		im, s.packets, s.kinds, s.took.Round(time.Millisecond), float64(s.packets)/s.took.Seconds(), s.errs, s.firstErr)
	for _, r := range []struct {
		role    string
		b, i, e usage
	}{{"master a", base.a, idle.a, end.a}, {"backup b", base.b, idle.b, end.b}} {
		t.Logf("%s %s: CPU %.1f%% of a core idle, %.1f%% during the flood; RSS %d kB → %d kB (anonymous %d → %d kB); threads %d → %d",
			im, r.role, cpuPct(r.b, r.i), cpuPct(r.i, r.e), r.i.rssKB, r.e.rssKB, r.i.anonKB, r.e.anonKB, r.i.threads, r.e.threads)
		if im == govrrp {
			t.Logf("%s %s: goroutines %d → %d; heap in use %d kB → %d kB; allocated %.0f B per flood packet",
				im, r.role, r.i.goroutines, r.e.goroutines, r.i.heapKB, r.e.heapKB, (r.e.allocBytes-r.i.allocBytes)/float64(max(s.packets, 1)))
		}
	}
}

// kernelDrops sums the drops column of the node's protocol-112 raw sockets
// (/proc/net/raw and raw6 list the protocol as the local port, hex 0070):
// packets the kernel discarded because the daemon's receive queue was full.
func kernelDrops(t *testing.T, n *node) int64 {
	t.Helper()
	out, err := n.host.Exec(context.Background(), "cat", "/proc/net/raw", "/proc/net/raw6")
	if err != nil {
		fail(t, err.Error(), n)
	}
	var sum int64
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasSuffix(f[1], ":0070") {
			continue
		}
		v, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			fail(t, fmt.Sprintf("/proc/net/raw line %q: %v", line, err), n)
		}
		sum += v
	}
	return sum
}

// ---- counters

// floodStatus is `govrrp status --json` keyed by instance name; the socket
// drops (for VRIDs nobody runs) are under "".
type floodStatus map[string]instStatus

func floodStatuses(t *testing.T, nodes ...*node) map[string]floodStatus {
	t.Helper()
	out := map[string]floodStatus{}
	for _, n := range nodes {
		if n.impl != govrrp {
			continue
		}
		st, err := n.floodStatusOf()
		if err != nil {
			fail(t, err.Error(), nodes...)
		}
		out[n.name] = st
	}
	return out
}

// floodStatusOf is `govrrp status --json` of every instance plus the socket drops.
func (n *node) floodStatusOf() (floodStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.host.Exec(ctx, govrrpBin(n.t), "status", "--socket", n.host.GovrrpSocket(), "--json")
	if err != nil {
		return nil, fmt.Errorf("interop: status of %s: %w: %s", n.name, err, out)
	}
	var doc struct {
		Instances []instStatus `json:"instances"`
		Sockets   []struct {
			Drops map[string]uint64 `json:"drops"`
		} `json:"sockets"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("interop: status of %s: %w: %s", n.name, err, out)
	}
	st := floodStatus{"": {Drops: map[string]uint64{}}}
	for _, in := range doc.Instances {
		st[in.Name] = in
	}
	for _, s := range doc.Sockets {
		for r, v := range s.Drops {
			st[""].Drops[r] += v
		}
	}
	return st, nil
}

// checkFloodCounters wants every kind's counter on a to have moved, no
// transition on a or b, and every instance where the flood left it.
func checkFloodCounters(t *testing.T, kinds []floodKind, before map[string]floodStatus, a, b *node) {
	t.Helper()
	var after map[string]floodStatus
	var missing []string
	last := uint64(0)
	// Until every counter moved and the total stopped moving (the daemon has
	// read what the kernel queued), so the logged counts are final.
	err := netlab.WaitFor(context.Background(), 3*time.Second, 50*time.Millisecond, func() (bool, error) {
		after = floodStatuses(t, a, b)
		missing = missing[:0]
		total := uint64(0)
		for _, k := range kinds {
			if after["a"][k.instance].Drops[k.reason] <= before["a"][k.instance].Drops[k.reason] {
				missing = append(missing, fmt.Sprintf("%s (%s/%s)", k.name, cmpOrStr(k.instance, "socket"), k.reason))
			}
			total += after["a"][k.instance].Drops[k.reason]
		}
		stable := total == last
		last = total
		return len(missing) == 0 && stable, fmt.Errorf("drop counters that did not move: %v", missing)
	})
	for _, name := range []string{"VI_V3", "VI_V2", "VI_V6", "VI_UC", "VI_HM", ""} {
		t.Logf("a %-6s drops during the flood: %v", cmpOrStr(name, "socket"), dropDelta(before["a"][name].Drops, after["a"][name].Drops))
	}
	if err != nil {
		fail(t, err.Error(), a)
	}
	for _, n := range []*node{a, b} {
		want := map[bool]string{true: "MASTER", false: "BACKUP"}[n == a]
		for name, in := range after[n.name] {
			if name == "" {
				continue
			}
			if was := before[n.name][name].Transitions; in.Transitions != was || in.State != want {
				fail(t, fmt.Sprintf("%s %s: %s after %d→%d transitions, want %s and none", n.name, name, in.State, was, in.Transitions, want), a, b)
			}
		}
	}
}

func cmpOrStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
