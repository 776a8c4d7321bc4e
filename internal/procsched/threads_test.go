package procsched

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The root tests run the settings in a helper process (this test binary
// re-executed), never in the test process itself, and read the helper's
// threads from /proc as an operator would. The helper only sleeps: no
// real-time busy loop.

const helperEnv = "PROCSCHED_HELPER"

// TestMain turns the binary into the helper when helperEnv is set.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		helperMain()
		return
	}
	os.Exit(m.Run())
}

// helperMain applies settings and obeys one command a line on stdin:
// "apply JSON", "spawn N" (N new OS threads, parked), "exec" (prints a child
// process's /proc/self/stat), "stats". Each answer is one line.
func helperMain() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	m, err := New(log)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	park := make(chan struct{})
	release := func() {}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "apply":
			var s Settings
			if err := json.Unmarshal([]byte(arg), &s); err != nil {
				fmt.Println("error", err)
				continue
			}
			if err := m.Apply(s); err != nil {
				fmt.Println("error", err)
				continue
			}
			fmt.Println("ok")
		case "spawn":
			n, _ := strconv.Atoi(arg)
			spawnThreads(n, park)
			fmt.Println("ok")
		case "exec":
			out, err := exec.Command("/bin/cat", "/proc/self/stat").Output()
			if err != nil {
				fmt.Println("error", err)
				continue
			}
			fmt.Println(strings.TrimSpace(string(out)))
		case "hold":
			release = m.Hold()
			fmt.Println("ok")
		case "release":
			release()
			fmt.Println("ok")
		case "stats":
			b, _ := json.Marshal(m.Stats())
			fmt.Println(string(b))
		case "procs":
			fmt.Println(runtime.GOMAXPROCS(0))
		}
	}
	m.Close()
	close(park)
}

// spawnThreads forces n new OS threads: each goroutine locks its thread and
// parks, so the runtime must start another for the next.
func spawnThreads(n int, park chan struct{}) {
	ready := make(chan struct{})
	for range n {
		go func() {
			runtime.LockOSThread()
			ready <- struct{}{}
			<-park
		}()
		<-ready
	}
}

// helper is a running helper process.
type helper struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (real-time scheduling, mlockall)")
	}
}

func startHelper(t *testing.T) *helper {
	t.Helper()
	return startHelperEnv(t, os.Environ())
}

// startHelperEnv starts a helper with env (plus the helper switch).
func startHelperEnv(t *testing.T, env []string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(env, helperEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{t: t, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return h
}

// do sends one command and returns its answer line.
func (h *helper) do(line string) string {
	h.t.Helper()
	if _, err := fmt.Fprintln(h.in, line); err != nil {
		h.t.Fatalf("helper: %v", err)
	}
	if !h.out.Scan() {
		h.t.Fatalf("helper ended: %v", h.out.Err())
	}
	return h.out.Text()
}

func (h *helper) apply(s Settings) {
	h.t.Helper()
	b, _ := json.Marshal(s)
	if got := h.do("apply " + string(b)); got != "ok" {
		h.t.Fatalf("apply %s: %s", b, got)
	}
}

// spawnNew forces new threads in a helper that has had threads: each
// spawned goroutine holds its thread, so more of them than the threads that
// exist cannot all be served by idle ones.
func (h *helper) spawnNew(had int) {
	h.t.Helper()
	if got := h.do(fmt.Sprintf("spawn %d", had+2)); got != "ok" {
		h.t.Fatal(got)
	}
}

func (h *helper) stats() Stats {
	h.t.Helper()
	var s Stats
	if err := json.Unmarshal([]byte(h.do("stats")), &s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// procThread is one thread as /proc shows it.
type procThread struct {
	tid          int
	comm         string
	nice, rtprio int
	policy       int // 0 SCHED_OTHER, 2 SCHED_RR
	cpus         string
}

// statFields are the fields after "(comm)" in a /proc stat line; field 3
// (state) is index 0.
func statFields(line string) []string {
	return strings.Fields(line[strings.LastIndexByte(line, ')')+1:])
}

func readProcThreads(t *testing.T, pid int) []procThread {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []procThread
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		stat, err1 := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		comm, err2 := os.ReadFile(filepath.Join(dir, e.Name(), "comm"))
		status, err3 := os.ReadFile(filepath.Join(dir, e.Name(), "status"))
		if err1 != nil || err2 != nil || err3 != nil {
			continue // the thread ended
		}
		f := statFields(string(stat))
		pt := procThread{tid: tid, comm: strings.TrimSpace(string(comm)), cpus: statusField(string(status), "Cpus_allowed_list")}
		pt.nice, _ = strconv.Atoi(f[16])
		pt.rtprio, _ = strconv.Atoi(f[37])
		pt.policy, _ = strconv.Atoi(f[38])
		out = append(out, pt)
	}
	return out
}

func statusField(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func procFile(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rtLimits is the "Max realtime timeout" soft and hard limit.
func rtLimits(t *testing.T, pid int) string {
	for _, l := range strings.Split(procFile(t, pid, "limits"), "\n") {
		if strings.HasPrefix(l, "Max realtime timeout") {
			return strings.Join(strings.Fields(l)[3:5], "/")
		}
	}
	t.Fatal("no Max realtime timeout line")
	return ""
}

// waitThreads polls (deadline-bounded) until every thread matches ok and
// there are at least min of them; it returns the last reading.
func waitThreads(t *testing.T, pid, min int, ok func(procThread) bool) []procThread {
	t.Helper()
	deadline := time.Now().Add(50 * SweepPeriod)
	for {
		ths := readProcThreads(t, pid)
		bad := 0
		for _, th := range ths {
			if !ok(th) {
				bad++
			}
		}
		if bad == 0 && len(ths) >= min {
			return ths
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d threads, %d not as wanted: %+v", 50*SweepPeriod, len(ths), bad, ths)
		}
		time.Sleep(SweepPeriod / 4)
	}
}

// TestEveryThreadAndNewThreads: every knob on every thread, on threads
// created afterwards too, and not on a child process (the script rule).
func TestEveryThreadAndNewThreads(t *testing.T) {
	needRoot(t)
	h := startHelper(t)
	pid := h.cmd.Process.Pid
	um := uint32(0o027)
	h.apply(Settings{RTPriority: 3, CPUs: []int{0}, NoSwap: true, RTTime: 400000, Comm: "govrrp-ps", Umask: &um})
	want := func(th procThread) bool {
		return th.policy == 2 && th.rtprio == 3 && th.cpus == "0" && th.comm == "govrrp-ps"
	}
	before := waitThreads(t, pid, 1, want)

	if got := rtLimits(t, pid); got != "200000/400000" {
		t.Errorf("RLIMIT_RTTIME = %s, want 200000/400000 (soft half of vrrp_rlimit_rttime)", got)
	}
	status := procFile(t, pid, "status")
	if lck := statusField(status, "VmLck"); lck == "" || strings.HasPrefix(lck, "0 ") {
		t.Errorf("VmLck = %q with vrrp_no_swap", lck)
	}
	if um := statusField(status, "Umask"); um != "0027" {
		t.Errorf("Umask = %s, want 0027", um)
	}

	// New threads: their clone drops SCHED_RR (reset on fork); the sweeper
	// must give it back.
	fixedBefore := h.stats().Fixed
	h.spawnNew(len(before))
	after := waitThreads(t, pid, len(before)+1, want)
	if s := h.stats(); s.Fixed <= fixedBefore {
		t.Errorf("sweeper fixed %d threads (before %d): new threads were real-time without it?", s.Fixed, fixedBefore)
	}
	t.Logf("%d threads before, %d after; all SCHED_RR 3 on CPU 0", len(before), len(after))

	// A process govrrp starts (a script) is not real-time: keepalived's
	// SCHED_RESET_ON_FORK.
	f := statFields(h.do("exec"))
	if f[38] != "0" || f[37] != "0" {
		t.Errorf("child process policy %s rtprio %s, want SCHED_OTHER 0", f[38], f[37])
	}
}

// TestNiceInherited: without a real-time policy, new threads inherit nice,
// CPU set and name from their creator; the sweeper has nothing to do.
func TestNiceInherited(t *testing.T) {
	needRoot(t)
	h := startHelper(t)
	pid := h.cmd.Process.Pid
	h.apply(Settings{Nice: intp(-4), CPUs: []int{1}, Comm: "nicevrrp"})
	want := func(th procThread) bool {
		return th.policy == 0 && th.nice == -4 && th.cpus == "1" && th.comm == "nicevrrp"
	}
	before := waitThreads(t, pid, 1, want)
	fixed := h.stats().Fixed
	h.spawnNew(len(before))
	// The new threads exist as soon as spawn answers; check them at once.
	ths := readProcThreads(t, pid)
	if len(ths) <= len(before) {
		t.Fatalf("%d threads after spawning (had %d)", len(ths), len(before))
	}
	for _, th := range ths {
		if !want(th) {
			t.Errorf("thread %+v did not inherit nice -4, CPU 1, comm nicevrrp", th)
		}
	}
	if s := h.stats(); s.Fixed != fixed {
		t.Errorf("sweeper fixed %d threads; inheritance should have done it", s.Fixed-fixed)
	}
}

// TestReloadRestoresBaseline: a reload without the knobs puts back what the
// process had at start (keepalived 2.2.7, observed: SCHED_OTHER again,
// VmLck 0; it leaves the CPU set and sets RLIMIT_RTTIME 0/0, govrrp restores
// both).
func TestReloadRestoresBaseline(t *testing.T) {
	needRoot(t)
	h := startHelper(t)
	pid := h.cmd.Process.Pid
	base := readProcThreads(t, pid)[0]
	baseLimits := rtLimits(t, pid)
	h.apply(Settings{RTPriority: 2, NoSwap: true, CPUs: []int{0}, Comm: "x"})
	waitThreads(t, pid, 1, func(th procThread) bool { return th.policy == 2 && th.cpus == "0" })
	h.apply(Settings{Nice: intp(4)})
	waitThreads(t, pid, 1, func(th procThread) bool {
		return th.policy == 0 && th.nice == 4 && th.cpus == base.cpus && th.comm == base.comm
	})
	if lck := statusField(procFile(t, pid, "status"), "VmLck"); !strings.HasPrefix(lck, "0 ") {
		t.Errorf("VmLck = %q after vrrp_no_swap was removed", lck)
	}
	// Raising the hard limit back needs CAP_SYS_RESOURCE (bit 24).
	if capEff(t, pid)&(1<<24) != 0 {
		if got := rtLimits(t, pid); got != baseLimits {
			t.Errorf("RLIMIT_RTTIME = %s after reload, want the start-up %s", got, baseLimits)
		}
	}
}

// TestAutoPriority: max_auto_priority raises by one per late wake-up and
// stops at the cap. min_auto_priority_delay 1 µs makes every sweep "late"
// (a timer never fires within 1 µs), so no load is needed.
func TestAutoPriority(t *testing.T) {
	needRoot(t)
	h := startHelper(t)
	pid := h.cmd.Process.Pid
	h.apply(Settings{MaxAuto: 3, MinAutoDelay: time.Microsecond, RTTime: 400000})
	waitThreads(t, pid, 1, func(th procThread) bool { return th.policy == 2 && th.rtprio == 3 })
	if got := rtLimits(t, pid); got != "200000/400000" {
		t.Errorf("RLIMIT_RTTIME = %s once real-time, want 200000/400000", got)
	}
	s := h.stats()
	if s.RTPriority != 3 || s.Raises != 3 {
		t.Errorf("stats %+v, want priority 3 after 3 raises (0 -> 1 -> 2 -> 3)", s)
	}
	// The cap holds: further late sweeps change nothing (the sweeper keeps
	// running; read again after it had time for several).
	waitThreads(t, pid, 1, func(th procThread) bool { return th.policy == 2 && th.rtprio == 3 })
	if s2 := h.stats(); s2.Raises != 3 {
		t.Errorf("raised past the cap: %+v", s2)
	}
}

func capEff(t *testing.T, pid int) uint64 {
	v, err := strconv.ParseUint(statusField(procFile(t, pid, "status"), "CapEff"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestHold: the daemon's configuration work runs at SCHED_OTHER, threads
// created meanwhile included, and the priority comes back on release.
func TestHold(t *testing.T) {
	needRoot(t)
	h := startHelper(t)
	pid := h.cmd.Process.Pid
	h.apply(Settings{RTPriority: 4, CPUs: []int{1}, RTTime: 400000})
	before := waitThreads(t, pid, 1, func(th procThread) bool { return th.policy == 2 && th.rtprio == 4 })
	if got := h.do("hold"); got != "ok" {
		t.Fatal(got)
	}
	held := func(th procThread) bool { return th.policy == 0 && th.cpus == "1" }
	waitThreads(t, pid, len(before), held)
	h.spawnNew(len(before))
	waitThreads(t, pid, len(before)+1, held)
	if got := h.do("release"); got != "ok" {
		t.Fatal(got)
	}
	waitThreads(t, pid, len(before)+1, func(th procThread) bool { return th.policy == 2 && th.rtprio == 4 && th.cpus == "1" })
}

// TestProcsFollowCPUSet: vrrp_cpu_affinity resizes GOMAXPROCS at once (the
// runtime would take about a second, and real-time threads sharing a CPU
// meanwhile get killed by RLIMIT_RTTIME), a reload without it gives the CPUs
// back, and an operator's GOMAXPROCS is never touched.
func TestProcsFollowCPUSet(t *testing.T) {
	needRoot(t)
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			env = append(env, kv)
		}
	}
	h := startHelperEnv(t, env)
	start := h.do("procs")
	h.apply(Settings{CPUs: []int{0}})
	if got := h.do("procs"); got != "1" {
		t.Errorf("GOMAXPROCS = %s on one CPU (was %s), want 1", got, start)
	}
	h.apply(Settings{})
	if got := h.do("procs"); got != start {
		t.Errorf("GOMAXPROCS = %s after the CPU set was removed, want the start-up %s", got, start)
	}

	pinned := startHelperEnv(t, append(env, "GOMAXPROCS=2"))
	pinned.apply(Settings{CPUs: []int{0}})
	if got := pinned.do("procs"); got != "2" {
		t.Errorf("GOMAXPROCS = %s with GOMAXPROCS=2 in the environment, want 2 (the operator's)", got)
	}
}

// TestHoldBeforeApply: the daemon holds before its first Apply (start-up),
// so a real-time priority applied while held waits for the release.
func TestHoldBeforeApply(t *testing.T) {
	needRoot(t)
	h := startHelper(t)
	pid := h.cmd.Process.Pid
	if got := h.do("hold"); got != "ok" {
		t.Fatal(got)
	}
	h.apply(Settings{RTPriority: 4, CPUs: []int{1}, RTTime: 400000})
	n := len(waitThreads(t, pid, 1, func(th procThread) bool { return th.cpus == "1" }))
	for _, th := range readProcThreads(t, pid) {
		if th.policy != 0 {
			t.Errorf("thread %+v is real-time while held", th)
		}
	}
	if got := h.do("release"); got != "ok" {
		t.Fatal(got)
	}
	waitThreads(t, pid, n, func(th procThread) bool { return th.policy == 2 && th.rtprio == 4 && th.cpus == "1" })
}
