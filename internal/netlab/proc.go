package netlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Proc is a background process running in a host namespace. It leads its
// own process group, gets SIGKILL if the Go process dies (Pdeathsig), and
// the lab SIGKILLs its whole group at Close.
type Proc struct {
	name    string
	host    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process is reaped
	code    int
	waitErr error
}

// Exec runs `ip netns exec NS argv...` and returns its combined output.
func (h *Host) Exec(ctx context.Context, argv ...string) ([]byte, error) {
	if h.err != nil {
		return nil, h.err
	}
	if len(argv) == 0 {
		return nil, errors.New("netlab: exec: empty argv")
	}
	ip, err := lookCmd("ip")
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, ip, append([]string{"netns", "exec", h.ns}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second // a grandchild holding the pipe must not hang us
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("netlab: %s: %s: %w", h.name, strings.Join(argv, " "), err)
	}
	return out, nil
}

// Start runs argv in the background inside the namespace, stdout and
// stderr appended to Lab.Dir()/<host>-<name>.log.
func (h *Host) Start(name string, argv ...string) (*Proc, error) {
	if h.err != nil {
		return nil, h.err
	}
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("netlab: bad process name %q", name)
	}
	if len(argv) == 0 {
		return nil, errors.New("netlab: start: empty argv")
	}
	ip, err := lookCmd("ip")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(h.lab.dir, h.name+"-"+name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("netlab: log file: %w", err)
	}
	defer logf.Close() // the child has its own copy of the fd
	fmt.Fprintf(logf, "--- netlab %s: %s %s ---\n", time.Now().Format(time.RFC3339Nano), h.name,
		strings.Join(argv, " "))

	// `ip netns exec` execs argv in place, so the pid is the daemon's own.
	cmd := exec.Command(ip, append([]string{"netns", "exec", h.ns}, argv...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Proc{name: name, host: h.name, logPath: logPath, cmd: cmd, done: make(chan struct{})}

	// Register and start under the lab lock so Close never misses a process.
	var startErr error
	if err := h.lab.register(func() {
		if startErr = cmd.Start(); startErr == nil {
			h.lab.procs = append(h.lab.procs, p)
		}
	}); err != nil {
		return nil, err
	}
	if startErr != nil {
		return nil, fmt.Errorf("netlab: start %s on %s: %w", name, h.name, startErr)
	}
	go p.reap()
	return p, nil
}

// reap waits for the process and records how it ended.
func (p *Proc) reap() {
	err := p.cmd.Wait()
	p.code = exitCode(p.cmd.ProcessState)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.waitErr = fmt.Errorf("netlab: wait %s on %s: %w", p.name, p.host, err)
	}
	p.logEnd()
	close(p.done)
}

// logEnd appends how the process ended to its log, so that a test's log
// tail tells a crash from a kill (SIGKILL from RLIMIT_RTTIME, the OOM
// killer) from a clean exit.
func (p *Proc) logEnd() {
	f, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer f.Close()
	how := "nil process state"
	if st := p.cmd.ProcessState; st != nil {
		how = st.String() // "exit status 1", "signal: killed"
	}
	fmt.Fprintf(f, "--- netlab %s: %s on %s ended: %s ---\n", time.Now().Format(time.RFC3339Nano), p.name, p.host, how)
}

// exitCode follows the shell: 128+signal for a process killed by a signal.
func exitCode(st *os.ProcessState) int {
	if st == nil {
		return -1
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}

// Pid is the process id (the daemon itself, not a wrapper).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// LogPath is the file that collects the process's stdout and stderr.
func (p *Proc) LogPath() string { return p.logPath }

// Log returns everything the process has written so far.
func (p *Proc) Log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("netlab: read log %s: %v", p.logPath, err)
	}
	return string(b)
}

// Exited reports, without blocking, whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process itself (not its group), e.g. SIGTERM for
// a graceful stop or SIGHUP for a reload.
func (p *Proc) Signal(sig os.Signal) error {
	if p.Exited() {
		return fmt.Errorf("netlab: signal %s on %s: %w", p.name, p.host, os.ErrProcessDone)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("netlab: signal %s on %s: %w", p.name, p.host, err)
	}
	return nil
}

// Wait waits up to timeout for the process to end and returns its exit
// code (128+N when killed by signal N). It errors only on timeout or when
// waiting itself failed; a non-zero exit is not an error.
func (p *Proc) Wait(timeout time.Duration) (int, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.code, p.waitErr
	case <-t.C:
		return -1, fmt.Errorf("netlab: %s on %s (pid %d) still running after %v", p.name, p.host, p.Pid(), timeout)
	}
}

// Kill SIGKILLs the process group and waits (bounded) for the process.
func (p *Proc) Kill() error {
	p.killGroup()
	_, err := p.Wait(5 * time.Second)
	return err
}

// killGroup SIGKILLs the whole group, children of a forking daemon included.
// Once the leader is reaped its id may be reused, so we leave stragglers to
// the per-namespace sweep in Lab.Close instead.
func (p *Proc) killGroup() {
	if !p.Exited() {
		_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	}
}

func killPid(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
