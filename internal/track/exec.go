package track

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/scriptproc"
)

// killGrace is how long a timed-out script's process group has between
// SIGTERM and SIGKILL. keepalived 2.2.7 was seen to send SIGKILL 2 s after
// SIGTERM (for timeouts of 2 s and 3 s alike).
const killGrace = 2 * time.Second

// ExecProber runs a vrrp_script command; its exit status is the verdict.
type ExecProber struct {
	argv  []string
	cred  *Credential
	grace time.Duration // SIGTERM to SIGKILL; tests shorten it
}

// NewExecProber returns a Prober that runs argv directly (no shell) as cred
// (nil: as the daemon itself). Each run is started by scriptproc: its own
// process group, stdin, stdout and stderr on /dev/null (as keepalived), no
// other file descriptors, the working directory /, the daemon's environment
// minus the systemd handshake variables, SIGTERM when the daemon dies. When
// ctx ends, its process group gets SIGTERM, then SIGKILL after 2 s.
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
	// Start locks this goroutine to the thread the script's parent-death
	// signal is tied to; Wait, on this goroutine, reaps it and unlocks.
	cmd := scriptproc.Command(p.argv, p.scriptCred())
	if err := scriptproc.Start(cmd); err != nil {
		return Outcome{Status: -1, Detail: "cannot run: " + err.Error()}
	}
	timedOut := p.await(ctx, cmd.Process.Pid)
	err := scriptproc.Wait(cmd)
	if timedOut != nil {
		return Outcome{Status: -1, Detail: timedOut.Error()}
	}
	return outcomeOf(cmd.ProcessState, err)
}

// scriptCred is cred as scriptproc takes it.
func (p *ExecProber) scriptCred() *scriptproc.Credential {
	if p.cred == nil {
		return nil
	}
	return &scriptproc.Credential{Uid: p.cred.Uid, Gid: p.cred.Gid, Groups: p.cred.Groups}
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
	scriptproc.KillGroup(pid, syscall.SIGTERM)
	grace := time.NewTimer(p.grace)
	defer grace.Stop()
	select {
	case <-exited:
	case <-grace.C:
	}
	scriptproc.KillGroup(pid, syscall.SIGKILL)
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
