package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

// This file checks what an operator observes of a running govrrp: its
// Prometheus metrics scraped over HTTP while adverts (real and forged) are
// on the wire, and keepalived's dump files written on keepalived's dump
// signals, compared in structure with a real keepalived's.

// observeSc is the protocol setup of this file: VRRPv3 IPv4 at 100 ms, so
// counters move fast and master-down is 0.39 s at priority 100.
var observeSc = scenario{name: "v3-ipv4-100ms", version: 3, advert: 100 * time.Millisecond}

const (
	instName = "VI_IOP" // the vrrp_instance of scenario.conf
	// scrapeTimeout bounds one HTTP scrape (the handler's own gather
	// timeout is 10 s; a scrape of this tiny daemon takes milliseconds).
	scrapeTimeout = 2 * time.Second
	// dumpTimeout bounds a dump signal until its file is in place: the
	// signal is handled by the loop, the file written by a goroutine
	// (govrrp) or the VRRP child after the parent forwarded it
	// (keepalived); a loaded 2-core machine gets a generous margin.
	dumpTimeout = 5 * time.Second
)

// The keepalived dump signals, as internal/daemon/dump.go numbers them
// (`keepalived --signum=DATA|STATS|JSON|STATS_CLEAR` on this machine).
var (
	sigDumpData       = syscall.SIGUSR1
	sigDumpStats      = syscall.SIGUSR2
	sigDumpJSON       = syscall.Signal(36)
	sigDumpStatsClear = syscall.Signal(63)
)

// startGovrrpObserved runs govrrp on n like node.start, with extra
// command-line arguments and, when env is given, those VAR=VALUE pairs in
// its environment (`env VAR=VALUE... govrrp run ...`; env execs, so the pid
// is govrrp's own and signals reach it).
func (n *node) startGovrrpObserved(conf string, prio int, env []string, extra ...string) {
	n.t.Helper()
	bin := govrrpBin(n.t)
	var p *netlab.Proc
	var err error
	if len(env) == 0 {
		p, err = n.host.StartGovrrp(bin, conf, extra...)
	} else {
		file := filepath.Join(n.host.Lab().Dir(), n.name+"-govrrp.conf")
		if err = os.WriteFile(file, []byte(conf), 0o644); err == nil {
			_ = os.Remove(n.host.GovrrpSocket())
			argv := append([]string{"env"}, env...)
			argv = append(argv, bin, "run", "-f", file, "--socket", n.host.GovrrpSocket(),
				"--pid-file", n.host.GovrrpPidFile())
			p, err = n.host.Start("govrrp", append(argv, extra...)...)
		}
	}
	if err != nil {
		n.t.Fatalf("interop: start govrrp on %s: %v", n.name, err)
	}
	n.impl, n.proc, n.prio = govrrp, p, prio
	n.procs = append(n.procs, p)
	n.waitReady()
}

// freeLoopbackPort picks a TCP port free on 127.0.0.1 inside h's namespace
// (its own loopback: nothing else runs there, so it stays free).
func freeLoopbackPort(t testing.TB, h *netlab.Host) int {
	t.Helper()
	var port int
	err := h.Do(func() error {
		ln, err := net.Listen("tcp", "127.0.0.1:0") // socket(2) on this thread: in the namespace
		if err != nil {
			return err
		}
		port = ln.Addr().(*net.TCPAddr).Port
		return ln.Close()
	})
	if err != nil {
		t.Fatalf("interop: free port in %s: %v", h.Short(), err)
	}
	return port
}

// promSample is one line of the Prometheus text exposition format.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape is a parsed /metrics page.
type scrape []promSample

// parseExposition reads the text format: `name{k="v",...} value [ts]`,
// comments and blank lines skipped.
func parseExposition(text string) (scrape, error) {
	var out scrape
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := promSample{labels: map[string]string{}}
		rest := line
		if j := strings.IndexAny(line, "{ "); j < 0 {
			return nil, fmt.Errorf("metrics line %d: no value: %q", i+1, line)
		} else {
			s.name, rest = line[:j], line[j:]
		}
		if strings.HasPrefix(rest, "{") {
			var err error
			if rest, err = parseLabels(rest[1:], s.labels); err != nil {
				return nil, fmt.Errorf("metrics line %d: %v: %q", i+1, err, line)
			}
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("metrics line %d: no value: %q", i+1, line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value: %v", i+1, err)
		}
		s.value = v
		out = append(out, s)
	}
	return out, nil
}

// parseLabels reads `k="v",...}` into m and returns what follows the brace.
func parseLabels(s string, m map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.Index(s, `="`)
		if eq <= 0 {
			return "", fmt.Errorf("bad label list")
		}
		key := s[:eq]
		s = s[eq+2:]
		var val strings.Builder
		closed := false
		for len(s) > 0 && !closed {
			c := s[0]
			s = s[1:]
			switch {
			case c == '\\' && len(s) > 0:
				switch s[0] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[0])
				}
				s = s[1:]
			case c == '"':
				closed = true
			default:
				val.WriteByte(c)
			}
		}
		if !closed {
			return "", fmt.Errorf("unterminated label value")
		}
		m[key] = val.String()
	}
}

// find returns the samples of name whose labels include want.
func (sc scrape) find(name string, want map[string]string) []promSample {
	var out []promSample
	for _, s := range sc {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			if s.labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// one is the value of the single sample of name matching want (labels plus
// vrrp_instance=VI_IOP); present is false when there is none, err set when
// there are several.
func (sc scrape) one(name string, want map[string]string) (v float64, present bool, err error) {
	w := map[string]string{"vrrp_instance": instName}
	for k, val := range want {
		w[k] = val
	}
	got := sc.find(name, w)
	switch len(got) {
	case 0:
		return 0, false, nil
	case 1:
		return got[0].value, true, nil
	}
	return 0, false, fmt.Errorf("%d series %s%v, want one", len(got), name, w)
}

// must is one() where the series has to exist.
func (sc scrape) must(name string, want map[string]string) (float64, error) {
	v, ok, err := sc.one(name, want)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("no series %s{vrrp_instance=%q %v} in the scrape", name, instName, want)
	}
	return v, nil
}

// metricsNode is a govrrp node with --metrics-listen on its own loopback.
type metricsNode struct {
	*node
	url    string
	client *http.Client // dials inside the node's namespace
}

// startMetricsNode starts govrrp on n with --metrics-listen 127.0.0.1:PORT
// and waits until /metrics answers with the instance in it.
func startMetricsNode(t testing.TB, n *node, conf string, prio int) *metricsNode {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t, n.host)))
	n.startGovrrpObserved(conf, prio, nil, "--metrics-listen", addr)
	m := &metricsNode{node: n, url: "http://" + addr + "/metrics", client: n.host.HTTPClient(scrapeTimeout)}
	err := netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		sc, err := m.scrape()
		if err != nil {
			return false, err
		}
		_, ok, err := sc.one("govrrp_instance_priority", nil)
		return ok, fmt.Errorf("no govrrp_instance_priority for %s yet (err %v)", instName, err)
	})
	if err != nil {
		fail(t, fmt.Sprintf("metrics of %s on %s never served the instance: %v", n.name, addr, err), n)
	}
	return m
}

// scrape GETs /metrics (from inside the node's namespace) and parses it.
func (m *metricsNode) scrape() (scrape, error) {
	resp, err := m.client.Get(m.url)
	if err != nil {
		return nil, fmt.Errorf("scrape %s on %s: %w", m.url, m.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("scrape %s on %s: %w", m.url, m.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s on %s: HTTP %d: %s", m.url, m.name, resp.StatusCode, tailLines(string(body), 5))
	}
	return parseExposition(string(body))
}

// mustScrape is scrape or the end of the test.
func (m *metricsNode) mustScrape(t testing.TB, all ...*node) scrape {
	t.Helper()
	sc, err := m.scrape()
	if err != nil {
		fail(t, err.Error(), all...)
	}
	return sc
}

// waitMetric polls the node's metrics until cond holds for the value of
// the one series name{want} (0 when absent when absentZero).
func (m *metricsNode) waitMetric(t testing.TB, timeout time.Duration, name string, want map[string]string,
	absentZero bool, what string, cond func(float64) bool, all ...*node) float64 {
	t.Helper()
	var last float64
	err := netlab.WaitFor(context.Background(), timeout, 10*time.Millisecond, func() (bool, error) {
		sc, err := m.scrape()
		if err != nil {
			return false, err
		}
		v, ok, err := sc.one(name, want)
		if err != nil {
			return false, netlab.Permanent(err)
		}
		if !ok && !absentZero {
			return false, fmt.Errorf("no series %s%v", name, want)
		}
		last = v
		return cond(v), fmt.Errorf("%s%v = %v, want %s", name, want, v, what)
	})
	if err != nil {
		fail(t, fmt.Sprintf("%s metrics: %v", m.name, err), all...)
	}
	return last
}

// checkStateSet wants govrrp_instance_state to be 1 for state and 0 for
// every other state.
func checkStateSet(sc scrape, state string) error {
	got := map[string]float64{}
	for _, s := range sc.find("govrrp_instance_state", map[string]string{"vrrp_instance": instName}) {
		got[s.labels["state"]] = s.value
	}
	want := map[string]float64{"INIT": 0, "BACKUP": 0, "MASTER": 0, "FAULT": 0}
	want[state] = 1
	if diff := cmp.Diff(want, got); diff != "" {
		return fmt.Errorf("govrrp_instance_state{vrrp_instance=%q} by state (-want +got):\n%s", instName, diff)
	}
	return nil
}

// checkMasterInfo wants exactly one govrrp_instance_master_info series,
// value 1, naming master.
func checkMasterInfo(sc scrape, master netip.Addr) error {
	got := sc.find("govrrp_instance_master_info", map[string]string{"vrrp_instance": instName})
	if len(got) != 1 || got[0].value != 1 || got[0].labels["master"] != master.String() {
		return fmt.Errorf("govrrp_instance_master_info = %+v, want one series master=%q value 1", got, master)
	}
	return nil
}

// checkMasterMetrics: the master's state set, master_info naming itself,
// and adverts_sent growing between two scrapes.
func checkMasterMetrics(t testing.TB, m *metricsNode, all ...*node) {
	t.Helper()
	sc := m.mustScrape(t, all...)
	if err := checkStateSet(sc, "MASTER"); err != nil {
		fail(t, err.Error(), all...)
	}
	if err := checkMasterInfo(sc, m.ip4); err != nil {
		fail(t, err.Error(), all...)
	}
	sent1, err := sc.must("govrrp_adverts_sent_total", nil)
	if err != nil {
		fail(t, err.Error(), all...)
	}
	start := time.Now()
	// A master sends every advert interval: two intervals see one more
	// advert for sure; 1 s covers scheduling on a loaded machine.
	sent2 := m.waitMetric(t, 2*observeSc.advert+time.Second, "govrrp_adverts_sent_total", nil, false,
		fmt.Sprintf("> %v", sent1), func(v float64) bool { return v > sent1 }, all...)
	t.Logf("%s: MASTER in metrics, master_info %s, adverts_sent %v → %v in %v", m.name, m.ip4, sent1, sent2,
		time.Since(start).Round(time.Millisecond))
}

// TestMetricsOnTheWire scrapes govrrp's /metrics in its namespace while
// the protocol runs: a govrrp master with a keepalived backup (state,
// master, sent adverts, a forged bad-checksum advert counted), and a govrrp
// pair (the backup's inter-arrival histogram, then its BACKUP→MASTER
// transition when the master stops).
func TestMetricsOnTheWire(t *testing.T) {
	t.Parallel()
	t.Run("gv-ka", func(t *testing.T) {
		t.Parallel()
		_, a, b := twoHosts(t, govrrp, keepalived)
		ma := startMetricsNode(t, a, a.confFor(observeSc, b, prioHigh), prioHigh)
		if err := waitOwner(startupMargin+observeSc.masterDown(prioHigh), sampleEvery(observeSc.advert), vip4, "a", a, b); err != nil {
			fail(t, "govrrp alone never became master: "+err.Error(), a)
		}
		b.start(b.confFor(observeSc, a, prioLow), prioLow)
		settle(t, observeSc, a, b, a, b)
		checkMasterMetrics(t, ma, a, b)
		forgeBadChecksum(t, ma, b, a, b)
		stopBoth(t, observeSc, a, b)
	})
	t.Run("gv-gv", func(t *testing.T) {
		t.Parallel()
		_, a, b := twoHosts(t, govrrp, govrrp)
		ma := startMetricsNode(t, a, a.confFor(observeSc, b, prioHigh), prioHigh)
		if err := waitOwner(startupMargin+observeSc.masterDown(prioHigh), sampleEvery(observeSc.advert), vip4, "a", a, b); err != nil {
			fail(t, "govrrp alone never became master: "+err.Error(), a)
		}
		// b starts once a is master, so it never was master before the
		// SIGTERM below.
		mb := startMetricsNode(t, b, b.confFor(observeSc, a, prioLow), prioLow)
		settle(t, observeSc, a, b, a, b)
		checkMasterMetrics(t, ma, a, b)
		backupToMaster(t, mb, a, a, b)
		stopBoth(t, observeSc, a, b)
	})
}

// forgeBadChecksum sends forged priority-254 adverts with a bad checksum
// from the host `from` at the master m: its checksum drop counter goes from
// 0 to exactly the number sent while it stays MASTER with the VIP.
func forgeBadChecksum(t testing.TB, m *metricsNode, from *node, all ...*node) {
	t.Helper()
	dropped := map[string]string{"reason": "checksum"}
	sc := m.mustScrape(t, all...)
	before, err := sc.must("govrrp_adverts_dropped_total", dropped)
	if err != nil {
		fail(t, err.Error(), all...)
	}
	if before != 0 {
		fail(t, fmt.Sprintf("checksum drops before forging: %v, want 0", before), all...)
	}
	trBefore, err := sc.must("govrrp_instance_transitions_total", nil)
	if err != nil {
		fail(t, err.Error(), all...)
	}
	var kind forgeKind
	for _, k := range forgeKinds(observeSc.version, from.ip4, vrrpGroup4) {
		if k.reason == "checksum" {
			kind = k
		}
	}
	if kind.mutate == nil {
		t.Fatal("interop: forgeKinds has no checksum kind")
	}
	tx, err := openRawSender(from.host, ifname)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	watch := watchVIP(m.node, vip4, 10*time.Millisecond)
	defer watch.stop()
	base := advertSpec{version: observeSc.version, vrid: vrid, priority: 254, advert: observeSc.advert,
		addrs: []netip.Addr{vip4}}
	const forged = 3
	for i := 0; i < forged; i++ {
		if err := tx.send(from.ip4, vrrpGroup4, kind.ttl, kind.mutate(base.marshal(from.ip4, vrrpGroup4), nil)); err != nil {
			t.Fatalf("forge %s: %v", kind.name, err)
		}
	}
	// forge_test's bound for the counters to catch up.
	got := m.waitMetric(t, 3*time.Second, "govrrp_adverts_dropped_total", dropped, false,
		fmt.Sprintf("%d", forged), func(v float64) bool { return v >= forged }, all...)
	if got != forged {
		fail(t, fmt.Sprintf("checksum drops %v after %d forged adverts, want exactly %d", got, forged, forged), all...)
	}
	// One more advert interval: a late reaction must not slip by.
	if _, err := holdOwner(observeSc.advert, sampleEvery(observeSc.advert), vip4, m.name, all...); err != nil {
		fail(t, "after forged bad-checksum adverts: "+err.Error(), all...)
	}
	if lost := watch.stop(); lost != "" {
		fail(t, "master lost the VIP to bad-checksum adverts: "+lost, all...)
	}
	sc = m.mustScrape(t, all...)
	if err := checkStateSet(sc, "MASTER"); err != nil {
		fail(t, "after forged adverts: "+err.Error(), all...)
	}
	if tr, err := sc.must("govrrp_instance_transitions_total", nil); err != nil || tr != trBefore {
		fail(t, fmt.Sprintf("transitions %v → %v (err %v) across bad-checksum adverts, want unchanged", trBefore, tr, err), all...)
	}
	t.Logf("%d bad-checksum adverts from %s: govrrp_adverts_dropped_total{reason=\"checksum\"} 0 → %v, still MASTER",
		forged, from.name, got)
}

// backupToMaster: the backup m has counted inter-arrival gaps of the
// master's adverts and never went BACKUP→MASTER; a SIGTERM of master hands
// over (handover's bound and wire check), and m's metrics then show
// exactly one BACKUP→MASTER transition and itself as master.
func backupToMaster(t testing.TB, m *metricsNode, master *node, all ...*node) {
	t.Helper()
	b2m := map[string]string{"from": "BACKUP", "to": "MASTER"}
	sc := m.mustScrape(t, all...)
	if err := checkStateSet(sc, "BACKUP"); err != nil {
		fail(t, err.Error(), all...)
	}
	if err := checkMasterInfo(sc, master.ip4); err != nil {
		fail(t, "backup's view of the master: "+err.Error(), all...)
	}
	if v, _, err := sc.one("govrrp_transitions_total", b2m); err != nil || v != 0 {
		fail(t, fmt.Sprintf("backup's BACKUP→MASTER transitions before the handover: %v (err %v), want 0 or absent", v, err), all...)
	}
	// The backup's socket has its master-down schedule: the count of
	// expiries that waited for unread adverts is exported (0 here: one
	// instance at 1 s adverts never starves its reader).
	if got := sc.find("govrrp_master_down_reader_waits_total", map[string]string{"interface": ifname, "family": "inet"}); len(got) != 1 {
		fail(t, fmt.Sprintf("govrrp_master_down_reader_waits_total{interface=%q,family=\"inet\"}: %d series, want 1", ifname, len(got)), all...)
	}
	// settle already sampled 3 intervals with both running: two adverts
	// make one gap; 1 s of scheduling margin.
	gaps := m.waitMetric(t, 3*observeSc.advert+time.Second, "govrrp_advert_interarrival_seconds_count", nil, false,
		"> 0", func(v float64) bool { return v > 0 }, all...)

	took := handover(t, observeSc, master, m.node, all...)

	// The state is published before the VIP is added; a short margin for
	// the scrape to see it.
	m.waitMetric(t, time.Second, "govrrp_transitions_total", b2m, true, "1", func(v float64) bool { return v >= 1 }, all...)
	sc = m.mustScrape(t, all...)
	if v, _, err := sc.one("govrrp_transitions_total", b2m); err != nil || v != 1 {
		fail(t, fmt.Sprintf("BACKUP→MASTER transitions after one handover: %v (err %v), want 1", v, err), all...)
	}
	if err := checkStateSet(sc, "MASTER"); err != nil {
		fail(t, "after the handover: "+err.Error(), all...)
	}
	if err := checkMasterInfo(sc, m.ip4); err != nil {
		fail(t, "after the handover: "+err.Error(), all...)
	}
	after, err := sc.must("govrrp_advert_interarrival_seconds_count", nil)
	if err != nil || after < gaps {
		fail(t, fmt.Sprintf("inter-arrival count went %v → %v (err %v): a counter went backwards", gaps, after, err), all...)
	}
	t.Logf("%s: %v inter-arrival gaps counted as backup; handover in %v; then BACKUP→MASTER = 1, MASTER in metrics",
		m.name, gaps, took.Round(time.Millisecond))
}

// --- keepalived dump files ---

var (
	kaHelpOnce   sync.Once
	kaNoSyslogOK bool
)

// startKeepalivedTmpdir runs keepalived on n like netlab's StartKeepalived
// (foreground, VRRP only, console log), with TMPDIR=dir in its
// environment: keepalived 2.2.7 writes its dump files there (kadump's
// paths.txt).
func startKeepalivedTmpdir(t testing.TB, n *node, conf, dir string, prio int) {
	t.Helper()
	bin, err := netlab.LookPath("keepalived")
	if err != nil {
		t.Fatal(err)
	}
	kaHelpOnce.Do(func() {
		out, _ := exec.Command(bin, "--help").CombinedOutput()
		kaNoSyslogOK = strings.Contains(string(out), "--no-syslog")
	})
	file := filepath.Join(n.host.Lab().Dir(), n.name+"-keepalived.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p1, p2, p3 := n.host.KeepalivedPidFiles()
	for _, f := range []string{p1, p2, p3} {
		_ = os.Remove(f)
	}
	argv := []string{"env", "TMPDIR=" + dir, bin, "-n", "-l", "-D", "-P", "-f", file, "-p", p1, "-r", p2, "-c", p3}
	if kaNoSyslogOK {
		argv = append(argv, "--no-syslog")
	}
	p, err := n.host.Start("keepalived", argv...)
	if err != nil {
		t.Fatalf("interop: start keepalived on %s: %v", n.name, err)
	}
	n.impl, n.proc, n.prio = keepalived, p, prio
	n.procs = append(n.procs, p)
}

// dumpFiles are one daemon's keepalived.{data,stats,json}, as text.
type dumpFiles struct{ data, stats, json string }

// dumpOne removes dir/name, sends sig to n's daemon and waits for the file
// to be back. Both daemons write a temporary file and rename it into
// place, so a file that exists is complete.
func dumpOne(t testing.TB, n *node, sig syscall.Signal, dir, name string, all ...*node) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := n.signal(sig); err != nil {
		fail(t, err.Error(), all...)
	}
	var b []byte
	err := netlab.WaitFor(context.Background(), dumpTimeout, 10*time.Millisecond, func() (bool, error) {
		if n.proc.Exited() {
			return false, netlab.Permanent(fmt.Errorf("%s (%s) exited after signal %d", n.name, n.impl, int(sig)))
		}
		var err error
		b, err = os.ReadFile(path)
		return err == nil && len(b) > 0, fmt.Errorf("%s not written yet (%v)", path, err)
	})
	if err != nil {
		fail(t, fmt.Sprintf("%s (%s), signal %d (%s): %v", n.name, n.impl, int(sig), sig, err), all...)
	}
	return string(b)
}

func dumpAll(t testing.TB, n *node, dir string, all ...*node) dumpFiles {
	t.Helper()
	return dumpFiles{
		data:  dumpOne(t, n, sigDumpData, dir, "keepalived.data", all...),
		stats: dumpOne(t, n, sigDumpStats, dir, "keepalived.stats", all...),
		json:  dumpOne(t, n, sigDumpJSON, dir, "keepalived.json", all...),
	}
}

var sectionRE = regexp.MustCompile(`(?m)^------< (.+) >------$`)

// dataSections lists keepalived.data's section headers in order.
func dataSections(data string) []string {
	var out []string
	for _, m := range sectionRE.FindAllStringSubmatch(data, -1) {
		out = append(out, m[1])
	}
	return out
}

// dataInstance is the block of " VRRP Instance = name" in keepalived.data,
// up to the next instance or section.
func dataInstance(data, name string) (string, bool) {
	lines := strings.Split(data, "\n")
	for i, l := range lines {
		if l != " VRRP Instance = "+name {
			continue
		}
		j := i + 1
		for j < len(lines) && !strings.HasPrefix(lines[j], " VRRP Instance = ") && !strings.HasPrefix(lines[j], "------<") {
			j++
		}
		return strings.Join(lines[i:j], "\n"), true
	}
	return "", false
}

// statsBlock is one instance of keepalived.stats: its lines' keys (text
// before ':', indentation kept, so the nesting is part of the structure)
// and the numbers by dotted key path, e.g. "Advertisements.Sent".
type statsBlock struct {
	keys   []string
	values map[string]uint64
}

// parseStats reads keepalived.stats into blocks by instance name.
func parseStats(text string) (map[string]statsBlock, error) {
	out := map[string]statsBlock{}
	var cur string
	var parent string
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if name, ok := strings.CutPrefix(line, "VRRP Instance: "); ok {
			cur, parent = name, ""
			out[cur] = statsBlock{values: map[string]uint64{}}
			continue
		}
		if cur == "" {
			return nil, fmt.Errorf("stats line %d outside an instance: %q", i+1, line)
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("stats line %d: no ':': %q", i+1, line)
		}
		blk := out[cur]
		blk.keys = append(blk.keys, key)
		name := strings.TrimSpace(key)
		indent := len(key) - len(strings.TrimLeft(key, " "))
		val = strings.TrimSpace(val)
		if val == "" {
			parent = name
		} else {
			path := name
			if indent > 2 && parent != "" {
				path = parent + "." + name
			} else {
				parent = ""
			}
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("stats line %d: %q: %v", i+1, line, err)
			}
			blk.values[path] = n
		}
		out[cur] = blk
	}
	return out, nil
}

// jsonShape is keepalived.json's structure: the keys of every array
// element, and the key sets of its "data" and "stats" objects, per
// instance (iname).
type jsonShape struct {
	Elem, Data, Stats []string
}

func parseDumpJSON(text string) (map[string]jsonShape, map[string]map[string]any, error) {
	var doc []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return nil, nil, fmt.Errorf("keepalived.json: %w", err)
	}
	shapes := map[string]jsonShape{}
	objs := map[string]map[string]any{}
	for i, el := range doc {
		var data, stats map[string]any
		if err := json.Unmarshal(el["data"], &data); err != nil {
			return nil, nil, fmt.Errorf("keepalived.json [%d].data: %w", i, err)
		}
		if err := json.Unmarshal(el["stats"], &stats); err != nil {
			return nil, nil, fmt.Errorf("keepalived.json [%d].stats: %w", i, err)
		}
		name, _ := data["iname"].(string)
		keys := func(m map[string]any) []string {
			var k []string
			for key := range m {
				k = append(k, key)
			}
			slices.Sort(k)
			return k
		}
		var ek []string
		for k := range el {
			ek = append(ek, k)
		}
		slices.Sort(ek)
		shapes[name] = jsonShape{Elem: ek, Data: keys(data), Stats: keys(stats)}
		objs[name] = map[string]any{"data": data, "stats": stats}
	}
	return shapes, objs, nil
}

// TestKeepalivedDumpSignals: govrrp (master) writes keepalived's dump files
// into its $TMPDIR on keepalived's dump signals, with the same structure as
// a real keepalived 2.2.7 (backup, same config) writes next to it; and
// STATS_CLEAR restarts the dumps' counters.
func TestKeepalivedDumpSignals(t *testing.T) {
	t.Parallel()
	netlab.Require(t, "env")
	_, a, b := twoHosts(t, govrrp, keepalived)
	dirA := filepath.Join(a.host.Lab().Dir(), "a-tmpdir")
	dirB := filepath.Join(b.host.Lab().Dir(), "b-tmpdir")
	for _, d := range []string{dirA, dirB} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	a.startGovrrpObserved(a.confFor(observeSc, b, prioHigh), prioHigh, []string{"TMPDIR=" + dirA})
	if err := waitOwner(startupMargin+observeSc.masterDown(prioHigh), sampleEvery(observeSc.advert), vip4, "a", a, b); err != nil {
		fail(t, "govrrp alone never became master: "+err.Error(), a)
	}
	startKeepalivedTmpdir(t, b, b.confFor(observeSc, a, prioLow), dirB, prioLow)
	// keepalived has no control socket: its VRRP child is up once it has
	// written its pid file; then it must stay backup for its master-down
	// interval (a's adverts reach it).
	_, vrrpPid, _ := b.host.KeepalivedPidFiles()
	if err := netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		if b.proc.Exited() {
			return false, netlab.Permanent(fmt.Errorf("keepalived on b exited during start-up"))
		}
		st, err := os.Stat(vrrpPid)
		return err == nil && st.Size() > 0, fmt.Errorf("no VRRP child pid file %s yet", vrrpPid)
	}); err != nil {
		fail(t, err.Error(), a, b)
	}
	if _, err := holdOwner(observeSc.masterDown(prioLow), sampleEvery(observeSc.advert), vip4, "a", a, b); err != nil {
		fail(t, "with keepalived backup started: "+err.Error(), a, b)
	}
	all := []*node{a, b}

	gv := dumpAll(t, a, dirA, all...)
	// govrrp's own files.
	if !slices.Contains(dataSections(gv.data), "VRRP Topology") {
		fail(t, fmt.Sprintf("govrrp keepalived.data has no VRRP Topology section: %q", dataSections(gv.data)), all...)
	}
	blk, ok := dataInstance(gv.data, instName)
	if !ok || !regexp.MustCompile(`(?m)^\s+State = MASTER$`).MatchString(blk) {
		fail(t, fmt.Sprintf("govrrp keepalived.data: instance %s with State = MASTER not found:\n%s", instName, tailLines(gv.data, 80)), all...)
	}
	gvStats, err := parseStats(gv.stats)
	if err != nil {
		fail(t, "govrrp keepalived.stats: "+err.Error()+"\n"+gv.stats, all...)
	}
	sentBefore := gvStats[instName].values["Advertisements.Sent"]
	if _, ok := gvStats[instName]; !ok || sentBefore == 0 {
		fail(t, fmt.Sprintf("govrrp keepalived.stats: %s block with Advertisements Sent > 0 not found:\n%s", instName, gv.stats), all...)
	}
	gvJSON, gvObjs, err := parseDumpJSON(gv.json)
	if err != nil {
		fail(t, "govrrp "+err.Error()+"\n"+gv.json, all...)
	}
	if _, ok := gvJSON[instName]; !ok || len(gvJSON) != 1 {
		fail(t, fmt.Sprintf("govrrp keepalived.json: instances %v, want only %s", slices.Sorted(maps.Keys(gvJSON)), instName), all...)
	}
	if st := gvObjs[instName]["data"].(map[string]any)["state"]; st != float64(2) { // keepalived's VRRP_STATE_MAST
		fail(t, fmt.Sprintf("govrrp keepalived.json %s data.state = %v, want 2 (MASTER)", instName, st), all...)
	}

	// keepalived's, for the structure.
	ka := dumpAll(t, b, dirB, all...)
	if diff := cmp.Diff(dataSections(ka.data), dataSections(gv.data)); diff != "" {
		t.Errorf("keepalived.data section headers (-keepalived +govrrp):\n%s", diff)
	}
	if _, ok := dataInstance(ka.data, instName); !ok {
		fail(t, "keepalived's own keepalived.data lacks the instance: the comparison is void", all...)
	}
	kaStats, err := parseStats(ka.stats)
	if err != nil {
		fail(t, "keepalived keepalived.stats: "+err.Error()+"\n"+ka.stats, all...)
	}
	if diff := cmp.Diff(kaStats[instName].keys, gvStats[instName].keys); diff != "" || len(kaStats) != len(gvStats) {
		t.Errorf("keepalived.stats structure, %d vs %d blocks (-keepalived +govrrp):\n%s", len(kaStats), len(gvStats), diff)
	}
	kaJSON, _, err := parseDumpJSON(ka.json)
	if err != nil {
		fail(t, "keepalived "+err.Error()+"\n"+ka.json, all...)
	}
	if diff := cmp.Diff(kaJSON, gvJSON); diff != "" {
		t.Errorf("keepalived.json structure by instance (-keepalived +govrrp):\n%s", diff)
	}
	t.Logf("dumps: data sections %q, stats %d lines per instance, json keys %d data + %d stats; govrrp Sent %d",
		dataSections(gv.data), len(gvStats[instName].keys), len(gvJSON[instName].Data), len(gvJSON[instName].Stats), sentBefore)

	// STATS_CLEAR: the counters as they are, then from zero.
	clearAt := time.Now()
	cleared, err := parseStats(dumpOne(t, a, sigDumpStatsClear, dirA, "keepalived.stats", all...))
	if err != nil {
		fail(t, "govrrp keepalived.stats on STATS_CLEAR: "+err.Error(), all...)
	}
	atClear := cleared[instName].values["Advertisements.Sent"]
	if atClear < sentBefore {
		fail(t, fmt.Sprintf("STATS_CLEAR's own dump shows Sent %d, below the earlier %d: it must show the counters before clearing", atClear, sentBefore), all...)
	}
	again, err := parseStats(dumpOne(t, a, sigDumpStats, dirA, "keepalived.stats", all...))
	if err != nil {
		fail(t, "govrrp keepalived.stats after STATS_CLEAR: "+err.Error(), all...)
	}
	elapsed := time.Since(clearAt)
	sinceClear := again[instName].values["Advertisements.Sent"]
	// A master sends one advert per interval: at most elapsed/advert + 1
	// since the clear's snapshot (+1 for the interval boundary it may sit on).
	bound := uint64(elapsed/observeSc.advert) + 2
	if sinceClear >= atClear || sinceClear > bound {
		fail(t, fmt.Sprintf("after STATS_CLEAR Sent %d, want < %d (before the clear) and ≤ %d (%v at %v)",
			sinceClear, atClear, bound, elapsed.Round(time.Millisecond), observeSc.advert), all...)
	}
	t.Logf("STATS_CLEAR: Sent %d → %d in the next SIGUSR2 dump (%v later)", atClear, sinceClear, elapsed.Round(time.Millisecond))
	stopBoth(t, observeSc, a, b)
}
