package whatif

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// node is a small keepalived.conf for tests: one instance VI (VRID 7,
// eth0, 192.0.2.7/24), optionally tracking script chk.
type node struct {
	name     string
	state    string // default BACKUP
	priority int
	weight   *int   // chk's weight; nil: no script
	extra    string // lines inside vrrp_instance
	top      string // lines after global_defs
	after    bool   // define chk after the instance (keepalived ignores it)
	noVI     bool   // no vrrp_instance at all
	tail     string // more blocks at the end of the file
}

func weight(w int) *int { return &w }

func (n node) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n%s\n", n.name, n.top)
	script := ""
	if n.weight != nil {
		script = fmt.Sprintf("vrrp_script chk {\n    script \"/bin/true\"\n    weight %d\n}\n", *n.weight)
	}
	if !n.after {
		b.WriteString(script)
	}
	state := n.state
	if state == "" {
		state = "BACKUP"
	}
	if !n.noVI {
		fmt.Fprintf(&b, "vrrp_instance VI {\n    state %s\n    interface eth0\n    virtual_router_id 7\n    priority %d\n    advert_int 1\n", state, n.priority)
		if n.weight != nil {
			b.WriteString("    track_script {\n        chk\n    }\n")
		}
		b.WriteString(n.extra)
		b.WriteString("    virtual_ipaddress {\n        192.0.2.7/24\n    }\n}\n")
	}
	if n.after {
		b.WriteString(script)
	}
	b.WriteString(n.tail)
	return b.String()
}

// analyze writes the nodes' files and analyses them.
func analyze(t *testing.T, ns ...node) Report {
	t.Helper()
	return Analyze(load(t, ns...))
}

func load(t testing.TB, ns ...node) []Node {
	t.Helper()
	dir := t.TempDir()
	var nodes []Node
	for _, n := range ns {
		p := filepath.Join(dir, n.name+".conf")
		if err := os.WriteFile(p, []byte(n.text()), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, diags, err := kaconf.Load(p, kaconf.LoadOptions{})
		if err != nil {
			t.Fatalf("load %s: %v\n%s\n%v", n.name, err, n.text(), diags)
		}
		nodes = append(nodes, Node{File: p, Config: cfg, Diags: diags})
	}
	return nodes
}

// lineOf is the 1-based line of the first line of n's file containing s.
func lineOf(t *testing.T, n node, s string) int {
	t.Helper()
	for i, l := range strings.Split(n.text(), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in %s", s, n.text())
	return 0
}

// warningAt finds the warning at file name.conf, line, containing want.
func warningAt(rep Report, name string, line int, want string) bool {
	return slices.ContainsFunc(rep.Warnings, func(w Warning) bool {
		return strings.Contains(w.Pos, name+".conf:"+fmt.Sprint(line)+":") && strings.Contains(w.Msg, want)
	})
}

func failure(t *testing.T, rep Report, nodeName, kind string) Failure {
	t.Helper()
	for _, f := range rep.Failures {
		if f.Node == nodeName && f.Kind == kind {
			return f
		}
	}
	t.Fatalf("no %s failure on %s in %+v", kind, nodeName, rep.Failures)
	return Failure{}
}

func only(t *testing.T, f Failure) Outcome {
	t.Helper()
	if len(f.Outcomes) != 1 {
		t.Fatalf("%s on %s: %d outcomes, want 1: %+v", f.What, f.Node, len(f.Outcomes), f.Outcomes)
	}
	return f.Outcomes[0]
}

func dump(rep Report) string {
	var b strings.Builder
	_ = rep.WriteTable(&b)
	return b.String()
}

// The move and its timing come from the machines: a FAULT or a stop sends
// priority 0 and the backup takes over after its skew time; a lost link
// sends nothing, so the backup waits its whole master-down interval; a
// lower priority is preempted one master-down interval after the last
// advert the backup accepted.
func TestMoveAndTiming(t *testing.T) {
	a := node{name: "a", state: "MASTER", priority: 150, weight: weight(-60)}
	b := node{name: "b", priority: 100, weight: weight(-60)}
	rep := analyze(t, a, b)
	if got := rep.Routers[0].HeldBy; !slices.Equal(got, []string{"a"}) {
		t.Fatalf("held by %v, want [a]\n%s", got, dump(rep))
	}
	skewB := fmtDur(fsm.SkewTime(100, time.Second))
	downB := fmtDur(fsm.MasterDownInterval(100, time.Second))
	downA := fmtDur(fsm.MasterDownInterval(150, time.Second))
	tests := []struct {
		node, kind, effect, takes, backTakes string
	}{
		{"a", "track_script", "150→90", downB, fmtDur(fsm.MasterDownInterval(90, time.Second))},
		{"a", "interface", "FAULT", downB, downA},
		{"a", "stop", "stopped", skewB, downA},
	}
	for _, tc := range tests {
		o := only(t, failure(t, rep, tc.node, tc.kind))
		want := Outcome{Router: "VI", VRID: 7, Effect: tc.effect, Before: []string{"a"}, After: []string{"b"}, Moved: true,
			Takes: tc.takes, Recovered: []string{"a"}, Back: true, BackTakes: tc.backTakes, Why: "preempt"}
		if tc.kind != "track_script" {
			want.Unheld = tc.takes // FAULT and stop remove the VIPs at once
		}
		if diff := cmp.Diff(want, o); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.node, tc.kind, diff)
		}
	}
	for _, k := range []string{"track_script", "interface", "stop"} {
		if o := only(t, failure(t, rep, "b", k)); o.Moved || !slices.Equal(o.After, []string{"a"}) {
			t.Errorf("b %s: %+v, want the VIPs to stay on a", k, o)
		}
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings %v, want none", rep.Warnings)
	}
	if f := failure(t, rep, "a", "track_script"); f.SeenAfter != "1s" || f.RecoveredAfter != "1s" {
		t.Errorf("detection %q/%q, want fall 1 × 1s and rise 1 × 1s", f.SeenAfter, f.RecoveredAfter)
	}
}

// A weight that cannot cross the priority gap moves nothing: warned at
// the track_script line, with the weight that would.
func TestWarnWeightBelowGap(t *testing.T) {
	a := node{name: "a", state: "MASTER", priority: 150, weight: weight(-30)}
	b := node{name: "b", priority: 100}
	rep := analyze(t, a, b)
	if o := only(t, failure(t, rep, "a", "track_script")); o.Moved {
		t.Fatalf("moved: %+v", o)
	}
	if !warningAt(rep, "a", lineOf(t, a, "        chk"), "use a weight of -51 or lower") {
		t.Errorf("no weight warning at a's track_script line:\n%s", dump(rep))
	}
	// A weight that ties is decided by address, not by the check.
	a.weight = weight(-50)
	rep = analyze(t, a, b)
	if !warningAt(rep, "a", lineOf(t, a, "        chk"), "ties with") {
		t.Errorf("no tie warning:\n%s", dump(rep))
	}
	a.weight = weight(-51)
	if rep := analyze(t, a, b); len(rep.Warnings) != 0 {
		t.Errorf("weight -51 moves the VIPs, yet warnings: %v", rep.Warnings)
	}
}

// nopreempt acts on the node that would take over: on the backup it does
// not keep the VIPs there once the master comes back.
func TestWarnNopreemptOnWrongNode(t *testing.T) {
	a := node{name: "a", priority: 150}
	b := node{name: "b", priority: 100, extra: "    nopreempt\n"}
	rep := analyze(t, a, b)
	o := only(t, failure(t, rep, "a", "stop"))
	if !o.Back || o.Why != "preempt" {
		t.Fatalf("outcome %+v, want the VIPs back on a by preemption", o)
	}
	if !warningAt(rep, "a", lineOf(t, a, "vrrp_instance"), "nopreempt on b") {
		t.Errorf("no nopreempt warning at a's vrrp_instance:\n%s", dump(rep))
	}
	// On the returning node it works: the VIPs stay, no warning.
	a.extra, b.extra = "    nopreempt\n", ""
	rep = analyze(t, a, b)
	o = only(t, failure(t, rep, "a", "stop"))
	if o.Back || o.Why != "nopreempt on a" || !slices.Equal(o.Recovered, []string{"b"}) {
		t.Errorf("outcome %+v, want the VIPs to stay on b (nopreempt on a)", o)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings %v, want none", rep.Warnings)
	}
}

// keepalived 2.2 ignores a vrrp_script defined after the instance that
// tracks it; govrrp does not, so the what-if warns where they differ.
func TestWarnTrackDefinedAfterUse(t *testing.T) {
	a := node{name: "a", state: "MASTER", priority: 150, weight: weight(-60), after: true}
	b := node{name: "b", priority: 100}
	rep := analyze(t, a, b)
	if !warningAt(rep, "a", lineOf(t, a, "        chk"), "keepalived 2.2 ignores vrrp_script \"chk\"") {
		t.Errorf("no defined-after warning:\n%s", dump(rep))
	}
	a.after = false
	if rep := analyze(t, a, b); len(rep.Warnings) != 0 {
		t.Errorf("script defined first, yet warnings: %v", rep.Warnings)
	}
}

// Nodes that cannot hear each other are both master: warned with
// kaconf.CheckCluster's reason.
func TestWarnTwoMasters(t *testing.T) {
	a := node{name: "a", state: "MASTER", priority: 150}
	tests := []struct {
		name, extra, reason string
	}{
		{"version", "    version 3\n", "VRRP version"},
		{"auth", "    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n", "authentication differs"},
		{"advert_int", "    advert_int 2\n", "advert_int"},
		{"mcast_dst_ip", "    mcast_dst_ip 224.0.0.19\n", "different mcast_dst_ip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := node{name: "b", priority: 100, extra: tc.extra}
			rep := analyze(t, a, b)
			if got := rep.Routers[0].HeldBy; len(got) != 2 {
				t.Fatalf("held by %v, want both", got)
			}
			if !warningAt(rep, "b", lineOf(t, b, "vrrp_instance"), tc.reason) {
				t.Errorf("no two-masters warning naming %q:\n%s", tc.reason, dump(rep))
			}
		})
	}
	// dont_track_primary: a node whose link is down stays master alone.
	b := node{name: "b", priority: 100}
	a.extra = "    dont_track_primary\n"
	rep := analyze(t, a, b)
	if o := only(t, failure(t, rep, "a", "interface")); o.Effect != "isolated" || len(o.After) != 2 {
		t.Errorf("interface down with dont_track_primary: %+v, want a isolated and two masters", o)
	}
	if !warningAt(rep, "a", lineOf(t, a, "vrrp_instance"), "dont_track_primary") {
		t.Errorf("no dont_track_primary warning:\n%s", dump(rep))
	}
}

// A router only one node has is held by none when that node fails.
func TestWarnHeldByNone(t *testing.T) {
	a := node{name: "a", state: "MASTER", priority: 150}
	b := node{name: "b", noVI: true}
	rep := analyze(t, a, b)
	o := only(t, failure(t, rep, "a", "stop"))
	if len(o.After) != 0 || !o.Back {
		t.Fatalf("outcome %+v, want none after the stop and a back after", o)
	}
	if !warningAt(rep, "a", lineOf(t, a, "vrrp_instance"), "no node holds 192.0.2.7/24 after a stopped") {
		t.Errorf("no held-by-none warning:\n%s", dump(rep))
	}
	// A weighted track there has no one to lose to.
	a.weight = weight(-60)
	rep = analyze(t, a, b)
	if !warningAt(rep, "a", lineOf(t, a, "        chk"), "no other node can take VRID 7 over") {
		t.Errorf("no no-backup warning:\n%s", dump(rep))
	}
}

// track_interface with a weight lowers the priority; track_src_ip and a
// weight-0 process fault the instance. Each is one failure of its node.
func TestOtherTracks(t *testing.T) {
	top := "vrrp_track_process nginx {\n    process nginx\n    weight 0\n}\n"
	extra := "    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n    }\n    track_src_ip\n" +
		"    track_interface {\n        eth1 weight -60\n    }\n    track_process {\n        nginx\n    }\n"
	a := node{name: "a", state: "MASTER", priority: 150, top: top, extra: extra}
	b := node{name: "b", priority: 100, extra: "    unicast_src_ip 192.0.2.2\n    unicast_peer {\n        192.0.2.1\n    }\n"}
	rep := analyze(t, a, b)
	tests := []struct{ kind, what, effect string }{
		{"track_src_ip", "source address 192.0.2.1 removed (track_src_ip)", "FAULT"},
		{"track_process", "track_process nginx stops (weight 0)", "FAULT"},
		{"interface", "interface eth0 down", "FAULT"},
	}
	for _, tc := range tests {
		f := failure(t, rep, "a", tc.kind)
		if o := only(t, f); f.What != tc.what || o.Effect != tc.effect || !o.Moved || !o.Back {
			t.Errorf("%s: %q %+v, want %q: %s, moved and back", tc.kind, f.What, o, tc.what, tc.effect)
		}
	}
	var eth1 *Failure
	for i, f := range rep.Failures {
		if f.Node == "a" && f.Name == "eth1" {
			eth1 = &rep.Failures[i]
		}
	}
	if eth1 == nil || only(t, *eth1).Effect != "150→90" || !only(t, *eth1).Moved {
		t.Errorf("eth1 down: %+v, want 150→90 and a move", eth1)
	}
}

// syncPair is a second instance VI_2 (VRID 8, on eth1) and, with group,
// a vrrp_sync_group G of VI and VI_2; a's VI_2 tracks eth2 with weight 0.
func syncPair(n node, prio int, group bool, trackEth2 bool) node {
	extra := ""
	if trackEth2 {
		extra = "    track_interface {\n        eth2\n    }\n"
	}
	n.tail += fmt.Sprintf("vrrp_instance VI_2 {\n    state BACKUP\n    interface eth1\n    virtual_router_id 8\n    priority %d\n    advert_int 1\n%s    virtual_ipaddress {\n        198.51.100.8/24\n    }\n}\n", prio, extra)
	if group {
		n.tail += "vrrp_sync_group G {\n    group {\n        VI\n        VI_2\n    }\n}\n"
	}
	return n
}

func outcomeOf(t *testing.T, f Failure, router string) Outcome {
	t.Helper()
	for _, o := range f.Outcomes {
		if o.Router == router {
			return o
		}
	}
	t.Fatalf("%s on %s: no outcome for %s in %+v", f.What, f.Node, router, f.Outcomes)
	return Outcome{}
}

// A sync group moves its members together: a's VI_2 tracking eth2 faults,
// and its group partner VI (whose own tracks are all fine) moves with it;
// both come back on recovery. Without the group VI stays.
func TestSyncGroupMovesTogether(t *testing.T) {
	for _, group := range []bool{true, false} {
		a := syncPair(node{name: "a", priority: 150}, 150, group, true)
		b := syncPair(node{name: "b", priority: 100}, 100, group, false)
		rep := analyze(t, a, b)
		for _, r := range rep.Routers {
			if r.NotSimulated != "" || !slices.Equal(r.HeldBy, []string{"a"}) {
				t.Fatalf("group %v: router %s held by %v (%s), want a", group, r.Name, r.HeldBy, r.NotSimulated)
			}
		}
		var f Failure
		for _, x := range rep.Failures {
			if x.Node == "a" && x.Kind == "interface" && x.Name == "eth2" {
				f = x
			}
		}
		vi2 := outcomeOf(t, f, "VI_2")
		if !vi2.Moved || !slices.Equal(vi2.After, []string{"b"}) || !vi2.Back || vi2.Effect != "FAULT" {
			t.Errorf("group %v: VI_2 %+v, want moved to b and back, FAULT", group, vi2)
		}
		if !group {
			if slices.ContainsFunc(f.Outcomes, func(o Outcome) bool { return o.Router == "VI" }) {
				t.Errorf("no group: eth2 on a has an outcome for VI: %+v", f.Outcomes)
			}
			continue
		}
		vi := outcomeOf(t, f, "VI")
		if !vi.Moved || !slices.Equal(vi.After, []string{"b"}) || !vi.Back || vi.Effect != "FAULT" {
			t.Errorf("VI %+v, want moved to b with its group (FAULT) and back", vi)
		}
		// b's member of a group takes MASTER only when all of its group
		// would: the move takes the master-down interval (3 s + skew).
		if vi.Takes == "" || vi.Takes != vi2.Takes {
			t.Errorf("VI takes %q, VI_2 %q: the group moves at one time", vi.Takes, vi2.Takes)
		}
	}
}

// A router tied by a sync group to one the simulator cannot run is not
// simulated either, and says why.
func TestSyncGroupWithUnsimulatedMember(t *testing.T) {
	ah := "    authentication {\n        auth_type AH\n        auth_pass secret\n    }\n"
	a := syncPair(node{name: "a", priority: 150, extra: ah}, 150, true, false)
	b := syncPair(node{name: "b", priority: 100, extra: ah}, 100, true, false)
	rep := analyze(t, a, b)
	for _, r := range rep.Routers {
		if r.Name == "VI_2" && !strings.Contains(r.NotSimulated, "vrrp_sync_group ties it to VRID 7") {
			t.Errorf("VI_2 NotSimulated = %q, want tied to VRID 7", r.NotSimulated)
		}
	}
}

// use_vmac does not change the election: simulated, and said.
func TestElectionNeutralKeywordsSimulated(t *testing.T) {
	a := node{name: "a", state: "MASTER", priority: 150, extra: "    use_vmac\n"}
	b := node{name: "b", priority: 100}
	rep := analyze(t, a, b)
	r := rep.Routers[0]
	if !slices.Contains(r.NotElection, "use_vmac") || !slices.Equal(r.HeldBy, []string{"a"}) {
		t.Errorf("router %+v, want simulated with use_vmac named", r)
	}
	if !strings.Contains(dump(rep), "do not change the election: use_vmac") {
		t.Errorf("table does not name use_vmac:\n%s", dump(rep))
	}
}

// preempt_delay holds a restarted node off before it preempts.
func TestPreemptDelayAfterRestart(t *testing.T) {
	a := node{name: "a", priority: 150, extra: "    preempt_delay 10\n"}
	b := node{name: "b", priority: 100}
	rep := analyze(t, a, b)
	o := only(t, failure(t, rep, "a", "stop"))
	if !o.Back || o.Why != "preempt_delay 10s" {
		t.Fatalf("outcome %+v, want back after preempt_delay 10s", o)
	}
	if d, err := time.ParseDuration(o.BackTakes); err != nil || d < 10*time.Second {
		t.Errorf("back after %q, want at least the 10s preempt_delay", o.BackTakes)
	}
}

// Unicast peers that do not list each other never hear each other.
func TestUnicastPeers(t *testing.T) {
	uni := func(src, peer string) string {
		return fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n", src, peer)
	}
	a := node{name: "a", state: "MASTER", priority: 150, extra: uni("192.0.2.1", "192.0.2.2")}
	b := node{name: "b", priority: 100, extra: uni("192.0.2.2", "192.0.2.1")}
	rep := analyze(t, a, b)
	if got := rep.Routers[0].HeldBy; !slices.Equal(got, []string{"a"}) || len(rep.Warnings) != 0 {
		t.Fatalf("held by %v, warnings %v; want a, none", got, rep.Warnings)
	}
	if m := rep.Routers[0].Members[0]; m.Address != "192.0.2.1" || m.AddressAssumed {
		t.Errorf("member %+v, want address 192.0.2.1 from unicast_src_ip", m)
	}
	b.extra = uni("192.0.2.2", "192.0.2.9")
	rep = analyze(t, a, b)
	if got := rep.Routers[0].HeldBy; len(got) != 2 {
		t.Errorf("held by %v, want both (b does not list a)", got)
	}
}

// A weight-0 track_file faults on a non-zero value; with reverse, zero is
// the fault, so the healthy state is not FAULT.
func TestTrackFile(t *testing.T) {
	top := "vrrp_track_file f {\n    file /run/f\n    weight 0%s\n}\n"
	extra := "    track_file {\n        f\n    }\n"
	for _, rev := range []string{"", " reverse"} {
		a := node{name: "a", state: "MASTER", priority: 150, top: fmt.Sprintf(top, rev), extra: extra}
		b := node{name: "b", priority: 100}
		rep := analyze(t, a, b)
		if got := rep.Routers[0].HeldBy; !slices.Equal(got, []string{"a"}) {
			t.Fatalf("reverse=%q: held by %v, want a", rev, got)
		}
		if o := only(t, failure(t, rep, "a", "track_file")); o.Effect != "FAULT" || !o.Moved {
			t.Errorf("reverse=%q: %+v, want FAULT and a move", rev, o)
		}
	}
}

// The same files give the same report.
func TestDeterministic(t *testing.T) {
	a := node{name: "a", state: "MASTER", priority: 150, weight: weight(-30)}
	b := node{name: "b", priority: 100, weight: weight(-30), extra: "    nopreempt\n"}
	nodes := load(t, a, b)
	if diff := cmp.Diff(Analyze(nodes), Analyze(nodes)); diff != "" {
		t.Errorf("two runs differ:\n%s", diff)
	}
}

// Two address owners re-advertise to each other forever at one virtual
// instant: the simulation stops at its per-instant bound and says so.
func TestBoundedAdvertStorm(t *testing.T) {
	a := node{name: "a", state: "MASTER", priority: 255}
	b := node{name: "b", state: "MASTER", priority: 255}
	rep := analyze(t, a, b)
	if o := only(t, failure(t, rep, "a", "stop")); !o.Unsettled {
		t.Errorf("outcome %+v, want unsettled", o)
	}
	if !strings.Contains(dump(rep), "did not settle") {
		t.Errorf("table does not say it:\n%s", dump(rep))
	}
}

// The longest preempt_delay keepalived takes (1000 s) settles within the
// horizon and the event bound.
func TestLongPreemptDelaySettles(t *testing.T) {
	a := node{name: "a", priority: 150, extra: "    preempt_delay 1000\n"}
	b := node{name: "b", priority: 100}
	o := only(t, failure(t, analyze(t, a, b), "a", "stop"))
	if o.Unsettled || !o.Back || o.Why != "preempt_delay 16m40s" {
		t.Errorf("outcome %+v, want back after preempt_delay 1000s, settled", o)
	}
}

// auth_hmac nodes that cannot verify each other's adverts are both master:
// the what-if says so and names the key; a migration step that still hears
// (receive-only beside permissive) elects one master.
func TestAuthHMACHearing(t *testing.T) {
	block := func(mode, secret string) string {
		active := "        active_key 1\n"
		if mode == "receive-only" {
			active = ""
		}
		return "    version 3\n    auth_hmac {\n        key 1 hex:" + secret + "\n" + active + "        mode " + mode + "\n    }\n"
	}
	k1 := strings.Repeat("00", 32)
	k2 := strings.Repeat("11", 32)
	a := node{name: "a", priority: 150, extra: block("enforce", k1)}
	b := node{name: "b", priority: 100, extra: block("enforce", k2)}
	rep := analyze(t, a, b)
	if r := rep.Routers[0]; len(r.HeldBy) != 2 {
		t.Errorf("different keys: held by %v, want both", r.HeldBy)
	}
	if !slices.ContainsFunc(rep.Warnings, func(w Warning) bool {
		return strings.Contains(w.Msg, "master at once") && strings.Contains(w.Msg, "key 1")
	}) {
		t.Errorf("no warning naming the key: %+v", rep.Warnings)
	}

	a.extra, b.extra = block("receive-only", k1), block("permissive", k1)
	rep = analyze(t, a, b)
	if r := rep.Routers[0]; !slices.Equal(r.HeldBy, []string{"a"}) {
		t.Errorf("receive-only beside permissive: held by %v, want a", r.HeldBy)
	}
}
