package kaconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// memFS is an in-memory file system for include tests without a disk.
type memFS map[string]string

func (m memFS) options(id string) ParseOptions {
	o := goldenOptions(id)
	o.ReadFile = func(name string) ([]byte, error) {
		s, ok := m[name]
		if !ok {
			return nil, os.ErrNotExist
		}
		return []byte(s), nil
	}
	o.Glob = func(pattern string) ([]string, error) {
		var out []string
		for name := range m {
			if ok, err := filepath.Match(pattern, name); err != nil {
				return nil, err
			} else if ok {
				out = append(out, name)
			}
		}
		return out, nil
	}
	return o
}

// flat lists every node as "depth keyword args... @pos" for compact asserts.
func flat(nodes []*Node) []string {
	var out []string
	var walk func([]*Node, int)
	walk = func(ns []*Node, depth int) {
		for _, n := range ns {
			words := []string{n.Keyword.Text}
			for _, a := range n.Args {
				words = append(words, a.Text)
			}
			s := strings.Repeat(">", depth) + strings.Join(words, " ")
			if n.Block {
				s += " {}"
			}
			out = append(out, s)
			walk(n.Children, depth+1)
		}
	}
	walk(nodes, 0)
	return out
}

// tokenPositions lists "text@file:line:col" for every keyword and argument.
func tokenPositions(nodes []*Node) []string {
	var out []string
	var walk func([]*Node)
	walk = func(ns []*Node) {
		for _, n := range ns {
			for _, tk := range append([]Token{n.Keyword}, n.Args...) {
				out = append(out, tk.Text+"@"+tk.Pos.String())
			}
			walk(n.Children)
		}
	}
	walk(nodes)
	return out
}

func TestPositions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "plain and quoted",
			src:  "vrrp_instance VI_1 {\n\tstate  \"MASTER X\"\n}\n",
			want: []string{"vrrp_instance@k.conf:1:1", "VI_1@k.conf:1:15", "state@k.conf:2:2", "MASTER X@k.conf:2:9"},
		},
		{
			name: "substituted words take the position of the reference",
			src:  "$A=x y\n  kw pre${A}post $A\n",
			want: []string{"kw@k.conf:2:3", "prex@k.conf:2:6", "ypost@k.conf:2:9", "x@k.conf:2:18", "y@k.conf:2:18"},
		},
		{
			name: "multi-line definition lines sit at the reference",
			src:  "$M=\\\na 1 \\\nb 2\n\n   $M\n",
			want: []string{"a@k.conf:5:4", "1@k.conf:5:4", "b@k.conf:5:4", "2@k.conf:5:4"},
		},
		{
			name: "sequence body keeps its own columns",
			src:  "~SEQ(I,1,2) addr 192.0.2.$I\n",
			want: []string{"addr@k.conf:1:13", "192.0.2.1@k.conf:1:18", "addr@k.conf:1:13", "192.0.2.2@k.conf:1:18"},
		},
		{
			name: "conditional prefix is skipped",
			src:  "@node1   router_id r1\n",
			want: []string{"router_id@k.conf:1:10", "r1@k.conf:1:20"},
		},
		{
			name: "braces on one line",
			src:  "v { 192.0.2.1 } w\n",
			want: []string{"v@k.conf:1:1", "192.0.2.1@k.conf:1:5", "w@k.conf:1:17"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseBytes("k.conf", []byte(tc.src), goldenOptions("node1"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tokenPositions(f.Nodes)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStructure(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"brace on next line", "a\n{\nb\n}\n", []string{"a {}", ">b"}},
		{"close on entry line", "a {\n b c }\nd\n", []string{"a {}", ">b c", "d"}},
		{"nested one line", "a { b { c } d }", []string{"a {}", ">b {}", ">>c", ">d"}},
		{"empty block", "a {}\n", []string{"a {}"}},
		{"comments", "a # x { \nb ! y }\n# z\n!w\n", []string{"a", "b"}},
		{"quotes keep comment chars and braces", `a "# {x} !" b`, []string{"a # {x} ! b"}},
		{"quote splits words", `a"b c"d`, []string{"a b c d"}},
		{"hash and bang built-ins", "a ${_HASH}1 ${_BANG}2\n", []string{"a #1 !2"}},
		{"undefined braced name stays a word", "a ${NOPE}x\n", []string{"a ${NOPE}x"}},
		{"dollar brace in block", "a { ${NOPE} }\n", []string{"a {}", ">${NOPE}"}},
		{"crlf line ends", "a {\r\n b\r\n}\r\n", []string{"a {}", ">b"}},
		{"definition with comment", "$X=1 # one\nk $X\n", []string{"k 1"}},
		{"redefinition", "$X=1\nk $X\n$X=2\nk $X\n", []string{"k 1", "k 2"}},
		{"substitution to definition", "$D=$E=5\n$D\nk $E\n", []string{"k 5"}},
		{"negative conditional skips multi-line", "@^node1 $M=\\\nx\\\ny\nk\n", []string{"k"}},
		{"seq variable restored", "$I=old\n~SEQ(I,1) k $I\nk $I\n", []string{"k 1", "k old"}},
		{"unbraced terminated by comma and paren", "$X=1\nk f($X,$X)\n", []string{"k f(1,1)"}},
		{"include inside block via conditional", "b {\n@other include x\n}\n", []string{"b {}"}},
		{"seq with definitions as bounds", "$MAX=2\n~SEQ(I,1,$MAX) k $I\n", []string{"k 1", "k 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseBytes("k.conf", []byte(tc.src), goldenOptions("node1"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, flat(f.Nodes)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		fs   memFS
		want []string
	}{
		{"unterminated quote", memFS{"/k.conf": "a {\n  b \"c d\n}\n"},
			[]string{"/k.conf:2:5: error: unterminated double quote"}},
		{"stray close", memFS{"/k.conf": "a\n  }\n"}, []string{"/k.conf:2:3: error: unexpected '}' (no open block)"}},
		{"unclosed block", memFS{"/k.conf": "a {\n b {\n }\n"}, []string{"/k.conf:1:3: error: unclosed '{' (missing '}')"}},
		{"open without keyword", memFS{"/k.conf": "\n   {\n}\n"},
			[]string{"/k.conf:2:4: error: '{' without a keyword before it", "/k.conf:3:1: error: unexpected '}' (no open block)"}},
		{"bad seq", memFS{"/k.conf": "x\n ~SEQ(I,1,0,5) a\n"}, []string{"/k.conf:2:2: error: invalid ~SEQ(I,1,0,5): step never reaches the end"}},
		{"bad seq syntax", memFS{"/k.conf": "~SEQ I 1\n"}, []string{"/k.conf:1:1: error: invalid ~SEQ: expected (...)"}},
		{"negative hex seq", memFS{"/k.conf": "~SEQx(I,-1,3) a\n"}, []string{"/k.conf:1:1: error: invalid ~SEQx(I,-1,3): hexadecimal sequences must be positive"}},
		{"bad lst", memFS{"/k.conf": "~LST({A,B},{1,2,3}) a\n"}, []string{"/k.conf:1:1: error: invalid ~LST({A,B},{1,2,3})"}},
		{"random max below min", memFS{"/k.conf": "a\n b ${_RANDOM 9 3}\n"}, []string{"/k.conf:2:4: error: ${_RANDOM 9 3}: MAX is less than MIN"}},
		{"recursive definition", memFS{"/k.conf": "$A=x${A}\nk $A\n"}, []string{"/k.conf:2:3: error: too many substitutions (recursive definition?)"}},
		{"error in included file", memFS{"/k.conf": "include /i.conf\n", "/i.conf": "\n\tq }\n"},
			[]string{"/i.conf:2:4: error: unexpected '}' (no open block)"}},
		{"include cycle", memFS{"/k.conf": "include a.conf\n", "/a.conf": "x\ninclude b.conf\n", "/b.conf": " include /a.conf\n"},
			[]string{"/b.conf:1:2: error: include cycle: /a.conf -> /b.conf -> /a.conf"}},
		{"includew without match", memFS{"/k.conf": "a\n  includew /none/*.conf\n"}, []string{"/k.conf:2:3: error: includew /none/*.conf: no file matches"}},
		{"missing top file", memFS{}, []string{"/k.conf:0:0: error: kaconf: file does not exist"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile("/k.conf", tc.fs.options("node1"))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("error = %v, want *Error", err)
			}
			if diff := cmp.Diff(tc.want, strings.Split(perr.Error(), "\n")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	fs := memFS{"/k.conf": "a\ninclude /none/*.conf\nb\n"}
	f, err := ParseFile("/k.conf", fs.options("node1"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range f.Diags {
		got = append(got, d.String())
	}
	want := []string{"/k.conf:2:1: warning: include /none/*.conf: no file matches"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b"}, flat(f.Nodes)); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
}

// writeTree creates files (relative path -> content) under a temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestIncludeOnDisk(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name: "glob sorted and relative to the including file",
			files: map[string]string{
				"keepalived.conf": "top\ninclude conf.d/*.conf\nend\n",
				"conf.d/b.conf":   "b\n",
				"conf.d/a.conf":   "a\ninclude ../sub/x.conf\n",
				"conf.d/c.txt":    "not included\n",
				"sub/x.conf":      "x ${_PWD}\n",
			},
			want: []string{"top", "a", "x <DIR>/sub", "b", "end"},
		},
		{
			name: "braces keep alternative order, each sorted",
			files: map[string]string{
				"keepalived.conf": "include {z,a}/*.conf\n",
				"a/2.conf":        "a2\n", "a/1.conf": "a1\n", "z/1.conf": "z1\n",
			},
			want: []string{"z1", "a1", "a2"},
		},
		{
			name: "include inside a block",
			files: map[string]string{
				"keepalived.conf": "vrrp_instance V {\n  include vips.conf\n}\n",
				"vips.conf":       "virtual_ipaddress {\n 192.0.2.1/24\n}\n",
			},
			want: []string{"vrrp_instance V {}", ">virtual_ipaddress {}", ">>192.0.2.1/24"},
		},
		{
			name: "definitions cross files",
			files: map[string]string{
				"keepalived.conf": "$P=7\ninclude \"p.conf\"\nk $Q\n",
				"p.conf":          "k $P\n$Q=8\n",
			},
			want: []string{"k 7", "k 8"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, tc.files)
			f, err := ParseFile(filepath.Join(dir, "keepalived.conf"), ParseOptions{ConfigID: "n"})
			if err != nil {
				t.Fatal(err)
			}
			got := flat(f.Nodes)
			for i := range got {
				got[i] = strings.ReplaceAll(got[i], dir, "<DIR>")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if len(f.Diags) != 0 {
				t.Errorf("unexpected diagnostics: %v", f.Diags)
			}
		})
	}
}

func TestIncludeCycleOnDisk(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"keepalived.conf": "include d/one.conf\n",
		"d/one.conf":      "include two.conf\n",
		"d/two.conf":      "x\ninclude ../d/one.conf\n",
	})
	_, err := ParseFile(filepath.Join(dir, "keepalived.conf"), ParseOptions{ConfigID: "n"})
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("error = %v, want *Error", err)
	}
	got := strings.ReplaceAll(perr.Error(), dir, "<DIR>")
	want := "<DIR>/d/two.conf:2:1: error: include cycle: <DIR>/d/one.conf -> <DIR>/d/two.conf -> <DIR>/d/one.conf"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestExpandBraces(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"x{a,b}y", []string{"xay", "xby"}},
		{"{foo/{,cat,dog},bar}", []string{"foo/", "foo/cat", "foo/dog", "bar"}},
		{"{a,b}{1,2}", []string{"a1", "a2", "b1", "b2"}},
		{"un{closed", []string{"un{closed"}},
		{`esc\{a,b}`, []string{`esc\{a,b}`}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, expandBraces(tc.in)); diff != "" {
			t.Errorf("expandBraces(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestConfigIDDefault(t *testing.T) {
	h, err := os.Hostname()
	if err != nil {
		t.Skipf("no hostname: %v", err)
	}
	short, _, _ := strings.Cut(h, ".")
	f, err := ParseBytes("k.conf", []byte("id ${_INSTANCE}\n@"+short+" yes\n"), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"id " + short, "yes"}, flat(f.Nodes)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSamples(t *testing.T) {
	files := sampleFiles(t)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := ParseFile(path, ParseOptions{ConfigID: "high"})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Nodes) == 0 {
				t.Fatal("no nodes")
			}
			assertRoundTrip(t, f.Nodes, true)
		})
	}
}
