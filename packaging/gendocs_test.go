package packaging_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// buildGovrrp builds cmd/govrrp into dir, with extra go build flags.
func buildGovrrp(t *testing.T, dir, name string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	args := append(append([]string{"build"}, flags...), "-o", out, "../cmd/govrrp")
	cmd := exec.Command("go", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

// TestGendocs builds the -tags gendocs generator (as `make man completions`
// does) and the daemon, and checks: one gzip'ed section-8 page per command
// of the contract, each rendered by man(1) without a groff warning; the
// completion files are exactly what `govrrp completion SHELL` prints.
func TestGendocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	bin := t.TempDir()
	gendocs := buildGovrrp(t, bin, "govrrp-gendocs", "-tags", "gendocs")
	govrrp := os.Getenv("GOVRRP_BIN")
	if govrrp == "" {
		govrrp = buildGovrrp(t, bin, "govrrp")
	}
	out := t.TempDir()
	cmd := exec.Command(gendocs, "-version", "9.8.7", "-man", filepath.Join(out, "man"), "-completions", filepath.Join(out, "comp"))
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("govrrp-gendocs: %v\n%s", err, b)
	}

	for _, page := range []string{"govrrp", "govrrp-run", "govrrp-status", "govrrp-config", "govrrp-config-check", "govrrp-version"} {
		p := filepath.Join(out, "man", page+".8.gz")
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if zr.Name != "" || !zr.ModTime.IsZero() {
			t.Errorf("%s: gzip header carries name %q / time %v (not reproducible)", p, zr.Name, zr.ModTime)
		}
		src, _ := io.ReadAll(zr)
		title := strings.ToUpper(page)
		if want := `.TH "` + title + `" "8" "Nov 2023" "govrrp 9.8.7" "System Administration"`; !bytes.Contains(src, []byte(want)) {
			t.Errorf("%s: no %s in\n%.300s", page, want, src)
		}
		mc := exec.Command("man", "--warnings", "-l", p)
		mc.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
		var stdout, stderr bytes.Buffer
		mc.Stdout, mc.Stderr = &stdout, &stderr
		if err := mc.Run(); err != nil || stderr.Len() != 0 {
			t.Errorf("man -l %s: %v\n%s", p, err, stderr.String())
		}
		// Drop the overstrike bold/underline man(1) writes to a pipe.
		text := regexp.MustCompile(".\b").ReplaceAllString(stdout.String(), "")
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(page) + `\s+-\s`).MatchString(text) {
			t.Errorf("man -l %s: no NAME line for %s in\n%.400s", p, page, text)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "man", "govrrp.8.gz")); err == nil {
		zr, _ := gzip.NewReader(bytes.NewReader(b))
		src, _ := io.ReadAll(zr)
		for _, s := range []string{"SIGNALS", "FILES", "KEEPALIVED COMMAND LINE", "/run/govrrp/govrrp.sock"} {
			if !bytes.Contains(src, []byte(s)) {
				t.Errorf("govrrp.8 lacks %q", s)
			}
		}
	}

	for file, shell := range map[string]string{"govrrp.bash": "bash", "_govrrp": "zsh", "govrrp.fish": "fish"} {
		got, err := os.ReadFile(filepath.Join(out, "comp", file))
		if err != nil {
			t.Fatal(err)
		}
		want, err := exec.Command(govrrp, "completion", shell).Output()
		if err != nil {
			t.Fatalf("govrrp completion %s: %v", shell, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from `govrrp completion %s` (%d vs %d bytes)", file, shell, len(got), len(want))
		}
	}
}
