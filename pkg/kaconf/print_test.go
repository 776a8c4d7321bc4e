package kaconf

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stripped copies nodes without positions (and without the Quoted flag
// unless keepQuoted) so that trees can be compared after printing.
func stripped(nodes []*Node, keepQuoted bool) []*Node {
	tok := func(t Token) Token {
		return Token{Text: t.Text, Quoted: t.Quoted && keepQuoted}
	}
	var out []*Node
	for _, n := range nodes {
		c := &Node{Keyword: tok(n.Keyword), Block: n.Block, Children: stripped(n.Children, keepQuoted)}
		for _, a := range n.Args {
			c.Args = append(c.Args, tok(a))
		}
		out = append(out, c)
	}
	return out
}

// assertRoundTrip prints nodes, parses the text again and compares.
func assertRoundTrip(t *testing.T, nodes []*Node, keepQuoted bool) {
	t.Helper()
	var b bytes.Buffer
	if err := Print(&b, nodes); err != nil {
		t.Fatalf("Print: %v", err)
	}
	f, err := ParseBytes("printed.conf", b.Bytes(), goldenOptions("printer"))
	if err != nil {
		t.Fatalf("parse of printed text: %v\n%s", err, b.String())
	}
	if diff := cmp.Diff(stripped(nodes, keepQuoted), stripped(f.Nodes, keepQuoted)); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s\nprinted:\n%s", diff, b.String())
	}
}

func TestPrint(t *testing.T) {
	w := func(s string) Token { return Token{Text: s} }
	q := func(s string) Token { return Token{Text: s, Quoted: true} }
	tests := []struct {
		name  string
		nodes []*Node
		want  string
	}{
		{"nested", []*Node{{Keyword: w("a"), Args: []Token{w("1")}, Block: true, Children: []*Node{{Keyword: w("b")}}}, {Keyword: w("c")}},
			"a 1 {\n    b\n}\nc\n"},
		{"quoted", []*Node{{Keyword: w("notify"), Args: []Token{q("/x.sh a b"), q("")}}}, "notify \"/x.sh a b\" \"\"\n"},
		{"comment characters", []*Node{{Keyword: w("k"), Args: []Token{w("a#b!c")}}}, "k a${_HASH}b${_BANG}c\n"},
		{"keyword that would be a conditional", []*Node{{Keyword: w("@x"), Args: []Token{w("@y")}}}, "\"@x\" @y\n"},
		{"keyword that would be a definition", []*Node{{Keyword: w("$A=1")}}, "\"$A=1\"\n"},
		{"keyword that would include", []*Node{{Keyword: w("include"), Args: []Token{w("x")}}}, "\"include\" x\n"},
		{"bare built-in at word end", []*Node{{Keyword: w("k"), Args: []Token{w("a$_PWD")}}}, "k \"a$_PWD\"\n"},
		{"blank in unquoted word", []*Node{{Keyword: w("k"), Args: []Token{w("a b")}}}, "k \"a b\"\n"},
		{"empty block", []*Node{{Keyword: w("e"), Block: true}}, "e {\n}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := Print(&b, tc.nodes); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrintUnwritable(t *testing.T) {
	for _, text := range []string{`a"b`, "a\nb"} {
		err := Print(&bytes.Buffer{}, []*Node{{Keyword: Token{Text: "k"}, Args: []Token{{Text: text}}}})
		if err == nil {
			t.Errorf("Print(%q) succeeded, want error", text)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	srcs := []string{
		"vrrp_instance VI_1 {\n state MASTER\n virtual_ipaddress { 192.0.2.1/24 dev veth0 label veth0:1 }\n notify \"/bin/n.sh 'a b'\"\n}\n",
		"k ${_HASH}x ${_BANG} \"#!\"\n",
		"k {\n}\nv { a { b { c } } }\n",
		"k \"$_PWD\" ${UNDEF} $UNDEF\n",
	}
	for i, src := range srcs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f, err := ParseBytes("k.conf", []byte(src), goldenOptions("node1"))
			if err != nil {
				t.Fatal(err)
			}
			assertRoundTrip(t, f.Nodes, true)
		})
	}
	// "@x" opening a line would be a conditional: Print quotes it, so only
	// the text survives, not the Quoted flag.
	f, err := ParseBytes("k.conf", []byte("list { @x }\n"), goldenOptions("node1"))
	if err != nil {
		t.Fatal(err)
	}
	assertRoundTrip(t, f.Nodes, false)
}
