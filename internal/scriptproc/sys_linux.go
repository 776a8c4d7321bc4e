package scriptproc

import (
	"math"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr: a process group of its own, cred, and SIGTERM when the
// forking thread (see Start) ends. Go sets the death signal after the
// credential change, which would otherwise clear it.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM, Credential: cred}
}

// markInheritedCloexec sets close-on-exec on every descriptor from 3 up:
// one close_range(2) call, or a walk of /proc/self/fd on kernels before
// 5.11, which lack CLOSE_RANGE_CLOEXEC.
func markInheritedCloexec() {
	if unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	markFdDirCloexec("/proc/self/fd")
}
