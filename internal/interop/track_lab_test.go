package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// Helpers of the tracking and notify tests (track_test.go): a two-host lab
// that also returns its segments, configs with track/notify blocks, a
// start-up that skips while `govrrp run` still refuses tracking keywords,
// and `govrrp status --json` with reason and tracks.

// trackSc is the protocol of every tracking test: VRRPv3, IPv4, 100 ms.
var trackSc = scenario{name: "v3-ipv4-100ms", version: 3, advert: 100 * time.Millisecond}

const (
	// scriptInterval: keepalived 2.2.7 takes integer seconds only; a
	// fractional "interval 0.2" is refused ("invalid number '0.2' ... must
	// be between 1 and 4294 - ignoring") and the default 1 s is used.
	scriptInterval = time.Second
	scriptFall     = 2
	scriptRise     = 2
	trackWeight    = -60 // 150 - 60 = 90 < 100: the backup wins while failing

	// slack is added once to every protocol bound: process scheduling,
	// netlink and inotify delivery, script fork/exec on a loaded 2-core
	// machine. It is never a synchronisation sleep.
	slack = time.Second
	// faultBound: a master whose own or tracked interface loses carrier
	// (or whose weight-0 track fails) removes its VIPs at once; no VRRP
	// timer is involved, only event delivery.
	faultBound = time.Second
	// linkwatchMax: the kernel's linkwatch reports a non-urgent carrier
	// change at most once a second (HZ), so up to 1 s late.
	linkwatchMax = time.Second

	// refusedText is what `govrrp run` logs (and exits with) while it
	// parses but does not act on tracking and notify keywords.
	refusedText = "does not act on yet"
)

// scriptReact bounds when k consecutive results of a script have been
// seen after its outcome flipped: the first run after the flip comes at
// most one interval later, each further one an interval after that.
func scriptReact(k int) time.Duration { return time.Duration(k) * scriptInterval }

// scriptNotBefore is the earliest the k-th consecutive result can be seen
// after a flip: k-1 full intervals (less a tenth for timer jitter).
func scriptNotBefore(k int) time.Duration {
	return time.Duration(k-1)*scriptInterval - scriptInterval/10
}

// Second segment of the track_interface test: host a's eth1.
var (
	wanV4  = netip.MustParsePrefix("198.51.100.0/24")
	addrA2 = netip.MustParsePrefix("198.51.100.11/24")
)

const wanIf = "eth1"

// trackLab is twoHosts plus the segments, for carrier cuts.
type trackLab struct {
	lab  *netlab.Lab
	lan  *netlab.Segment
	wan  *netlab.Segment // nil unless asked for; host a only, as eth1
	a, b *node
}

// newTrackLab builds the two-host lab of lab_test.go (a .11, b .12 on
// eth0); withWAN also wires a's eth1 to a second segment.
func newTrackLab(t *testing.T, p pairing, withWAN bool) *trackLab {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test (namespaces, real daemons) skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived", "tcpdump")
	lab := netlab.New(t)
	tl := &trackLab{lab: lab, lan: lab.AddSegment("lan", lanV4, lanV6)}
	mk := func(name string, im impl, v4, v6 netip.Prefix) *node {
		h := lab.AddHost(name)
		if err := h.Connect(tl.lan, ifname, v4, v6); err != nil {
			t.Fatalf("interop: connect %s: %v", name, err)
		}
		return &node{t: t, name: name, impl: im, host: h, ip4: v4.Addr(), ip6: v6.Addr()}
	}
	tl.a, tl.b = mk("a", p.a, addrA4, addrA6), mk("b", p.b, addrB4, addrB6)
	if withWAN {
		tl.wan = lab.AddSegment("wan", wanV4, netip.Prefix{})
		if err := tl.a.host.Connect(tl.wan, wanIf, addrA2, netip.Prefix{}); err != nil {
			t.Fatalf("interop: connect a to wan: %v", err)
		}
	}
	return tl
}

// file is a path in the lab dir, per node: "<dir>/<node>-<base>".
func (n *node) file(base string) string {
	return filepath.Join(n.host.Lab().Dir(), n.name+"-"+base)
}

// writeFile writes content to path the way an operator's `echo` does
// (truncate and write in place, no rename).
func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatalf("interop: %v", err)
	}
}

// checkScript writes <node>-check.sh, which passes while <node>-healthy
// exists, makes the node healthy and returns the script path.
func (n *node) checkScript(t testing.TB) string {
	t.Helper()
	path := n.file("check.sh")
	writeFile(t, path, fmt.Sprintf("#!/bin/sh\nexec test -e %s\n", n.file("healthy")), 0o755)
	n.setHealthy(t, true)
	return path
}

// setHealthy flips what the node's check.sh reports.
func (n *node) setHealthy(t testing.TB, ok bool) {
	t.Helper()
	if ok {
		writeFile(t, n.file("healthy"), "", 0o644)
		return
	}
	if err := os.Remove(n.file("healthy")); err != nil {
		t.Fatalf("interop: %v", err)
	}
}

// trackSpec is what a tracking test adds to the base scenario config.
type trackSpec struct {
	defs     []string // top-level blocks the instance refers to (vrrp_script, track_file)
	instance []string // lines inside vrrp_instance (track_*, dont_track_primary, notify*)
	// lateDefs renders defs after the vrrp_instance. govrrp resolves
	// references order-free; keepalived 2.2.7 ignores a vrrp_script
	// defined after the instance that tracks it ("track script chk not
	// found, ignoring..."), so keepalived nodes always get them first.
	lateDefs bool
}

// trackConf renders the base config of trackSc (as conf_test.go does) with
// spec added.
func (n *node) trackConf(peer *node, prio int, spec trackSpec) string {
	base := n.confFor(trackSc, peer, prio)
	i := strings.Index(base, "vrrp_instance")
	head, inst := base[:i], strings.TrimSuffix(base[i:], "}\n")
	var b strings.Builder
	b.WriteString(head)
	defs := strings.Join(spec.defs, "\n")
	if defs != "" && !spec.lateDefs {
		b.WriteString(defs + "\n")
	}
	b.WriteString(inst)
	for _, l := range spec.instance {
		for _, line := range strings.Split(l, "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	b.WriteString("}\n")
	if defs != "" && spec.lateDefs {
		b.WriteString("\n" + defs + "\n")
	}
	return b.String()
}

// vrrpScript renders a vrrp_script block.
func vrrpScript(name, path string, weight int) string {
	return fmt.Sprintf("vrrp_script %s {\n    script \"%s\"\n    interval %d\n    fall %d\n    rise %d\n    weight %d\n}\n",
		name, path, int(scriptInterval/time.Second), scriptFall, scriptRise, weight)
}

// trackFileBlock renders a top-level track_file block.
func trackFileBlock(name, path string, weight int) string {
	return fmt.Sprintf("track_file %s {\n    file \"%s\"\n    weight %d\n}\n", name, path, weight)
}

// startTracked starts the node's daemon like node.start, but a govrrp that
// refuses the file because it does not act on tracking/notify keywords yet
// skips the test instead of failing it. Any other early exit fails.
func (n *node) startTracked(t *testing.T, conf string, prio int) {
	t.Helper()
	if n.impl != govrrp {
		n.start(conf, prio)
		return
	}
	p, err := n.host.StartGovrrp(govrrpBin(t), conf)
	if err != nil {
		t.Fatalf("interop: start govrrp on %s: %v", n.name, err)
	}
	n.proc, n.prio = p, prio
	n.procs = append(n.procs, p)
	err = netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, netlab.Permanent(fmt.Errorf("govrrp on %s exited during start-up", n.name))
		}
		_, err := n.status()
		return err == nil, err
	})
	if err == nil {
		return
	}
	if p.Exited() && strings.Contains(p.Log(), refusedText) {
		n.proc = nil
		t.Skip("govrrp does not act on tracking yet")
	}
	fail(t, fmt.Sprintf("interop: govrrp on %s not ready: %v", n.name, err), n)
}

// trackEntry is one element of the status "tracks" array (being added).
type trackEntry struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	OK     *bool  `json:"ok"`
	Detail string `json:"detail"`
}

// fullStatus is the part of one `govrrp status --json` instance the
// tracking tests look at.
type fullStatus struct {
	State             string       `json:"state"`
	Priority          int          `json:"priority"`
	EffectivePriority int          `json:"effective_priority"`
	Reason            string       `json:"reason"`
	LastReason        string       `json:"last_reason"`
	Tracks            []trackEntry `json:"tracks"`
	Transitions       uint64       `json:"transitions"`
}

// why is the reason of the last state change, whichever key carries it.
func (s fullStatus) why() string {
	if s.LastReason != "" {
		return s.LastReason
	}
	return s.Reason
}

// fullStatus runs `govrrp status --json` and decodes the one instance.
func (n *node) fullStatus() (fullStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.host.Exec(ctx, govrrpBin(n.t), "status", "--socket", n.host.GovrrpSocket(), "--json")
	if err != nil {
		return fullStatus{}, fmt.Errorf("interop: status of %s: %w: %s", n.name, err, out)
	}
	var doc struct {
		Instances []fullStatus `json:"instances"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return fullStatus{}, fmt.Errorf("interop: status of %s: %w: %s", n.name, err, out)
	}
	if len(doc.Instances) != 1 {
		return fullStatus{}, fmt.Errorf("interop: status of %s: %d instances, want 1: %s", n.name, len(doc.Instances), out)
	}
	return doc.Instances[0], nil
}

// want is what a govrrp node's status must show; zero fields are not
// checked.
type want struct {
	state string
	eff   int    // effective_priority
	why   string // substring of the last reason
	// track, when set, must be in "tracks" with this ok value, if the
	// daemon reports tracks at all.
	track   string
	trackOK *bool // nil: only presence is checked
}

// check reports how st differs from w, "" when it matches.
func (w want) check(st fullStatus) string {
	var bad []string
	if w.state != "" && st.State != w.state {
		bad = append(bad, fmt.Sprintf("state %q, want %q", st.State, w.state))
	}
	if w.eff != 0 && st.EffectivePriority != w.eff {
		bad = append(bad, fmt.Sprintf("effective_priority %d, want %d", st.EffectivePriority, w.eff))
	}
	if w.why != "" && !strings.Contains(st.why(), w.why) {
		bad = append(bad, fmt.Sprintf("reason %q does not mention %q", st.why(), w.why))
	}
	if w.track != "" && st.Tracks != nil {
		found := false
		for _, tr := range st.Tracks {
			if tr.Name != w.track {
				continue
			}
			found = true
			if w.trackOK != nil && (tr.OK == nil || *tr.OK != *w.trackOK) {
				bad = append(bad, fmt.Sprintf("track %s (%s) ok=%v detail %q, want ok=%v", tr.Name, tr.Kind,
					fmtBoolPtr(tr.OK), tr.Detail, *w.trackOK))
			}
		}
		if !found {
			bad = append(bad, fmt.Sprintf("tracks %+v lack %q", st.Tracks, w.track))
		}
	}
	return strings.Join(bad, "; ")
}

func ptr[T any](v T) *T { return &v }

func fmtBoolPtr(b *bool) string {
	if b == nil {
		return "missing"
	}
	return fmt.Sprint(*b)
}

// expect polls a govrrp node's status until it matches w (keepalived nodes
// have no status: nothing to check). The VIP placement the caller waited
// for already implies the state change; the poll only absorbs the
// snapshot publication, so it is bounded by slack.
func (n *node) expect(t testing.TB, w want, all ...*node) fullStatus {
	t.Helper()
	if n.impl != govrrp {
		return fullStatus{}
	}
	var last fullStatus
	err := netlab.WaitFor(context.Background(), slack, 20*time.Millisecond, func() (bool, error) {
		st, err := n.fullStatus()
		if err != nil {
			return false, err
		}
		last = st
		if d := w.check(st); d != "" {
			return false, fmt.Errorf("%s", d)
		}
		return true, nil
	})
	if err != nil {
		fail(t, fmt.Sprintf("govrrp status of %s: %v", n.name, err), all...)
	}
	return last
}

// waitVIP waits until n has (or lacks) the VIP and returns the time since
// start at that moment.
func waitVIP(t testing.TB, n *node, present bool, start time.Time, bound time.Duration, what string, all ...*node) time.Duration {
	t.Helper()
	timeout := bound - time.Since(start)
	if timeout <= 0 {
		timeout = time.Millisecond
	}
	if err := n.host.WaitAddr(context.Background(), ifname, vip4, present, timeout); err != nil {
		fail(t, fmt.Sprintf("%s: %s VIP present=%v not within %v: %v [%s]", what, n.name, present, bound, err, loadAvg()), all...)
	}
	return time.Since(start)
}

// waitOnly waits until exactly owner holds the VIP and returns the time
// since start at that moment.
func waitOnly(t testing.TB, owner string, start time.Time, bound time.Duration, what string, all ...*node) time.Duration {
	t.Helper()
	timeout := bound - time.Since(start)
	if timeout <= 0 {
		timeout = time.Millisecond
	}
	if err := waitOwner(timeout, 5*time.Millisecond, vip4, owner, all...); err != nil {
		fail(t, fmt.Sprintf("%s: not within %v: %v [%s]", what, bound, err, loadAvg()), all...)
	}
	return time.Since(start)
}

// notBefore fails when took is below a protocol lower bound.
func notBefore(t testing.TB, took, min time.Duration, what string, all ...*node) {
	t.Helper()
	if took < min {
		fail(t, fmt.Sprintf("%s after %v, earlier than the protocol allows (%v)", what, took.Round(time.Millisecond), min), all...)
	}
}

// keepalivedConfigTest runs `keepalived -t` on conf in the node's namespace
// (so its interfaces exist) and returns what keepalived says about it.
func (n *node) keepalivedConfigTest(t testing.TB, conf string) string {
	t.Helper()
	path := n.file("configtest.conf")
	writeFile(t, path, conf, 0o644)
	bin, err := netlab.LookPath("keepalived")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := n.host.Exec(ctx, bin, "-t", "-l", "-n", "-P", "-f", path) // exit status: keepalived's own verdict
	return string(out)
}
