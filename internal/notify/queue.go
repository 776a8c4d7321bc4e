package notify

import (
	"errors"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/govrrp/govrrp/internal/scriptproc"
)

// job is one script run.
type job struct {
	what   string // keyword: notify_master, notify, ...
	state  string // what is being reported, for logs
	script *Script
	argv   []string
}

// queue runs one instance's (or group's) scripts one at a time, in order.
type queue struct {
	kind, name string // "instance"/"group", for logs
	log        *slog.Logger
	wake       chan struct{} // capacity 1: "jobs or closing changed"
	done       chan struct{} // closed when run returns

	mu      sync.Mutex
	jobs    []job // unbounded on purpose: nothing is ever dropped
	closing bool  // no more pushes; run returns once jobs is empty
	warnAt  int   // backlog length that is logged next

	// procMu is separate from mu so that push never waits for a fork.
	procMu sync.Mutex
	pid    int  // the running script's pid (and process group), 0 if none
	killed bool // Close gave up: run nothing more
}

// backlogWarn is the first queue length that is logged; each doubling
// after it is logged again.
const backlogWarn = 64

func newQueue(kind, name string, log *slog.Logger) *queue {
	return &queue{
		kind: kind, name: name, log: log,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		warnAt: backlogWarn,
	}
}

// push appends jobs; false once the queue is closing.
func (q *queue) push(jobs []job) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false
	}
	q.jobs = append(q.jobs, jobs...)
	if len(q.jobs) >= q.warnAt {
		q.log.Warn("notify: scripts are queueing up; one is slow or stuck", q.kind, q.name, "queued", len(q.jobs))
		q.warnAt *= 2
	}
	q.signal()
	return true
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close makes run return after the queued jobs.
func (q *queue) close() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	q.signal()
}

// next waits for the next job; false when closing with nothing queued, or
// killed.
func (q *queue) next() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.isKilled() {
			return job{}, false
		}
		if len(q.jobs) > 0 {
			j := q.jobs[0]
			q.jobs[0] = job{} // let the argv go
			q.jobs = q.jobs[1:]
			if len(q.jobs) < q.warnAt/4 && q.warnAt > backlogWarn {
				q.warnAt = backlogWarn
			}
			return j, true
		}
		if q.closing {
			return job{}, false
		}
		q.mu.Unlock()
		<-q.wake
		q.mu.Lock()
	}
}

func (q *queue) isKilled() bool {
	q.procMu.Lock()
	defer q.procMu.Unlock()
	return q.killed
}

func (q *queue) run() {
	defer close(q.done)
	for {
		j, ok := q.next()
		if !ok {
			return
		}
		q.exec(j)
	}
}

// exec runs one job to completion and logs how it ended.
func (q *queue) exec(j job) {
	log := q.log.With(q.kind, q.name, "script", j.what, "state", j.state)
	cmd := command(j.script, j.argv)
	if cmd.Err != nil {
		log.Error("notify: cannot run script", "argv", j.argv, "err", cmd.Err)
		return
	}
	start := time.Now()
	q.procMu.Lock()
	if q.killed {
		q.procMu.Unlock()
		return
	}
	// Start locks this goroutine to the thread the script's parent-death
	// signal is tied to; Wait, below on the same goroutine, unlocks it.
	err := scriptproc.Start(cmd)
	if err == nil {
		q.pid = cmd.Process.Pid
	}
	q.procMu.Unlock()
	if err != nil {
		log.Error("notify: cannot start script", "argv", j.argv, "err", err)
		return
	}
	err = scriptproc.Wait(cmd)
	q.procMu.Lock()
	q.pid = 0
	q.procMu.Unlock()
	logExit(log, j.argv, err, time.Since(start))
}

func logExit(log *slog.Logger, argv []string, err error, took time.Duration) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		log.Info("notify: script done", "argv", argv, "took", took)
	case errors.As(err, &ee):
		log.Warn("notify: script failed", "argv", argv, "status", ee.ProcessState.String(), "took", took)
	default:
		log.Error("notify: script wait", "argv", argv, "err", err)
	}
}

// kill is Close giving up: the running script's process group gets
// SIGKILL and what is still queued is dropped; both are logged.
func (q *queue) kill() {
	q.procMu.Lock()
	q.killed = true
	if q.pid != 0 {
		q.log.Error("notify: close timed out, killing the script's process group", q.kind, q.name, "pgid", q.pid)
		scriptproc.KillGroup(q.pid, syscall.SIGKILL)
	}
	q.procMu.Unlock()
	q.mu.Lock()
	dropped := len(q.jobs)
	q.jobs = nil
	q.mu.Unlock()
	q.signal()
	if dropped > 0 {
		q.log.Error("notify: close timed out, scripts not run", q.kind, q.name, "dropped", dropped)
	}
}
