package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govrrp/govrrp/pkg/kaconf"
)

// keepalived -t exits 0 on this file and then silently drops the script (no
// script_user, no keepalived_script user): the VIP would never move. config
// check says so, with the line, and fails.
func TestConfigCheckScriptsOnThisHost(t *testing.T) {
	if userExists("keepalived_script") {
		t.Skip("this host has a keepalived_script user: scripts have a default user")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	text := `global_defs {
    enable_script_security
}
vrrp_script chk {
    script "/bin/true"
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 5
    virtual_ipaddress {
        192.0.2.1
    }
    track_script {
        chk
    }
}
`
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	err := checkConfigs(&out, &errw, []string{conf}, false, kaconf.LoadOptions{})
	if err == nil {
		t.Fatalf("accepted; stderr:\n%s", errw.String())
	}
	want := conf + ":4:1: error: vrrp_script chk: enable_script_security is set but global_defs has no script_user"
	if !strings.Contains(errw.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errw.String())
	}
	if strings.Contains(out.String(), ": ok") {
		t.Errorf("the file was also called ok:\n%s", out.String())
	}

	// With script_user the same file is fine.
	fixed := strings.Replace(text, "enable_script_security\n", "enable_script_security\n    script_user root\n", 1)
	if err := os.WriteFile(conf, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	errw.Reset()
	if err := checkConfigs(&out, &errw, []string{conf}, false, kaconf.LoadOptions{}); err != nil {
		t.Errorf("with script_user root: %v\n%s", err, errw.String())
	}
}

func userExists(name string) bool {
	b, err := os.ReadFile("/etc/passwd")
	return err == nil && strings.Contains("\n"+string(b), "\n"+name+":")
}

// keepalived accepts AH; `govrrp run` refuses it, so config check says so
// rather than exit 0 ("usable").
func TestConfigCheckRefusesAH(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	text := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n authentication {\n  auth_type AH\n  auth_pass x\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	if err := checkConfigs(&out, &errw, []string{conf}, false, kaconf.LoadOptions{}); err == nil ||
		!strings.Contains(errw.String(), conf+":1:1: error: instance VI_1: authentication AH is not supported") {
		t.Errorf("err %v, stderr:\n%s", err, errw.String())
	}
}
