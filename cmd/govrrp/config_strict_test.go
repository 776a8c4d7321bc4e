package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// config check --strict: a value keepalived 2.2.7 replaces (state MASTR →
// BACKUP) is a warning and exit 0 without the flag, an error and exit 1 with it.
func TestConfigCheckStrict(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	text := "vrrp_instance VI_1 {\n    state MASTR\n    interface eth0\n    virtual_router_id 5\n    virtual_ipaddress {\n        192.0.2.1\n    }\n}\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 0, conf + ":2:11: warning: state: \"MASTR\" is not MASTER or BACKUP; keepalived 2.2.7 and govrrp start the instance as BACKUP"},
		{[]string{"--strict"}, 1, conf + ":2:11: error: state: \"MASTR\" is not MASTER or BACKUP"},
	} {
		cmd := newConfigCheckCmd()
		var out, errw bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errw)
		cmd.SetArgs(append([]string{"-f", conf}, tc.args...))
		err := cmd.Execute()
		if got := exitCode(err); got != tc.code {
			t.Errorf("%v: exit %d (%v), want %d; stderr:\n%s", tc.args, got, err, tc.code, errw.String())
		}
		if !strings.Contains(errw.String(), tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, errw.String())
		}
	}
}
