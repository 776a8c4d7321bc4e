package scriptproc

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Credential is who a script runs as.
type Credential struct {
	Uid, Gid uint32
	// Groups are the supplementary groups; empty means just Gid.
	Groups []uint32
}

// daemonOnlyEnv are the variables of the daemon's own systemd handshake; a
// script must not inherit them (a systemd-notify in a script would speak
// for the daemon).
var daemonOnlyEnv = []string{"NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_PID", "WATCHDOG_USEC"}

// errEmpty is what Start returns for a Command with no argv.
var errEmpty = errors.New("scriptproc: empty command")

// Command returns the command running argv as cred (nil: as the daemon)
// with everything the package comment promises but the descriptor sweep
// and the thread lock, which are Start's. A PATH lookup failure, or an
// empty argv, is in cmd.Err and returned by Start. Stdin, Stdout and
// Stderr are nil: os/exec connects them to /dev/null.
func Command(argv []string, cred *Credential) *exec.Cmd {
	if len(argv) == 0 {
		return &exec.Cmd{Err: errEmpty}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = scriptEnv(os.Environ())
	cmd.Dir = "/"
	cmd.SysProcAttr = sysProcAttr(credential(cred))
	return cmd
}

func credential(c *Credential) *syscall.Credential {
	if c == nil {
		return nil
	}
	groups := c.Groups
	if len(groups) == 0 {
		groups = []uint32{c.Gid}
	}
	return &syscall.Credential{Uid: c.Uid, Gid: c.Gid, Groups: groups}
}

// Start starts cmd (from Command) after marking every inherited descriptor
// close-on-exec. It locks the calling goroutine to its OS thread, which
// the child's parent-death signal is tied to; when Start returns nil that
// goroutine must call Wait(cmd), which reaps the child and unlocks. On an
// error nothing was started and the goroutine is unlocked again.
func Start(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	markInheritedCloexec()
	if err := cmd.Start(); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	return nil
}

// Wait reaps cmd (cmd.Wait) and releases the thread lock Start took. It
// must be called once, from the goroutine that started cmd.
func Wait(cmd *exec.Cmd) error {
	defer runtime.UnlockOSThread()
	return cmd.Wait()
}

// KillGroup sends sig to the process group led by pid; a pid <= 0 (no
// process) is ignored. A group that is gone is not an error worth
// reporting: the signal had nothing left to reach.
func KillGroup(pid int, sig syscall.Signal) {
	if pid > 0 {
		_ = syscall.Kill(-pid, sig)
	}
}

// scriptEnv is env without daemonOnlyEnv.
func scriptEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(daemonOnlyEnv, name) {
			out = append(out, kv)
		}
	}
	return out
}

// markFdDirCloexec sets close-on-exec on every descriptor from 3 up that
// dir (/proc/self/fd, /dev/fd) lists. Descriptors opened or closed
// meanwhile are harmless: new ones are Go's (close-on-exec already), and
// setting the flag on a closed one fails. ExtraFiles of other commands are
// unaffected: the child's dup2 clears the flag.
func markFdDirCloexec(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}
