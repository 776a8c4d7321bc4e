package notify

import (
	"os/exec"

	"github.com/govrrp/govrrp/internal/scriptproc"
)

// command builds the process running argv as s's user: scriptproc's
// command (no shell, /dev/null stdio, own process group, working directory
// /, the daemon's environment minus the systemd handshake variables). A
// PATH lookup failure is in cmd.Err.
func command(s *Script, argv []string) *exec.Cmd {
	return scriptproc.Command(argv, credential(s))
}

// credential is s's user and groups, nil to stay the daemon's user.
// scriptproc, too, reads no groups as just Gid.
func credential(s *Script) *scriptproc.Credential {
	if s.AsSelf {
		return nil
	}
	return &scriptproc.Credential{Uid: s.Uid, Gid: s.Gid, Groups: s.Groups}
}
