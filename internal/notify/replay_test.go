//go:build linux

package notify

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// The replay tests configure govrrp as testdata/capture.sh configured
// keepalived 2.2.7, feed it the events keepalived reported (read back from
// the recorded vrrp.fifo) and compare what govrrp ran and wrote with what
// keepalived ran and wrote. Run as root, the scripts also run as the users
// keepalived used (script_user root; VI_2's notify_master as nobody).

// fifoLine is one parsed FIFO line: INSTANCE "VI_1" MASTER 150.
type fifoLine struct {
	kind, name, what string
	prio             int
}

func parseFifoLine(t *testing.T, s string) fifoLine {
	t.Helper()
	f := strings.Fields(s)
	if len(f) != 4 || (f[0] != "INSTANCE" && f[0] != "GROUP") {
		t.Fatalf("recorded FIFO line %q: not TYPE \"NAME\" STATE PRIO", s)
	}
	p, err := strconv.Atoi(f[3])
	if err != nil {
		t.Fatalf("recorded FIFO line %q: %v", s, err)
	}
	return fifoLine{f[0], strings.Trim(f[1], `"`), f[2], p}
}

// replay reports lines to n as the daemon would have. deleted names the
// instances whose last line was caused by their removal at a reload.
func replay(t *testing.T, n *Notifier, lines []string, deleted map[string]bool) {
	t.Helper()
	last := map[string]int{}
	for i, l := range lines {
		last[parseFifoLine(t, l).name] = i
	}
	state := map[string]string{}
	for i, l := range lines {
		e := parseFifoLine(t, l)
		switch {
		case e.kind == "GROUP":
			n.GroupTransition(e.name, e.what)
		case e.what == "MASTER_RX_LOWER_PRI":
			n.MasterRxLowerPri(e.name, e.prio)
		case strings.HasSuffix(e.what, "_PRIORITY"):
			// The daemon knows the state, not the line: this checks that
			// FAULT (as keepalived) becomes BACKUP_PRIORITY.
			n.PriorityChanged(e.name, state[e.name], e.prio)
		case deleted[e.name] && i == last[e.name]:
			n.Transition(e.name, StateDeleted, e.prio)
		default:
			n.Transition(e.name, e.what, e.prio)
			state[e.name] = e.what
		}
	}
}

// recordedFiles is the "fifo files" section: "notify.fifo: fifo mode=600
// owner=root:root inode=1" by phase ("after start-up", ...) and file.
func recordedFiles(rec recording) map[string]map[string]string {
	out := map[string]map[string]string{}
	phase := "before"
	for _, l := range rec["fifo files"] {
		if p, ok := strings.CutPrefix(l, "--- "); ok {
			phase = p
			continue
		}
		name, desc, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		if out[phase] == nil {
			out[phase] = map[string]string{}
		}
		// The inode differs per run.
		if i := strings.Index(desc, " inode="); i >= 0 {
			desc = desc[:i]
		}
		out[phase][name] = desc
	}
	return out
}

// sameFile compares describe's result with the recording's; owners only
// as root (the recording ran as root).
func sameFile(got, want string) bool {
	if !isRoot() {
		got, _, _ = strings.Cut(got, " owner=")
		want, _, _ = strings.Cut(want, " owner=")
	}
	return got == want
}

// describe is path as recordedFiles has it: "fifo mode=600 owner=root:root" or "absent".
func describe(t *testing.T, path string) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return "absent"
	}
	kind := "not a fifo"
	if st.Mode&syscall.S_IFMT == syscall.S_IFIFO {
		kind = "fifo"
	}
	return kind + " mode=" + strconv.FormatUint(uint64(st.Mode&0o777), 8) + " owner=" + userName(st.Uid) + ":" + groupName(st.Gid)
}

// userName and groupName cover the ids the recording uses.
func userName(id uint32) string {
	switch id {
	case 0:
		return "root"
	case 65534:
		return "nobody"
	}
	return strconv.Itoa(int(id))
}

func groupName(id uint32) string {
	switch id {
	case 0:
		return "root"
	case 65534:
		return "nogroup"
	}
	return strconv.Itoa(int(id))
}

// recordedReaders are the argv of the FIFO scripts keepalived started
// first, by FIFO file name.
func recordedReaders(rec recording) map[string][]string {
	out := map[string][]string{}
	for _, l := range rec["fifo readers"] {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "START" || out[f[1]] != nil {
			continue
		}
		out[f[1]] = parseArgv(l[strings.Index(l, " argv=")+len(" argv="):])
	}
	return out
}

func (l *lab) readers() map[string][]string {
	out := map[string][]string{}
	for _, line := range l.lines("readers.log") {
		argv := parseArgv(strings.ReplaceAll(line, l.dir, "/TMP"))
		out[argv[len(argv)-1][len("/TMP/"):]] = argv
	}
	return out
}

func TestReplayKeepalived(t *testing.T) {
	rec := loadRecording(t)
	l := newLab(t)
	root := isRoot()
	// s is a logging script run as root, as keepalived's script_user root;
	// as the test's user when not root.
	s := func(name string, args ...string) *Script {
		sc := l.script(name, "log.sh", args...)
		sc.AsSelf = !root
		return sc
	}
	nobody := func(sc *Script) *Script {
		sc.Uid, sc.Gid = 65534, 65534
		return sc
	}
	reader := func(args ...string) *Script {
		sc := l.script("fiforeader", "fiforeader", args...)
		sc.AsSelf = !root
		return sc
	}
	// vrrp.fifo exists beforehand (mode 0640), notify.fifo does not.
	if err := unix.Mkfifo(l.path("vrrp.fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(l.path("vrrp.fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Instances: []Instance{
			{
				Name:   "VI_1",
				Master: s("VI_1-notify_master"), Backup: s("VI_1-notify_backup"), Fault: s("VI_1-notify_fault"),
				Stop: s("VI_1-notify_stop"), Deleted: s("VI_1-notify_deleted"),
				Generic:          s("VI_1-notify", "quoted arg"),
				MasterRxLowerPri: s("VI_1-notify_master_rx_lower_pri"),
				NotifyDeleted:    true, PriorityChanges: true,
			},
			{Name: "VI_2", Master: nobody(s("VI_2-notify_master")), Generic: s("VI_2-notify")},
			{Name: "VI_3", Generic: s("VI_3-notify")},
			{
				Name:   "VI_4",
				Backup: s("VI_4-notify_backup"), Fault: s("VI_4-notify_fault"), Deleted: s("VI_4-notify_deleted"),
				NotifyDeleted: true, Generic: s("VI_4-notify"),
			},
			{Name: "VI_5", Fault: s("VI_5-notify_fault"), Generic: s("VI_5-notify")},
		},
		Groups: []Group{{
			Name:   "VG_1",
			Master: s("VG_1-notify_master"), Backup: s("VG_1-notify_backup"), Fault: s("VG_1-notify_fault"),
			Stop: s("VG_1-notify_stop"), Generic: s("VG_1-notify"),
		}},
		Fifos: []Fifo{
			{Path: l.path("notify.fifo"), Script: reader("notify-arg")},
			{Path: l.path("vrrp.fifo"), Script: reader()},
		},
	}
	if !root {
		cfg.Instances[1].Master.AsSelf = true
	}
	n := l.start(cfg)
	files := recordedFiles(rec)
	for _, f := range []string{"notify.fifo", "vrrp.fifo"} {
		if got, want := describe(t, l.path(f)), files["after start-up"][f]; !sameFile(got, want) {
			t.Errorf("%s after New: %s, keepalived: %s", f, got, want)
		}
	}

	replay(t, n, rec["fifo vrrp.fifo"], map[string]bool{"VI_4": true, "VI_5": true})
	// A reader killed before it set up its SIGTERM trap would lose lines.
	l.waitLines("readers.log", "^START", 2)
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	want, got := rec.runs(), l.runs()
	if !root {
		for i := range want {
			want[i].uid = -1
		}
		for i := range got {
			got[i].uid = -1
		}
	}
	if d := cmp.Diff(byOwner(want), byOwner(got), cmp.Comparer(func(a, b run) bool { return a.String() == b.String() })); d != "" {
		t.Errorf("scripts run per instance/group (-keepalived +govrrp):\n%s", d)
	}
	// keepalived wrote the same lines to both FIFOs (its notify.fifo reader
	// was killed during the capture, so its vrrp.fifo has them all).
	for _, f := range []string{"notify.fifo", "vrrp.fifo"} {
		if d := cmp.Diff(rec["fifo vrrp.fifo"], l.lines(f+".out")); d != "" {
			t.Errorf("%s lines (-keepalived +govrrp):\n%s", f, d)
		}
	}
	readers := recordedReaders(rec)
	delete(readers, "p2.fifo") // phase 2
	if d := cmp.Diff(readers, l.readers()); d != "" {
		t.Errorf("FIFO scripts' argv (-keepalived +govrrp):\n%s", d)
	}
	for _, f := range []string{"notify.fifo", "vrrp.fifo"} {
		if got, want := describe(t, l.path(f)), files["after exit"][f]; !sameFile(got, want) {
			t.Errorf("%s after Close: %s, keepalived after exit: %s", f, got, want)
		}
	}
}

// Phase 2 of the capture: global vrrp_notify_priority_changes (the daemon
// sets Instance.PriorityChanges from it), notify_fifo and its script as
// nobody.
func TestReplayKeepalivedGlobalPriorityChanges(t *testing.T) {
	rec := loadRecording(t)
	l := newLab(t)
	root := isRoot()
	reader := l.script("fiforeader", "fiforeader", "p2")
	fifo := Fifo{Path: l.path("p2.fifo"), Script: reader}
	if root {
		reader.AsSelf, reader.Uid, reader.Gid = false, 65534, 65534
		fifo.Owner = &Owner{Uid: 65534, Gid: 65534}
	}
	l.writeFile("p2.fifo.out", "", 0o666)
	n := l.start(Config{Instances: []Instance{{Name: "VI_6", PriorityChanges: true}}, Fifos: []Fifo{fifo}})
	if root {
		if got, want := describe(t, l.path("p2.fifo")), recordedFiles(rec)["phase 2 after start-up"]["p2.fifo"]; got != want {
			t.Errorf("p2.fifo after New: %s, keepalived: %s", got, want)
		}
	}
	replay(t, n, rec["fifo p2.fifo"], nil)
	l.waitLines("readers.log", "^START", 1)
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rec["fifo p2.fifo"], l.lines("p2.fifo.out")); d != "" {
		t.Errorf("p2.fifo lines (-keepalived +govrrp):\n%s", d)
	}
	want := recordedReaders(rec)["p2.fifo"]
	if d := cmp.Diff(want, l.readers()["p2.fifo"]); d != "" {
		t.Errorf("FIFO script argv (-keepalived +govrrp):\n%s", d)
	}
	if root {
		// keepalived ran it as nobody (START ... uid=65534 in the recording).
		if lines := l.lines("readers.log"); len(lines) != 1 || !strings.Contains(lines[0], " uid=65534 ") {
			t.Errorf("FIFO script as nobody: readers.log %q", lines)
		}
	}
}
