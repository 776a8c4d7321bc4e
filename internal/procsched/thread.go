package procsched

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// taskDir lists the threads of this process.
const taskDir = "/proc/self/task"

// threads returns the ids of this process's threads now.
func threads() ([]int, error) {
	f, err := os.Open(taskDir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(names))
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// readThread reads a thread's attributes (tid 0: the calling thread).
func readThread(tid int) (threadAttr, error) {
	var a threadAttr
	sa, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return a, fmt.Errorf("sched_getattr %d: %w", tid, err)
	}
	a.policy, a.prio, a.nice = sa.Policy, sa.Priority, sa.Nice
	if err := unix.SchedGetaffinity(tid, &a.cpus); err != nil {
		return a, fmt.Errorf("sched_getaffinity %d: %w", tid, err)
	}
	a.comm, err = readComm(tid)
	return a, err
}

func commPath(tid int) string {
	if tid == 0 {
		return "/proc/thread-self/comm"
	}
	return taskDir + "/" + strconv.Itoa(tid) + "/comm"
}

func readComm(tid int) (string, error) {
	b, err := os.ReadFile(commPath(tid))
	return strings.TrimSuffix(string(b), "\n"), err
}

// schedOK says whether a thread's scheduling already is w's; a thread that
// has it was given the rest too (those are inherited from its creator).
func schedOK(tid int, w threadAttr) (bool, error) {
	sa, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return false, err
	}
	return sa.Policy == w.policy && sa.Priority == w.prio && (w.policy != unix.SCHED_NORMAL || sa.Nice == w.nice), nil
}

// setSched sets policy, priority and nice. Real-time comes with
// SCHED_FLAG_RESET_ON_FORK so that processes govrrp starts (scripts) are
// not real-time (keepalived: SCHED_RR|SCHED_RESET_ON_FORK).
func setSched(tid int, w threadAttr) error {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: w.policy, Priority: w.prio, Nice: w.nice}
	if w.policy != unix.SCHED_NORMAL {
		attr.Flags = unix.SCHED_FLAG_RESET_ON_FORK
		// sched_setattr ignores nice for real-time policies: set it apart.
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, int(w.nice)); err != nil {
			return fmt.Errorf("setpriority: %w", err)
		}
	}
	if err := unix.SchedSetAttr(tid, &attr, 0); err != nil {
		return fmt.Errorf("sched_setattr: %w", err)
	}
	return nil
}

// setThread gives one thread everything in w. A thread that exited in the
// meantime (ESRCH, ENOENT) is not an error.
func setThread(tid int, w threadAttr) error {
	err := setSched(tid, w)
	if err == nil {
		err = unix.SchedSetaffinity(tid, &w.cpus)
		if err != nil {
			err = fmt.Errorf("sched_setaffinity: %w", err)
		}
	}
	if err == nil {
		err = setComm(tid, w.comm)
	}
	if gone(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("thread %d: %w", tid, err)
	}
	return nil
}

func setComm(tid int, comm string) error {
	cur, err := readComm(tid)
	if err != nil || cur == comm {
		return err
	}
	return os.WriteFile(commPath(tid), []byte(comm), 0)
}

func gone(err error) bool {
	return errors.Is(err, unix.ESRCH) || errors.Is(err, os.ErrNotExist)
}
