//go:build linux

package notify

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// What each call writes to a FIFO. The reader opens the FIFO only after
// the events: lines wait in the pipe, as with keepalived's read-write open.
func TestFifoLines(t *testing.T) {
	l := newLab(t)
	path := l.path("vrrp.fifo")
	n := l.start(Config{
		Instances: []Instance{
			{Name: "VI_1", PriorityChanges: true},
			{Name: "VI_2", NotifyDeleted: true},
			{Name: "VI_3"},
		},
		Fifos: []Fifo{{Path: path}},
	})
	n.Transition("VI_1", StateMaster, 150)
	n.PriorityChanged("VI_1", StateMaster, 130)
	n.PriorityChanged("VI_1", StateFault, 120) // keepalived: BACKUP_PRIORITY
	n.PriorityChanged("VI_3", StateMaster, 5)  // no notify_priority_changes
	n.MasterRxLowerPri("VI_1", 150)
	n.Transition("VI_1", StateDeleted, 150) // no notify_deleted: FAULT
	n.Transition("VI_2", StateDeleted, 100)
	n.Transition("VX", StateBackup, 1) // unknown to New: FIFO only
	n.Transition("VI_1", "BOGUS", 1)   // refused
	n.GroupTransition("VG_1", StateStop)
	n.GroupTransition("VG_1", StateDeleted) // not a group state
	n.Transition("VI_1", StateStop, 150)
	got := readFifo(t, path)
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`INSTANCE "VI_1" MASTER 150`,
		`INSTANCE "VI_1" MASTER_PRIORITY 130`,
		`INSTANCE "VI_1" BACKUP_PRIORITY 120`,
		`INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150`,
		`INSTANCE "VI_1" FAULT 150`,
		`INSTANCE "VI_2" DELETED 100`,
		`INSTANCE "VX" BACKUP 1`,
		`GROUP "VG_1" STOP 0`,
		`INSTANCE "VI_1" STOP 150`,
	}
	if d := cmp.Diff(want, receive(t, got)); d != "" {
		t.Errorf("FIFO lines (-want +got):\n%s", d)
	}
	if log := l.log.String(); strings.Count(log, "unknown") != 2 {
		t.Errorf("the two bad states were not both logged:\n%s", log)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FIFO New created is still there after Close: %v", err)
	}
}

// Deleted and rx-lower-priority run the scripts keepalived runs for them.
func TestDeletedAndRxLowerPriScripts(t *testing.T) {
	l := newLab(t)
	n := l.start(Config{Instances: []Instance{
		{Name: "VI_1", Fault: l.script("VI_1-notify_fault", "log.sh"), Deleted: l.script("VI_1-notify_deleted", "log.sh"),
			Generic: l.script("VI_1-notify", "log.sh"), MasterRxLowerPri: l.script("VI_1-rx", "log.sh", "x")},
		{Name: "VI_2", Fault: l.script("VI_2-notify_fault", "log.sh"), NotifyDeleted: true,
			Generic: l.script("VI_2-notify", "log.sh")},
	}})
	n.Transition("VI_1", StateDeleted, 50) // no notify_deleted: FAULT to notify only
	n.MasterRxLowerPri("VI_1", 50)
	n.Transition("VI_2", StateDeleted, 60) // notify_deleted without a script
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	got := byOwner(withoutUID(l.runs()))
	want := map[string][]string{
		"VI_1": {"/TMP/bin/VI_1-notify INSTANCE VI_1 FAULT 50", "/TMP/bin/VI_1-rx x"},
		"VI_2": {"/TMP/bin/VI_2-notify INSTANCE VI_2 DELETED 60"},
	}
	gotS := map[string][]string{}
	for k, rs := range got {
		for _, r := range rs {
			gotS[k] = append(gotS[k], strings.Join(r.argv, " "))
		}
	}
	if d := cmp.Diff(want, gotS); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
}

// A FIFO script that exits is logged and not restarted (keepalived does
// not restart it); lines keep being written.
func TestFifoScriptNotRestarted(t *testing.T) {
	l := newLab(t)
	n := l.start(Config{
		Instances: []Instance{{Name: "VI_1"}},
		Fifos:     []Fifo{{Path: l.path("f"), Script: &Script{Argv: []string{"/bin/true"}, AsSelf: true}}},
	})
	waitLog(t, l, "it is not restarted")
	n.Transition("VI_1", StateMaster, 1)
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if c := strings.Count(l.log.String(), "it is not restarted"); c != 1 {
		t.Errorf("FIFO script exit logged %d times, want once", c)
	}
}

// A FIFO script that ignores SIGTERM is killed a second later, with its
// process group.
func TestFifoScriptKilledAfterGrace(t *testing.T) {
	l := newLab(t)
	pidFile := l.path("reader.pid")
	sh := &Script{AsSelf: true, Argv: []string{"/bin/sh", "-c", "trap '' TERM; echo $$ >" + pidFile + "; exec sleep 60", "sh"}}
	n := l.start(Config{Fifos: []Fifo{{Path: l.path("f"), Script: sh}}})
	l.waitLines("reader.pid", "^[0-9]+$", 1)
	pid := readPid(t, pidFile)
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("FIFO script %d after Close: kill(0) = %v, want ESRCH", pid, err)
	}
	if !strings.Contains(l.log.String(), "still running after SIGTERM") {
		t.Errorf("SIGKILL not logged:\n%s", l.log.String())
	}
}

// With nobody reading, a full pipe blocks only the FIFO's goroutine; Close
// with an ended context gives up on the lines and says so.
func TestFifoFullAbortedByClose(t *testing.T) {
	l := newLab(t)
	n := l.start(Config{Fifos: []Fifo{{Path: l.path("f")}}})
	// ~30 bytes a line: 5000 lines are more than a 64 KiB pipe holds.
	for range 5000 {
		n.Transition("VI_1", StateBackup, 100)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := n.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want a deadline error", err)
	}
	if !strings.Contains(l.log.String(), "FIFO lines not written") {
		t.Errorf("dropped lines not logged:\n%s", l.log.String())
	}
}

// waitLog polls the lab's log for s (bounded).
func waitLog(t *testing.T, l *lab, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(l.log.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q after 20s:\n%s", s, l.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
