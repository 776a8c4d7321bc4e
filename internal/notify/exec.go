package notify

import (
	"os/exec"
	"strings"
	"syscall"
)

// command builds the process for argv: exec'd directly (argv[0] looked up
// in PATH only when it has no slash), stdin, stdout and stderr on
// /dev/null (os/exec's default for nil), the daemon's environment (nil
// Env), its own process group, s's credential.
func command(s *Script, argv []string) (*exec.Cmd, error) {
	path := argv[0]
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return nil, err
		}
		path = p
	}
	return &exec.Cmd{Path: path, Args: argv, SysProcAttr: sysProcAttr(s)}, nil
}

// credential is s's user and groups, nil to stay the daemon's user.
func credential(s *Script) *syscall.Credential {
	if s.AsSelf {
		return nil
	}
	groups := s.Groups
	if groups == nil {
		groups = []uint32{s.Gid}
	}
	return &syscall.Credential{Uid: s.Uid, Gid: s.Gid, Groups: groups}
}

// startScript starts cmd after making sure no descriptor without
// close-on-exec can leak into it: Go opens its own with O_CLOEXEC, but the
// daemon may have inherited some (keepalived passes those on; govrrp does
// not).
func startScript(cmd *exec.Cmd) error {
	closeStrayOnExec()
	return cmd.Start()
}

// killGroup sends sig to the process group led by pid.
func killGroup(pid int, sig syscall.Signal) {
	if pid > 0 {
		_ = syscall.Kill(-pid, sig)
	}
}
