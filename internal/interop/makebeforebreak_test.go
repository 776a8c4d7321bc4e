package interop

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// Make before break (issue 11; set GOVRRP_MBB_FULL=1 for every cell at
// VRRPv2 too): a client pings the VIP every 2 ms while the
// master is stopped (SIGTERM), removed by a reload, or preempted by a
// returning higher-priority node. The test asserts behaviour on the wire and
// in netlink: a govrrp master stopped gracefully still holds the VIP when
// the new master's first advert is on the wire (and, with
// --release-vips=immediate, no longer does). The client's longest gap
// between replies is measured and logged in one table, govrrp beside
// keepalived; no wall-clock figure is asserted.

var mbbClient4 = netip.MustParsePrefix("192.0.2.13/24")
var mbbClient6 = netip.MustParsePrefix("2001:db8::13/64")

// pingEvery is the client's probe interval.
const pingEvery = "0.002"

// mbbMaster is how the node that gives up the VIP runs.
type mbbMaster struct {
	impl      impl
	immediate bool // govrrp --release-vips=immediate
}

func (m mbbMaster) String() string {
	if m.immediate {
		return "gv-immediate"
	}
	return m.impl.short()
}

// mbbLab is the two-host lab plus a client host c on the same segment.
type mbbLab struct {
	a, b *node
	c    *netlab.Host
}

func newMBBLab(t *testing.T, ia, ib impl) *mbbLab {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test (namespaces, real daemons) skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived", "tcpdump", "ping")
	lab := netlab.New(t)
	seg := lab.AddSegment("lan", lanV4, lanV6)
	mk := func(name string, v4, v6 netip.Prefix) *netlab.Host {
		h := lab.AddHost(name)
		if err := h.Connect(seg, ifname, v4, v6); err != nil {
			t.Fatalf("interop: connect %s: %v", name, err)
		}
		return h
	}
	a := &node{t: t, name: "a", impl: ia, host: mk("a", addrA4, addrA6), ip4: addrA4.Addr(), ip6: addrA6.Addr()}
	b := &node{t: t, name: "b", impl: ib, host: mk("b", addrB4, addrB6), ip4: addrB4.Addr(), ip6: addrB6.Addr()}
	return &mbbLab{a: a, b: b, c: mk("c", mbbClient4, mbbClient6)}
}

// startAs starts n like node.start, govrrp with extra flags.
func (n *node) startAs(conf string, prio int, extra ...string) {
	n.t.Helper()
	if n.impl != govrrp || len(extra) == 0 {
		n.start(conf, prio)
		return
	}
	p, err := n.host.StartGovrrp(govrrpBin(n.t), conf, extra...)
	if err != nil {
		n.t.Fatalf("interop: start govrrp on %s: %v", n.name, err)
	}
	n.proc, n.prio = p, prio
	n.procs = append(n.procs, p)
	n.waitReady()
}

func (m mbbMaster) flags() []string {
	if m.immediate {
		return []string{"--release-vips=immediate"}
	}
	return nil
}

// pinger is `ping -D -i 0.002` from the client to the VIP.
type pinger struct {
	proc *netlab.Proc
}

var pingReplyRE = regexp.MustCompile(`^\[(\d+)\.(\d+)\] \d+ bytes from [0-9a-f.:]+: icmp_seq=(\d+)`)

// startPinger starts the probe and returns once replies come back.
func startPinger(t *testing.T, c *netlab.Host, vip netip.Addr, all ...*node) *pinger {
	t.Helper()
	bin, err := netlab.LookPath("ping")
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Start("ping", bin, "-D", "-n", "-i", pingEvery, "-W", "1", vip.String())
	if err != nil {
		fail(t, err.Error(), all...)
	}
	pg := &pinger{proc: p}
	t.Cleanup(func() { _ = p.Kill() })
	err = netlab.WaitFor(context.Background(), startupMargin, 10*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, netlab.Permanent(fmt.Errorf("ping exited: %s", tailLines(p.Log(), 5)))
		}
		return len(pg.replies()) >= 50, fmt.Errorf("ping: %d replies so far", len(pg.replies()))
	})
	if err != nil {
		fail(t, err.Error(), all...)
	}
	return pg
}

type pingReply struct {
	at  time.Time
	seq int
}

func (p *pinger) replies() []pingReply {
	var out []pingReply
	for _, l := range strings.Split(p.proc.Log(), "\n") {
		sm := pingReplyRE.FindStringSubmatch(l)
		if sm == nil {
			continue
		}
		seq, _ := strconv.Atoi(sm[3])
		out = append(out, pingReply{at: pcapTime(sm[1], sm[2]), seq: seq})
	}
	return out
}

// waitPast polls until a reply later than after has come back, so the
// window covers the whole event.
func (p *pinger) waitPast(t *testing.T, after time.Time, all ...*node) {
	t.Helper()
	err := netlab.WaitFor(context.Background(), 5*time.Second, 10*time.Millisecond, func() (bool, error) {
		r := p.replies()
		return len(r) > 0 && r[len(r)-1].at.After(after), fmt.Errorf("no ping reply after %v", after.Format(time.StampMicro))
	})
	if err != nil {
		fail(t, err.Error(), all...)
	}
}

// gapStats: the outage (longest silence between consecutive replies with
// unanswered probes between them), how many probes got no reply, and the
// longest silence of any kind: without loss that one is the client's own
// scheduling on this shared machine (ping sent nothing), not the VIP.
type gapStats struct {
	outage  time.Duration
	longest time.Duration
	lost    int
	replies int
}

func (p *pinger) stop() gapStats {
	_ = p.proc.Signal(syscall.SIGINT)
	_, _ = p.proc.Wait(5 * time.Second)
	r := p.replies()
	var g gapStats
	g.replies = len(r)
	for i := 1; i < len(r); i++ {
		d := r[i].at.Sub(r[i-1].at)
		g.longest = max(g.longest, d)
		if r[i].seq > r[i-1].seq+1 {
			g.lost += r[i].seq - r[i-1].seq - 1
			g.outage = max(g.outage, d)
		}
	}
	return g
}

// wire is what the client's capture shows of an event.
type wire struct {
	zeroAt   time.Time // first priority-0 advert of the old master
	advertAt time.Time // new master's first advert with priority > 0
	garpAt   time.Time // new master's first gratuitous ARP for the VIP
	text     string
}

var anyAdvertRE = regexp.MustCompile(`^(\d+)\.(\d+) IP (\S+) > \S+: VRRPv\d, Advertisement, vrid (\d+), prio (\d+)`)

// readWire finds, after from, the old master's priority-0 advert (if any)
// and the new master's first advert and GARP.
func readWire(t *testing.T, c *netlab.Capture, from time.Time, oldM, newM *node, vip netip.Addr, all ...*node) wire {
	t.Helper()
	path, err := c.Stop()
	if err != nil {
		fail(t, err.Error(), all...)
	}
	text, err := netlab.ReadPcap(path, "-tt")
	if err != nil {
		fail(t, err.Error(), all...)
	}
	w := wire{text: text}
	for _, l := range strings.Split(text, "\n") {
		if sm := anyAdvertRE.FindStringSubmatch(l); sm != nil {
			at := pcapTime(sm[1], sm[2])
			if at.Before(from) || sm[4] != strconv.Itoa(vrid) {
				continue
			}
			switch {
			case sm[3] == oldM.ip4.String() && sm[5] == "0" && w.zeroAt.IsZero():
				w.zeroAt = at
			case sm[3] == newM.ip4.String() && sm[5] != "0" && w.advertAt.IsZero():
				w.advertAt = at
			}
			continue
		}
		if sm := garpRE.FindStringSubmatch(l); sm != nil && w.garpAt.IsZero() {
			at := pcapTime(sm[1], sm[2])
			a := vip.String()
			if !at.Before(from) && ((sm[3] == a && sm[4] == a) || sm[5] == a) {
				w.garpAt = at
			}
		}
	}
	if w.advertAt.IsZero() {
		fail(t, fmt.Sprintf("no advert of the new master %s in the capture:\n%s", newM.name, tailLines(text, 30)), all...)
	}
	return w
}

var monitorTSRE = regexp.MustCompile(`^\[([0-9T:.-]+)\]`)

// deletedAt is when the address monitor saw addr deleted on eth0 (the
// monitor prints its local time as it reads the netlink message, so this is
// at or just after the deletion).
func (m *addrMonitor) deletedAt(addr netip.Addr) (time.Time, bool) {
	for _, raw := range m.find(addr, true) {
		sm := monitorTSRE.FindStringSubmatch(raw)
		if sm == nil {
			continue
		}
		at, err := time.ParseInLocation("2006-01-02T15:04:05.999999", sm[1], time.Local)
		if err == nil {
			return at, true
		}
	}
	return time.Time{}, false
}

// mbbRow is one measured event.
type mbbRow struct {
	event, proto, master, backup string
	gap                          gapStats
	delVsAdvert                  time.Duration // old master's VIP deletion minus the new master's first advert
	garpVsAdvert                 time.Duration
	hasDel                       bool
}

var (
	mbbMu   sync.Mutex
	mbbRows []mbbRow
)

func record(r mbbRow) {
	mbbMu.Lock()
	mbbRows = append(mbbRows, r)
	mbbMu.Unlock()
}

// mbbTable renders the rows in the test's order (cells run side by side,
// so they are recorded in any order).
func mbbTable() string {
	mbbMu.Lock()
	defer mbbMu.Unlock()
	rank := func(r mbbRow) int {
		return slices.Index([]string{"sigterm", "reload", "track", "preempt"}, r.event)*10 +
			slices.IndexFunc(mbbProtos, func(sc scenario) bool { return sc.name == r.proto })
	}
	slices.SortStableFunc(mbbRows, func(x, y mbbRow) int {
		return cmp.Or(rank(x)-rank(y), strings.Compare(x.master, y.master), strings.Compare(x.backup, y.backup))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-7s %-13s %-6s %10s %5s %8s %10s %15s %13s\n", "event", "proto", "old master", "new", "outage", "lost", "replies", "longest", "VIP-del−advert", "GARP−advert")
	for _, r := range mbbRows {
		del := "-"
		if r.hasDel {
			del = fmtMs(r.delVsAdvert)
		}
		fmt.Fprintf(&b, "%-9s %-7s %-13s %-6s %10s %5d %8d %10s %15s %13s\n", r.event, r.proto, r.master, r.backup,
			fmtMs(r.gap.outage), r.gap.lost, r.gap.replies, fmtMs(r.gap.longest), del, fmtMs(r.garpVsAdvert))
	}
	return b.String()
}

func fmtMs(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
}

var mbbProtos = []scenario{
	{name: "v2-1s", version: 2, advert: time.Second},
	{name: "v3-50ms", version: 3, advert: 50 * time.Millisecond},
}

// mbbFullEnv runs every cell at VRRPv2 1 s too (about 4 minutes in all);
// by default v2 runs only the SIGTERM cells with a govrrp backup, enough to
// assert both release modes there, and VRRPv3 50 ms runs everything.
const mbbFullEnv = "GOVRRP_MBB_FULL"

// mbbCells is how many cells run at once. The test stays out of the
// parallel pool (the immediate cells assert a deletion seen by `ip monitor`
// before an advert about one Skew_Time, 30 ms at 50 ms, later: a starved
// monitor would misreport), but two of its own light labs side by side
// halve its serial time.
const mbbCells = 2

// mbbSlot holds one of mbbCells until the cell ends.
var mbbSlot = make(chan struct{}, mbbCells)

// mbbCell runs one cell beside its siblings, mbbCells at a time.
func mbbCell(t *testing.T, name string, body func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		mbbSlot <- struct{}{}
		defer func() { <-mbbSlot }()
		body(t)
	})
}

// TestMakeBeforeBreak runs every event and logs the client-seen gaps as one
// table.
func TestMakeBeforeBreak(t *testing.T) {
	if testing.Short() {
		t.Skip("interop: integration test skipped in -short mode")
	}
	mbbMu.Lock()
	mbbRows = nil
	mbbMu.Unlock()
	full := os.Getenv(mbbFullEnv) != ""
	masters := []mbbMaster{{impl: govrrp}, {impl: govrrp, immediate: true}, {impl: keepalived}}
	for _, sc := range mbbProtos {
		quick := sc.version == 2 && !full
		t.Run("sigterm/"+sc.name, func(t *testing.T) {
			for _, m := range masters {
				for _, bk := range []impl{govrrp, keepalived} {
					if quick && bk != govrrp {
						continue
					}
					mbbCell(t, m.String()+"-"+bk.short(), func(t *testing.T) { mbbStop(t, sc, m, bk) })
				}
			}
		})
		if quick {
			continue
		}
		t.Run("reload/"+sc.name, func(t *testing.T) {
			for _, m := range masters {
				for _, bk := range []impl{govrrp, keepalived} {
					mbbCell(t, m.String()+"-"+bk.short(), func(t *testing.T) { mbbReload(t, sc, m, bk) })
				}
			}
		})
		t.Run("track/"+sc.name, func(t *testing.T) {
			for _, p := range pairings {
				mbbCell(t, p.String(), func(t *testing.T) { mbbTrack(t, sc, p.a, p.b) })
			}
		})
		t.Run("preempt/"+sc.name, func(t *testing.T) {
			for _, p := range []pairing{{govrrp, govrrp}, {keepalived, keepalived}, {govrrp, keepalived}, {keepalived, govrrp}} {
				mbbCell(t, p.String(), func(t *testing.T) { mbbPreempt(t, sc, p.a, p.b) })
			}
		})
	}
	t.Logf("client pinging the VIP every 2 ms (outage = longest silence spanning unanswered probes; longest = any silence, incl. the client's own scheduling):\n%s", mbbTable())
}

// observe starts what every event needs: the old master's address monitor,
// the client's capture and pinger.
func observe(t *testing.T, l *mbbLab, sc scenario, oldM *node) (*addrMonitor, *netlab.Capture, *pinger) {
	t.Helper()
	mon := startAddrMonitor(t, oldM, l.a, l.b)
	capture, err := l.c.Capture(ifname, "ip proto 112 or arp")
	if err != nil {
		fail(t, err.Error(), l.a, l.b)
	}
	return mon, capture, startPinger(t, l.c, sc.vip(), l.a, l.b)
}

// finish waits until the client has replies from after the event, stops
// the probes and records the row.
func finish(t *testing.T, l *mbbLab, sc scenario, row mbbRow, mon *addrMonitor, capture *netlab.Capture, pg *pinger, from time.Time, oldM, newM *node) (mbbRow, wire) {
	t.Helper()
	pg.waitPast(t, time.Now().Add(200*time.Millisecond), l.a, l.b)
	row.gap = pg.stop()
	w := readWire(t, capture, from, oldM, newM, sc.vip(), l.a, l.b)
	if !w.garpAt.IsZero() {
		row.garpVsAdvert = w.garpAt.Sub(w.advertAt)
	}
	if del, ok := mon.deletedAt(sc.vip()); ok {
		row.delVsAdvert, row.hasDel = del.Sub(w.advertAt), true
	}
	record(row)
	t.Logf("%s %s %s→%s: outage %v (%d probes lost of %d replies; longest silence %v); VIP deleted %v after the new master's first advert, its GARP %v after it",
		row.event, row.proto, row.master, row.backup, row.gap.outage, row.gap.lost, row.gap.replies, row.gap.longest, row.delVsAdvert, row.garpVsAdvert)
	return row, w
}

// checkRelease asserts what the flag promises, on netlink and wire times:
// after-takeover deletes the VIP no earlier than the new master's first
// advert, immediate before it (by about the backup's Skew_Time).
func checkRelease(t *testing.T, m mbbMaster, row mbbRow, w wire, l *mbbLab) {
	t.Helper()
	if m.impl != govrrp {
		return
	}
	if !row.hasDel {
		fail(t, "the address monitor saw no deletion of the VIP on the old master", l.a, l.b)
	}
	if w.zeroAt.IsZero() || !w.zeroAt.Before(w.advertAt) {
		fail(t, fmt.Sprintf("priority-0 advert at %v, new master's first at %v: want priority 0 first\n%s",
			w.zeroAt.Format(time.StampMicro), w.advertAt.Format(time.StampMicro), tailLines(w.text, 30)), l.a, l.b)
	}
	if m.immediate && row.delVsAdvert >= 0 {
		fail(t, fmt.Sprintf("--release-vips=immediate: VIP deleted %v after the new master's advert, want before it", row.delVsAdvert), l.a, l.b)
	}
	if !m.immediate && row.delVsAdvert < 0 {
		fail(t, fmt.Sprintf("make before break: VIP deleted %v before the new master's first advert was on the wire", -row.delVsAdvert), l.a, l.b)
	}
}

// mbbStop: a (master, prio 150) is stopped with SIGTERM; b (100) takes over.
func mbbStop(t *testing.T, sc scenario, m mbbMaster, bk impl) {
	l := newMBBLab(t, m.impl, bk)
	l.a.startAs(l.a.confFor(sc, l.b, prioHigh), prioHigh, m.flags()...)
	l.b.start(l.b.confFor(sc, l.a, prioLow), prioLow)
	converge(t, sc, l.a, l.b, l.a, l.b)
	mon, capture, pg := observe(t, l, sc, l.a)
	from := time.Now()
	if err := l.a.signal(syscall.SIGTERM); err != nil {
		fail(t, err.Error(), l.a, l.b)
	}
	if err := waitOwner(sc.masterDown(prioLow)+2*time.Second, 2*time.Millisecond, sc.vip(), "b", l.a, l.b); err != nil {
		fail(t, err.Error(), l.a, l.b)
	}
	if err := l.a.waitExit(exitTimeout); err != nil {
		fail(t, err.Error(), l.a, l.b)
	}
	row, w := finish(t, l, sc, mbbRow{event: "sigterm", proto: sc.name, master: m.String(), backup: bk.short()}, mon, capture, pg, from, l.a, l.b)
	checkRelease(t, m, row, w, l)
	stopBoth(t, sc, l.b)
}

// keepConf is a second instance (no peer) that keeps a's configuration
// non-empty when the reload removes the measured one.
func keepConf(sc scenario) string {
	return fmt.Sprintf(`vrrp_instance VI_KEEP {
    state BACKUP
    interface %s
    virtual_router_id %d
    version %d
    priority 150
    advert_int %s
    virtual_ipaddress {
        198.51.100.200/32
    }
}
`, ifname, vrid+1, sc.version, strconv.FormatFloat(sc.advert.Seconds(), 'f', -1, 64))
}

// mbbReload: a runs the measured instance and VI_KEEP; a reload removes the
// measured one and b takes over.
func mbbReload(t *testing.T, sc scenario, m mbbMaster, bk impl) {
	l := newMBBLab(t, m.impl, bk)
	full := l.a.confFor(sc, l.b, prioHigh) + keepConf(sc)
	kept := strings.SplitN(full, "vrrp_instance VI_IOP", 2)[0] + keepConf(sc)
	l.a.startMultiAs(full, prioHigh, m.flags()...)
	l.b.start(l.b.confFor(sc, l.a, prioLow), prioLow)
	converge(t, sc, l.a, l.b, l.a, l.b)
	mon, capture, pg := observe(t, l, sc, l.a)
	from := time.Now()
	file := l.a.file(string(m.impl) + ".conf")
	writeFile(t, file, kept, 0o644)
	if err := l.a.signal(syscall.SIGHUP); err != nil {
		fail(t, err.Error(), l.a, l.b)
	}
	if err := waitOwner(sc.masterDown(prioLow)+2*time.Second, 2*time.Millisecond, sc.vip(), "b", l.a, l.b); err != nil {
		fail(t, err.Error(), l.a, l.b)
	}
	row, w := finish(t, l, sc, mbbRow{event: "reload", proto: sc.name, master: m.String(), backup: bk.short()}, mon, capture, pg, from, l.a, l.b)
	checkRelease(t, m, row, w, l)
	stopBoth(t, sc, l.a, l.b)
}

// startMultiAs is startMulti (any number of instances) with govrrp flags.
func (n *node) startMultiAs(conf string, prio int, extra ...string) {
	n.t.Helper()
	if n.impl != govrrp || len(extra) == 0 {
		n.startMulti(conf, prio)
		return
	}
	p, err := n.host.StartGovrrp(govrrpBin(n.t), conf, extra...)
	if err != nil {
		n.t.Fatalf("interop: start govrrp on %s: %v", n.name, err)
	}
	n.proc, n.prio = p, prio
	n.procs = append(n.procs, p)
	err = netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, netlab.Permanent(fmt.Errorf("govrrp on %s exited during start-up", n.name))
		}
		_, _, err := n.statusAll()
		return err == nil, err
	})
	if err != nil {
		fail(n.t, fmt.Sprintf("interop: govrrp on %s not ready: %v", n.name, err), n)
	}
}

// mbbTrack: a track_file on a (weight -1, the file says 60) lowers a to 90;
// b (100) preempts after its master-down interval, and its advert is what
// makes a let go.
func mbbTrack(t *testing.T, sc scenario, ia, ib impl) {
	l := newMBBLab(t, ia, ib)
	path := l.a.file("mbb-track")
	writeFile(t, path, "0\n", 0o644)
	conf := trackFileBlock("mbb_down", path, -1) + strings.Replace(l.a.confFor(sc, l.b, prioHigh),
		"    virtual_ipaddress {", "    track_file {\n        mbb_down\n    }\n    virtual_ipaddress {", 1)
	l.a.start(conf, prioHigh)
	l.b.start(l.b.confFor(sc, l.a, prioLow), prioLow)
	converge(t, sc, l.a, l.b, l.a, l.b)
	mon, capture, pg := observe(t, l, sc, l.a)
	from := time.Now()
	writeFile(t, path, "60\n", 0o644)
	if err := waitOwner(startupMargin+sc.masterDown(prioLow), 2*time.Millisecond, sc.vip(), "b", l.a, l.b); err != nil {
		fail(t, err.Error(), l.a, l.b)
	}
	row, _ := finish(t, l, sc, mbbRow{event: "track", proto: sc.name, master: ia.short(), backup: ib.short()}, mon, capture, pg, from, l.a, l.b)
	if ia == govrrp && row.hasDel && row.delVsAdvert < 0 {
		fail(t, fmt.Sprintf("demoted by a track: VIP deleted %v before the new master's first advert", -row.delVsAdvert), l.a, l.b)
	}
	stopBoth(t, sc, l.a, l.b)
}

// mbbPreempt: b (prio 100) is master alone; a (150) comes back and
// preempts after its master-down interval. The old master is b here.
func mbbPreempt(t *testing.T, sc scenario, ia, ib impl) {
	l := newMBBLab(t, ia, ib)
	l.b.start(l.b.confFor(sc, l.a, prioLow), prioLow)
	if err := waitOwner(startupMargin+sc.masterDown(prioLow), sampleEvery(sc.advert), sc.vip(), "b", l.a, l.b); err != nil {
		fail(t, err.Error(), l.a, l.b)
	}
	mon, capture, pg := observe(t, l, sc, l.b)
	from := time.Now()
	l.a.start(l.a.confFor(sc, l.b, prioHigh), prioHigh)
	if err := waitOwner(startupMargin+sc.masterDown(prioHigh), 2*time.Millisecond, sc.vip(), "a", l.a, l.b); err != nil {
		fail(t, err.Error(), l.a, l.b)
	}
	finish(t, l, sc, mbbRow{event: "preempt", proto: sc.name, master: ib.short(), backup: ia.short()}, mon, capture, pg, from, l.b, l.a)
	stopBoth(t, sc, l.a, l.b)
}
