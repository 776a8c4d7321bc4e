//go:build !linux

package scriptproc

import "syscall"

// sysProcAttr: as on Linux, without the parent-death signal, which other
// systems do not have (or os/exec does not set).
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

// markInheritedCloexec walks /dev/fd, which lists every descriptor on
// some systems (macOS) and only 0 to 2 on others (FreeBSD without
// fdescfs): best effort.
func markInheritedCloexec() {
	markFdDirCloexec("/dev/fd")
}
