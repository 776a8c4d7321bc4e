package kaconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIncludeChecks: which unmatched includes refuse the file. Every row was
// run through keepalived 2.2.7 -t (exit 6 = error, 0 = a logged line only):
// a missing plain file, a wildcard matching nothing, a brace pair with one
// alternative missing, under each include_check setting and include variant.
func TestIncludeChecks(t *testing.T) {
	const (
		missing = "/missing.conf"
		wild    = "/inc/*.nomatch"
		brace   = "/inc/{a,zz}.conf"
	)
	type row struct {
		check, kw string
		errs      [3]bool // missing, wild, brace
	}
	rows := []row{
		{"", "include", [3]bool{}},
		{"include_check", "include", [3]bool{true, true, true}},
		{"include_check match", "include", [3]bool{true, false, false}},
		{"include_check wildcard_match", "include", [3]bool{false, true, false}},
		{"include_check brace_match", "include", [3]bool{false, false, true}},
		{"include_check +match -wildcard_match", "include", [3]bool{true, false, false}},
		{"include_check readable", "include", [3]bool{}}, // unknown to 2.2.7: ignored
		{"", "includer", [3]bool{}},
		{"", "includem", [3]bool{true, false, false}},
		{"", "includew", [3]bool{true, true, false}},
		{"", "includeb", [3]bool{false, false, true}},
		{"", "includea", [3]bool{true, true, true}},
		{"include_check", "includer", [3]bool{}}, // a variant's own checks win
	}
	for _, r := range rows {
		for i, pat := range []string{missing, wild, brace} {
			src := "global_defs {\n " + r.check + "\n}\n" + r.kw + " " + pat + "\n"
			fs := memFS{"/k.conf": src, "/inc/a.conf": "x\n"}
			f, err := ParseFile("/k.conf", fs.options("n"))
			if got := err != nil; got != r.errs[i] {
				t.Errorf("%q + %q %s: error %v, want error %v", r.check, r.kw, pat, err, r.errs[i])
			}
			if err == nil && r.kw == "include" && len(f.Diags) == 0 && r.check != "include_check readable" {
				t.Errorf("%q + include %s: no warning for the unmatched include", r.check, pat)
			}
		}
	}
}

// TestIncludeCheckScope: include_check set in an included file governs that
// file only (keepalived saves the setting when a file opens, restores it when
// it closes); set in the main file it governs everything after it.
func TestIncludeCheckScope(t *testing.T) {
	fs := memFS{
		"/k.conf": "include /a.conf\ninclude /none1.conf\nglobal_defs {\ninclude_check\n}\ninclude /b.conf\n",
		"/a.conf": "global_defs {\ninclude_check\n}\ninclude /none2.conf\n",
		"/b.conf": "include /none3.conf\n",
	}
	_, err := ParseFile("/k.conf", fs.options("n"))
	perr, ok := err.(*Error)
	if !ok {
		t.Fatalf("err = %v, want *Error", err)
	}
	var got []string
	for _, d := range perr.Diags {
		got = append(got, d.String())
	}
	want := []string{
		"/a.conf:4:1: error: include /none2.conf: no file matches",
		// /none1.conf (after a.conf closed, before k.conf's own include_check): only a warning
		"/b.conf:1:1: error: include /none3.conf: no file matches",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestIncludeCheckOnlyInGlobalDefs: at the top level keepalived 2.2.7 reports
// include_check as an unknown keyword and a missing include stays a logged
// line (keepalived -t exit 5 for the unknown keyword, not 6); on one line with
// its block it counts (keepalived -t: exit 6).
func TestIncludeCheckOnlyInGlobalDefs(t *testing.T) {
	top := memFS{"/k.conf": "include_check\ninclude /none.conf\n"}
	if _, err := ParseFile("/k.conf", top.options("n")); err != nil {
		t.Errorf("top-level include_check: %v, want only a warning for the include", err)
	}
	one := memFS{"/k.conf": "global_defs { include_check }\ninclude /none.conf\n"}
	if _, err := ParseFile("/k.conf", one.options("n")); err == nil {
		t.Error("global_defs { include_check } on one line: the missing include was accepted")
	}
}
