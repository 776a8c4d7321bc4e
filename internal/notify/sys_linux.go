package notify

import (
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr: a process group of its own (so Close can kill what the
// script started), SIGTERM when the daemon dies (keepalived sets the same
// PR_SET_PDEATHSIG), and s's credential. The death signal is tied to the
// forking OS thread; Go only ends threads locked by LockOSThread, which
// never run this goroutine, so it fires on the daemon's exit only.
func sysProcAttr(s *Script) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM, Credential: credential(s)}
}

// closeStrayOnExec marks every descriptor above stderr close-on-exec.
// Descriptors opened (or closed) concurrently are harmless: Go's are
// close-on-exec already, and setting the flag on a closed one fails.
func closeStrayOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
		}
	}
}

// mkfifo creates a FIFO readable and writable by its owner only: the mode
// keepalived's FIFOs end up with (it asks for 0644 under umask 0177).
func mkfifo(path string) error {
	return unix.Mkfifo(path, 0o600)
}
