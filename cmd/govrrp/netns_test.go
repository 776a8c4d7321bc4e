package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/daemon"
)

// With net_namespace NAME, default run-time paths move under NAME (as
// keepalived 2.2.7 uses /run/keepalived/NAME/); explicit ones stay.
func TestNetnsPaths(t *testing.T) {
	f := runFlags{socket: daemon.DefaultSocket, pidFile: daemon.DefaultPidFile}
	netnsPaths(&f, "blue")
	if diff := cmp.Diff([]string{"/run/govrrp/blue/govrrp.sock", "/run/govrrp/blue/govrrp.pid"}, []string{f.socket, f.pidFile}); diff != "" {
		t.Errorf("govrrp defaults (-want +got):\n%s", diff)
	}
	k := runFlags{socket: daemon.DefaultSocket, pidFile: keepalivedPidFile, extraPidFiles: []string{keepalivedVRRPPidFile}}
	netnsPaths(&k, "blue")
	if diff := cmp.Diff([]string{"/run/keepalived/blue/keepalived.pid", "/run/keepalived/blue/vrrp.pid"}, []string{k.pidFile, k.extraPidFiles[0]}); diff != "" {
		t.Errorf("keepalived mode defaults (-want +got):\n%s", diff)
	}
	e := runFlags{socket: "/tmp/x.sock", pidFile: "/tmp/x.pid"}
	netnsPaths(&e, "blue")
	if e.socket != "/tmp/x.sock" || e.pidFile != "/tmp/x.pid" {
		t.Errorf("explicit paths changed: %s %s", e.socket, e.pidFile)
	}
}
