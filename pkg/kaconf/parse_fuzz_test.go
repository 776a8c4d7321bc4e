package kaconf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: parsing never panics, and whatever parses prints and parses
// back to the same keywords, arguments and blocks.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/lex/*.conf")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"a { b \"c d\" } e\n", "\"\r\"", "$X=\\\n1\\\n2\n$X\n", "~LST({A,B},{1,2}) $A$B\n", "@^x k\n",
		"k ${_RANDOM 1 2} ${_ENV HOME} $_PWD{}\n", "a\n{\n}\n}\n{", "k \"unterminated\n",
		"$A=$B\n$B=$A\n$A\n", "~SEQ(I,0,1000000000) x\n", "include /nonexistent/*\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		o := goldenOptions("fuzz")
		o.maxLines = 5000
		file, err := ParseBytes("/fuzz.conf", src, o)
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := Print(&b, file.Nodes); err != nil {
			t.Fatalf("Print after successful parse: %v", err)
		}
		again, err := ParseBytes("/fuzz.conf", b.Bytes(), o)
		if err != nil {
			t.Fatalf("printed text does not parse: %v\n%q", err, b.String())
		}
		want, got := stripped(file.Nodes, false), stripped(again.Nodes, false)
		if !nodesEqual(want, got) {
			t.Fatalf("round trip changed the tree\ninput: %q\nprinted: %q", src, b.String())
		}
	})
}

func nodesEqual(a, b []*Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Keyword != y.Keyword || x.Block != y.Block || len(x.Args) != len(y.Args) {
			return false
		}
		for j := range x.Args {
			if x.Args[j] != y.Args[j] {
				return false
			}
		}
		if !nodesEqual(x.Children, y.Children) {
			return false
		}
	}
	return true
}
