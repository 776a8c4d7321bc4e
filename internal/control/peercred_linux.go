package control

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// peerCredentials reads SO_PEERCRED (pid, uid, gid at connect time) and
// SO_PEERGROUPS (the supplementary groups, Linux 4.13+; older kernels fall
// back to /proc/PID/status).
func peerCredentials(c *net.UnixConn) (peerCred, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return peerCred{}, err
	}
	var cr peerCred
	var uerr, gerr error
	err = rc.Control(func(fd uintptr) {
		var u *unix.Ucred
		u, uerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if uerr != nil {
			return
		}
		cr.pid, cr.uid, cr.gid = uint32(u.Pid), u.Uid, u.Gid
		cr.groups, gerr = peerGroups(int(fd))
	})
	if err != nil {
		return peerCred{}, err
	}
	if uerr != nil {
		return peerCred{}, fmt.Errorf("SO_PEERCRED: %w", uerr)
	}
	if errors.Is(gerr, unix.ENOPROTOOPT) {
		cr.groups, gerr = procGroups(cr.pid)
	}
	if gerr != nil {
		return peerCred{}, fmt.Errorf("supplementary groups: %w", gerr)
	}
	return cr, nil
}

// peerGroups is getsockopt(SO_PEERGROUPS): x/sys has no wrapper for it. The
// kernel answers ERANGE with the size it needs; NGROUPS_MAX bounds the retry.
func peerGroups(fd int) ([]uint32, error) {
	n := 64
	for range 3 {
		buf := make([]uint32, n)
		size := uint32(4 * n)
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
		switch {
		case e == 0:
			return buf[:size/4], nil
		case e == unix.ERANGE && int(size/4) > n && size/4 <= 65536:
			n = int(size / 4)
		default:
			return nil, e
		}
	}
	return nil, unix.ERANGE
}

// procGroups reads the Groups: line of /proc/PID/status.
func procGroups(pid uint32) ([]uint32, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("Groups:"))
		if !ok {
			continue
		}
		var gs []uint32
		for _, f := range bytes.Fields(rest) {
			g, err := strconv.ParseUint(string(f), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("/proc/%d/status: Groups: %q", pid, f)
			}
			gs = append(gs, uint32(g))
		}
		return gs, nil
	}
	return nil, fmt.Errorf("/proc/%d/status: no Groups line", pid)
}
