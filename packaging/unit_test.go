// Package packaging_test checks what `make deb` ships: the systemd unit
// (systemd-analyze verify), the drop-in example, the maintainer scripts, the
// generated man pages and completions, and (opt-in, root: `make deb-test`)
// the .deb installed on and purged from this machine.
package packaging_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	unitFile   = "../configs/govrrp.service"
	dropInFile = "../configs/keepalived-to-govrrp.conf"
)

// run executes a command and returns its combined output.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// unitDirectives parses a unit file: section -> key -> values, in order.
func unitDirectives(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
			d[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not KEY=VALUE: %q", path, line)
			}
			d[section][k] = append(d[section][k], v)
		}
	}
	return d
}

// verifyRoot builds a directory systemd-analyze --root= can verify the unit
// in: this host's /usr/lib/systemd/system (so After=, Wants=, Conflicts= and
// WantedBy= resolve), /usr/sbin/govrrp (a stub executable: verify checks that
// every Exec*= command exists and is executable inside the root), the other
// Exec*= commands copied from this host, and the drop-ins given.
func verifyRoot(t *testing.T, unit []byte, dropIns map[string][]byte) string {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	r := t.TempDir()
	for _, l := range []struct{ name, target string }{{"bin", "usr/bin"}, {"lib", "usr/lib"}, {"sbin", "usr/sbin"}} {
		if err := os.MkdirAll(filepath.Join(r, l.target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l.target, filepath.Join(r, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(r, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "cp", "-a", "/usr/lib/systemd/system", filepath.Join(r, "usr/lib/systemd/"))
	unitPath := filepath.Join(r, "usr/lib/systemd/system/govrrp.service")
	if err := os.WriteFile(unitPath, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range dropIns {
		p := filepath.Join(r, "etc/systemd/system/govrrp.service.d", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Exec*= commands: /usr/sbin/govrrp is a stub, the rest come from this host.
	exe := regexp.MustCompile(`(?m)^Exec[A-Za-z]*=[-@:+!]*(/\S+)`)
	for _, m := range exe.FindAllSubmatch(append(append([]byte{}, unit...), bytes.Join(mapValues(dropIns), nil)...), -1) {
		cmd := string(m[1])
		dst := filepath.Join(r, strings.TrimPrefix(cmd, "/"))
		if cmd == "/usr/sbin/govrrp" {
			if err := os.WriteFile(dst, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		real, err := filepath.EvalSymlinks(cmd)
		if err != nil {
			t.Fatalf("unit runs %s: %v", cmd, err)
		}
		copyFile(t, real, dst, 0o755)
	}
	return r
}

func mapValues(m map[string][]byte) [][]byte {
	var v [][]byte
	for _, b := range m {
		v = append(v, b)
	}
	return v
}

// verify runs systemd-analyze verify on govrrp.service in root and returns
// its output lines (verify exits 0 on many problems, e.g. unknown keys, so
// any line counts). Man pages are not checked here (not installed yet); the
// installed unit is verified with them in TestDebInstall.
func verify(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("systemd-analyze", "verify", "--man=no", "--root="+root, "govrrp.service")
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	if err != nil && len(lines) == 0 {
		lines = append(lines, "systemd-analyze: "+err.Error())
	}
	return lines
}

// uncommentDirectives turns the drop-in's commented examples ("#Key=value")
// into settings, so that every example line is verified too.
func uncommentDirectives(b []byte) []byte {
	return regexp.MustCompile(`(?m)^#([A-Z][A-Za-z]+=)`).ReplaceAll(b, []byte("$1"))
}

func TestUnitVerify(t *testing.T) {
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	dropIn, err := os.ReadFile(dropInFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(uncommentDirectives(dropIn), dropIn) {
		t.Fatal("the drop-in example has no commented-out directives to verify")
	}
	for _, tc := range []struct {
		name    string
		dropIns map[string][]byte
	}{
		{"unit", nil},
		{"unit+drop-in as shipped", map[string][]byte{"local.conf": dropIn}},
		{"unit+drop-in with every example enabled", map[string][]byte{"local.conf": uncommentDirectives(dropIn)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if lines := verify(t, verifyRoot(t, unit, tc.dropIns)); len(lines) != 0 {
				t.Errorf("systemd-analyze verify:\n%s", strings.Join(lines, "\n"))
			}
		})
	}
	// The harness must see what verify reports: an unknown key (verify still
	// exits 0), in the unit and in a drop-in, and a missing /usr/sbin/govrrp.
	t.Run("negative control", func(t *testing.T) {
		bad := bytes.Replace(unit, []byte("[Service]\n"), []byte("[Service]\nNoSuchKey=1\n"), 1)
		if lines := verify(t, verifyRoot(t, bad, nil)); !slices.ContainsFunc(lines, func(l string) bool {
			return strings.Contains(l, "NoSuchKey")
		}) {
			t.Errorf("verify did not report an unknown key: %q", lines)
		}
		if lines := verify(t, verifyRoot(t, unit, map[string][]byte{"x.conf": []byte("[Service]\nNoSuchDropInKey=1\n")})); !slices.ContainsFunc(lines, func(l string) bool {
			return strings.Contains(l, "NoSuchDropInKey")
		}) {
			t.Errorf("verify did not read the drop-in: %q", lines)
		}
		r := verifyRoot(t, unit, nil)
		if err := os.Remove(filepath.Join(r, "usr/sbin/govrrp")); err != nil {
			t.Fatal(err)
		}
		if lines := verify(t, r); !slices.ContainsFunc(lines, func(l string) bool {
			return strings.Contains(l, "/usr/sbin/govrrp")
		}) {
			t.Errorf("verify did not report a missing /usr/sbin/govrrp: %q", lines)
		}
	})
}

// TestUnitDirectives pins the directives the daemon and the docs rely on.
func TestUnitDirectives(t *testing.T) {
	d := unitDirectives(t, unitFile)
	caps := []string{"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_READ_SEARCH"}
	want := map[string]map[string][]string{
		"Unit": {
			"Conflicts":             {"keepalived.service"},
			"ConditionFileNotEmpty": {"/etc/keepalived/keepalived.conf"},
		},
		"Service": {
			"Type":                    {"notify"},
			"ExecStart":               {"/usr/sbin/govrrp run -f /etc/keepalived/keepalived.conf"},
			"ExecReload":              {"/usr/sbin/govrrp reload"},
			"WatchdogSec":             {"10s"},
			"KillMode":                {"mixed"},
			"Restart":                 {"on-failure"},
			"RuntimeDirectory":        {"govrrp"},
			"RuntimeDirectoryMode":    {"0750"},
			"CapabilityBoundingSet":   {strings.Join(caps, " ")},
			"AmbientCapabilities":     {strings.Join(caps, " ")},
			"NoNewPrivileges":         {"yes"},
			"ProtectSystem":           {"strict"},
			"ReadWritePaths":          {"/tmp"},
			"ProtectHome":             {"read-only"},
			"PrivateTmp":              {"no"},
			"RestrictAddressFamilies": {"AF_UNIX AF_NETLINK AF_INET AF_INET6 AF_PACKET"},
			"LockPersonality":         {"yes"},
			"MemoryDenyWriteExecute":  {"yes"},
			"SystemCallArchitectures": {"native"},
		},
		"Install": {"WantedBy": {"multi-user.target"}},
	}
	for section, keys := range want {
		for k, v := range keys {
			if diff := cmp.Diff(v, d[section][k]); diff != "" {
				t.Errorf("[%s] %s (-want +got):\n%s", section, k, diff)
			}
		}
	}
	// No Alias=keepalived.service: it would shadow Debian's keepalived.service
	// on every host where govrrp is enabled (configs/keepalived-to-govrrp.conf).
	if a := d["Install"]["Alias"]; a != nil {
		t.Errorf("[Install] Alias=%q", a)
	}
	// ProtectKernelTunables would make /proc/sys read-only (VMAC sysctls).
	if v := d["Service"]["ProtectKernelTunables"]; v != nil {
		t.Errorf("ProtectKernelTunables=%q", v)
	}
}

func TestMaintainerScriptsSyntax(t *testing.T) {
	for _, name := range []string{"postinst", "prerm", "postrm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable (%v)", name, fi.Mode())
		}
		for _, sh := range []string{"sh", "dash", "bash"} {
			if _, err := exec.LookPath(sh); err != nil {
				continue
			}
			if out, err := run(t, sh, "-n", name); err != nil {
				t.Errorf("%s -n %s: %v\n%s", sh, name, err, out)
			}
		}
		if _, err := exec.LookPath("shellcheck"); err == nil {
			if out, err := run(t, "shellcheck", "-s", "sh", name); err != nil {
				t.Errorf("shellcheck %s:\n%s", name, out)
			}
		}
	}
}
