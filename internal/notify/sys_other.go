//go:build !linux

package notify

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr: as on Linux, but there is no parent-death signal.
func sysProcAttr(s *Script) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: credential(s)}
}

// closeStrayOnExec needs /proc/self/fd; elsewhere inherited descriptors
// are left alone.
func closeStrayOnExec() {}

func mkfifo(path string) error {
	return unix.Mkfifo(path, 0o600)
}
