package packaging_test

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The .deb tests run from `make deb-test`, which builds the package and sets
// GOVRRP_DEB (its path), GOVRRP_DEB_VERSION and GOVRRP_DEB_TEST=1.
// TestDebContents only reads the file; TestDebInstall (root) installs it on
// this machine and purges it, and for a while removes Debian's keepalived.

const (
	altLink   = "/usr/sbin/keepalived"
	altTarget = "/usr/sbin/govrrp"
	kaEntry   = "/usr/libexec/govrrp/keepalived"
)

func debFile(t *testing.T) (path, version string) {
	t.Helper()
	path = os.Getenv("GOVRRP_DEB")
	if path == "" {
		t.Skip("GOVRRP_DEB not set (make deb-test)")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	version = strings.TrimSpace(mustRun(t, "dpkg-deb", "-f", path, "Version"))
	if want := os.Getenv("GOVRRP_DEB_VERSION"); want != "" && want != version {
		t.Fatalf("%s: Version %q, make's VERSION %q", path, version, want)
	}
	return path, version
}

// debEntries lists the package's non-directory paths (symlinks as "PATH -> TARGET").
func debEntries(t *testing.T, deb string) []string {
	t.Helper()
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(mustRun(t, "dpkg-deb", "-c", deb)), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		got = append(got, strings.TrimPrefix(strings.Join(f[5:], " "), "."))
	}
	sort.Strings(got)
	return got
}

// wantEntries is everything the .deb must hold, nothing more.
func wantEntries(t *testing.T) []string {
	t.Helper()
	want := []string{
		"/usr/sbin/govrrp",
		kaEntry + " -> ../../sbin/govrrp",
		"/lib/systemd/system/govrrp.service",
		"/usr/share/bash-completion/completions/govrrp",
		"/usr/share/zsh/vendor-completions/_govrrp",
		"/usr/share/fish/vendor_completions.d/govrrp.fish",
		"/usr/share/doc/govrrp/README.md",
		"/usr/share/doc/govrrp/copyright",
		"/usr/share/dbus-1/system.d/govrrp.conf",
	}
	confs, _ := filepath.Glob("../configs/*.conf")
	for _, c := range confs {
		want = append(want, "/usr/share/doc/govrrp/examples/"+filepath.Base(c))
	}
	pages, _ := filepath.Glob("../bin/pkg/man/*.8.gz")
	if len(pages) == 0 {
		t.Fatal("no ../bin/pkg/man/*.8.gz (make deb)")
	}
	for _, p := range pages {
		want = append(want, "/usr/share/man/man8/"+filepath.Base(p))
	}
	sort.Strings(want)
	return want
}

// TestDebContents: the file list, control data, maintainer scripts and
// trigger, no path another installed package owns, glibc symbol versions
// within Depends, and the packaged binary's version.
func TestDebContents(t *testing.T) {
	deb, version := debFile(t)
	got := debEntries(t, deb)
	if diff := cmp.Diff(wantEntries(t), got); diff != "" {
		t.Errorf("package contents (-want +got):\n%s", diff)
	}
	for _, p := range []string{"govrrp.8.gz", "govrrp-run.8.gz", "govrrp-status.8.gz", "govrrp-config-check.8.gz", "govrrp-version.8.gz"} {
		if !slices.Contains(got, "/usr/share/man/man8/"+p) {
			t.Errorf("no man page %s", p)
		}
	}
	// No file another installed package ships (Debian's keepalived here).
	if !installed(t, "govrrp") {
		for _, e := range got {
			p, _, _ := strings.Cut(e, " -> ")
			if out, err := run(t, "dpkg-query", "-S", p); err == nil {
				t.Errorf("%s is already shipped by: %s", p, strings.TrimSpace(out))
			}
		}
	}

	dir := t.TempDir()
	mustRun(t, "dpkg-deb", "-e", deb, filepath.Join(dir, "DEBIAN"))
	mustRun(t, "dpkg-deb", "-x", deb, dir)
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		want, _ := os.ReadFile(s)
		got, err := os.ReadFile(filepath.Join(dir, "DEBIAN", s))
		if err != nil || string(got) != string(want) {
			t.Errorf("DEBIAN/%s is not packaging/%s (%v)", s, s, err)
		}
	}
	if trig, _ := os.ReadFile(filepath.Join(dir, "DEBIAN", "triggers")); !strings.Contains(string(trig), "interest-noawait "+altLink) {
		t.Errorf("DEBIAN/triggers: %q", trig)
	}
	if c, _ := os.ReadFile(filepath.Join(dir, "DEBIAN", "conffiles")); len(c) != 0 {
		t.Errorf("conffiles: %q (the package ships no /etc files)", c)
	}

	// Depends: libc6 (>= X) covers every GLIBC_ symbol version the binary needs.
	depends := strings.TrimSpace(mustRun(t, "dpkg-deb", "-f", deb, "Depends"))
	m := regexp.MustCompile(`libc6 \(>= ([0-9.]+)\)`).FindStringSubmatch(depends)
	if m == nil {
		t.Fatalf("Depends: %q has no libc6 (>= X)", depends)
	}
	ef, err := elf.Open(filepath.Join(dir, "usr/sbin/govrrp"))
	if err != nil {
		t.Fatal(err)
	}
	syms, _ := ef.ImportedSymbols()
	ef.Close()
	for _, s := range syms {
		if v, ok := strings.CutPrefix(s.Version, "GLIBC_"); ok {
			if _, err := run(t, "dpkg", "--compare-versions", v, "le", m[1]); err != nil {
				t.Errorf("%s needs %s@GLIBC_%s, Depends says libc6 (>= %s)", "govrrp", s.Name, v, m[1])
			}
		}
	}
	if out := mustRun(t, filepath.Join(dir, "usr/sbin/govrrp"), "version"); out != "govrrp "+version+"\n" {
		t.Errorf("packaged govrrp version: %q, package %s", out, version)
	}
}

// snapshot is what installing and purging govrrp may touch, to compare the
// machine before and after: alternatives, systemd's unit directories in /etc
// and deb-systemd-helper's state, the directories the package installs into,
// and /usr/sbin/keepalived.
func snapshot(t *testing.T) []string {
	t.Helper()
	var s []string
	for _, root := range []string{"/etc/alternatives", "/var/lib/dpkg/alternatives", "/etc/systemd/system",
		"/var/lib/systemd/deb-systemd-helper-enabled", "/var/lib/systemd/deb-systemd-helper-masked",
		"/usr/libexec", "/usr/share/doc/govrrp", "/usr/share/man/man8", "/usr/share/bash-completion/completions",
		"/usr/share/zsh", "/usr/share/fish", "/lib/systemd/system", "/usr/sbin"} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			e := p + " " + d.Type().String()
			if d.Type()&fs.ModeSymlink != 0 {
				l, _ := os.Readlink(p)
				e += " -> " + l
			}
			s = append(s, e)
			return nil
		})
	}
	return append(s, "keepalived "+fileID(t, altLink))
}

// fileID is a path's type and, for a regular file, its SHA-256.
func fileID(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		return "absent"
	}
	if !fi.Mode().IsRegular() {
		l, _ := os.Readlink(p)
		return fi.Mode().Type().String() + " -> " + l
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return "file " + hex.EncodeToString(h[:])
}

func installed(t *testing.T, pkg string) bool {
	t.Helper()
	out, err := run(t, "dpkg-query", "-W", "-f", "${Status}", pkg)
	return err == nil && out == "install ok installed"
}

// dpkg runs dpkg and fails on an error or a warning in its output.
func dpkg(t *testing.T, args ...string) string {
	t.Helper()
	out := mustRun(t, "dpkg", args...)
	for _, l := range strings.Split(out, "\n") {
		if ll := strings.ToLower(l); strings.Contains(ll, "warning") || strings.Contains(ll, "error") {
			t.Errorf("dpkg %s: %s", strings.Join(args, " "), l)
		}
	}
	return out
}

// checkInstalled checks an installed govrrp: files, binary, man pages,
// completions, the unit (systemd-analyze verify, man pages included), not
// enabled, no file shared with keepalived, and the keepalived alternative
// present exactly when wantAlt.
func checkInstalled(t *testing.T, version string, wantAlt bool) (files []string) {
	t.Helper()
	if !installed(t, "govrrp") {
		t.Fatal("govrrp is not installed")
	}
	for _, p := range strings.Split(strings.TrimSpace(mustRun(t, "dpkg-query", "-L", "govrrp")), "\n") {
		fi, err := os.Stat(p) // /lib is a symlink to usr/lib on Debian 12
		if err != nil {
			t.Errorf("dpkg -L govrrp lists %s: %v", p, err)
			continue
		}
		if !fi.IsDir() {
			files = append(files, p)
		}
	}
	if fi, err := os.Stat(altTarget); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("%s: %v %v", altTarget, fi, err)
	}
	if out := mustRun(t, altTarget, "version"); out != "govrrp "+version+"\n" {
		t.Errorf("%s version: %q, want govrrp %s", altTarget, out, version)
	}
	// --version exists once root.go sets the root command's Version.
	if out, err := run(t, altTarget, "--version"); err == nil && !strings.Contains(out, version) {
		t.Errorf("%s --version: %q, want %s", altTarget, out, version)
	} else if err != nil {
		t.Logf("%s --version: %v (root command without Version): %s", altTarget, err, strings.TrimSpace(out))
	}
	kaWant := "Keepalived v2.2.7 compatible command line: govrrp " + version
	if out := mustRun(t, kaEntry, "--version"); !strings.Contains(out, kaWant) {
		t.Errorf("%s --version: %q, want %q", kaEntry, out, kaWant)
	}

	pages, _ := filepath.Glob("/usr/share/man/man8/govrrp*.8.gz")
	if len(pages) < 6 {
		t.Errorf("man pages: %q", pages)
	}
	for _, p := range pages {
		c := exec.Command("man", "--warnings", "-l", p)
		c.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=80")
		var stdout, stderr strings.Builder
		c.Stdout, c.Stderr = &stdout, &stderr
		if err := c.Run(); err != nil || stdout.Len() == 0 || stderr.Len() != 0 {
			t.Errorf("man -l %s: %v %s", p, err, stderr.String())
		}
	}
	for _, q := range [][]string{{"govrrp"}, {"8", "govrrp-run"}} {
		want := "/usr/share/man/man8/" + q[len(q)-1] + ".8.gz"
		if out := strings.TrimSpace(mustRun(t, "man", append([]string{"-w"}, q...)...)); out != want {
			t.Errorf("man -w %s: %q, want %s", strings.Join(q, " "), out, want)
		}
	}

	if out := mustRun(t, "bash", "-c", ". /usr/share/bash-completion/completions/govrrp && complete -p govrrp"); !strings.Contains(out, "__start_govrrp") {
		t.Errorf("bash completion: %q", out)
	}
	if out := mustRun(t, altTarget, "__complete", "con"); !strings.HasPrefix(out, "config") {
		t.Errorf("govrrp __complete con: %q", out)
	}
	if b, _ := os.ReadFile("/usr/share/zsh/vendor-completions/_govrrp"); !strings.HasPrefix(string(b), "#compdef govrrp") {
		t.Errorf("zsh completion starts %.30q", b)
	}
	if b, _ := os.ReadFile("/usr/share/fish/vendor_completions.d/govrrp.fish"); !strings.Contains(string(b), "complete -c govrrp") {
		t.Error("fish completion has no complete -c govrrp")
	}

	// The installed unit, with the real /usr/sbin/govrrp, man:govrrp(8)
	// and man:govrrp-run(8) resolved by man(1).
	if out := mustRun(t, "systemd-analyze", "verify", "/lib/systemd/system/govrrp.service"); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify /lib/systemd/system/govrrp.service:\n%s", out)
	}
	if _, err := os.Lstat("/etc/systemd/system/multi-user.target.wants/govrrp.service"); err == nil {
		t.Error("govrrp.service was enabled by the package")
	}

	if installed(t, "keepalived") {
		ka := strings.Split(mustRun(t, "dpkg-query", "-L", "keepalived"), "\n")
		for _, f := range files {
			if slices.Contains(ka, f) {
				t.Errorf("%s is in both govrrp and keepalived", f)
			}
		}
	}

	query, qerr := run(t, "update-alternatives", "--query", "keepalived")
	if wantAlt {
		if l, _ := os.Readlink(altLink); l != "/etc/alternatives/keepalived" {
			t.Errorf("%s -> %q", altLink, l)
		}
		if l, _ := os.Readlink("/etc/alternatives/keepalived"); l != altTarget {
			t.Errorf("/etc/alternatives/keepalived -> %q", l)
		}
		if qerr != nil || !strings.Contains(query, "Value: "+altTarget) {
			t.Errorf("update-alternatives --query keepalived: %v\n%s", qerr, query)
		}
		if out := mustRun(t, altLink, "--version"); !strings.Contains(out, kaWant) {
			t.Errorf("%s --version: %q", altLink, out)
		}
	} else {
		if qerr == nil {
			t.Errorf("a keepalived alternative exists beside the keepalived package:\n%s", query)
		}
		if _, err := os.Lstat("/etc/alternatives/keepalived"); err == nil {
			t.Error("/etc/alternatives/keepalived exists")
		}
		if fi, err := os.Lstat(altLink); err == nil {
			if !fi.Mode().IsRegular() {
				t.Errorf("%s is %v, not keepalived's file", altLink, fi.Mode())
			}
			if out, err := run(t, "dpkg-query", "-S", altLink); err != nil || !strings.HasPrefix(out, "keepalived:") {
				t.Errorf("dpkg -S %s: %q %v", altLink, out, err)
			}
		}
	}
	return files
}

// checkPurged: govrrp unknown to dpkg, its files and directories gone, no
// alternative, and the machine as in before.
func checkPurged(t *testing.T, files, before []string) {
	t.Helper()
	if out, err := run(t, "dpkg-query", "-W", "-f", "${Status}", "govrrp"); err == nil && out != "unknown ok not-installed" {
		t.Errorf("dpkg-query -W govrrp after purge: %q", out)
	}
	if out, _ := run(t, "dpkg", "-l", "govrrp"); !strings.Contains(out, "no packages found matching govrrp") {
		t.Errorf("dpkg -l govrrp after purge:\n%s", out)
	}
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("%s left after purge", f)
		}
	}
	for _, d := range []string{"/usr/libexec/govrrp", "/usr/share/doc/govrrp"} {
		if _, err := os.Lstat(d); err == nil {
			t.Errorf("%s left after purge", d)
		}
	}
	for _, p := range []string{"/etc/alternatives/keepalived", "/var/lib/dpkg/alternatives/keepalived",
		"/var/lib/systemd/deb-systemd-helper-enabled/govrrp.service.dsh-also",
		"/var/lib/systemd/deb-systemd-helper-masked/govrrp.service"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left after purge", p)
		}
	}
	if diff := cmp.Diff(before, snapshot(t)); diff != "" {
		t.Errorf("machine after purge (-before +after):\n%s", diff)
	}
}

func installTest(t *testing.T) (deb, version string) {
	t.Helper()
	if os.Getenv("GOVRRP_DEB_TEST") == "" {
		t.Skip("installs system-wide: sudo make deb-test")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (dpkg -i)")
	}
	deb, version = debFile(t)
	if installed(t, "govrrp") {
		t.Fatal("govrrp is already installed here; dpkg -P govrrp first")
	}
	t.Cleanup(func() {
		if installed(t, "govrrp") {
			out, err := run(t, "dpkg", "-P", "govrrp")
			t.Logf("cleanup: dpkg -P govrrp: %v\n%s", err, out)
		}
	})
	return deb, version
}

// TestDebInstall installs the .deb on this machine as it is (Debian's
// keepalived installed or not), checks it, purges it and checks that nothing
// is left.
func TestDebInstall(t *testing.T) {
	deb, version := installTest(t)
	kaBefore := fileID(t, altLink)
	owned := func() bool { _, err := run(t, "dpkg-query", "-S", altLink); return err == nil }()
	before := snapshot(t)

	dpkg(t, "-i", deb)
	files := checkInstalled(t, version, !owned && kaBefore == "absent")
	if got := fileID(t, altLink); owned && got != kaBefore {
		t.Errorf("%s changed: %s, was %s", altLink, got, kaBefore)
	}
	dpkg(t, "-P", "govrrp")
	checkPurged(t, files, before)
}

// keepalivedDeb finds the .deb of the installed keepalived: apt's cache, else
// apt-get download of exactly that version.
func keepalivedDeb(t *testing.T) string {
	t.Helper()
	v := strings.TrimSpace(mustRun(t, "dpkg-query", "-W", "-f", "${Version}", "keepalived"))
	arch := strings.TrimSpace(mustRun(t, "dpkg-query", "-W", "-f", "${Architecture}", "keepalived"))
	name := "keepalived_" + strings.ReplaceAll(v, ":", "%3a") + "_" + arch + ".deb"
	if _, err := os.Stat("/var/cache/apt/archives/" + name); err == nil {
		return "/var/cache/apt/archives/" + name
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("apt-get", "download", "-q", "keepalived="+v)
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Skipf("cannot get keepalived %s's .deb to reinstall it afterwards: %v\n%s", v, err, out)
	}
	return filepath.Join(dir, name)
}

// TestDebInstallKeepalivedComesAndGoes proves the alternative design on this
// machine: with keepalived removed, govrrp provides /usr/sbin/keepalived;
// installing keepalived replaces the link with its file and the file trigger
// drops the alternative; removing keepalived brings the alternative back;
// purging govrrp removes it. keepalived is reinstalled at the end (and on any
// failure), from apt's cache or `apt-get download` of the same version.
//
// Opt-in on top of `make deb-test` (GOVRRP_DEB_TEST_KEEPALIVED=1, make
// deb-test SWAP_KEEPALIVED=1): while it runs, /usr/sbin/keepalived is missing
// or govrrp, which breaks any interop test running at the same time.
func TestDebInstallKeepalivedComesAndGoes(t *testing.T) {
	if os.Getenv("GOVRRP_DEB_TEST_KEEPALIVED") == "" {
		t.Skip("removes Debian's keepalived for ~20 s: make deb-test SWAP_KEEPALIVED=1")
	}
	deb, version := installTest(t)
	if !installed(t, "keepalived") {
		t.Skip("keepalived not installed: TestDebInstall covered the machine without it")
	}
	if out := strings.TrimSpace(mustRun(t, "apt-cache", "rdepends", "--installed", "keepalived")); strings.Count(out, "\n") > 1 {
		t.Skipf("installed packages depend on keepalived; not removing it:\n%s", out)
	}
	kaDeb := keepalivedDeb(t)
	t.Cleanup(func() {
		if !installed(t, "keepalived") {
			out, err := run(t, "dpkg", "-i", kaDeb)
			t.Logf("cleanup: dpkg -i %s: %v\n%s", kaDeb, err, out)
		}
	})
	kaFile := fileID(t, altLink)
	before := snapshot(t)

	t.Log("dpkg -r keepalived; dpkg -i govrrp: the alternative is created")
	dpkg(t, "-r", "keepalived")
	if got := fileID(t, altLink); got != "absent" {
		t.Fatalf("%s after removing keepalived: %s", altLink, got)
	}
	dpkg(t, "-i", deb)
	files := checkInstalled(t, version, true)

	t.Log("dpkg -i keepalived: its file replaces the link, the trigger drops the alternative")
	out := dpkg(t, "-i", kaDeb)
	if !strings.Contains(out, "Processing triggers for govrrp") {
		t.Errorf("no trigger for govrrp in:\n%s", out)
	}
	if got := fileID(t, altLink); got != kaFile {
		t.Errorf("%s: %s, want keepalived's %s", altLink, got, kaFile)
	}
	checkInstalled(t, version, false)
	if out := mustRun(t, altLink, "--version"); strings.Contains(out, "govrrp") {
		t.Errorf("%s --version is govrrp's: %q", altLink, out)
	}

	t.Log("dpkg -r keepalived: the trigger restores the alternative")
	dpkg(t, "-r", "keepalived")
	checkInstalled(t, version, true)

	t.Log("dpkg -P govrrp: alternative and files gone; dpkg -i keepalived restores the machine")
	dpkg(t, "-P", "govrrp")
	if got := fileID(t, altLink); got != "absent" {
		t.Errorf("%s after purging govrrp: %s", altLink, got)
	}
	dpkg(t, "-i", kaDeb)
	if !installed(t, "keepalived") {
		t.Fatal("keepalived not reinstalled")
	}
	checkPurged(t, files, before)
}
