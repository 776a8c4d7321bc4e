package procsched

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Manager holds the process to the last applied Settings.
type Manager struct {
	log  *slog.Logger
	base baseline

	mu     sync.Mutex // guards the fields below; Apply, the sweeper and Stats take it
	set    Settings
	rt     int // current real-time priority, automatic raises included
	want   threadAttr
	locked bool // mlockall in force
	raises int
	held   bool // Hold in force: threads at SCHED_OTHER until released
	fixed  int  // threads the sweeper had to (re)apply the settings to
	sweep  *sweeper
}

// Stats is what the manager has done, for logs and tests.
type Stats struct {
	RTPriority int // current, automatic raises included
	Raises     int // automatic raises since start
	Fixed      int // threads the sweeper gave the settings to
}

// New records the start-up baseline from the calling thread and process.
func New(log *slog.Logger) (*Manager, error) {
	t, err := readThread(0)
	if err != nil {
		return nil, fmt.Errorf("procsched: %w", err)
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_RTTIME, &rl); err != nil {
		return nil, fmt.Errorf("procsched: getrlimit RTTIME: %w", err)
	}
	mask := unix.Umask(0)
	unix.Umask(mask)
	m := &Manager{log: log, base: baseline{thread: t, rttime: rl, umask: mask, procsFromEnv: procsFromEnv()}}
	m.want = t
	return m, nil
}

// Apply makes every thread and the process match s (unset knobs: the
// baseline) and keeps new threads matching. The automatic priority starts
// again from s.RTPriority (keepalived applies the configured priority on
// reload). On error the settings applied so far stay; the caller reports it.
func (m *Manager) Apply(s Settings) error {
	if err := s.validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set, m.rt = s, s.RTPriority
	if err := m.applyLocked(); err != nil {
		return err
	}
	m.startStopSweeper()
	return nil
}

// applyLocked applies m.set at m.rt: process-wide first when that is the
// safer order (the RTTIME limit before any thread is real-time, after all
// have left it).
func (m *Manager) applyLocked() error {
	s := m.set
	m.want = m.base.want(s, m.rt)
	umask := m.base.umask
	if s.Umask != nil {
		umask = int(*s.Umask)
	}
	unix.Umask(umask)
	// Lock memory before going real-time: mlockall faults in every mapped
	// page, which on a SCHED_RR thread counts against RLIMIT_RTTIME
	// (keepalived 2.2.7 with vrrp_no_swap and vrrp_rt_priority was killed
	// by it at start, observed: "has rlimit_rttime been exceeded?").
	if s.NoSwap {
		if err := m.setLock(true); err != nil {
			return err
		}
	}
	if m.rt > 0 {
		if err := setRTTime(s.rtLimit()); err != nil {
			return err
		}
	}
	if err := m.allThreads(); err != nil {
		return err
	}
	m.matchProcs()
	if m.rt == 0 {
		m.restoreRTTime()
	}
	return m.setLock(s.NoSwap) // off again when a reload removed it
}

func setRTTime(rl unix.Rlimit) error {
	if err := unix.Setrlimit(unix.RLIMIT_RTTIME, &rl); err != nil {
		return fmt.Errorf("vrrp_rlimit_rttime: setrlimit RLIMIT_RTTIME %d/%d: %w", rl.Cur, rl.Max, err)
	}
	return nil
}

// restoreRTTime puts back the start-up RLIMIT_RTTIME once no thread is
// real-time. Raising a hard limit needs CAP_SYS_RESOURCE; without it the
// lower limit stays, which is harmless: it only bounds real-time threads.
func (m *Manager) restoreRTTime() {
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_RTTIME, &cur); err != nil || cur == m.base.rttime {
		return
	}
	if err := setRTTime(m.base.rttime); err != nil {
		m.log.Info("RLIMIT_RTTIME stays lowered (no CAP_SYS_RESOURCE to raise it); it only bounds real-time threads, and none is left",
			"soft", cur.Cur, "hard", cur.Max)
	}
}

// setLock is vrrp_no_swap: on, or off again on a reload without it (as
// keepalived 2.2.7 does, observed: VmLck goes back to 0).
func (m *Manager) setLock(on bool) error {
	switch {
	case on && !m.locked:
		// MCL_ONFAULT: lock pages as they are touched instead of faulting in
		// every mapping now. keepalived (C) uses MCL_CURRENT|MCL_FUTURE; in
		// Go that also populates the runtime's large, sparse reservations
		// (measured: a bare Go program's RSS went from 2 MB to 42 MB).
		// Touched pages are locked all the same, so nothing is swapped.
		if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
			return fmt.Errorf("vrrp_no_swap: mlockall: %w", err)
		}
	case !on && m.locked:
		if err := unix.Munlockall(); err != nil {
			return fmt.Errorf("vrrp_no_swap: munlockall: %w", err)
		}
	}
	m.locked = on
	return nil
}

// allThreads gives every current thread m.want, naming the knob on error.
func (m *Manager) allThreads() error {
	tids, err := threads()
	if err != nil {
		return fmt.Errorf("procsched: %w", err)
	}
	w := m.current()
	for _, tid := range tids {
		if err := setThread(tid, w); err != nil {
			return m.nameErr(err)
		}
	}
	return nil
}

// nameErr says which keyword a failing system call came from.
func (m *Manager) nameErr(err error) error {
	kw := "vrrp_priority"
	switch {
	case m.rt > 0:
		kw = "vrrp_rt_priority/max_auto_priority"
	case errors.Is(err, unix.EINVAL) && m.set.CPUs != nil:
		kw = "vrrp_cpu_affinity"
	}
	return fmt.Errorf("%s: %w", kw, err)
}

// Hold puts every thread at SCHED_OTHER (the other knobs stay) until the
// returned release runs, which restores the real-time priority. The daemon
// holds for its start-up and for each reload: parsing a file and building
// instances is CPU work without blocking, and a Go thread never blocks while
// goroutines are runnable, so RLIMIT_RTTIME's default 10 ms would punish it
// with SIGKILL (keepalived 2.2.7's child is killed so at start with 255
// instances and vrrp_rt_priority, measured; its parent restarts it 32 s
// later). An Apply while held takes effect at release. Release first
// collects the garbage of the held work (runtime.GC, which also finishes
// the sweep) while still SCHED_OTHER, so no GC or sweep backlog runs real-time
// right after it: the kills seen before this, at start with one instance,
// came in the runtime's background sweeper and scheduler (perf, on the
// killing tick).
func (m *Manager) Hold() (release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held {
		return func() {}
	}
	m.held = true
	m.lowerOrRestoreLocked("lowering to SCHED_OTHER for the configuration work")
	return func() {
		m.mu.Lock()
		rt := m.realtimeLocked()
		m.mu.Unlock()
		if rt {
			runtime.GC() // unlocked: Stats and the sweeper need not wait for it
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.held = false
		m.lowerOrRestoreLocked("restoring the real-time priority")
	}
}

// realtimeLocked says whether the threads are to be real-time (held or not).
func (m *Manager) realtimeLocked() bool { return m.want.policy != unix.SCHED_NORMAL }

// lowerOrRestoreLocked gives every thread m.current() after held changed;
// without a real-time priority there is nothing to change.
func (m *Manager) lowerOrRestoreLocked(what string) {
	if !m.realtimeLocked() {
		return
	}
	if err := m.allThreads(); err != nil {
		m.log.Error(what, "err", err)
	}
}

// current is what threads get now: m.want, or SCHED_OTHER while held.
func (m *Manager) current() threadAttr {
	w := m.want
	if m.held {
		w.policy, w.prio = unix.SCHED_NORMAL, 0
	}
	return w
}

// differs says whether any per-thread attribute is not the baseline, or the
// automatic priority may still change: then new threads need the sweeper.
func (m *Manager) differs() bool {
	b := m.base.thread
	return m.set.MaxAuto > 0 || m.want.policy != b.policy || m.want.prio != b.prio ||
		m.want.nice != b.nice || m.want.cpus != b.cpus || m.want.comm != b.comm
}

func (m *Manager) startStopSweeper() {
	switch on := m.differs(); {
	case on && m.sweep == nil:
		m.sweep = startSweeper(m)
	case !on && m.sweep != nil:
		m.sweep.stop()
		m.sweep = nil
	}
}

// Stats reports the current priority and what the sweeper did.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{RTPriority: m.rt, Raises: m.raises, Fixed: m.fixed}
}

// Close stops the sweeper; the process keeps its settings until it exits.
func (m *Manager) Close() {
	m.mu.Lock()
	s := m.sweep
	m.sweep = nil
	m.mu.Unlock()
	if s != nil {
		s.stop()
	}
}

// sweeper is the one goroutine that keeps new threads in line and samples
// lateness for the automatic priority.
type sweeper struct {
	quit chan struct{}
	done chan struct{}
}

func startSweeper(m *Manager) *sweeper {
	s := &sweeper{quit: make(chan struct{}), done: make(chan struct{})}
	go s.run(m)
	return s
}

func (s *sweeper) stop() {
	close(s.quit)
	<-s.done
}

func (s *sweeper) run(m *Manager) {
	defer close(s.done)
	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, unix.SIGXCPU)
	defer signal.Stop(xcpu)
	t := time.NewTimer(SweepPeriod)
	defer t.Stop()
	due := time.Now().Add(SweepPeriod)
	for {
		select {
		case <-s.quit:
			return
		case <-xcpu:
			// The soft RLIMIT_RTTIME: a thread ran half the hard limit
			// without blocking; at the hard limit the kernel kills us.
			m.log.Warn("a real-time thread reached the soft RLIMIT_RTTIME (vrrp_rlimit_rttime/2) without blocking; at the hard limit the kernel kills govrrp")
		case now := <-t.C:
			m.tick(now.Sub(due))
			due = time.Now().Add(SweepPeriod)
			t.Reset(SweepPeriod)
		}
	}
}

// tick is one sweep: raise the priority if this wake-up was late, then give
// every thread that lacks them the settings.
func (m *Manager) tick(late time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if next, ok := nextAuto(m.rt, m.set, late); ok && !m.held {
		m.rt = next
		m.raises++
		m.log.Warn("scheduled late: raising the real-time priority (max_auto_priority)", "late", late,
			"min_auto_priority_delay", m.set.minAutoDelay(), "rt_priority", next)
		if err := m.applyLocked(); err != nil {
			m.log.Error("raising the real-time priority failed", "err", err)
		}
		return
	}
	m.sweepLocked()
}

// sweepLocked re-applies the settings to threads whose scheduling is not
// m.want (new threads: SCHED_RESET_ON_FORK dropped the real-time policy).
func (m *Manager) sweepLocked() {
	tids, err := threads()
	if err != nil {
		m.log.Error("listing threads", "err", err)
		return
	}
	w := m.current()
	for _, tid := range tids {
		ok, err := schedOK(tid, w)
		if gone(err) || ok {
			continue
		}
		if err := setThread(tid, w); err != nil {
			m.log.Error("applying process settings to a new thread", "tid", tid, "err", err)
			continue
		}
		m.fixed++
	}
}
