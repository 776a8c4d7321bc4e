package main

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/govrrp/govrrp/internal/daemon"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// use_pid_dir and instance NAME (top level of keepalived.conf) move
// keepalived's pid files, as keepalived 2.2.7 does (observed with strace):
// use_pid_dir -> /run/keepalived/keepalived.pid and vrrp.pid; instance NAME
// -> /run/keepalived/keepalived_NAME.pid and vrrp_NAME.pid (the directory
// implied); keepalived creates /run/keepalived (0755) and removes it at stop;
// -p/-r on the command line still win. Tools that read those files (monitoring,
// `kill -HUP $(cat ...)`) find govrrp there:
//   - keepalived mode: they are its -p/-r defaults;
//   - govrrp run: they are written beside govrrp's own pid file, and instance
//     NAME moves govrrp's default socket and pid file to /run/govrrp/NAME/ so
//     that two daemons with different names do not collide (as keepalived's
//     instance is for).

// configPidDefs is the file's use_pid_dir / instance (zero when the file
// does not load: daemon.Run reports that properly).
func configPidDefs(f runFlags) kaconf.PidDefs {
	cfg, _, err := kaconf.Load(f.config, kaconf.LoadOptions{Parse: kaconf.ParseOptions{ConfigID: f.configID}, VRRPOnly: f.vrrpOnly})
	if err != nil || cfg == nil {
		return kaconf.PidDefs{}
	}
	return cfg.Pid
}

// applyPidDefs adjusts f's run-time paths for p; the returned function
// removes keepalived's pid directory at stop when it is empty.
func applyPidDefs(f *runFlags, p kaconf.PidDefs) func() {
	if !p.UsePidDir && p.Instance == "" {
		return func() {}
	}
	paths := p.Paths()
	kaMode := f.pidFile == keepalivedPidFile || slices.Contains(f.extraPidFiles, keepalivedVRRPPidFile)
	if kaMode {
		if f.pidFile == keepalivedPidFile {
			f.pidFile = paths.Parent
		}
		for i, e := range f.extraPidFiles {
			if e == keepalivedVRRPPidFile {
				f.extraPidFiles[i] = paths.VRRP
			}
		}
	} else {
		if p.Instance != "" {
			under := func(cur, def string) string {
				if cur != def {
					return cur
				}
				return filepath.Join(filepath.Dir(def), p.Instance, filepath.Base(def))
			}
			f.pidFile = under(f.pidFile, daemon.DefaultPidFile)
			f.socket = under(f.socket, daemon.DefaultSocket)
		}
		f.extraPidFiles = append(f.extraPidFiles, paths.Parent, paths.VRRP)
	}
	return func() { os.Remove(paths.Dir) } // fails, harmlessly, unless empty
}
