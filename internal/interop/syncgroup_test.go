package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// vrrp_sync_group against keepalived 2.2.7: hosts a and b on two segments
// (lan: eth0, VI_1 VRID 51 192.0.2.100; wan: eth1, VI_2 VRID 52
// 198.51.100.100), both instances in sync group G on both nodes, a at
// priority 150, b at 100. Cutting a's lan cable faults VI_1, which must
// take VI_2 with it: both VIPs end on b. The group's notify script records
// "GROUP G STATE 0" lines, compared between the implementations.

var (
	sgWanV4 = netip.MustParsePrefix("198.51.100.0/24")
	sgA2    = netip.MustParsePrefix("198.51.100.11/24")
	sgB2    = netip.MustParsePrefix("198.51.100.12/24")
	sgVIP1  = netip.MustParseAddr("192.0.2.100")
	sgVIP2  = netip.MustParseAddr("198.51.100.100")
)

const (
	sgWanIf  = "eth1"
	sgAdvert = 100 * time.Millisecond
)

// syncGroupConf is the same file for both implementations but priority.
func syncGroupConf(router string, prio int, notify string) string {
	return syncGroupConf2(router, prio, prio, notify, true)
}

// syncGroupConf2 gives VI_1 and VI_2 their own priorities, with or without
// the group.
func syncGroupConf2(router string, prio1, prio2 int, notify string, group bool) string {
	inst := func(name, ifn string, id int, vip netip.Addr, prio int) string {
		return fmt.Sprintf(`vrrp_instance %s {
    state BACKUP
    interface %s
    virtual_router_id %d
    version 3
    priority %d
    advert_int %s
    virtual_ipaddress {
        %s/24
    }
}
`, name, ifn, id, prio, "0.1", vip)
	}
	conf := fmt.Sprintf("global_defs {\n    router_id %s\n}\n\n", router) +
		inst("VI_1", ifname, 51, sgVIP1, prio1) + inst("VI_2", sgWanIf, 52, sgVIP2, prio2)
	if group {
		conf += fmt.Sprintf("vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n    notify %q\n}\n", notify)
	}
	return conf
}

// sgOwners is who holds VIP1 and VIP2: "a/a", "b/b", "/b", ...
func sgOwners(nodes ...*node) (string, error) {
	var parts [2][]string
	for _, n := range nodes {
		for i, v := range []struct {
			ifn string
			ip  netip.Addr
		}{{ifname, sgVIP1}, {sgWanIf, sgVIP2}} {
			has, err := n.host.HasAddr(v.ifn, v.ip)
			if err != nil {
				return "", err
			}
			if has {
				parts[i] = append(parts[i], n.name)
			}
		}
	}
	return strings.Join(parts[0], ",") + "/" + strings.Join(parts[1], ","), nil
}

func sgWaitOwners(timeout time.Duration, want string, nodes ...*node) error {
	return netlab.WaitFor(context.Background(), timeout, 5*time.Millisecond, func() (bool, error) {
		got, err := sgOwners(nodes...)
		if err != nil {
			return false, err
		}
		if got != want {
			return false, fmt.Errorf("VIPs held by %q, want %q", got, want)
		}
		return true, nil
	})
}

// stopNode SIGTERMs one node and waits for its exit.
func stopNode(t *testing.T, n *node, all ...*node) {
	t.Helper()
	if err := n.signal(syscall.SIGTERM); err != nil {
		fail(t, err.Error(), append(all, n)...)
	}
	if err := n.waitExit(exitTimeout); err != nil {
		fail(t, err.Error(), append(all, n)...)
	}
}

// sgStartPlain starts a node whose file has no sync group.
func sgStartPlain(t *testing.T, n *node, conf string, prio int) {
	t.Helper()
	if n.impl != govrrp {
		n.start(conf, prio)
		return
	}
	p, err := n.host.StartGovrrp(govrrpBin(t), conf)
	if err != nil {
		t.Fatalf("interop: start govrrp on %s: %v", n.name, err)
	}
	n.proc, n.prio, n.procs = p, prio, append(n.procs, p)
}

// holdOwnersFor samples that want holds the whole window (b has started
// and hears a: it must not take anything).
func holdOwnersFor(window time.Duration, want string, nodes ...*node) (int, error) {
	start := time.Now()
	n := 0
	for ; n < int(window/(5*time.Millisecond))+2; n++ {
		got, err := sgOwners(nodes...)
		if err != nil {
			return n, err
		}
		if got != want {
			return n, fmt.Errorf("after %v VIPs held by %q, want %q", time.Since(start).Round(time.Millisecond), got, want)
		}
		if time.Since(start) >= window {
			break
		}
		time.Sleep(5 * time.Millisecond) // sampling period, not a synchronisation
	}
	return n, nil
}

// groupLines reads the lines the node's group notify script wrote.
func groupLines(t testing.TB, n *node) []string {
	t.Helper()
	b, err := os.ReadFile(n.file("group.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("interop: %v", err)
	}
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", "_"))
}

// sgStart is node.start for the two-instance lab: a govrrp is ready when
// its status shows both instances in sync group G.
func sgStart(t *testing.T, n *node, conf string, prio int) {
	t.Helper()
	if n.impl != govrrp {
		n.start(conf, prio)
		return
	}
	p, err := n.host.StartGovrrp(govrrpBin(t), conf)
	if err != nil {
		t.Fatalf("interop: start govrrp on %s: %v", n.name, err)
	}
	n.proc, n.prio, n.procs = p, prio, append(n.procs, p)
	err = netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, netlab.Permanent(fmt.Errorf("govrrp on %s exited during start-up", n.name))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := n.host.Exec(ctx, govrrpBin(t), "status", "--socket", n.host.GovrrpSocket(), "--json")
		if err != nil {
			return false, fmt.Errorf("status: %w: %s", err, out)
		}
		var doc struct {
			Instances []struct {
				Name      string `json:"name"`
				SyncGroup string `json:"sync_group"`
			} `json:"instances"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			return false, err
		}
		ok := len(doc.Instances) == 2
		for _, in := range doc.Instances {
			ok = ok && in.SyncGroup == "G"
		}
		if !ok {
			return false, fmt.Errorf("status shows %+v, want VI_1 and VI_2 in sync group G", doc.Instances)
		}
		return true, nil
	})
	if err != nil {
		fail(t, fmt.Sprintf("interop: govrrp on %s not ready: %v", n.name, err), n)
	}
}

// predictSyncCut is `config check --what-if` on the lab's two files: a's
// lan interface down must move both members to b (VI_2 with its group) and
// back on recovery, as the wire then shows. It returns the predicted time.
func predictSyncCut(t *testing.T, a *node, confA string, b *node, confB string) string {
	t.Helper()
	rep := predict(t, a, confA, b, confB)
	var takes []string
	for _, f := range rep.Failures {
		if f.Node != "iop_a" || f.Kind != "interface" || f.Name != ifname {
			continue
		}
		for _, o := range f.Outcomes {
			if labName(o.After) != "b" || labName(o.Recovered) != "a" || o.NotSimulated != "" {
				t.Errorf("interop: what-if for a's %s down, %s: after %v, recovered %v (%s); want b, then a", ifname, o.Router, o.After, o.Recovered, o.NotSimulated)
			}
			takes = append(takes, o.Router+" "+o.Takes)
		}
		if len(f.Outcomes) != 2 {
			t.Errorf("interop: what-if for a's %s down has %d outcomes, want both members: %+v", ifname, len(f.Outcomes), f.Outcomes)
		}
	}
	if len(takes) == 0 {
		t.Fatalf("interop: no what-if prediction for a's %s down in %+v", ifname, rep.Failures)
	}
	return strings.Join(takes, ", ")
}

func TestSyncGroupInterop(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel() // a lab of its own; scripts log into its directory
			runSyncGroup(t, p)
		})
	}
}

func runSyncGroup(t *testing.T, p pairing) {
	tl := newTrackLab(t, p, false)
	wan := tl.lab.AddSegment("wan", sgWanV4, netip.Prefix{})
	a, b := tl.a, tl.b
	for _, c := range []struct {
		n    *node
		addr netip.Prefix
	}{{a, sgA2}, {b, sgB2}} {
		if err := c.n.host.Connect(wan, sgWanIf, c.addr, netip.Prefix{}); err != nil {
			t.Fatalf("interop: connect %s to wan: %v", c.n.name, err)
		}
	}
	script := func(n *node) string {
		path := n.file("group.sh")
		writeFile(t, path, fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %s\n", n.file("group.log")), 0o755)
		return path
	}
	// a first, alone: it is master before b starts, so both nodes' group
	// notify lines do not depend on which daemon starts faster.
	down := 3*sgAdvert + time.Duration(256-100)*sgAdvert/256
	confA, confB := syncGroupConf("iop_a", 150, script(a)), syncGroupConf("iop_b", 100, script(b))
	cutPrediction := predictSyncCut(t, a, confA, b, confB)
	sgStart(t, a, confA, 150)
	if err := sgWaitOwners(startupMargin+2*down, "a/a", a, b); err != nil {
		fail(t, "interop: a alone: "+err.Error(), a, b)
	}
	sgStart(t, b, confB, 100)
	if _, err := holdOwnersFor(4*down, "a/a", a, b); err != nil {
		fail(t, "interop: before the cut: "+err.Error(), a, b)
	}

	cut := time.Now()
	if err := a.host.SetCarrier(tl.lan, ifname, false); err != nil {
		t.Fatal(err)
	}
	// a: carrier loss -> VI_1 FAULT -> VI_2 FAULT (priority 0 on wan).
	// b: VI_2 after Skew_Time, VI_1 after Master_Down_Interval, then the
	// group goes MASTER. Bound: linkwatch delay + Master_Down_Interval.
	if err := sgWaitOwners(linkwatchMax+down+slack, "b/b", a, b); err != nil {
		fail(t, "interop: after cutting a's lan: "+err.Error(), a, b)
	}
	took := time.Since(cut)
	// b's VI_1 last heard a at most one advert interval before the cut, so
	// its Master_Down_Interval cannot end sooner: a group pulled to MASTER
	// by VI_2 alone (after VI_2's priority-0 Skew_Time) would be faster.
	if early := down - sgAdvert - 5*time.Millisecond; took < early {
		t.Errorf("both VIPs on b %v after the cut, before b's VI_1 Master_Down_Interval could end (%v): the group went MASTER before every member wanted it", took, early)
	}
	t.Logf("MEASURE syncgroup %s: cable cut on a's VI_1 link -> both VIPs on b in %v (Master_Down_Interval %v; what-if: %s)", p, took.Round(time.Millisecond), down, cutPrediction)

	if err := a.host.SetCarrier(tl.lan, ifname, true); err != nil {
		t.Fatal(err)
	}
	// a comes back in BACKUP and preempts both after Master_Down_Interval.
	if err := sgWaitOwners(linkwatchMax+2*down+slack, "a/a", a, b); err != nil {
		fail(t, "interop: after restoring a's lan: "+err.Error(), a, b)
	}
	back := time.Since(cut) - took
	t.Logf("MEASURE syncgroup %s: cable restored -> both VIPs back on a in %v", p, back.Round(time.Millisecond))

	// b again, its VI_1 now at 200 (> a's 150), VI_2 still at 100, in the
	// group: VI_1 would preempt, VI_2 hears a better master, so b's group
	// stays BACKUP (it goes MASTER only when every member would).
	stopNode(t, b, a)
	sgStart(t, b, syncGroupConf2("iop_b", 200, 100, script(b), true), 200)
	if _, err := holdOwnersFor(5*down, "a/a", a, b); err != nil {
		fail(t, "interop: b's group with one higher member: "+err.Error(), a, b)
	}

	// b without the group, VI_1 at 200: it preempts VI_1; a's VI_1 yields
	// and takes a's VI_2 to BACKUP. keepalived 2.2.7 sends no priority 0
	// for the member it takes along (seen on the wire), so b's VI_2 follows
	// after its Master_Down_Interval; govrrp must do the same.
	stopNode(t, b, a)
	capture, err := b.host.Capture(sgWanIf, "ip proto 112")
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	sgStartPlain(t, b, syncGroupConf2("iop_b", 200, 100, "", false), 200)
	if err := sgWaitOwners(startupMargin+2*down, "b/b", a, b); err != nil {
		fail(t, "interop: a demoted on VI_1 only: "+err.Error(), a, b)
	}
	t.Logf("MEASURE syncgroup %s: b (VI_1 prio 200, no group) started -> both VIPs on b in %v", p, time.Since(started).Round(time.Millisecond))
	path, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	text, err := netlab.ReadPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, sgA2.Addr().String()+" > 224.0.0.18: VRRPv3, Advertisement, vrid 52, prio 150,") ||
		!strings.Contains(text, sgB2.Addr().String()+" > 224.0.0.18: VRRPv3, Advertisement, vrid 52, prio 100,") {
		t.Errorf("wan capture does not show a's VI_2 then b's; capture:\n%s", tailLines(text, 20))
	}
	if strings.Contains(text, sgA2.Addr().String()+" > 224.0.0.18: VRRPv3, Advertisement, vrid 52, prio 0,") {
		t.Errorf("a (%s) sent priority 0 for VI_2 when its group followed VI_1 to BACKUP; keepalived 2.2.7 does not; capture:\n%s", p.a, tailLines(text, 20))
	}
	stopBoth(t, scenario{advert: sgAdvert}, a, b)

	// keepalived runs group scripts asynchronously; give the last one a
	// moment by polling for the STOP line rather than sleeping.
	for _, n := range []*node{a, b} {
		_ = netlab.WaitFor(context.Background(), 2*time.Second, 20*time.Millisecond, func() (bool, error) {
			l := groupLines(t, n)
			return len(l) > 0 && strings.Contains(l[len(l)-1], "STOP"), nil
		})
	}
	t.Logf("group notify lines a (%s): %v", p.a, groupLines(t, a))
	t.Logf("group notify lines b (%s): %v", p.b, groupLines(t, b))
	want := map[*node][]string{
		a: {"GROUP_G_BACKUP_0", "GROUP_G_MASTER_0", "GROUP_G_FAULT_0", "GROUP_G_BACKUP_0", "GROUP_G_MASTER_0", "GROUP_G_BACKUP_0", "GROUP_G_STOP_0"},
		b: {"GROUP_G_BACKUP_0", "GROUP_G_MASTER_0", "GROUP_G_BACKUP_0", "GROUP_G_STOP_0", "GROUP_G_BACKUP_0", "GROUP_G_STOP_0"},
	}
	for n, w := range want {
		got := groupLines(t, n)
		if n.impl == keepalived {
			// keepalived forks each script and never waits, so their
			// appends race: compare the lines, not their order. govrrp
			// runs a group's scripts in order.
			got, w = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(w))
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s (%s) group notify lines = %v, want %v", n.name, n.impl, got, w)
		}
	}
	if got, err := sgOwners(a, b); err != nil || got != "/" {
		t.Errorf("after stop VIPs held by %q (err %v), want nobody", got, err)
	}
}
