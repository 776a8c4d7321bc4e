package track

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const nobodyID = 65534

// tree builds files and directories under a fresh temporary directory.
type tree struct {
	t    *testing.T
	base string
}

func newTree(t *testing.T) *tree {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &tree{t, base}
}

func (tr *tree) path(rel string) string { return filepath.Join(tr.base, rel) }

// dir creates rel with the raw mode bits (chmod, so umask does not
// interfere) and owner uid:gid.
func (tr *tree) dir(rel string, mode os.FileMode, uid, gid int) string {
	tr.t.Helper()
	p := tr.path(rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		tr.t.Fatal(err)
	}
	tr.own(p, mode, uid, gid)
	return p
}

// script creates the executable file rel (its directory must exist).
func (tr *tree) script(rel string, mode os.FileMode, uid, gid int) string {
	tr.t.Helper()
	p := tr.path(rel)
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o600); err != nil {
		tr.t.Fatal(err)
	}
	tr.own(p, mode, uid, gid)
	return p
}

func (tr *tree) own(p string, mode os.FileMode, uid, gid int) {
	tr.t.Helper()
	if err := os.Chown(p, uid, gid); err != nil {
		tr.t.Fatal(err)
	}
	// Raw bits: os.Chmod would drop 0o1000 and 0o2000 (Go spells them
	// ModeSticky and ModeSetgid).
	if err := syscall.Chmod(p, uint32(mode)); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) link(rel, target string) string {
	tr.t.Helper()
	p := tr.path(rel)
	if err := os.Symlink(target, p); err != nil {
		tr.t.Fatal(err)
	}
	return p
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown test files")
	}
}

// TestCheckScriptSecurity mirrors what keepalived 2.2.7 accepted and
// refused with enable_script_security for a root script.
func TestCheckScriptSecurity(t *testing.T) {
	needRoot(t)
	root := &Credential{Uid: 0, Gid: 0}
	tests := []struct {
		name string
		// build returns the script path to check and the path the error
		// must name ("" when the script is safe).
		build   func(tr *tree) (script, offender string)
		cred    *Credential
		wantWhy string
	}{
		{"root-owned 0755 all the way", func(tr *tree) (string, string) {
			tr.dir("ok", 0o755, 0, 0)
			return tr.script("ok/s", 0o755, 0, 0), ""
		}, nil, ""},
		{"world-writable directory", func(tr *tree) (string, string) {
			d := tr.dir("w", 0o777, 0, 0)
			return tr.script("w/s", 0o755, 0, 0), d
		}, nil, "writable by everyone"},
		{"sticky world-writable directory like /tmp", func(tr *tree) (string, string) {
			tr.dir("t", 0o1777, 0, 0)
			return tr.script("t/s", 0o755, 0, 0), ""
		}, nil, ""},
		{"directory writable by a non-root group", func(tr *tree) (string, string) {
			d := tr.dir("g", 0o775, 0, nobodyID)
			return tr.script("g/s", 0o755, 0, 0), d
		}, nil, "writable by group 65534"},
		{"setgid directory writable by a non-root group", func(tr *tree) (string, string) {
			d := tr.dir("gs", 0o2775, 0, nobodyID)
			return tr.script("gs/s", 0o755, 0, 0), d
		}, nil, "writable by group 65534"},
		{"directory writable by group root", func(tr *tree) (string, string) {
			tr.dir("g0", 0o775, 0, 0)
			return tr.script("g0/s", 0o755, 0, 0), ""
		}, nil, ""},
		{"directory owned by a user", func(tr *tree) (string, string) {
			d := tr.dir("u", 0o755, nobodyID, 0)
			return tr.script("u/s", 0o755, 0, 0), d
		}, nil, "owned by uid 65534"},
		{"sticky directory owned by a user", func(tr *tree) (string, string) {
			d := tr.dir("ut", 0o1777, nobodyID, 0)
			return tr.script("ut/s", 0o755, 0, 0), d
		}, nil, "owned by uid 65534"},
		{"script writable by a non-root group", func(tr *tree) (string, string) {
			tr.dir("sg", 0o755, 0, 0)
			s := tr.script("sg/s", 0o775, 0, nobodyID)
			return s, s
		}, nil, "writable by group 65534"},
		{"world-writable script", func(tr *tree) (string, string) {
			tr.dir("sw", 0o755, 0, 0)
			s := tr.script("sw/s", 0o757, 0, 0)
			return s, s
		}, nil, "writable by everyone"},
		{"script owned by a user", func(tr *tree) (string, string) {
			tr.dir("su", 0o755, 0, 0)
			s := tr.script("su/s", 0o755, nobodyID, 0)
			return s, s
		}, root, "owned by uid 65534"},
		{"unsafe grandparent", func(tr *tree) (string, string) {
			d := tr.dir("n", 0o777, 0, 0)
			tr.dir("n/sub", 0o755, 0, 0)
			return tr.script("n/sub/s", 0o755, 0, 0), d
		}, nil, "writable by everyone"},
		{"safe link to a script in an unsafe directory", func(tr *tree) (string, string) {
			d := tr.dir("bad", 0o777, 0, 0)
			tr.script("bad/s", 0o755, 0, 0)
			tr.dir("good", 0o755, 0, 0)
			return tr.link("good/link", "../bad/s"), d
		}, nil, "writable by everyone"},
		{"link in an unsafe directory to a safe script", func(tr *tree) (string, string) {
			tr.dir("good", 0o755, 0, 0)
			tr.script("good/s", 0o755, 0, 0)
			tr.dir("bad", 0o777, 0, 0)
			return tr.link("bad/link", "../good/s"), ""
		}, nil, ""},
		{"a directory is not a script", func(tr *tree) (string, string) {
			d := tr.dir("d", 0o755, 0, 0)
			return d, d
		}, nil, "not a regular file"},
		{"missing script", func(tr *tree) (string, string) {
			return tr.path("missing/s"), tr.path("missing/s")
		}, nil, "cannot be accessed"},
		{"run as a user: not checked", func(tr *tree) (string, string) {
			tr.dir("user", 0o777, 0, 0)
			return tr.script("user/s", 0o755, nobodyID, 0), ""
		}, &Credential{Uid: nobodyID, Gid: nobodyID}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t)
			// The base is a directory, so a safe path up to it is refused
			// only for not being a regular file.
			if err := CheckScriptSecurity(tr.base, nil); !strings.Contains(errString(err), "not a regular file") {
				t.Skipf("the temporary directory %s itself is not root-safe: %v", tr.base, err)
			}
			script, offender := tt.build(tr)
			err := CheckScriptSecurity(script, tt.cred)
			if tt.wantWhy == "" {
				if err != nil {
					t.Fatalf("CheckScriptSecurity(%s) = %v, want nil", script, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckScriptSecurity(%s) = nil, want an error naming %s: %s", script, offender, tt.wantWhy)
			}
			for _, want := range []string{script, offender, tt.wantWhy} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCheckExecutable(t *testing.T) {
	needRoot(t)
	nobody := &Credential{Uid: nobodyID, Gid: nobodyID, Groups: []uint32{nobodyID}}
	member := &Credential{Uid: 1234, Gid: 1234, Groups: []uint32{1234, nobodyID}}
	tests := []struct {
		name    string
		dirMode os.FileMode
		mode    os.FileMode
		gid     int
		cred    *Credential
		wantErr string // what the error names: "s" the script, "d" its directory
	}{
		{"root, one x bit", 0o755, 0o100, 0, nil, ""},
		{"root, no x bit", 0o755, 0o644, 0, nil, "s"},
		{"root, unsearchable directory", 0o700, 0o755, 0, nil, ""},
		{"other, 0755", 0o755, 0o755, 0, nobody, ""},
		{"other, 0750", 0o755, 0o750, 0, nobody, "s"},
		{"group member, 0750", 0o755, 0o750, nobodyID, member, ""},
		{"other, directory 0700", 0o700, 0o755, 0, nobody, "d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t)
			tr.own(filepath.Dir(tr.base), 0o755, 0, 0) // t.TempDir's parent is 0700
			tr.own(tr.base, 0o755, 0, 0)
			d := tr.dir("d", tt.dirMode, 0, 0)
			s := tr.script("d/s", tt.mode, 0, tt.gid)
			err := CheckExecutable(s, tt.cred)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckExecutable = %v, want nil", err)
			case tt.wantErr == "":
			case err == nil:
				t.Errorf("CheckExecutable = nil, want an error")
			default:
				named := map[string]string{"s": s, "d": d}[tt.wantErr]
				if !strings.HasSuffix(err.Error(), "permission on "+named) {
					t.Errorf("error %q does not name %s", err, named)
				}
			}
		})
	}
}

func TestResolveExecutable(t *testing.T) {
	tr := newTree(t)
	bin1 := tr.path("bin1")
	bin2 := tr.path("bin2")
	real := tr.path("real")
	for _, d := range []string{bin1, bin2, real} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, mode os.FileMode) {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bin1, "cmd"), 0o644) // not executable: skipped
	write(filepath.Join(bin2, "cmd"), 0o755)
	write(filepath.Join(real, "target"), 0o755)
	if err := os.Symlink("../real/target", filepath.Join(bin2, "link")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin1+":"+bin2)
	t.Chdir(tr.base)

	tests := []struct {
		argv0, want, wantErr string
	}{
		{"cmd", filepath.Join(bin2, "cmd"), ""},
		{"link", filepath.Join(real, "target"), ""},
		{filepath.Join(bin2, "link"), filepath.Join(real, "target"), ""},
		{"./bin2/cmd", filepath.Join(bin2, "cmd"), ""},
		{"nosuch", "", "not found in PATH"},
		{filepath.Join(bin2, "nosuch"), "", "cannot be accessed: no such file or directory"},
		{"", "", "empty"},
	}
	for _, tt := range tests {
		got, err := ResolveExecutable(tt.argv0)
		if got != tt.want || !strings.Contains(errString(err), tt.wantErr) || (tt.wantErr == "") != (err == nil) {
			t.Errorf("ResolveExecutable(%q) = %q, %v; want %q, error containing %q", tt.argv0, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPathSearchWarning(t *testing.T) {
	if got := PathSearchWarning("/usr/bin/true", "/usr/bin/true"); got != "" {
		t.Errorf("full path: warning %q, want none", got)
	}
	got := PathSearchWarning("true", "/usr/bin/true")
	for _, want := range []string{"true", "/usr/bin/true", "full path"} {
		if !strings.Contains(got, want) {
			t.Errorf("warning %q lacks %q", got, want)
		}
	}
}

func TestComponents(t *testing.T) {
	got := strings.Join(components("/a/b/c"), " ")
	if want := "/ /a /a/b /a/b/c"; got != want {
		t.Errorf("components = %q, want %q", got, want)
	}
	if got := strings.Join(components("/"), " "); got != "/" {
		t.Errorf("components(/) = %q", got)
	}
}
