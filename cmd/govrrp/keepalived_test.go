package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodConf = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.100
    }
}
`

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return -1
}

func TestKeepalivedMode(t *testing.T) {
	good := writeConf(t, goodConf)
	broken := writeConf(t, strings.Replace(goodConf, "priority 100", "priority 300", 1))
	lvs := writeConf(t, goodConf+"virtual_server 192.0.2.100 80 {\n  real_server 192.0.2.11 80 {\n  }\n}\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // substring
		stderr   string // substring
		errorMsg string // substring of the returned error
	}{
		{"signum STOP", []string{"--signum=STOP"}, 0, "15\n", "", ""},
		{"signum RELOAD", []string{"--signum=RELOAD"}, 0, "1\n", "", ""},
		{"signum DATA", []string{"--signum=DATA"}, 0, "10\n", "", ""},
		{"signum STATS", []string{"--signum=STATS"}, 0, "12\n", "", ""},
		{"signum STATS_CLEAR", []string{"--signum=STATS_CLEAR"}, 0, "63\n", "", ""},
		{"signum JSON", []string{"--signum=JSON"}, 0, "36\n", "", ""},
		{"signum unknown", []string{"--signum=FOO"}, 1, "", "", "unknown --signum"},
		{"version", []string{"-v"}, 0, "govrrp", "", ""},
		{"help", []string{"-h"}, 0, "--use-file", "", ""},
		{"config test ok", []string{"-t", "-f", good}, 0, "", "", ""},
		{"config test missing file", []string{"-t", "-f", good + ".missing"}, 4, "", "no such file", ""},
		{"config test errors", []string{"-t", "-f", broken}, 5, "", "keepalived.conf:4:", ""},
		{"config test LVS without -P", []string{"-t", "-f", lvs}, 5, "", "--vrrp", ""},
		{"config test LVS with -P", []string{"-t", "-P", "-f", lvs}, 0, "", "", ""},
		{"checkers only", []string{"-C", "-n", "-f", good}, 1, "", "", "no health checkers"},
		{"unsupported flag", []string{"-n", "--snmp", "-f", good}, 1, "", "", "--snmp is not supported"},
		{"unknown flag", []string{"--bogus"}, 1, "", "", "unknown flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			err := keepalivedMain(tc.args, &out, &errw)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d (err %v), want %d; stderr:\n%s", got, err, tc.code, errw.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.stdout)
			}
			if !strings.Contains(errw.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", errw.String(), tc.stderr)
			}
			if tc.errorMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.errorMsg)) {
				t.Errorf("error %v lacks %q", err, tc.errorMsg)
			}
		})
	}
}

// -t with a LOG_FILE writes the diagnostics there, as keepalived does; an
// unknown keyword makes keepalived 2.2.7 -t exit 5 (measured: "Unknown
// keyword 'priorty'", pkg/kaconf/testdata/fallbacks/derive_unknown_kw).
func TestKeepalivedConfigTestLogFile(t *testing.T) {
	broken := writeConf(t, strings.Replace(goodConf, "priority 100", "priorty 100", 1))
	logFile := filepath.Join(t.TempDir(), "test.log")
	var out, errw bytes.Buffer
	err := keepalivedMain([]string{"--config-test=" + logFile, "-f", broken}, &out, &errw)
	if exitCode(err) != kaTestConfigErrors {
		t.Fatalf("exit %d: %v", exitCode(err), err)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `did you mean "priority"`) {
		t.Errorf("log file %q lacks the unknown-keyword warning", b)
	}
}

// keepalived 2.2.7 -t exits 6 when include_check refuses an include that
// names no file, even beside another error (measured: a missing include
// with priority 999 in the same file exits 6), and 0 without include_check
// (it logs "Config files missing" and goes on).
func TestKeepalivedConfigTestMissingInclude(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.conf")
	for _, tc := range []struct {
		name, conf string
		want       int
	}{
		{"checked", "global_defs {\n    include_check\n}\ninclude " + missing + "\n" + goodConf, kaTestMissingFiles},
		{"checked, beside a replaced value", "global_defs {\n    include_check\n}\ninclude " + missing + "\n" + strings.Replace(goodConf, "priority 100", "priority 999", 1), kaTestMissingFiles},
		{"unchecked", "include " + missing + "\n" + goodConf, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			err := keepalivedMain([]string{"-t", "-f", writeConf(t, tc.conf)}, &out, &errw)
			if exitCode(err) != tc.want {
				t.Errorf("exit %d, want %d: %v\n%s", exitCode(err), tc.want, err, errw.String())
			}
		})
	}
}
