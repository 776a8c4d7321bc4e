package interop

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

// notifyKinds are the scripts configured on every node of TestNotifyArgs,
// each "<dir>/<node>-notify.sh KIND": the first logged argument tells
// which keyword ran it.
var notifyKinds = []struct{ keyword, kind string }{
	{"notify_master", "master"},
	{"notify_backup", "backup"},
	{"notify_fault", "fault"},
	{"notify_stop", "stop"},
	{"notify", "generic"},
}

// notifySpec writes the node's notify.sh (one line per run, each argument
// in brackets so argv boundaries survive) and returns the instance lines.
func (n *node) notifySpec(t testing.TB) []string {
	t.Helper()
	script := n.file("notify.sh")
	writeFile(t, script, fmt.Sprintf("#!/bin/sh\nline=$(printf '[%%s]' \"$@\")\nprintf '%%s\\n' \"$line\" >> %s\n",
		n.file("notify.log")), 0o755)
	var lines []string
	for _, k := range notifyKinds {
		lines = append(lines, fmt.Sprintf("%s \"%s %s\"", k.keyword, script, k.kind))
	}
	return lines
}

// notifyLog reads the node's argv log, one entry per script run.
func (n *node) notifyLog() []string {
	b, err := os.ReadFile(n.file("notify.log"))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// notifyEntries is a node's argv log split by kind. Within one transition
// keepalived forks the notify_* script and then the generic one without
// waiting for either, so their two lines land in either order (seen in
// keepalived↔keepalived runs); across transitions the order holds. So the
// sequence of each kind is compared on its own.
type notifyEntries struct {
	Specific []string // notify_master/backup/fault/stop runs: "[master]"
	Generic  []string // notify runs: "[generic][INSTANCE][VI_IOP][MASTER][150]"
}

func splitNotify(lines []string) notifyEntries {
	var e notifyEntries
	for _, l := range lines {
		if strings.HasPrefix(l, "[generic]") {
			e.Generic = append(e.Generic, l)
		} else if l != "" {
			e.Specific = append(e.Specific, l)
		}
	}
	return e
}

// notifyGolden is what keepalived 2.2.7 runs for an instance (always
// VI_IOP) of priority prio going through states: the state's notify_*
// script with only its configured argument, and the generic script with
// INSTANCE, the instance name, the state and the priority appended. In
// FAULT and STOP the priority is still the configured one, not 0.
func notifyGolden(prio int, states ...string) notifyEntries {
	e := notifyEntries{Specific: []string{}, Generic: []string{}}
	for _, st := range states {
		e.Specific = append(e.Specific, "["+strings.ToLower(st)+"]")
		e.Generic = append(e.Generic, fmt.Sprintf("[generic][INSTANCE][VI_IOP][%s][%d]", st, prio))
	}
	return e
}

// waitNotify waits until the node's argv log is exactly want. Notify
// scripts are started at the transition the caller already waited for,
// so slack bounds the wait (plus start-up when the transition is the
// daemon's first).
func (n *node) waitNotify(t testing.TB, step string, timeout time.Duration, want notifyEntries, all ...*node) {
	t.Helper()
	var diff string
	err := netlab.WaitFor(context.Background(), timeout, 20*time.Millisecond, func() (bool, error) {
		got := splitNotify(n.notifyLog())
		if got.Specific == nil {
			got.Specific = []string{}
		}
		if got.Generic == nil {
			got.Generic = []string{}
		}
		diff = cmp.Diff(want, got)
		return diff == "", nil
	})
	if err != nil {
		fail(t, fmt.Sprintf("%s: notify argv of %s (%s) (-keepalived 2.2.7 +got):\n%s", step, n.name, n.impl, diff), all...)
	}
}

// runNotify drives the transitions of TestNotifyArgs. Each step waits for
// the VIP placement that proves the transition, then for the argv logs.
func runNotify(t *testing.T, p pairing) {
	tl := newTrackLab(t, p, false)
	a, b := tl.a, tl.b
	fault := a.file("fault")
	writeFile(t, fault, "0\n", 0o644)
	aSpec := trackSpec{
		defs:     []string{trackFileBlock("tf_fault", fault, 0)},
		instance: append([]string{"track_file {\n    tf_fault\n}"}, a.notifySpec(t)...),
	}
	bSpec := trackSpec{instance: b.notifySpec(t)}
	var aStates, bStates []string
	checkWithin := func(step string, timeout time.Duration) {
		t.Helper()
		a.waitNotify(t, step, timeout, notifyGolden(prioHigh, aStates...), a, b)
		b.waitNotify(t, step, timeout, notifyGolden(prioLow, bStates...), a, b)
	}
	check := func(step string) { t.Helper(); checkWithin(step, slack) }

	// a alone: BACKUP at start-up, MASTER after its master-down interval.
	start := time.Now()
	a.startTracked(t, a.trackConf(b, prioHigh, aSpec), prioHigh)
	waitVIP(t, a, true, start, startupMargin+trackSc.masterDown(prioHigh), "a alone", a, b)
	aStates = append(aStates, "BACKUP", "MASTER")
	check("a started alone")

	// b joins as BACKUP and stays there (a is higher).
	b.startTracked(t, b.trackConf(a, prioLow, bSpec), prioLow)
	bStates = append(bStates, "BACKUP")
	checkWithin("b started", startupMargin+slack)
	if _, err := holdOwner(3*trackSc.advert, sampleEvery(trackSc.advert), vip4, "a", a, b); err != nil {
		fail(t, "after b started: "+err.Error(), a, b)
	}

	// a FAULT (track_file weight 0 reads non-zero): b MASTER.
	writeFile(t, fault, "1\n", 0o644)
	start = time.Now()
	waitOnly(t, "b", start, faultBound+trackSc.masterDown(prioLow)+slack, "a FAULT", a, b)
	aStates, bStates = append(aStates, "FAULT"), append(bStates, "MASTER")
	check("a FAULT")

	// a recovers: BACKUP, then MASTER by preemption; b BACKUP.
	writeFile(t, fault, "0\n", 0o644)
	start = time.Now()
	waitOnly(t, "a", start, trackSc.masterDown(prioHigh)+slack, "a recovered", a, b)
	aStates, bStates = append(aStates, "BACKUP", "MASTER"), append(bStates, "BACKUP")
	check("a recovered")

	// a stops (STOP), b MASTER; then b stops.
	if err := a.signal(syscall.SIGTERM); err != nil {
		fail(t, err.Error(), a, b)
	}
	if err := a.waitExit(exitTimeout); err != nil {
		fail(t, err.Error(), a, b)
	}
	start = time.Now()
	waitVIP(t, b, true, start, trackSc.masterDown(prioLow)+slack, "a stopped", a, b)
	aStates, bStates = append(aStates, "STOP"), append(bStates, "MASTER")
	check("a stopped")
	if err := b.signal(syscall.SIGTERM); err != nil {
		fail(t, err.Error(), a, b)
	}
	if err := b.waitExit(exitTimeout); err != nil {
		fail(t, err.Error(), a, b)
	}
	bStates = append(bStates, "STOP")
	check("b stopped")
	t.Logf("notify argv of a (%s):\n%s\nof b (%s):\n%s", a.impl, strings.Join(a.notifyLog(), "\n"), b.impl,
		strings.Join(b.notifyLog(), "\n"))
}
