package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govrrp/govrrp/pkg/kaconf"
)

// startup_script and shutdown_script are resolved on this host as `govrrp
// run` resolves them. keepalived 2.2.7, observed with this file: "Script
// /nonexistent/start.sh cannot be accessed - No such file or directory" and
// "Invalid user/group for shutdown script /bin/true - ignoring", then it
// starts without them; govrrp does the same, so config check warns (exit 0)
// naming each script that will never run, and says nothing of good ones.
func TestConfigCheckLifecycleScripts(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	write := func(globals string) {
		t.Helper()
		text := "global_defs {\n    script_user root\n" + globals + "}\n" + `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 5
    virtual_ipaddress {
        192.0.2.1
    }
}
`
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	notExec := filepath.Join(dir, "plain.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("    startup_script /nonexistent/start.sh\n    shutdown_script \"/bin/true\" nosuchuser_govrrp\n")
	var out, errw bytes.Buffer
	if err := checkConfigs(&out, &errw, []string{conf}, false, kaconf.LoadOptions{}); err != nil {
		t.Fatalf("refused (keepalived starts with it): %v\n%s", err, errw.String())
	}
	for _, want := range []string{
		conf + `: warning: global_defs startup_script "/nonexistent/start.sh" will not run:`,
		conf + `: warning: global_defs shutdown_script "/bin/true" will not run:`,
		"nosuchuser_govrrp",
	} {
		if !strings.Contains(errw.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errw.String())
		}
	}

	write("    startup_script " + notExec + "\n")
	errw.Reset()
	if err := checkConfigs(&out, &errw, []string{conf}, false, kaconf.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := `startup_script "` + notExec + `" will not run`; !strings.Contains(errw.String(), want) {
		t.Errorf("a script without execute permission: stderr lacks %q:\n%s", want, errw.String())
	}

	write("    startup_script \"/bin/true start\"\n    shutdown_script /bin/true root\n")
	errw.Reset()
	if err := checkConfigs(&out, &errw, []string{conf}, false, kaconf.LoadOptions{}); err != nil || strings.Contains(errw.String(), "will not run") {
		t.Errorf("runnable scripts: err %v, stderr:\n%s", err, errw.String())
	}
}

// A vrrp_script tracked only by a vrrp_sync_group is run (and resolved at
// start-up) by `govrrp run` like an instance's, so config check resolves it
// too: a missing one is the same error naming its line.
func TestConfigCheckSyncGroupScript(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	text := `global_defs {
    script_user root
}
vrrp_script chk {
    script "/nonexistent/chk"
}
vrrp_sync_group G {
    group {
        VI_1
    }
    track_script {
        chk
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 5
    virtual_ipaddress {
        192.0.2.1
    }
}
`
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	if err := checkConfigs(&out, &errw, []string{conf}, false, kaconf.LoadOptions{}); err == nil {
		t.Fatalf("accepted a missing sync-group script; stderr:\n%s", errw.String())
	}
	if want := conf + ":4:1: error: vrrp_script chk:"; !strings.Contains(errw.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errw.String())
	}
}
