package notify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/scriptproc"
)

// fifo writes notification lines to one notify FIFO from its own goroutine
// and owns the FIFO's reader script.
type fifo struct {
	path    string
	script  *Script
	log     *slog.Logger
	created bool   // New made it, so Close removes it
	ino     uint64 // what was opened, so Close removes nothing else
	dev     uint64

	wake chan struct{} // capacity 1
	done chan struct{} // closed when run returns

	mu      sync.Mutex
	lines   []string // unbounded: a line waits for a reader, it is not dropped
	closing bool
	warnAt  int

	fileMu  sync.Mutex
	f       *os.File // nil after a failed write until reopened
	aborted bool     // Close gave up: no more writes
	failing bool     // a failure is logged once until a write succeeds

	reader     *exec.Cmd
	readerDone chan struct{} // nil without a reader
	stopping   atomic.Bool   // the reader's exit is expected
}

// stallLog is how long a write may wait for a reader to drain the pipe
// before the stall is logged (writing goes on waiting).
const stallLog = 10 * time.Second

// readerGrace is how long a FIFO script has between SIGTERM and SIGKILL,
// as keepalived gives it.
const readerGrace = time.Second

// openFifo creates the FIFO if it is missing and opens it. keepalived opens
// it O_RDWR|O_NONBLOCK|O_NOFOLLOW: holding a read end itself, a write never
// fails for want of a reader (no ENXIO, no EPIPE), and lines wait in the
// pipe until one comes.
func openFifo(cfg Fifo, log *slog.Logger) (*fifo, error) {
	w := &fifo{
		path: cfg.Path, script: cfg.Script, log: log.With("fifo", cfg.Path),
		wake: make(chan struct{}, 1), done: make(chan struct{}), warnAt: backlogWarn,
	}
	// keepalived asks for 0644 under its umask 0177: owner read and write.
	err := unix.Mkfifo(cfg.Path, 0o600)
	switch {
	case err == nil:
		w.created = true
		if o := cfg.Owner; o != nil {
			if err := os.Lchown(cfg.Path, int(o.Uid), int(o.Gid)); err != nil {
				_ = os.Remove(cfg.Path)
				return nil, fmt.Errorf("notify: FIFO %s: %w", cfg.Path, err)
			}
		}
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("notify: FIFO %s: %w", cfg.Path, err)
	}
	f, err := openFifoFile(cfg.Path)
	if err != nil {
		if w.created {
			_ = os.Remove(cfg.Path)
		}
		return nil, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err == nil {
		w.dev, w.ino = uint64(st.Dev), uint64(st.Ino)
	}
	w.f = f
	return w, nil
}

func openFifoFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("notify: FIFO %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		f.Close()
		return nil, fmt.Errorf("notify: FIFO %s: not a FIFO", path)
	}
	return f, nil
}

// startReader starts the FIFO's script with the FIFO path appended, once:
// keepalived does not restart it when it exits.
func (w *fifo) startReader() {
	if w.script == nil {
		return
	}
	argv := append(append([]string(nil), w.script.Argv...), w.path)
	cmd := command(w.script, argv)
	// The goroutine that starts the reader must reap it: Start locks it to
	// the thread the reader's parent-death signal is tied to, for as long
	// as the reader runs.
	started, done := make(chan error, 1), make(chan struct{})
	go func() {
		err := scriptproc.Start(cmd)
		started <- err
		if err != nil {
			return
		}
		err = scriptproc.Wait(cmd)
		if !w.stopping.Load() {
			w.log.Warn("notify: FIFO script exited; it is not restarted (neither does keepalived)", "argv", argv, "err", err)
		}
		close(done)
	}()
	if err := <-started; err != nil {
		w.log.Error("notify: cannot start FIFO script", "argv", argv, "err", err)
		return
	}
	w.reader, w.readerDone = cmd, done
}

// push queues a line (with its newline); false once closing.
func (w *fifo) push(line string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return false
	}
	w.lines = append(w.lines, line)
	if len(w.lines) >= w.warnAt {
		w.log.Warn("notify: FIFO lines are queueing up; no reader is draining it", "queued", len(w.lines))
		w.warnAt *= 2
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

func (w *fifo) close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *fifo) next() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if w.isAborted() {
			return "", false
		}
		if len(w.lines) > 0 {
			l := w.lines[0]
			w.lines = w.lines[1:]
			if len(w.lines) < w.warnAt/4 && w.warnAt > backlogWarn {
				w.warnAt = backlogWarn
			}
			return l, true
		}
		if w.closing {
			return "", false
		}
		w.mu.Unlock()
		<-w.wake
		w.mu.Lock()
	}
}

func (w *fifo) isAborted() bool {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	return w.aborted
}

func (w *fifo) run() {
	defer close(w.done)
	for {
		l, ok := w.next()
		if !ok {
			return
		}
		w.write(l)
	}
}

// write writes one line with one write(2): lines are far shorter than
// PIPE_BUF, so a reader never sees half a line. A full pipe is waited
// for; after any other error the FIFO is reopened once, and the line is
// dropped only if that fails too.
func (w *fifo) write(line string) {
	b := []byte(line)
	stalled := false
	for attempt := 0; attempt < 2; {
		f := w.file()
		if f == nil {
			return
		}
		_ = f.SetWriteDeadline(time.Now().Add(stallLog))
		_, err := f.Write(b)
		switch {
		case err == nil:
			if stalled {
				w.log.Info("notify: FIFO is being read again")
			}
			w.setFailing(false, nil)
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			if !stalled {
				w.log.Warn("notify: FIFO full, waiting for its reader", "waited", stallLog)
				stalled = true
			}
		case errors.Is(err, os.ErrClosed):
			return // aborted by Close
		default:
			w.setFailing(true, err)
			w.reset(f)
			attempt++
		}
	}
	w.log.Error("notify: FIFO line not written", "line", line[:len(line)-1])
}

// file is the open FIFO, reopened after a failure; nil when aborted or it
// cannot be opened (logged once).
func (w *fifo) file() *os.File {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	if w.aborted {
		return nil
	}
	if w.f == nil {
		f, err := openFifoFile(w.path)
		if err != nil {
			w.setFailingLocked(true, err)
			return nil
		}
		w.f = f
	}
	return w.f
}

func (w *fifo) reset(f *os.File) {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	if w.f == f {
		w.f.Close()
		w.f = nil
	}
}

func (w *fifo) setFailing(on bool, err error) {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	w.setFailingLocked(on, err)
}

func (w *fifo) setFailingLocked(on bool, err error) {
	if on && !w.failing {
		w.log.Error("notify: FIFO write failed; reopening it for the next line", "err", err)
	}
	w.failing = on
}

// abort is Close giving up: a blocked write returns, queued lines are
// dropped (logged).
func (w *fifo) abort() {
	w.fileMu.Lock()
	w.aborted = true
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.fileMu.Unlock()
	w.mu.Lock()
	dropped := len(w.lines)
	w.lines = nil
	w.mu.Unlock()
	w.close()
	if dropped > 0 {
		w.log.Error("notify: close timed out, FIFO lines not written", "dropped", dropped)
	}
}

// discard undoes openFifo when New fails.
func (w *fifo) discard() {
	w.abort()
	w.remove()
}

// shutdown follows the drained writer: SIGTERM to the reader's process
// group, the FIFO closed (the reader sees EOF), SIGKILL to the group after
// readerGrace (at once when ctx has ended), the FIFO removed if New
// created it.
func (w *fifo) shutdown(ctx context.Context) error {
	w.stopping.Store(true)
	if w.reader != nil {
		scriptproc.KillGroup(w.reader.Process.Pid, syscall.SIGTERM)
	}
	w.abort()
	if w.readerDone != nil {
		w.stopReader(ctx)
	}
	return w.remove()
}

func (w *fifo) stopReader(ctx context.Context) {
	pid := w.reader.Process.Pid
	grace := time.NewTimer(readerGrace)
	defer grace.Stop()
	select {
	case <-w.readerDone:
		// Whatever it left in its group goes too, as keepalived's SIGKILL would.
		scriptproc.KillGroup(pid, syscall.SIGKILL)
		return
	case <-grace.C:
	case <-ctx.Done():
	}
	w.log.Warn("notify: FIFO script still running after SIGTERM, killing its process group", "pgid", pid)
	scriptproc.KillGroup(pid, syscall.SIGKILL)
	select {
	case <-w.readerDone:
	case <-time.After(killWait):
		w.log.Error("notify: FIFO script not reaped after SIGKILL", "pid", pid, "waited", killWait)
	}
}

// remove deletes the FIFO if New created it and it is still the one that
// was opened.
func (w *fifo) remove() error {
	if !w.created {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(w.path, &st); err != nil || uint64(st.Ino) != w.ino || uint64(st.Dev) != w.dev {
		return nil
	}
	if err := os.Remove(w.path); err != nil {
		return fmt.Errorf("notify: remove FIFO: %w", err)
	}
	return nil
}
