//go:build linux

package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/netlab"
)

// TestMain doubles as a notify script: `notify.test notify-helper OUT`
// writes its death signal and environment into OUT.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "notify-helper" {
		describeSelf(os.Args[2])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func describeSelf(out string) {
	var b strings.Builder
	var sig int32
	_ = unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&sig)), 0, 0, 0)
	fmt.Fprintf(&b, "pdeathsig %d\n", sig)
	cwd, _ := os.Getwd()
	fmt.Fprintf(&b, "cwd %s\n", cwd)
	for _, e := range os.Environ() {
		fmt.Fprintf(&b, "env %s\n", e)
	}
	_ = os.WriteFile(out, []byte(b.String()), 0o644)
}

// Scripts get SIGTERM as death signal (as keepalived), the daemon's
// environment without its systemd handshake, and / as working directory.
func TestScriptDeathSignalAndEnvironment(t *testing.T) {
	l := newLab(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOVRRP_NOTIFY_TEST", "inherited")
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
	out := l.path("ctx.out")
	n := l.start(Config{Instances: []Instance{{
		Name:   "VI_1",
		Master: &Script{Argv: []string{self, "notify-helper", out}, AsSelf: true},
	}}})
	n.Transition("VI_1", StateMaster, 100)
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"pdeathsig " + strconv.Itoa(int(syscall.SIGTERM)), "env GOVRRP_NOTIFY_TEST=inherited", "cwd /"} {
		if !strings.Contains(string(b), w+"\n") {
			t.Errorf("script context lacks %q; got:\n%s", w, b)
		}
	}
	if strings.Contains(string(b), "env NOTIFY_SOCKET=") {
		t.Errorf("script inherited the daemon's NOTIFY_SOCKET; got:\n%s", b)
	}
}

// Scripts get /dev/null for stdio and no other descriptor, not even one
// the daemon holds without close-on-exec (keepalived passes those on), and
// a process group of their own. The script execs sleep, which opens
// nothing, and is looked at from outside.
func TestScriptDescriptorsAndProcessGroup(t *testing.T) {
	l := newLab(t)
	fd, err := syscall.Open(l.path("runs.log"), syscall.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	pidFile := l.path("sleep.pid")
	n := l.start(Config{Instances: []Instance{{Name: "VI_1", Master: &Script{AsSelf: true,
		Argv: []string{"/bin/sh", "-c", "echo $$ >" + pidFile + "; exec sleep 60"}}}}})
	n.Transition("VI_1", StateMaster, 100)
	l.waitLines("sleep.pid", "^[0-9]+$", 1)
	pid := readPid(t, pidFile)
	proc := "/proc/" + strconv.Itoa(pid)
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(proc + "/cmdline")
		if strings.HasPrefix(string(b), "sleep\x00") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("script did not exec sleep within 20s: %q", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := netlab.AwaitAsleep(pid, 10*time.Second); err != nil { // past sleep's own start-up (libc, locale.alias)
		t.Fatal(err)
	}
	ents, err := os.ReadDir(proc + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range ents {
		got[e.Name()], _ = os.Readlink(proc + "/fd/" + e.Name())
	}
	if d := cmp.Diff(map[string]string{"0": "/dev/null", "1": "/dev/null", "2": "/dev/null"}, got); d != "" {
		t.Errorf("script's descriptors (-want +got):\n%s", d)
	}
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
		t.Errorf("script's process group = %d, %v; want its own (%d)", pgid, err, pid)
	}
	// sleep 60 is killed by Close giving up.
	if err := closeWithin(t, n, 100*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want a deadline error", err)
	}
}

// A script configured for another user runs as that user with only that
// user's group, as keepalived (setgid, setgroups [gid], setuid).
func TestScriptRunsAsUser(t *testing.T) {
	if !isRoot() {
		t.Skip("needs root to change user")
	}
	l := newLab(t)
	l.mkdir("public")
	if err := os.Chmod(l.path("public"), 0o777); err != nil {
		t.Fatal(err)
	}
	s := l.script("touch", "/usr/bin/touch", l.path("public/made-by-nobody"))
	s.AsSelf, s.Uid, s.Gid = false, 65534, 65534
	id := l.script("VI_1-notify", "log.sh")
	id.AsSelf, id.Uid, id.Gid = false, 65534, 65534
	n := l.start(Config{Instances: []Instance{{Name: "VI_1", Master: s, Generic: id}}})
	n.Transition("VI_1", StateMaster, 100)
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(l.path("public/made-by-nobody"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("file made by the script: owner %d:%d, want 65534:65534", st.Uid, st.Gid)
	}
	lines := l.lines("runs.log")
	if len(lines) != 1 || !strings.Contains(lines[0], "uid=65534 groups=65534 ") {
		t.Errorf("runs.log = %q, want one run with uid=65534 groups=65534", lines)
	}
}

// A slow script delays the transitions queued behind it; it neither drops
// nor reorders them.
func TestSlowScriptKeepsOrder(t *testing.T) {
	l := newLab(t)
	n := l.start(Config{Instances: []Instance{{
		Name:    "VI_1",
		Master:  l.script("VI_1-notify_master", "block.sh"),
		Backup:  l.script("VI_1-notify_backup", "log.sh"),
		Generic: l.script("VI_1-notify", "log.sh"),
	}}})
	n.Transition("VI_1", StateMaster, 100)
	l.waitLines("runs.log", "notify_master", 1)
	var want []run
	want = append(want, run{-1, []string{"/TMP/bin/VI_1-notify_master"}})
	for i := range 20 {
		n.Transition("VI_1", StateBackup, 100+i)
	}
	// Nothing behind the blocked script has run.
	if got := l.runs(); len(got) != 1 {
		t.Fatalf("while notify_master blocks, runs = %v", got)
	}
	l.release()
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	want = append(want, run{-1, []string{"/TMP/bin/VI_1-notify", "INSTANCE", "VI_1", "MASTER", "100"}})
	for i := range 20 {
		want = append(want,
			run{-1, []string{"/TMP/bin/VI_1-notify_backup"}},
			run{-1, []string{"/TMP/bin/VI_1-notify", "INSTANCE", "VI_1", "BACKUP", strconv.Itoa(100 + i)}})
	}
	if d := cmp.Diff(strs(want), strs(withoutUID(l.runs()))); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
}

// One instance's stuck script does not hold up another instance.
func TestInstancesDoNotBlockEachOther(t *testing.T) {
	l := newLab(t)
	n := l.start(Config{Instances: []Instance{
		{Name: "VI_1", Master: l.script("VI_1-notify_master", "block.sh")},
		{Name: "VI_2", Master: l.script("VI_2-notify_master", "log.sh"), Backup: l.script("VI_2-notify_backup", "log.sh")},
	}})
	n.Transition("VI_1", StateMaster, 100)
	l.waitLines("runs.log", "VI_1-notify_master", 1)
	n.Transition("VI_2", StateMaster, 100)
	n.Transition("VI_2", StateBackup, 100)
	l.waitLines("runs.log", "VI_2-notify_backup", 1)
	if got := l.lines("runs.log"); strings.Contains(strings.Join(got, "\n"), "END") {
		t.Fatalf("VI_1's script ended before it was released: %q", got)
	}
	l.release()
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Close runs everything queued before it returns.
func TestCloseDrains(t *testing.T) {
	l := newLab(t)
	n := l.start(Config{
		Instances: []Instance{
			{Name: "VI_1", Stop: l.script("VI_1-notify_stop", "log.sh"), Generic: l.script("VI_1-notify", "log.sh")},
			{Name: "VI_2", Stop: l.script("VI_2-notify_stop", "log.sh")},
		},
		Groups: []Group{{Name: "VG_1", Stop: l.script("VG_1-notify_stop", "log.sh")}},
	})
	for range 5 {
		n.Transition("VI_1", StateStop, 100)
		n.Transition("VI_2", StateStop, 90)
		n.GroupTransition("VG_1", StateStop)
	}
	if err := closeWithin(t, n, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range l.runs() {
		got[strings.Join(r.argv, " ")]++
	}
	want := map[string]int{
		"/TMP/bin/VI_1-notify_stop":                   5,
		"/TMP/bin/VI_1-notify INSTANCE VI_1 STOP 100": 5,
		"/TMP/bin/VI_2-notify_stop":                   5,
		"/TMP/bin/VG_1-notify_stop":                   5,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("runs after Close (-want +got):\n%s", d)
	}
	// Later notifications are refused (logged), and Close is done.
	n.Transition("VI_1", StateMaster, 100)
	if err := n.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if !strings.Contains(l.log.String(), "notifier closed, script not run") {
		t.Errorf("a transition after Close was not logged as refused")
	}
}

// When Close's context ends, the scripts still running are killed with
// their process groups and what is queued behind them is dropped; both are
// logged.
func TestCloseTimeoutKills(t *testing.T) {
	l := newLab(t)
	n := l.start(Config{Instances: []Instance{{
		Name:    "VI_1",
		Master:  l.script("VI_1-notify_master", "block.sh"),
		Generic: l.script("VI_1-notify", "log.sh"),
	}}})
	n.Transition("VI_1", StateMaster, 100)
	n.Transition("VI_1", StateBackup, 100)
	l.waitLines("runs.log", "notify_master", 1)
	pid := readPid(t, l.path("block.pid"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := n.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want a deadline error", err)
	}
	// Close reaped it: the pid is gone (not a zombie).
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("blocked script %d after Close: kill(0) = %v, want ESRCH", pid, err)
	}
	log := l.log.String()
	for _, w := range []string{"killing the script's process group", "scripts not run"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	if got := l.runs(); len(got) != 1 {
		t.Errorf("runs = %v, want only the killed one", got)
	}
}

func TestNewRejects(t *testing.T) {
	l := newLab(t)
	l.writeFile("plain", "", 0o644)
	for name, cfg := range map[string]Config{
		"duplicate instance": {Instances: []Instance{{Name: "VI_1"}, {Name: "VI_1"}}},
		"empty argv":         {Instances: []Instance{{Name: "VI_1", Master: &Script{}}}},
		"duplicate FIFO":     {Fifos: []Fifo{{Path: l.path("f")}, {Path: l.path("f")}}},
		"not a FIFO":         {Fifos: []Fifo{{Path: l.path("plain")}}},
		"missing directory":  {Fifos: []Fifo{{Path: l.path("no/such/f")}}},
	} {
		if n, err := New(cfg, nil); err == nil {
			_ = n.Close(context.Background())
			t.Errorf("%s: New succeeded", name)
		}
	}
	// A failed New leaves no FIFO behind.
	if _, err := os.Lstat(l.path("f")); err == nil {
		t.Errorf("FIFO f left after failed New")
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func withoutUID(rs []run) []run {
	for i := range rs {
		rs[i].uid = -1
	}
	return rs
}

func strs(rs []run) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}
