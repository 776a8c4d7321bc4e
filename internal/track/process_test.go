package track

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/netlab"
)

// The cases are what keepalived 2.2.7 matched (or not) in the root
// namespace, one vrrp_track_process per rule.
func TestProcMatcher(t *testing.T) {
	type proc struct {
		comm string
		argv []string
	}
	sleep1001 := proc{"sleep", []string{"sleep", "1001"}}
	absSleep1001 := proc{"sleep", []string{"/usr/bin/sleep", "1001"}}
	sleep1001x5 := proc{"sleep", []string{"sleep", "1001", "5"}}
	sleep10012 := proc{"sleep", []string{"sleep", "10012"}}
	sleep100x1 := proc{"sleep", []string{"sleep", "100", "1"}}
	sleep99 := proc{"sleep", []string{"sleep", "99"}}
	bare := proc{"gvtrkslp", []string{"gvtrkslp"}}
	withArg := proc{"gvtrkslp", []string{"gvtrkslp", "1000"}}
	renamedArgv0 := proc{"sleep", []string{"gvtrkslp", "4004"}} // exec -a gvtrkslp sleep 4004
	long := proc{"verylongprocess", []string{"/tmp/verylongprocessname_x", "1003"}}
	kthread := proc{"kworker/0:1", nil}

	tests := []struct {
		cfg  ProcessConfig
		want map[*proc]bool
	}{
		{ProcessConfig{Process: []string{"sleep"}},
			map[*proc]bool{&sleep1001: true, &absSleep1001: true, &bare: false, &renamedArgv0: true}},
		{ProcessConfig{Process: []string{"sleep", "1001"}},
			map[*proc]bool{&sleep1001: true, &absSleep1001: false, &sleep1001x5: false, &sleep10012: false}},
		{ProcessConfig{Process: []string{"/usr/bin/sleep", "1001"}},
			map[*proc]bool{&sleep1001: false, &absSleep1001: true}},
		{ProcessConfig{Process: []string{"sleep", "1001"}, ParamMatch: "partial"},
			map[*proc]bool{&sleep1001: true, &sleep1001x5: true, &sleep10012: false, &absSleep1001: false}},
		{ProcessConfig{Process: []string{"sleep", "100"}, ParamMatch: "initial"},
			map[*proc]bool{&sleep1001: true, &sleep10012: true, &sleep100x1: true, &sleep1001x5: true, &sleep99: false}},
		// param_match without parameters compares argv[0] only (2.2.7
		// matched "gvtrkslp 1000" and a process whose comm is "sleep").
		{ProcessConfig{Process: []string{"gvtrkslp"}, ParamMatch: "partial"},
			map[*proc]bool{&bare: true, &withArg: true, &renamedArgv0: true}},
		{ProcessConfig{Process: []string{"gvtrkslp"}, ParamMatch: "initial"},
			map[*proc]bool{&bare: true, &withArg: true, &renamedArgv0: true}},
		{ProcessConfig{Process: []string{"gvtrkslp"}, ParamMatch: "exact"},
			map[*proc]bool{&bare: true, &withArg: false}},
		{ProcessConfig{Process: []string{"gvtrkslp"}},
			map[*proc]bool{&bare: true, &withArg: true, &renamedArgv0: false}},
		{ProcessConfig{Process: []string{"/usr/bin/sleep"}, FullCommand: true},
			map[*proc]bool{&absSleep1001: true, &sleep1001: false}},
		{ProcessConfig{Process: []string{"verylongprocess"}}, map[*proc]bool{&long: true}},
		// Deliberate: keepalived never matches a name longer than comm.
		{ProcessConfig{Process: []string{"verylongprocessname_x"}}, map[*proc]bool{&long: true}},
		{ProcessConfig{Process: []string{"kworker/0:1"}, FullCommand: true}, map[*proc]bool{&kthread: false}},
		{ProcessConfig{}, map[*proc]bool{&sleep1001: false}},
	}
	for _, tt := range tests {
		m := newProcMatcher(tt.cfg)
		for p, want := range tt.want {
			if got := m.matches(p.comm, p.argv); got != want {
				t.Errorf("%+v matches comm %q argv %q = %v, want %v", tt.cfg, p.comm, p.argv, got, want)
			}
		}
	}
}

func TestNewProcessesQuorum(t *testing.T) {
	tests := []struct{ q, max, wantQ, wantMax int }{
		{0, -1, 1, -1}, // keepalived's default quorum 1
		{2, -1, 2, -1},
		{0, 0, 0, 0}, // quorum_max 0: fail while any runs
		{1, 0, 0, 0},
		{3, 1, 1, 1}, // keepalived ignores such a quorum_max; the config layer should have
		{1, 3, 1, 3},
	}
	for _, tt := range tests {
		p := NewProcesses([]ProcessConfig{{Quorum: tt.q, QuorumMax: tt.max}})
		if c := p.cfg[0]; c.Quorum != tt.wantQ || c.QuorumMax != tt.wantMax {
			t.Errorf("quorum %d max %d -> %d %d, want %d %d", tt.q, tt.max, c.Quorum, c.QuorumMax, tt.wantQ, tt.wantMax)
		}
	}
}

// fakeProc is a /proc tree in a temp dir: <pid>/stat and <pid>/cmdline.
type fakeProc struct {
	tb   testing.TB
	root string
}

func newFakeProc(tb testing.TB) *fakeProc {
	fp := &fakeProc{tb: tb, root: tb.TempDir()}
	// Entries a real /proc has that are not processes.
	for _, d := range []string{"self", "sys", "0"} {
		if err := os.Mkdir(filepath.Join(fp.root, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	writeFile(tb, filepath.Join(fp.root, "uptime"), "1.0 1.0\n")
	return fp
}

// add creates a process; state is the stat state letter.
func (fp *fakeProc) add(pid int, comm string, state byte, argv ...string) {
	fp.tb.Helper()
	dir := filepath.Join(fp.root, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fp.tb.Fatal(err)
	}
	writeFile(fp.tb, filepath.Join(dir, "stat"), fmt.Sprintf("%d (%s) %c 1 %d %d 0 -1 4194560 100 0 0 0\n", pid, comm, state, pid, pid))
	cmd := ""
	if len(argv) > 0 {
		cmd = strings.Join(argv, "\x00") + "\x00"
	}
	writeFile(fp.tb, filepath.Join(dir, "cmdline"), cmd)
}

func (fp *fakeProc) del(pid int) {
	fp.tb.Helper()
	if err := os.RemoveAll(filepath.Join(fp.root, fmt.Sprint(pid))); err != nil {
		fp.tb.Fatal(err)
	}
}

func TestProcReader(t *testing.T) {
	fp := newFakeProc(t)
	fp.add(12, "my (odd) name", 'S', "weird", "a b", "")
	fp.add(13, "kthreadd", 'S')
	fp.add(14, "dead", 'Z', "dead")
	r := &procReader{root: fp.root}
	pids, err := r.pids()
	if err != nil || len(pids) != 3 {
		t.Fatalf("pids = %v, %v; want 12, 13, 14", pids, err)
	}
	comm, zombie, err := r.stat(12)
	if comm != "my (odd) name" || zombie || err != nil {
		t.Errorf("stat(12) = %q, %v, %v", comm, zombie, err)
	}
	if argv, err := r.cmdline(12); err != nil || strings.Join(argv, "|") != "weird|a b|" {
		t.Errorf("cmdline(12) = %q, %v", argv, err)
	}
	if argv, err := r.cmdline(13); err != nil || argv != nil {
		t.Errorf("cmdline(13) = %q, %v; want none (kernel thread)", argv, err)
	}
	if _, zombie, _ := r.stat(14); !zombie {
		t.Error("14 should be a zombie")
	}
	if _, _, err := r.stat(99); err == nil {
		t.Error("stat of a missing pid should fail")
	}
}

// procIs matches a process result.
func procIs(ok bool, n int, method string) func(Result) bool {
	return func(r Result) bool {
		return r.Kind == KindProcess && r.OK == ok && r.Value == n && (method == "" || r.Method == method)
	}
}

// testState is a procState on a fake /proc, driven by hand.
func testState(tb testing.TB, cfg ...ProcessConfig) (*procState, *fakeProc, *obsSink) {
	fp := newFakeProc(tb)
	s := newObsSink()
	return newProcState(NewProcesses(cfg).cfg, &procReader{root: fp.root}, s.sink), fp, s
}

func TestProcScanCountsAndZombies(t *testing.T) {
	st, fp, s := testState(t,
		ProcessConfig{Name: "comm", Process: []string{"nginx"}, QuorumMax: -1},
		ProcessConfig{Name: "argv", Process: []string{"haproxy", "-f", "/etc/haproxy.cfg"}, ParamMatch: "partial", Quorum: 2, QuorumMax: -1},
		ProcessConfig{Name: "none", Process: []string{"apache2"}, QuorumMax: 0},
	)
	fp.add(100, "nginx", 'S', "nginx: master process /usr/sbin/nginx")
	fp.add(101, "nginx", 'S', "nginx: worker process")
	fp.add(102, "nginx", 'Z') // zombies do not count
	fp.add(200, "haproxy", 'S', "haproxy", "-f", "/etc/haproxy.cfg", "-p", "/run/haproxy.pid")
	fp.add(201, "haproxy", 'R', "haproxy", "-f", "/etc/other.cfg")
	t0 := time.Unix(1000, 0)
	st.scan(t0, true)
	s.await(t, "comm", "2 nginx", procIs(true, 2, procMethodScan))
	s.await(t, "argv", "1 haproxy of quorum 2", procIs(false, 1, ""))
	s.await(t, "none", "no apache2, quorum_max 0", procIs(true, 0, ""))
	if r := s.history("none")[0]; r.Detail != "0 running (quorum 0, max 0)" {
		t.Errorf("detail %q", r.Detail)
	}

	fp.add(202, "haproxy", 'S', "haproxy", "-f", "/etc/haproxy.cfg")
	fp.add(300, "apache2", 'S', "/usr/sbin/apache2", "-k", "start")
	fp.del(101)
	st.scan(t0.Add(time.Second), false)
	s.await(t, "argv", "2 haproxy", procIs(true, 2, ""))
	s.await(t, "none", "apache2 runs", procIs(false, 1, ""))
	s.await(t, "comm", "1 nginx", procIs(true, 1, ""))
	for _, name := range []string{"comm", "argv", "none"} {
		if n := len(s.history(name)); n != 2 {
			t.Errorf("%s: %d results, want 2 (one per scan):\n%s", name, n, s.dump(name))
		}
	}
}

// The sequence keepalived 2.2.7 was observed to follow with quorum 2,
// quorum_max 3, fork_delay 2, terminate_delay 3, connector events.
func TestProcStateDelays(t *testing.T) {
	st, fp, s := testState(t, ProcessConfig{Name: "p", Process: []string{"svc"},
		Quorum: 2, QuorumMax: 3, ForkDelay: 2 * time.Second, TerminateDelay: 3 * time.Second})
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	exec := func(pid int, d time.Duration) {
		fp.add(pid, "svc", 'S', "svc")
		st.apply(procEvent{what: procEventExec, pid: pid, tgid: pid}, at(d))
		st.flush(at(d))
	}
	exit := func(pid int, d time.Duration) {
		fp.del(pid)
		st.apply(procEvent{what: procEventExit, pid: pid, tgid: pid}, at(d))
		st.flush(at(d))
	}
	tick := func(d time.Duration) { st.evaluateDue(at(d)) }
	last := func() Result { h := s.history("p"); return h[len(h)-1] }

	st.scan(t0, true)
	s.await(t, "p", "0 at start", procIs(false, 0, ""))
	exec(1, 0)
	exec(2, 0) // an exec counts at once, fork_delay or not
	s.await(t, "p", "quorum by exec", procIs(true, 2, ""))
	exec(3, time.Second)
	exec(4, time.Second) // above quorum_max: at once
	s.await(t, "p", "4 > max", procIs(false, 4, ""))

	exit(4, 2*time.Second) // back in range, but by an exit: after terminate_delay
	tick(4 * time.Second)
	if r := last(); r.Value != 4 {
		t.Fatalf("re-evaluated before terminate_delay: %+v", r)
	}
	tick(5 * time.Second)
	s.await(t, "p", "3 after terminate_delay", procIs(true, 3, ""))

	exit(3, 10*time.Second)
	exit(2, 10*time.Second) // 1 left: would fail at 13s ...
	exec(5, 11*time.Second) // ... but a restart within the delay
	s.await(t, "p", "2 again", procIs(true, 2, ""))
	tick(13 * time.Second)
	for _, r := range s.history("p") {
		if !r.OK && r.Value < 2 && r.At.After(t0) {
			t.Fatalf("a restart within terminate_delay caused a failure:\n%s", s.dump("p"))
		}
	}

	exit(5, 20*time.Second)
	exit(1, 21*time.Second) // a later exit re-arms the pending re-evaluation
	tick(23 * time.Second)
	if r := last(); !r.OK {
		t.Fatalf("re-evaluated 2s after the last exit: %+v", r)
	}
	tick(24 * time.Second)
	s.await(t, "p", "0 after the last exit's delay", procIs(false, 0, ""))

	// A fork of a matching process counts after fork_delay; a thread not.
	exec(6, 30*time.Second)
	st.apply(procEvent{what: procEventFork, ptgid: 6, pid: 6, tgid: 6 + 1000}, at(30*time.Second)) // thread: pid != tgid
	st.apply(procEvent{what: procEventFork, ptgid: 6, pid: 7, tgid: 7}, at(30*time.Second))
	st.flush(at(30 * time.Second))
	tick(31 * time.Second)
	if r := last(); r.Value != 1 {
		t.Fatalf("fork counted before fork_delay: %+v", r)
	}
	tick(32 * time.Second)
	s.await(t, "p", "fork counted after fork_delay", procIs(true, 2, ""))
	if !st.nextDue().IsZero() {
		t.Errorf("nothing should be pending, got %v", st.nextDue())
	}
}

func TestProcStateRenamesAndExecs(t *testing.T) {
	st, fp, s := testState(t,
		ProcessConfig{Name: "comm", Process: []string{"Web Content"}, QuorumMax: -1},
		ProcessConfig{Name: "argv", Process: []string{"firefox"}, FullCommand: true, QuorumMax: -1},
	)
	t0 := time.Unix(1000, 0)
	fp.add(10, "firefox", 'S', "firefox")
	st.scan(t0, true)
	s.await(t, "comm", "none at start", procIs(false, 0, ""))
	s.await(t, "argv", "firefox", procIs(true, 1, ""))

	// firefox forks a child that renames itself.
	st.apply(procEvent{what: procEventFork, ptgid: 10, pid: 11, tgid: 11}, t0)
	st.apply(procEvent{what: procEventComm, pid: 11, tgid: 11, comm: "Web Content"}, t0)
	st.apply(procEvent{what: procEventComm, pid: 12, tgid: 10, comm: "Web Content"}, t0) // a thread
	st.flush(t0)
	s.await(t, "comm", "renamed child", procIs(true, 1, ""))
	s.await(t, "argv", "child keeps argv", procIs(true, 2, ""))

	// A process that execs something else leaves; a thread's exit does not.
	fp.add(11, "sh", 'S', "/bin/sh")
	st.apply(procEvent{what: procEventExec, pid: 11, tgid: 11}, t0)
	st.apply(procEvent{what: procEventExit, pid: 12, tgid: 10}, t0)
	st.flush(t0)
	s.await(t, "comm", "exec'd away", procIs(false, 0, ""))
	s.await(t, "argv", "exec'd away", procIs(true, 1, ""))
	// A rename into a comm-matched name of a process not tracked so far.
	fp.add(20, "other", 'S', "other")
	st.apply(procEvent{what: procEventComm, pid: 20, tgid: 20, comm: "Web Content"}, t0)
	st.flush(t0)
	s.await(t, "comm", "renamed in", procIs(true, 1, ""))
}

// Run in scan mode on a fake /proc, in a synctest bubble: the ticker and
// the delay timer run on the bubble's clock.
func TestProcessesScanLoopSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fp := newFakeProc(t)
		p := NewProcesses([]ProcessConfig{{Name: "p", Process: []string{"svc"}, QuorumMax: -1, TerminateDelay: 5 * time.Second}})
		p.root, p.scanOnly = fp.root, true
		s := newObsSink()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		start := time.Now()
		go func() { defer close(done); p.Run(ctx, s.sink) }()
		synctest.Wait()
		if h := s.history("p"); len(h) != 1 || h[0].Value != 0 || h[0].Method != procMethodScan {
			t.Fatalf("initial: %s", s.dump("p"))
		}
		if !strings.HasPrefix(p.Why(), procMethodScan) {
			t.Errorf("Why() = %q", p.Why())
		}
		fp.add(5, "svc", 'S', "svc")
		time.Sleep(procScanEvery + time.Millisecond)
		synctest.Wait()
		if r := s.history("p"); len(r) != 2 || !r[1].OK || r[1].At.Sub(start) != procScanEvery {
			t.Fatalf("after one scan: %s", s.dump("p"))
		}
		fp.del(5)
		gone := start.Add(2 * procScanEvery) // the scan that sees it gone
		time.Sleep(2*procScanEvery + 5*time.Second)
		synctest.Wait()
		r := s.history("p")
		if len(r) != 3 || r[2].OK || !r[2].At.Equal(gone.Add(5*time.Second)) {
			t.Fatalf("want failure terminate_delay after the scan at %v:\n%s", gone, s.dump("p"))
		}
		cancel()
		<-done
	})
}

func TestParseProcEvents(t *testing.T) {
	msg := func(what uint32, seq, ack uint32, data ...uint32) []byte {
		ne := binary.NativeEndian
		b := make([]byte, unix.NLMSG_HDRLEN+cnMsgLen+procEvHdrLen+4*len(data)+16)
		ne.PutUint32(b[0:], uint32(len(b)))
		ne.PutUint16(b[4:], unix.NLMSG_DONE)
		cn := b[unix.NLMSG_HDRLEN:]
		ne.PutUint32(cn[0:], cnIdxProc)
		ne.PutUint32(cn[4:], cnValProc)
		ne.PutUint32(cn[8:], seq)
		ne.PutUint32(cn[12:], ack)
		ne.PutUint16(cn[16:], uint16(procEvHdrLen+4*len(data)))
		ev := cn[cnMsgLen:]
		ne.PutUint32(ev[0:], what)
		for i, d := range data {
			ne.PutUint32(ev[procEvHdrLen+4*i:], d)
		}
		return b
	}
	comm := msg(procEventComm, 0, 0, 42, 41, 0, 0, 0, 0)
	copy(comm[unix.NLMSG_HDRLEN+cnMsgLen+procEvHdrLen+8:], "Web Content\x00")
	var all []byte
	for _, m := range [][]byte{
		msg(procEventNone, 77, 1, 0),
		msg(procEventFork, 0, 5, 10, 10, 11, 11),
		msg(procEventExec, 0, 0, 11, 11),
		comm,
		msg(procEventExit, 0, 0, 11, 11, 0, 9),
		msg(0x40000000, 0, 0, 1, 1), // coredump: not used
	} {
		all = append(all, m...)
	}
	got := parseProcEvents(all)
	want := []procEvent{
		{what: procEventNone, ack: 1},
		{what: procEventFork, ptgid: 10, pid: 11, tgid: 11, ack: 5},
		{what: procEventExec, pid: 11, tgid: 11},
		{what: procEventComm, pid: 42, tgid: 41, comm: "Web Content"},
		{what: procEventExit, pid: 11, tgid: 11},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// realProcs starts processes for the real tests and kills them at the end.
type realProcs struct {
	tb   testing.TB
	tag  string // unique, fits in comm
	dir  string
	cmds map[string]*exec.Cmd
}

func newRealProcs(tb testing.TB) *realProcs {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	rp := &realProcs{tb: tb, tag: "gvt" + hex.EncodeToString(b[:]), dir: tb.TempDir(), cmds: map[string]*exec.Cmd{}}
	tb.Cleanup(func() {
		for name := range rp.cmds {
			rp.stop(name)
		}
	})
	return rp
}

// start runs path with argv[0] set, in its own process group.
func (rp *realProcs) start(name, path string, argv ...string) {
	rp.tb.Helper()
	cmd := exec.Command(path)
	cmd.Args = argv
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		rp.tb.Fatal(err)
	}
	rp.cmds[name] = cmd
}

// link makes a symlink named like the tag to a binary: exec'd through it,
// a process gets the link's name as comm.
func (rp *realProcs) link(bin string) string {
	rp.tb.Helper()
	target, err := exec.LookPath(bin)
	if err != nil {
		rp.tb.Skipf("%s: %v", bin, err)
	}
	p := filepath.Join(rp.dir, rp.tag)
	if err := os.Symlink(target, p); err != nil {
		rp.tb.Fatal(err)
	}
	return p
}

func (rp *realProcs) stop(name string) {
	cmd := rp.cmds[name]
	if cmd == nil {
		return
	}
	delete(rp.cmds, name)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
}

// realProcessTest counts real sleep processes 0 -> 2 -> 1 -> 0, by argv
// and by comm, and a shell whose forked subshell counts too. run starts
// the tracker (in the root namespace or elsewhere).
func realProcessTest(t *testing.T, scanOnly bool, run func(Tracker) *obsSink) (*Processes, *obsSink) {
	rp := newRealProcs(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	argv0 := rp.tag + "-sleep"
	p := NewProcesses([]ProcessConfig{
		{Name: "argv", Process: []string{argv0, "300"}, QuorumMax: -1},
		{Name: "fork", Process: []string{rp.tag}, Quorum: 2, QuorumMax: -1},
	})
	p.scanOnly = scanOnly
	if scanOnly {
		p.scanEvery = 50 * time.Millisecond // the test's patience, not the daemon's
	}
	s := run(p)
	s.await(t, "argv", "none at start", procIs(false, 0, ""))
	s.await(t, "fork", "none at start", procIs(false, 0, ""))

	rp.start("a", sleep, argv0, "300")
	rp.start("b", sleep, argv0, "300")
	rp.start("other", sleep, argv0, "301")
	s.await(t, "argv", "2 running", procIs(true, 2, ""))
	rp.stop("a")
	s.await(t, "argv", "1 running", procIs(true, 1, ""))
	rp.stop("b")
	s.await(t, "argv", "0 running", procIs(false, 0, ""))

	// The shell (comm = the link's name) forks a subshell for ( ... ):
	// a copy of itself, which only a fork event or a scan can count.
	shell := rp.link("sh")
	// Neither sleep is the last command, so no shell execs it in place.
	rp.start("sh", shell, shell, "-c", "( sleep 300; true ) & sleep 300; true")
	s.await(t, "fork", "shell and its forked subshell", procIs(true, 2, ""))
	rp.stop("sh")
	s.await(t, "fork", "0 after kill", procIs(false, 0, ""))
	return p, s
}

func TestProcessesRealAuto(t *testing.T) {
	p, s := realProcessTest(t, false, func(tr Tracker) *obsSink { return runTracker(t, tr) })
	method := s.history("argv")[0].Method
	t.Logf("mode: %s (%s)", method, p.Why())
	if os.Geteuid() == 0 && method != procMethodConnector {
		t.Logf("note: connector unusable here, tested the fallback")
	}
}

func TestProcessesRealScan(t *testing.T) {
	p, s := realProcessTest(t, true, func(tr Tracker) *obsSink { return runTracker(t, tr) })
	if m := s.history("argv")[0].Method; m != procMethodScan {
		t.Errorf("method %s, want %s (%s)", m, procMethodScan, p.Why())
	}
}

// Inside a network namespace (as under `ip netns exec`) the kernel refuses
// the connector subscription: the tracker must notice and scan.
func TestProcessesRealInNamespaceFallsBack(t *testing.T) {
	lab := netlab.New(t)
	h := lab.AddHost("p")
	p, s := realProcessTest(t, false, func(tr Tracker) *obsSink {
		tr.(*Processes).scanEvery = 50 * time.Millisecond
		return runTrackerIn(t, h, tr)
	})
	if m := s.history("argv")[0].Method; m != procMethodScan {
		t.Errorf("method %s in a namespace, want %s (%s)", m, procMethodScan, p.Why())
	}
	t.Logf("why: %s", p.Why())
}

// BenchmarkProcScan is the cost of one /proc scan in fallback mode, on
// this machine's /proc: comm only, and with cmdline as argv matching
// needs. procScanEvery's comment quotes it.
func BenchmarkProcScan(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  ProcessConfig
	}{
		{"comm", ProcessConfig{Name: "p", Process: []string{"nginx"}}},
		{"cmdline", ProcessConfig{Name: "p", Process: []string{"nginx", "-g"}, ParamMatch: "partial"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := newProcState(NewProcesses([]ProcessConfig{bc.cfg}).cfg, &procReader{root: "/proc"}, func(Result) {})
			pids, _ := st.rd.pids()
			now := time.Now()
			for b.Loop() {
				st.scan(now, false)
			}
			b.ReportMetric(float64(len(pids)), "procs")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(max(len(pids), 1)), "ns/proc")
		})
	}
}

// follow on a fake connector: events are applied in batches, and when the
// connector dies the tracker says so and goes on scanning.
func TestProcessesConnectorFailureFallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fp := newFakeProc(t)
		p := NewProcesses([]ProcessConfig{{Name: "p", Process: []string{"svc"}, QuorumMax: -1}})
		p.root = fp.root
		s := newObsSink()
		st := newProcState(p.cfg, &procReader{root: fp.root}, s.sink)
		st.method = procMethodConnector
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		conn := &procConnector{f: r, events: make(chan procBatch), stop: make(chan struct{})}
		st.scan(time.Now(), true)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); p.follow(ctx, st, conn) }()

		fp.add(7, "svc", 'S', "svc")
		fp.add(8, "svc", 'S', "svc")
		conn.events <- procBatch{events: []procEvent{{what: procEventExec, pid: 7, tgid: 7}, {what: procEventExec, pid: 8, tgid: 8}}}
		synctest.Wait()
		if h := s.history("p"); len(h) != 2 || h[1].Value != 2 || h[1].Method != procMethodConnector {
			t.Fatalf("one report for a batch of two execs, by connector:\n%s", s.dump("p"))
		}
		conn.setErr(unix.EBADF)
		close(conn.events)
		synctest.Wait()
		if h := s.history("p"); len(h) != 3 || h[2].Value != 2 || h[2].Method != procMethodScan {
			t.Fatalf("fallback not reported:\n%s", s.dump("p"))
		}
		if !strings.Contains(p.Why(), "connector failed: bad file descriptor") {
			t.Errorf("Why() = %q", p.Why())
		}
		fp.del(8)
		time.Sleep(procScanEvery)
		synctest.Wait()
		s.await(t, "p", "scan after fallback", procIs(true, 1, procMethodScan))
		cancel()
		<-done
	})
}
