package track

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

// shProbe runs `/bin/sh -c script args...` once, without a timeout.
func shProbe(t *testing.T, script string, args ...string) Outcome {
	t.Helper()
	argv := append([]string{"/bin/sh", "-c", script}, args...)
	return NewExecProber(argv, nil).Probe(context.Background())
}

// readFile returns a file a script wrote.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExecProberOutcome(t *testing.T) {
	tests := []struct {
		script string
		want   Outcome
	}{
		{"exit 0", Outcome{0, "exit 0"}},
		{"exit 3", Outcome{3, "exit 3"}},
		{"exit 137", Outcome{137, "exit 137"}},
		{"kill -9 $$", Outcome{-1, "killed by signal 9"}},
		{"kill -TERM $$", Outcome{-1, "killed by signal 15"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, shProbe(t, tt.script)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.script, diff)
		}
	}
}

func TestExecProberCannotStart(t *testing.T) {
	dir := t.TempDir()
	noExec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{filepath.Join(dir, "missing")}, {noExec}, {}} {
		got := NewExecProber(argv, nil).Probe(context.Background())
		if got.Status != -1 || !strings.HasPrefix(got.Detail, "cannot run: ") {
			t.Errorf("%q: got %+v, want status -1 and \"cannot run: ...\"", argv, got)
		}
	}
}

func TestExecProberPassesArgvWithoutShell(t *testing.T) {
	out := filepath.Join(t.TempDir(), "args")
	args := []string{"a b", "$HOME;echo x", "'q'"}
	got := shProbe(t, `printf '%s\n' "$@" > "$0"`, append([]string{out}, args...)...)
	if got.Status != 0 {
		t.Fatalf("probe: %+v", got)
	}
	if diff := cmp.Diff(strings.Join(args, "\n")+"\n", readFile(t, out)); diff != "" {
		t.Errorf("arguments the script saw (-want +got):\n%s", diff)
	}
}

func TestExecProberEnvironment(t *testing.T) {
	t.Setenv("GOVRRP_TEST_MARK", "kept")
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
	out := filepath.Join(t.TempDir(), "env")
	if got := shProbe(t, `{ env; echo "cwd=$(pwd)"; } > "$0"`, out); got.Status != 0 {
		t.Fatalf("probe: %+v", got)
	}
	env := strings.Split(readFile(t, out), "\n")
	for _, want := range []string{"GOVRRP_TEST_MARK=kept", "PATH=" + os.Getenv("PATH"), "cwd=/"} {
		if !contains(env, want) {
			t.Errorf("script environment lacks %q", want)
		}
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			t.Errorf("script inherited the daemon's %s", kv)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestExecProberDescriptors checks that a script has exactly 0, 1 and 2,
// all /dev/null, even when the daemon holds a descriptor without
// close-on-exec (as one inherited from a careless parent would be). The
// table is read from outside once the script has become `sleep`: a shell
// listing its own descriptors would see the ones its redirections open.
func TestExecProberDescriptors(t *testing.T) {
	leaked, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leaked)
	ready := filepath.Join(t.TempDir(), "pid")
	p := NewExecProber([]string{"/bin/sh", "-c", `echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; exec sleep 100`, ready}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	outcome := make(chan Outcome, 1)
	go func() { outcome <- p.Probe(ctx) }()
	defer func() { cancel(); <-outcome }()
	waitFor(t, "the script to write its pid", func() bool {
		_, err := os.Stat(ready)
		return err == nil
	})
	pid := strings.TrimSpace(readFile(t, ready))
	waitFor(t, "the script to exec sleep", func() bool {
		b, _ := os.ReadFile("/proc/" + pid + "/comm")
		return string(b) == "sleep\n"
	})
	n, _ := strconv.Atoi(pid)
	if err := netlab.AwaitAsleep(n, 10*time.Second); err != nil { // past sleep's own start-up (libc, locale.alias)
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []string
	for _, e := range entries {
		target, _ := os.Readlink("/proc/" + pid + "/fd/" + e.Name())
		fds = append(fds, e.Name()+" -> "+target)
	}
	want := []string{"0 -> /dev/null", "1 -> /dev/null", "2 -> /dev/null"}
	if diff := cmp.Diff(want, fds); diff != "" {
		t.Errorf("script's descriptors (-want +got):\n%s", diff)
	}
}

// procStat is the part of /proc/PID/stat the tests look at.
type procStat struct {
	State      string
	Ppid, Pgrp int
}

// readProcStat parses /proc/PID/stat; ok is false when pid is gone.
func readProcStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// Fields after the parenthesised command name: state ppid pgrp ...
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ppid, _ := strconv.Atoi(f[1])
	pgrp, _ := strconv.Atoi(f[2])
	return procStat{State: f[0], Ppid: ppid, Pgrp: pgrp}, true
}

func TestExecProberOwnProcessGroup(t *testing.T) {
	out := filepath.Join(t.TempDir(), "stat")
	if got := shProbe(t, `cat /proc/$$/stat > "$0"; echo $$ >> "$0"`, out); got.Status != 0 {
		t.Fatalf("probe: %+v", got)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, out)), "\n")
	pid, _ := strconv.Atoi(lines[1])
	f := strings.Fields(lines[0][strings.LastIndexByte(lines[0], ')')+1:])
	if f[2] != strconv.Itoa(pid) {
		t.Errorf("script %d ran in process group %s, want its own", pid, f[2])
	}
	if f[2] == strconv.Itoa(syscall.Getpgrp()) {
		t.Errorf("script shares the test's process group %s", f[2])
	}
	if _, ok := readProcStat(pid); ok {
		t.Errorf("script %d still exists after Probe returned: not reaped", pid)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveInGroup lists the processes of group pgid that are not zombies
// (killed grandchildren are reparented to init, which reaps them).
func liveInGroup(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var live []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readProcStat(pid); ok && st.Pgrp == pgid && st.State != "Z" {
			live = append(live, pid)
		}
	}
	return live
}

func TestExecProberTimeoutKillsTheGroup(t *testing.T) {
	tests := []struct {
		name, script     string
		childIgnoresTerm bool
	}{
		{"script and child obey SIGTERM", `sleep 100 & echo "$$ $!" > "$0.tmp"; mv "$0.tmp" "$0"; wait`, false},
		{"child ignores SIGTERM", `(trap '' TERM; exec sleep 100) & echo "$$ $!" > "$0.tmp"; mv "$0.tmp" "$0"; wait`, true},
		// An ignored signal stays ignored across fork and exec: both need SIGKILL.
		{"script and child ignore SIGTERM", `trap '' TERM; sleep 100 & echo "$$ $!" > "$0.tmp"; mv "$0.tmp" "$0"; wait`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready := filepath.Join(t.TempDir(), "pids")
			p := NewExecProber([]string{"/bin/sh", "-c", tt.script, ready}, nil).(*ExecProber)
			p.grace = 100 * time.Millisecond
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			outcome := make(chan Outcome, 1)
			go func() { outcome <- p.Probe(ctx) }()
			waitFor(t, "the script to start its child", func() bool {
				_, err := os.Stat(ready)
				return err == nil
			})
			var pid, child int
			if _, err := fmt.Sscan(readFile(t, ready), &pid, &child); err != nil {
				t.Fatal(err)
			}
			if tt.childIgnoresTerm {
				waitFor(t, "the child to ignore SIGTERM", func() bool { return ignoresTerm(child) })
			}
			cancel(timeoutError{2 * time.Second})
			if diff := cmp.Diff(Outcome{-1, "timed out after 2s"}, <-outcome); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if _, ok := readProcStat(pid); ok {
				t.Errorf("script %d still exists: not reaped", pid)
			}
			waitFor(t, "the script's process group to die", func() bool { return len(liveInGroup(pid)) == 0 })
			if st, ok := readProcStat(child); ok && st.State != "Z" {
				t.Errorf("child %d survived the timeout: %+v", child, st)
			}
		})
	}
}

// ignoresTerm reports whether pid is sleep with SIGTERM ignored.
func ignoresTerm(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	comm, _ := os.ReadFile(dir + "comm")
	status, _ := os.ReadFile(dir + "status")
	for _, line := range strings.Split(string(status), "\n") {
		if hex, ok := strings.CutPrefix(line, "SigIgn:\t"); ok {
			mask, _ := strconv.ParseUint(hex, 16, 64)
			return string(comm) == "sleep\n" && mask&(1<<(syscall.SIGTERM-1)) != 0
		}
	}
	return false
}

func TestExecProberStoppedByDaemon(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := NewExecProber([]string{"/bin/sh", "-c", "exec sleep 100"}, nil)
	outcome := make(chan Outcome, 1)
	go func() { outcome <- p.Probe(ctx) }()
	cancel()
	if got := <-outcome; got.Status != -1 || got.Detail != "stopped: context canceled" {
		t.Errorf("got %+v, want -1 \"stopped: context canceled\"", got)
	}
}

func TestExecProberCredential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change user")
	}
	cred, err := LookupCredential("nobody", "")
	if err != nil {
		t.Skip("no user nobody:", err)
	}
	dir := t.TempDir()
	// nobody must get through t.TempDir's 0700 parent and write in dir.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "id")
	p := NewExecProber([]string{"/bin/sh", "-c", `{ id -u; id -g; id -G; } > "$0"`, out}, cred)
	if got := p.Probe(context.Background()); got.Status != 0 {
		t.Fatalf("probe: %+v", got)
	}
	want := strings.Join([]string{u32(cred.Uid), u32(cred.Gid), joinIDs(cred.Groups)}, "\n") + "\n"
	if diff := cmp.Diff(want, readFile(t, out)); diff != "" {
		t.Errorf("uid, gid, groups the script saw (-want +got):\n%s", diff)
	}
}

func u32(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func joinIDs(ids []uint32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = u32(id)
	}
	return strings.Join(s, " ")
}

func TestScriptRunsExecProber(t *testing.T) {
	s := NewScript(ScriptConfig{Name: "chk_apache", Argv: []string{"/bin/sh", "-c", "exit 3"}, Fall: 2}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan Result, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, func(r Result) {
			select {
			case results <- r:
			default:
			}
		})
	}()
	r := <-results
	cancel()
	<-done
	if r.Kind != KindScript || r.Name != "chk_apache" || r.OK || r.Value != 3 ||
		r.Detail != "exit 3, first check" || r.Method != "exec" {
		t.Errorf("first result = %+v", r)
	}
}
