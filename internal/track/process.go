package track

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/nlbuf"
)

// ProcessConfig is one vrrp_track_process block.
type ProcessConfig struct {
	Name string // block name, reported as Result.Name
	// Process is the process keyword: the name, then optional parameters.
	Process []string
	// ParamMatch is param_match: "" (parameters, if any, must be exactly
	// Process[1:]), "partial" (Process[1:] is a prefix of the parameters),
	// "initial" (like partial, and the last one may be a prefix of the
	// parameter it is compared with). "exact" is "" spelled out, except that
	// with no parameters it requires the process to have none, which is
	// what keepalived's manual promises for param_match without parameters.
	ParamMatch string
	// FullCommand is full_command: compare Process[0] with argv[0] of
	// /proc/PID/cmdline even when there are no parameters.
	FullCommand bool
	// Quorum and QuorumMax bound the number of matching processes for OK;
	// QuorumMax < 0 means no maximum. QuorumMax 0 means "fail while any
	// runs" and implies Quorum 0 (as keepalived); otherwise a Quorum below
	// 1 is keepalived's default 1.
	Quorum, QuorumMax int
	// ForkDelay and TerminateDelay are fork_delay and terminate_delay
	// (`delay` sets both): how long after a matching process appears by
	// fork, or one goes away, the state is re-evaluated.
	ForkDelay, TerminateDelay time.Duration
}

// Processes counts running processes that match vrrp_track_process
// blocks, the way keepalived 2.2 does, observed with keepalived 2.2.7:
//
//   - No parameters, no param_match, no full_command: the name is
//     compared with the process name, /proc/PID/comm, which the kernel
//     truncates to 15 bytes. keepalived compares a longer name as is, so
//     it never matches; govrrp compares its first 15 bytes (deliberate).
//   - Otherwise the name is compared with argv[0] of /proc/PID/cmdline
//     ("sleep" does not match a process started as "/usr/bin/sleep") and
//     the parameters are compared per ParamMatch. Changes of a cmdline
//     after exec are not seen (as keepalived); changes of comm are.
//   - Zombies do not count; threads are not processes.
//   - The state is re-evaluated at once when a matching process appears by
//     exec or rename, ForkDelay after one appears by fork, TerminateDelay
//     after one exits or stops matching; a later event replaces a pending
//     re-evaluation, an immediate one cancels it. So with terminate_delay a
//     process restarted within the delay causes no report at all, and a
//     count that drops back into range from above quorum_max is also
//     only reported after terminate_delay (both as keepalived).
//
// keepalived learns of processes from the kernel's process events
// connector (netlink NETLINK_CONNECTOR, CN_IDX_PROC), which the kernel
// only serves to listeners in the initial network and PID namespaces;
// under `ip netns exec` keepalived 2.2.7 logs "Failed to set/clear process
// event listen - errno 111" and never sees a process start. govrrp uses the
// connector when it works ("proc-connector": the kernel confirms the
// subscription) and otherwise scans /proc every procScanEvery
// ("proc-scan"); Why says which and why. In scan mode a fork cannot be
// told from an exec, so every new matching process waits ForkDelay.
type Processes struct {
	cfg []ProcessConfig

	// Test hooks: root is the proc file system ("/proc"); a root other than
	// "/proc" implies scan mode. scanOnly skips the connector.
	root      string
	scanOnly  bool
	scanEvery time.Duration

	mu  sync.Mutex
	why string // guarded by mu: set when Run has chosen its method
}

// procScanEvery is the /proc scan interval when the connector cannot be
// used. BenchmarkProcScan measured a scan at about 4 µs per process
// reading comm only and 7-9 µs reading cmdline as well (2-vCPU Xeon VM,
// ~80 processes: 0.35 ms and 0.6-0.8 ms per scan). A 500-process host
// thus pays 2-4 ms per scan, 0.2-0.4% of one core at once a second: the
// price of the `pgrep` vrrp_script it replaces at the default vrrp_script
// interval of 1 s. A process death is then seen within a second, well
// inside the 3 s master-down interval of the default 1 s advert_int, so
// the failover a dead service causes is not delayed beyond what a
// track_script would give. Faster scans buy little and cost linearly.
const procScanEvery = time.Second

// NewProcesses returns a tracker for the given vrrp_track_process blocks.
func NewProcesses(procs []ProcessConfig) *Processes {
	cfg := make([]ProcessConfig, len(procs))
	for i, c := range procs {
		c.Process = slices.Clone(c.Process)
		switch {
		case c.QuorumMax == 0:
			c.Quorum = 0
		case c.Quorum < 1:
			c.Quorum = 1
		}
		if c.QuorumMax > 0 && c.Quorum > c.QuorumMax {
			c.Quorum = c.QuorumMax
		}
		cfg[i] = c
	}
	return &Processes{cfg: cfg, root: "/proc", scanEvery: procScanEvery}
}

// Result.Method values for processes.
const (
	procMethodConnector = "proc-connector"
	procMethodScan      = "proc-scan"
)

// Why says how Run learns of processes and, for a scan, why the connector
// could not be used. It is empty until Run has decided.
func (p *Processes) Why() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.why
}

func (p *Processes) setWhy(s string) {
	p.mu.Lock()
	p.why = s
	p.mu.Unlock()
}

// Run reports every block once, then whenever its count or OK changes
// (subject to the delays), until ctx ends.
func (p *Processes) Run(ctx context.Context, report Sink) {
	st := newProcState(p.cfg, &procReader{root: p.root}, report)
	var conn *procConnector
	if !p.scanOnly && p.root == "/proc" {
		var err error
		if conn, err = openProcConnector(procAckWait); err != nil {
			p.setWhy(fmt.Sprintf("%s every %v: process events connector unusable: %v", procMethodScan, p.scanEvery, err))
		}
	} else {
		p.setWhy(fmt.Sprintf("%s every %v: asked to scan", procMethodScan, p.scanEvery))
	}
	if conn != nil {
		defer conn.close()
		p.setWhy(procMethodConnector + ": kernel confirmed the subscription")
		st.method = procMethodConnector
	}
	// Subscribed first, scanned second: a process that starts in between is
	// both seen and queued, and applying its event again is harmless.
	st.scan(time.Now(), true)
	if conn == nil {
		p.scanLoop(ctx, st)
		return
	}
	p.follow(ctx, st, conn)
}

// follow applies connector events and, should the connector fail, goes
// on scanning.
func (p *Processes) follow(ctx context.Context, st *procState, conn *procConnector) {
	err := p.eventLoop(ctx, st, conn)
	if err == nil {
		return
	}
	p.setWhy(fmt.Sprintf("%s every %v: process events connector failed: %v", procMethodScan, p.scanEvery, err))
	st.method = procMethodScan
	conn.close()
	now := time.Now()
	st.scan(now, false)
	st.evaluateIdle(now) // the method changed: say so
	p.scanLoop(ctx, st)
}

// scanLoop rescans /proc every scanEvery and runs due re-evaluations.
func (p *Processes) scanLoop(ctx context.Context, st *procState) {
	tick := time.NewTicker(p.scanEvery)
	defer tick.Stop()
	due := newDueTimer()
	defer due.stop()
	for {
		due.set(st.nextDue())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			st.scan(time.Now(), false)
		case <-due.c():
			st.evaluateDue(time.Now())
		}
	}
}

// eventLoop applies connector events until ctx ends (nil) or the
// connector fails (its error).
func (p *Processes) eventLoop(ctx context.Context, st *procState, conn *procConnector) error {
	due := newDueTimer()
	defer due.stop()
	for {
		due.set(st.nextDue())
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-conn.events:
			if !ok {
				return conn.err()
			}
			if b.overflow {
				st.scan(time.Now(), false) // events were lost: resynchronise
			}
			now := time.Now()
			for _, ev := range b.events {
				st.apply(ev, now)
			}
			st.flush(now)
		case <-due.c():
			st.evaluateDue(time.Now())
		}
	}
}

// dueTimer is one timer re-armed for the earliest pending re-evaluation.
type dueTimer struct {
	t  *time.Timer
	at time.Time
}

func newDueTimer() *dueTimer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &dueTimer{t: t}
}

// set arms the timer for at (zero: disarm).
func (d *dueTimer) set(at time.Time) {
	if at.Equal(d.at) {
		return
	}
	d.at = at
	d.t.Stop()
	if !at.IsZero() {
		d.t.Reset(time.Until(at))
	}
}

func (d *dueTimer) c() <-chan time.Time { return d.t.C }
func (d *dueTimer) stop()               { d.t.Stop() }

// procMatcher is one block's matching rule.
type procMatcher struct {
	name   string
	params []string
	match  string // "", "exact", "partial", "initial"
	argv0  bool   // compare name with argv[0], else with comm
}

// commLen is TASK_COMM_LEN-1: the kernel keeps this many bytes of a name.
const commLen = 15

func newProcMatcher(c ProcessConfig) procMatcher {
	m := procMatcher{match: c.ParamMatch}
	if len(c.Process) > 0 {
		m.name, m.params = c.Process[0], c.Process[1:]
	}
	m.argv0 = c.FullCommand || len(m.params) > 0 || c.ParamMatch != ""
	if !m.argv0 && len(m.name) > commLen {
		m.name = m.name[:commLen]
	}
	return m
}

// matches tells whether a process with this comm and argv matches.
func (m procMatcher) matches(comm string, argv []string) bool {
	if m.name == "" {
		return false
	}
	if !m.argv0 {
		return comm == m.name
	}
	if len(argv) == 0 || argv[0] != m.name {
		return false
	}
	args := argv[1:]
	switch m.match {
	case "partial":
		return len(args) >= len(m.params) && slices.Equal(args[:len(m.params)], m.params)
	case "initial":
		return initialMatch(args, m.params)
	case "exact":
		return slices.Equal(args, m.params)
	}
	// No param_match: parameters, when configured, must be exactly those.
	return len(m.params) == 0 || slices.Equal(args, m.params)
}

// initialMatch: params are a prefix of args, the last one as a string
// prefix of its counterpart.
func initialMatch(args, params []string) bool {
	n := len(params)
	if n == 0 {
		return true
	}
	if len(args) < n || !slices.Equal(args[:n-1], params[:n-1]) {
		return false
	}
	return len(args[n-1]) >= len(params[n-1]) && args[n-1][:len(params[n-1])] == params[n-1]
}

// procEntry is a process that matches at least one block.
type procEntry struct {
	comm string
	argv []string
	in   []int // indexes of the blocks it matches, ascending
}

// procState is the tracker's whole state; one goroutine owns it.
type procState struct {
	cfg      []ProcessConfig
	matchers []procMatcher
	needArgv bool // some block compares argv: cmdline must be read
	rd       *procReader
	report   Sink
	method   string

	members  map[int]procEntry // pid (tgid) -> what it matches
	counts   []int
	due      []time.Time // pending re-evaluation per block; zero: none
	now      []bool      // re-evaluate at the next flush
	reported []Result
	have     []bool // reported[i] is valid
}

func newProcState(cfg []ProcessConfig, rd *procReader, report Sink) *procState {
	st := &procState{cfg: cfg, rd: rd, report: report, method: procMethodScan,
		members: map[int]procEntry{}, counts: make([]int, len(cfg)), due: make([]time.Time, len(cfg)), now: make([]bool, len(cfg)),
		reported: make([]Result, len(cfg)), have: make([]bool, len(cfg))}
	for _, c := range cfg {
		m := newProcMatcher(c)
		st.matchers = append(st.matchers, m)
		st.needArgv = st.needArgv || m.argv0
	}
	return st
}

// matching lists the blocks a process matches.
func (st *procState) matching(comm string, argv []string) []int {
	var in []int
	for i, m := range st.matchers {
		if m.matches(comm, argv) {
			in = append(in, i)
		}
	}
	return in
}

// set records what pid now matches; blocks it joins are re-evaluated
// after join(i), blocks it leaves after their TerminateDelay.
func (st *procState) set(pid int, e procEntry, now time.Time, join func(i int) time.Duration) {
	old := st.members[pid].in
	if len(e.in) == 0 {
		delete(st.members, pid)
	} else {
		st.members[pid] = e
	}
	for _, i := range old {
		if !slices.Contains(e.in, i) {
			st.counts[i]--
			st.schedule(i, now, st.cfg[i].TerminateDelay)
		}
	}
	for _, i := range e.in {
		if !slices.Contains(old, i) {
			st.counts[i]++
			st.schedule(i, now, join(i))
		}
	}
}

func (st *procState) remove(pid int, now time.Time) {
	if _, ok := st.members[pid]; ok {
		st.set(pid, procEntry{}, now, nil)
	}
}

func noDelay(int) time.Duration { return 0 }

func (st *procState) forkDelay(i int) time.Duration { return st.cfg[i].ForkDelay }

// schedule re-evaluates block i at the next flush (d <= 0, cancelling
// any pending re-evaluation) or at now+d (replacing a pending one).
func (st *procState) schedule(i int, now time.Time, d time.Duration) {
	if d <= 0 {
		st.due[i], st.now[i] = time.Time{}, true
		return
	}
	st.due[i] = now.Add(d)
}

// flush runs the immediate re-evaluations scheduled since the last flush:
// the changes one scan or one batch of events brings are reported once.
func (st *procState) flush(now time.Time) {
	for i, due := range st.now {
		if due {
			st.now[i] = false
			st.evaluate(i, now)
		}
	}
}

// evaluateDue runs the re-evaluations due at now.
func (st *procState) evaluateDue(now time.Time) {
	for i, at := range st.due {
		if !at.IsZero() && !at.After(now) {
			st.due[i] = time.Time{}
			st.evaluate(i, now)
		}
	}
}

// evaluateIdle re-evaluates the blocks with nothing pending (those with a
// pending re-evaluation report when it is due).
func (st *procState) evaluateIdle(now time.Time) {
	for i, at := range st.due {
		if at.IsZero() {
			st.evaluate(i, now)
		}
	}
}

// nextDue is the earliest pending re-evaluation, zero if none.
func (st *procState) nextDue() time.Time {
	var next time.Time
	for _, at := range st.due {
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}

// evaluate reports block i if its count, OK or method changed.
func (st *procState) evaluate(i int, now time.Time) {
	c, n := st.cfg[i], st.counts[i]
	ok := n >= c.Quorum && (c.QuorumMax < 0 || n <= c.QuorumMax)
	q := strconv.Itoa(c.Quorum)
	if c.QuorumMax >= 0 {
		q += ", max " + strconv.Itoa(c.QuorumMax)
	}
	r := Result{Kind: KindProcess, Name: c.Name, OK: ok, Value: n,
		Detail: fmt.Sprintf("%d running (quorum %s)", n, q), Method: st.method}
	if p := st.reported[i]; st.have[i] && p.OK == r.OK && p.Value == r.Value && p.Method == r.Method {
		return
	}
	st.reported[i], st.have[i] = r, true
	r.At = now
	st.report(r)
}

// scan reads all of /proc and brings members up to date. The initial scan
// reports every block; later ones treat new processes as forks (a scan
// cannot tell) and vanished ones as exits.
func (st *procState) scan(now time.Time, initial bool) {
	pids, err := st.rd.pids()
	if err != nil {
		return // keep what we know; the next scan or event retries
	}
	seen := make(map[int]bool, len(st.members))
	join := st.forkDelay
	if initial {
		join = noDelay
	}
	for _, pid := range pids {
		e, ok := st.read(pid)
		if !ok || len(e.in) == 0 {
			continue
		}
		seen[pid] = true
		st.set(pid, e, now, join)
	}
	for pid := range st.members {
		if !seen[pid] {
			st.remove(pid, now)
		}
	}
	if initial {
		for i := range st.cfg {
			st.schedule(i, now, 0)
		}
	}
	st.flush(now)
}

// read reads pid's comm (and argv if needed) and what it matches; false
// when it is gone or a zombie.
func (st *procState) read(pid int) (procEntry, bool) {
	comm, zombie, err := st.rd.stat(pid)
	if err != nil || zombie {
		return procEntry{}, false
	}
	var argv []string
	if st.needArgv {
		if argv, err = st.rd.cmdline(pid); err != nil {
			return procEntry{}, false
		}
	}
	return procEntry{comm: comm, argv: argv, in: st.matching(comm, argv)}, true
}

// apply handles one connector event.
func (st *procState) apply(ev procEvent, now time.Time) {
	switch ev.what {
	case procEventExec:
		if e, ok := st.read(ev.tgid); ok {
			st.set(ev.tgid, e, now, noDelay)
		} else {
			st.remove(ev.tgid, now)
		}
	case procEventFork:
		// A new thread is not a process; a new process is a copy of its
		// parent, so it matches what the parent matches.
		if parent, ok := st.members[ev.ptgid]; ok && ev.pid == ev.tgid {
			st.set(ev.tgid, parent, now, st.forkDelay)
		}
	case procEventComm:
		if ev.pid == ev.tgid { // a thread's name is not the process's
			st.rename(ev.tgid, ev.comm, now)
		}
	case procEventExit:
		if ev.pid == ev.tgid {
			st.remove(ev.tgid, now)
		}
	}
}

// rename handles a new comm: argv-based verdicts cannot change with it,
// comm-based ones are recomputed.
func (st *procState) rename(pid int, comm string, now time.Time) {
	old, member := st.members[pid]
	e := procEntry{comm: comm, argv: old.argv}
	for i, m := range st.matchers {
		if m.argv0 && member && slices.Contains(old.in, i) || !m.argv0 && m.matches(comm, nil) {
			e.in = append(e.in, i)
		}
	}
	if !member && len(e.in) > 0 && st.needArgv {
		e.argv, _ = st.rd.cmdline(pid) // kept for later renames
	}
	st.set(pid, e, now, noDelay)
}

// procReader reads the few /proc files matching needs. Not safe for
// concurrent use (it reuses a buffer).
type procReader struct {
	root string
	buf  []byte
}

// pids lists the processes (thread group leaders) under root.
func (r *procReader) pids() ([]int, error) {
	d, err := os.Open(r.root)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] < '1' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// procFileLimit bounds a cmdline read; parameters beyond it are not seen.
const procFileLimit = 64 * 1024

// readFile reads root/pid/name into r.buf. Raw syscalls, not os.Open:
// a scan does this for every process, and os.File adds a poller
// registration attempt and allocations per file (about a third of the
// cost, measured with BenchmarkProcScan).
func (r *procReader) readFile(pid int, name string) ([]byte, error) {
	path := r.root + "/" + strconv.Itoa(pid) + "/" + name
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if r.buf == nil {
		r.buf = make([]byte, 4096)
	}
	n := 0
	// proc files may come in several reads; 64 reads reach the limit.
	for tries := 0; n < procFileLimit && tries < 64; tries++ {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := unix.Read(fd, r.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			break
		}
		n += m
	}
	return r.buf[:min(n, procFileLimit)], nil
}

// stat reads comm and whether the process is a zombie from
// /proc/PID/stat ("pid (comm) S ..."; comm may hold spaces and parens).
func (r *procReader) stat(pid int) (comm string, zombie bool, err error) {
	b, err := r.readFile(pid, "stat")
	if err != nil {
		return "", false, err
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return "", false, fmt.Errorf("proc %d: malformed stat", pid)
	}
	state := b[end+2]
	return string(b[open+1 : end]), state == 'Z' || state == 'X', nil
}

// cmdline reads argv from /proc/PID/cmdline (NUL-separated).
func (r *procReader) cmdline(pid int) ([]string, error) {
	b, err := r.readFile(pid, "cmdline")
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil, nil // kernel thread, or exited
	}
	parts := bytes.Split(b, []byte{0})
	argv := make([]string, len(parts))
	for i, p := range parts {
		argv[i] = string(p)
	}
	return argv, nil
}

// Process events connector (linux/cn_proc.h, linux/connector.h).
const (
	cnIdxProc         = 1 // CN_IDX_PROC: also the multicast group
	cnValProc         = 1 // CN_VAL_PROC
	procCnMcastListen = 1 // PROC_CN_MCAST_LISTEN
	procCnMcastIgnore = 2 // PROC_CN_MCAST_IGNORE

	procEventNone = 0x00000000 // also the kernel's acknowledgement
	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventComm = 0x00000200
	procEventExit = 0x80000000

	cnMsgLen     = 20 // struct cn_msg without data
	procEvHdrLen = 16 // what, cpu, timestamp_ns: event_data starts here
)

// procAckWait bounds the wait for the kernel to confirm the subscription.
// It answers in microseconds where it will answer at all; where it will
// not (a PID namespace other than the initial one) this is start-up delay.
const procAckWait = time.Second

// procConnRcvBuf is the socket receive buffer asked for without
// process_monitor_rcv_bufs. keepalived's manual measured 212992 bytes too
// small for 1400 processes exiting at once and 500000 enough; an overflow
// costs a /proc rescan, not a miss. (keepalived itself leaves the kernel's
// default without the keyword; govrrp asks for more.)
const procConnRcvBuf = 1 << 20

// procBuf is keepalived's process_monitor_rcv_bufs[_force]; nil: the
// default above. Process-wide, like the global_defs keyword; read when a
// connector socket is opened (a reload applies it to the next one).
var procBuf atomic.Pointer[nlbuf.Buf]

// SetProcessMonitorReceiveBuffer sets the receive buffer of the process
// events connector sockets opened from now on; size 0 restores govrrp's
// default. As keepalived 2.2.7 (strace: setsockopt right after bind),
// force uses SO_RCVBUFFORCE (root; past /proc/sys/net/core/rmem_max),
// otherwise SO_RCVBUF, which the kernel caps at rmem_max.
func SetProcessMonitorReceiveBuffer(size int, force bool) {
	if size <= 0 {
		procBuf.Store(nil)
		return
	}
	procBuf.Store(&nlbuf.Buf{Size: size, Force: force})
}

// ProcessMonitorReceiveBuffer is the setting in force (0: the default).
func ProcessMonitorReceiveBuffer() (size int, force bool) {
	if b := procBuf.Load(); b != nil {
		return b.Size, b.Force
	}
	return 0, false
}

// sizeProcConn applies the configured (or default) receive buffer to a
// connector socket. Best effort, as keepalived: a refused SO_RCVBUFFORCE
// falls back to SO_RCVBUF; an overflow is recovered by a rescan.
func sizeProcConn(fd int) {
	size, force := procConnRcvBuf, true // default: as large as allowed
	if b := procBuf.Load(); b != nil {
		size, force = b.Size, b.Force
	}
	if force && unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) == nil {
		return
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size)
}

// procEvent is the part of a proc_event the tracker uses.
type procEvent struct {
	what      uint32
	pid, tgid int // the task concerned (child for forks)
	ptgid     int // forks: the parent process
	comm      string
	ack       uint32 // procEventNone: the acknowledged nonce+1
	err       uint32
}

// procBatch is what one socket read brought; overflow means the kernel
// dropped events (ENOBUFS) and the state must be rebuilt from /proc.
type procBatch struct {
	events   []procEvent
	overflow bool
}

// procConnector is a subscribed connector socket and its reader goroutine.
type procConnector struct {
	f      *os.File
	events chan procBatch // closed when the reader ends
	stop   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	lastErr error // guarded by mu: why the reader ended
	once    sync.Once
}

// openProcConnector subscribes to process events and waits for the
// kernel's acknowledgement, which proves events will be delivered.
func openProcConnector(wait time.Duration) (*procConnector, error) {
	if other, why := inOtherNetns(); other {
		return nil, fmt.Errorf("%s (the kernel sends process events to the initial one only)", why)
	}
	f, err := procConnSocket()
	if err != nil {
		return nil, err
	}
	nonce := uint32(time.Now().UnixNano())
	if err := procConnSend(f, procCnMcastListen, nonce); err != nil {
		f.Close()
		if errors.Is(err, unix.ECONNREFUSED) {
			err = fmt.Errorf("%w (not the initial network namespace?)", err)
		}
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if err := procConnAwaitAck(f, nonce, wait); err != nil {
		_ = procConnSend(f, procCnMcastIgnore, nonce)
		f.Close()
		return nil, err
	}
	c := &procConnector{f: f, events: make(chan procBatch, 16), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.read()
	return c, nil
}

// inOtherNetns compares the calling thread's network namespace (the one
// the socket will be created in) with PID 1's. It cannot tell when
// /proc/1/ns/net is unreadable (containers often hide it, as here); then
// the subscription itself decides: the kernel refuses it with
// ECONNREFUSED outside the initial network namespace.
func inOtherNetns() (bool, string) {
	self, err1 := os.Readlink("/proc/thread-self/ns/net")
	initNs, err2 := os.Readlink("/proc/1/ns/net")
	if err1 != nil || err2 != nil || self == initNs {
		return false, ""
	}
	return true, fmt.Sprintf("network namespace %s is not the initial %s", self, initNs)
}

// procConnSocket opens a NETLINK_CONNECTOR socket bound to the proc
// events group, non-blocking inside an *os.File so reads park in the
// runtime poller and Close wakes them.
func procConnSocket() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind: %w", err)
	}
	sizeProcConn(fd) // process_monitor_rcv_bufs[_force]
	return os.NewFile(uintptr(fd), "proc-connector"), nil
}

// procConnSend sends PROC_CN_MCAST_LISTEN or _IGNORE to the kernel. The
// kernel acknowledges with cn_msg.ack = nonce+1 (its seq is its own
// counter), to every listener: a random nonce tells our ack from others'.
func procConnSend(f *os.File, op, nonce uint32) error {
	b := make([]byte, unix.NLMSG_HDRLEN+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.NLMSG_DONE)
	ne.PutUint32(b[12:], uint32(os.Getpid()))
	cn := b[unix.NLMSG_HDRLEN:]
	ne.PutUint32(cn[0:], cnIdxProc)
	ne.PutUint32(cn[4:], cnValProc)
	ne.PutUint32(cn[12:], nonce)
	ne.PutUint16(cn[16:], 4)
	ne.PutUint32(cn[cnMsgLen:], op)
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	return errors.Join(err, serr)
}

// procConnAwaitAck reads until the kernel acknowledges our subscription
// (a PROC_EVENT_NONE with our nonce+1: the group is shared with every
// other listener, who see our ack and we theirs). Events before it are
// dropped: the /proc scan that follows covers them.
func procConnAwaitAck(f *os.File, nonce uint32, wait time.Duration) error {
	if err := f.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return err
	}
	defer f.SetReadDeadline(time.Time{})
	buf := make([]byte, 16*1024)
	for range 10000 { // the deadline rules; this only bounds the loop
		n, err := f.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("no acknowledgement within %v (not the initial PID namespace?)", wait)
		}
		if err != nil && !errors.Is(err, unix.ENOBUFS) {
			return fmt.Errorf("read: %w", err)
		}
		for _, ev := range parseProcEvents(buf[:n]) {
			if ev.what == procEventNone && ev.ack == nonce+1 {
				if ev.err != 0 {
					return fmt.Errorf("kernel refused: %w", unix.Errno(ev.err))
				}
				return nil
			}
		}
	}
	return errors.New("no acknowledgement among 10000 messages")
}

// read is the reader goroutine: one batch per datagram until closed.
func (c *procConnector) read() {
	defer c.wg.Done()
	defer close(c.events)
	buf := make([]byte, 16*1024)
	for {
		n, err := c.f.Read(buf)
		var b procBatch
		switch {
		case errors.Is(err, unix.ENOBUFS):
			b.overflow = true
		case err != nil:
			c.setErr(err)
			return
		default:
			if b.events = parseProcEvents(buf[:n]); len(b.events) == 0 {
				continue
			}
		}
		select {
		case c.events <- b:
		case <-c.stop:
			return
		}
	}
}

func (c *procConnector) setErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

// err is why the reader ended.
func (c *procConnector) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastErr == nil {
		return errors.New("reader ended")
	}
	return c.lastErr
}

// close unsubscribes (so the kernel stops generating events if we were
// the last listener), closes the socket and waits for the reader.
func (c *procConnector) close() {
	c.once.Do(func() {
		close(c.stop)
		_ = procConnSend(c.f, procCnMcastIgnore, 0)
		c.f.Close()
		c.wg.Wait()
	})
}

// parseProcEvents decodes the proc_event messages of one datagram.
func parseProcEvents(b []byte) []procEvent {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return nil
	}
	var out []procEvent
	for _, m := range msgs {
		if ev, ok := parseProcEvent(m.Data); ok {
			out = append(out, ev)
		}
	}
	return out
}

// parseProcEvent decodes cn_msg + proc_event.
func parseProcEvent(d []byte) (procEvent, bool) {
	ne := binary.NativeEndian
	if len(d) < cnMsgLen+procEvHdrLen+8 || ne.Uint32(d[0:]) != cnIdxProc || ne.Uint32(d[4:]) != cnValProc {
		return procEvent{}, false
	}
	ev := procEvent{ack: ne.Uint32(d[12:])}
	p := d[cnMsgLen:]
	ev.what = ne.Uint32(p[0:])
	data := p[procEvHdrLen:]
	u32 := func(off int) int {
		if off+4 > len(data) {
			return 0
		}
		return int(ne.Uint32(data[off:]))
	}
	switch ev.what {
	case procEventNone:
		ev.err = uint32(u32(0))
	case procEventFork: // parent_pid, parent_tgid, child_pid, child_tgid
		ev.ptgid, ev.pid, ev.tgid = u32(4), u32(8), u32(12)
	case procEventExec, procEventExit: // process_pid, process_tgid, ...
		ev.pid, ev.tgid = u32(0), u32(4)
	case procEventComm: // process_pid, process_tgid, comm[16]
		ev.pid, ev.tgid = u32(0), u32(4)
		if len(data) >= 8+16 {
			ev.comm = cString(data[8 : 8+16])
		}
	default:
		return procEvent{}, false
	}
	return ev, true
}
