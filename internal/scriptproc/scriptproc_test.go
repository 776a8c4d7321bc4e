//go:build linux

package scriptproc

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// child is a started sleep, looked at through /proc from outside.
type child struct {
	t   *testing.T
	cmd *exec.Cmd
}

// proc is /proc/PID/name of the child.
func (c child) proc(name string) string {
	return "/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/" + name
}

// status is the value of a /proc/PID/status field, tabs as spaces.
func (c child) status(field string) string {
	b, err := os.ReadFile(c.proc("status"))
	if err != nil {
		c.t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// stop kills the child's group and reaps it (on the goroutine that
// started it), reporting the signal that ended it.
func (c child) stop() syscall.Signal {
	KillGroup(c.cmd.Process.Pid, syscall.SIGTERM)
	_ = Wait(c.cmd)
	ws, _ := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ws.Signal()
}

// sleep starts `sleep 60` as cred and returns once it sleeps. Start
// returns when the exec is done, but the dynamic loader of sleep still
// has its libraries open for a moment after that (CI saw libc.so.6 as
// the child's descriptor 3), so descriptors are only looked at once the
// child is in its sleep system call.
func sleep(t *testing.T, cred *Credential) child {
	t.Helper()
	path, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	cmd := Command([]string{path, "60"}, cred)
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	c := child{t, cmd}
	c.awaitSleep()
	return c
}

// awaitSleep polls /proc/PID/syscall, at most 10 s, until the child is
// in nanosleep or clock_nanosleep.
func (c child) awaitSleep() {
	c.t.Helper()
	asleep := []string{strconv.Itoa(unix.SYS_NANOSLEEP), strconv.Itoa(unix.SYS_CLOCK_NANOSLEEP)}
	var last string
	for range 10000 {
		b, err := os.ReadFile(c.proc("syscall"))
		if err != nil {
			c.t.Fatal(err)
		}
		last = strings.TrimSpace(string(b))
		if nr, _, _ := strings.Cut(last, " "); slices.Contains(asleep, nr) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	c.stop()
	c.t.Fatalf("child not asleep after 10 s: /proc/PID/syscall %q", last)
}

// The child gets /dev/null for 0 to 2 and nothing else, even from
// descriptors the daemon holds without close-on-exec, low or high.
func TestStdioOnly(t *testing.T) {
	leak, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leak)
	const high = 900
	if err := unix.Dup2(leak, high); err != nil { // dup2 never sets close-on-exec
		t.Fatal(err)
	}
	defer syscall.Close(high)
	c := sleep(t, nil)
	defer c.stop()
	fds, err := os.ReadDir(c.proc("fd"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fd := range fds {
		got[fd.Name()], _ = os.Readlink(c.proc("fd/" + fd.Name()))
	}
	want := map[string]string{"0": "/dev/null", "1": "/dev/null", "2": "/dev/null"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("child's descriptors (-want +got):\n%s", d)
	}
	// The sweep marks; it does not close: the daemon keeps its descriptors.
	for _, fd := range []int{leak, high} {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("descriptor %d after Start: flags %#x, %v; want open, close-on-exec", fd, flags, err)
		}
	}
}

// The fallback sweep (kernels without CLOSE_RANGE_CLOEXEC) marks what
// /proc/self/fd lists and leaves stdio alone.
func TestFdDirSweep(t *testing.T) {
	leak, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leak)
	markFdDirCloexec("/proc/self/fd")
	if flags, _ := unix.FcntlInt(uintptr(leak), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("descriptor %d not marked close-on-exec", leak)
	}
	if flags, _ := unix.FcntlInt(2, unix.F_GETFD, 0); flags&unix.FD_CLOEXEC != 0 {
		t.Errorf("stderr marked close-on-exec")
	}
}

// The child leads its own process group, which KillGroup signals.
func TestProcessGroupAndKill(t *testing.T) {
	c := sleep(t, nil)
	pid := c.cmd.Process.Pid
	pgid, err := syscall.Getpgid(pid)
	if err != nil || pgid != pid || pgid == syscall.Getpgrp() {
		t.Errorf("child %d in process group %d (%v); want its own", pid, pgid, err)
	}
	if sig := c.stop(); sig != syscall.SIGTERM {
		t.Errorf("child ended by %v, want SIGTERM from KillGroup", sig)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("child %d after Wait: kill(0) = %v, want ESRCH (reaped)", pid, err)
	}
}

// The child runs in / with the daemon's environment minus the systemd
// handshake variables.
func TestDirAndEnvironment(t *testing.T) {
	t.Setenv("SCRIPTPROC_MARK", "kept")
	for _, v := range daemonOnlyEnv {
		t.Setenv(v, "daemon's")
	}
	c := sleep(t, nil)
	defer c.stop()
	if dir, err := os.Readlink(c.proc("cwd")); err != nil || dir != "/" {
		t.Errorf("child's working directory = %q, %v; want /", dir, err)
	}
	// Start returns once exec is under way (its close-on-exec pipe closed),
	// but the kernel fills /proc/PID/environ a moment later, when the new
	// program's stack is set up: poll, bounded, until it is there.
	var b []byte
	for end := time.Now().Add(5 * time.Second); len(b) == 0 && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		var err error
		if b, err = os.ReadFile(c.proc("environ")); err != nil {
			t.Fatal(err)
		}
	}
	env := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	want := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasSuffix(kv, "=daemon's")
	})
	if d := cmp.Diff(want, env); d != "" {
		t.Errorf("child's environment (-want +got):\n%s", d)
	}
}

// The child gets SIGTERM as its parent-death signal, as keepalived sets.
func TestDeathSignal(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir() + "/sig"
	cmd := Command([]string{self, "deathsig", out}, nil)
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := Wait(cmd); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(int(syscall.SIGTERM)); string(b) != want {
		t.Errorf("parent-death signal %s, want %s", b, want)
	}
}

// The child runs as the credential; no groups means just the gid.
func TestCredential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change user")
	}
	tests := []struct {
		cred   Credential
		groups string // as /proc shows them: sorted
	}{
		{Credential{Uid: 65534, Gid: 65534}, "65534"},
		{Credential{Uid: 65534, Gid: 65534, Groups: []uint32{65534, 4242}}, "4242 65534"},
		{Credential{Uid: 4243, Gid: 4242, Groups: []uint32{}}, "4242"},
	}
	for _, tt := range tests {
		c := sleep(t, &tt.cred)
		uid, gid := strconv.Itoa(int(tt.cred.Uid)), strconv.Itoa(int(tt.cred.Gid))
		got := []string{c.status("Uid"), c.status("Gid"), c.status("Groups")}
		want := []string{strings.Repeat(uid+" ", 3) + uid, strings.Repeat(gid+" ", 3) + gid, tt.groups}
		c.stop()
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%+v: uid, gid, groups (-want +got):\n%s", tt.cred, d)
		}
	}
}

// A command that cannot be started is Start's error, with nothing left
// running and the thread lock released.
func TestStartErrors(t *testing.T) {
	for _, argv := range [][]string{nil, {"no-such-command-scriptproc"}, {"/no/such/file"}} {
		if err := Start(Command(argv, nil)); err == nil {
			t.Errorf("%q: Start succeeded", argv)
		}
	}
}

// TestMain doubles as a script: `scriptproc.test deathsig OUT` writes the
// parent-death signal it was started with into OUT.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "deathsig" {
		var sig int32
		_ = unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&sig)), 0, 0, 0)
		_ = os.WriteFile(os.Args[2], []byte(strconv.Itoa(int(sig))), 0o644)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
