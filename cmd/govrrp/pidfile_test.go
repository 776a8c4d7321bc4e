package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/daemon"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// TestPidPaths: keepalived 2.2.7's pid file names (strace of keepalived -n
// with each setting) as keepalived mode's defaults and beside govrrp's own.
func TestPidPaths(t *testing.T) {
	type paths struct {
		Pid, Socket string
		Extra       []string
	}
	ka := func() runFlags {
		return runFlags{pidFile: keepalivedPidFile, socket: daemon.DefaultSocket, extraPidFiles: []string{keepalivedVRRPPidFile}}
	}
	run := func() runFlags { return runFlags{pidFile: daemon.DefaultPidFile, socket: daemon.DefaultSocket} }
	for _, tc := range []struct {
		name string
		f    runFlags
		p    kaconf.PidDefs
		want paths
	}{
		{"keepalived mode, nothing", ka(), kaconf.PidDefs{}, paths{"/run/keepalived.pid", daemon.DefaultSocket, []string{"/run/vrrp.pid"}}},
		{"keepalived mode, use_pid_dir", ka(), kaconf.PidDefs{UsePidDir: true},
			paths{"/run/keepalived/keepalived.pid", daemon.DefaultSocket, []string{"/run/keepalived/vrrp.pid"}}},
		{"keepalived mode, instance", ka(), kaconf.PidDefs{Instance: "a"},
			paths{"/run/keepalived/keepalived_a.pid", daemon.DefaultSocket, []string{"/run/keepalived/vrrp_a.pid"}}},
		{"keepalived mode, -p given", func() runFlags { f := ka(); f.pidFile = "/x.pid"; return f }(), kaconf.PidDefs{Instance: "a"},
			paths{"/x.pid", daemon.DefaultSocket, []string{"/run/keepalived/vrrp_a.pid"}}},
		{"run, use_pid_dir", run(), kaconf.PidDefs{UsePidDir: true},
			paths{daemon.DefaultPidFile, daemon.DefaultSocket, []string{"/run/keepalived/keepalived.pid", "/run/keepalived/vrrp.pid"}}},
		{"run, instance", run(), kaconf.PidDefs{UsePidDir: true, Instance: "b"},
			paths{"/run/govrrp/b/govrrp.pid", "/run/govrrp/b/govrrp.sock", []string{"/run/keepalived/keepalived_b.pid", "/run/keepalived/vrrp_b.pid"}}},
	} {
		f := tc.f
		applyPidDefs(&f, tc.p)
		got := paths{f.pidFile, f.socket, f.extraPidFiles}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
