package track

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// killGrace is how long a timed-out script's process group has between
// SIGTERM and SIGKILL. keepalived 2.2.7 was seen to send SIGKILL 2 s after
// SIGTERM (for timeouts of 2 s and 3 s alike).
const killGrace = 2 * time.Second

// daemonOnlyEnv are variables that describe the daemon's own systemd
// handshake; a script must not inherit them (a systemd-notify in a script
// would speak for the daemon).
var daemonOnlyEnv = []string{"NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_PID", "WATCHDOG_USEC"}

// ExecProber runs a vrrp_script command; its exit status is the verdict.
type ExecProber struct {
	argv  []string
	cred  *Credential
	grace time.Duration // SIGTERM to SIGKILL; tests shorten it
}

// NewExecProber returns a Prober that runs argv directly (no shell) as cred
// (nil: as the daemon itself). Each run:
//   - has its own process group, stdin, stdout and stderr on /dev/null (as
//     keepalived), no other file descriptors, the working directory /;
//   - gets the daemon's environment unchanged (keepalived 2.2.7 passes its
//     own environment, even to scripts run as another user), minus the
//     systemd handshake variables (daemonOnlyEnv);
//   - gets SIGTERM when the daemon dies (keepalived sets the same parent
//     death signal);
//   - when ctx ends, its process group gets SIGTERM, then SIGKILL after 2 s.
func NewExecProber(argv []string, cred *Credential) Prober {
	return &ExecProber{argv: argv, cred: cred, grace: killGrace}
}

// Method is "exec".
func (p *ExecProber) Method() string { return "exec" }

// Probe runs the command once. Status is the exit status, or -1 when the
// command did not exit by itself: it could not start, timed out, or was
// killed by a signal. A signal gives -1 rather than the shell's 128+n so a
// script that really exits 137 stays distinguishable from one SIGKILLed;
// Detail names the signal.
func (p *ExecProber) Probe(ctx context.Context) Outcome {
	if len(p.argv) == 0 {
		return Outcome{Status: -1, Detail: "cannot run: empty command"}
	}
	// The parent death signal fires when the forking thread exits, not the
	// process; keep this goroutine on its thread until the child is reaped
	// so no other goroutine can end the thread under it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := p.command()
	markInheritedCloexec()
	if err := cmd.Start(); err != nil {
		return Outcome{Status: -1, Detail: "cannot run: " + err.Error()}
	}
	timedOut := p.await(ctx, cmd.Process.Pid)
	err := cmd.Wait() // reaps the script
	if timedOut != nil {
		return Outcome{Status: -1, Detail: timedOut.Error()}
	}
	return outcomeOf(cmd.ProcessState, err)
}

// command builds the exec.Cmd for one run. Stdin, Stdout and Stderr stay nil
// so os/exec connects them to /dev/null.
func (p *ExecProber) command() *exec.Cmd {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = scriptEnv(os.Environ())
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if p.cred != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{
			Uid: p.cred.Uid, Gid: p.cred.Gid, Groups: p.cred.Groups,
		}
	}
	return cmd
}

// await waits for the script to exit without reaping it, so its pid (which
// is its process group id) cannot be recycled while we may still signal the
// group. When ctx ends first the group gets SIGTERM, then SIGKILL once the
// script exits or the grace runs out, whichever is first: a child that
// ignores SIGTERM must not outlive a timeout. It returns why the run was
// cut short, or nil.
func (p *ExecProber) await(ctx context.Context, pid int) error {
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		waitExited(pid)
	}()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
	}
	_ = unix.Kill(-pid, unix.SIGTERM)
	grace := time.NewTimer(p.grace)
	defer grace.Stop()
	select {
	case <-exited:
	case <-grace.C:
	}
	_ = unix.Kill(-pid, unix.SIGKILL)
	<-exited
	return cutShort(ctx)
}

// waitExited blocks until pid has exited, leaving it a zombie (WNOWAIT) for
// cmd.Wait to reap.
func waitExited(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// cutShort says why ctx ended: the runner's timeout cause names the
// configured timeout; anything else (the daemon stopping) is reported as is.
func cutShort(ctx context.Context) error {
	cause := context.Cause(ctx)
	var te timeoutError
	switch {
	case errors.As(cause, &te):
		return te
	case errors.Is(cause, context.DeadlineExceeded):
		return errors.New("timed out")
	}
	return fmt.Errorf("stopped: %w", cause)
}

// outcomeOf turns a finished run into an Outcome.
func outcomeOf(ps *os.ProcessState, err error) Outcome {
	if ps == nil {
		return Outcome{Status: -1, Detail: "cannot run: " + err.Error()}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled():
		return Outcome{Status: -1, Detail: fmt.Sprintf("killed by signal %d", int(ws.Signal()))}
	case ps.Exited():
		return Outcome{Status: ps.ExitCode(), Detail: fmt.Sprintf("exit %d", ps.ExitCode())}
	}
	return Outcome{Status: -1, Detail: "did not exit: " + ps.String()}
}

// scriptEnv is env without daemonOnlyEnv.
func scriptEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !isDaemonOnly(name) {
			out = append(out, kv)
		}
	}
	return out
}

func isDaemonOnly(name string) bool {
	for _, n := range daemonOnlyEnv {
		if n == name {
			return true
		}
	}
	return false
}

// markInheritedCloexec sets close-on-exec on every descriptor from 3 up.
// Go opens its own descriptors close-on-exec, but ones the daemon inherited
// without it (from a careless parent; keepalived 2.2.7 passes such
// descriptors on to its scripts) would leak into every script; os/exec
// cannot close them in the child, so they are marked here, before each
// start. ExtraFiles of other commands are unaffected: the child's dup2
// clears the flag.
func markInheritedCloexec() {
	if unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	// Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: walk /proc/self/fd.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}
