package kaconf

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "/bin/true", want: []string{"/bin/true"}},
		{in: "  /bin/x  a\tb  ", want: []string{"/bin/x", "a", "b"}},
		{in: `/bin/x 'a b' "c d"`, want: []string{"/bin/x", "a b", "c d"}},
		{in: `abcd" efg h jkl "mnop`, want: []string{"abcd efg h jkl mnop"}},
		{in: `x "it's" 'say "hi"'`, want: []string{"x", "it's", `say "hi"`}},
		{in: `x a\ b`, want: []string{"x", "a b"}},
		{in: `x \n\t\\\a\b\E\f\r\v`, want: []string{"x", "\n\t\\\a\b\x1b\f\r\v"}},
		{in: `x \101\0\1234`, want: []string{"x", "A\x00S4"}},
		{in: `x \x41\x4a4b \xg`, want: []string{"x", "A\x4b", "xg"}},
		{in: `x \cA\cz\c?`, want: []string{"x", "\x01\x1a\x7f"}},
		{in: `x '\''`, want: []string{"x", "'"}},
		{in: `x "a\"b"`, want: []string{"x", `a"b`}},
		{in: `x trailing\`, want: []string{"x", `trailing\`}},
		{in: `x ''`, want: []string{"x", ""}},
		{in: `x 'open`, wantErr: true},
		{in: `x "open`, wantErr: true},
		{in: "   ", wantErr: true},
	}
	for _, tc := range tests {
		got, err := SplitCommand(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("SplitCommand(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("SplitCommand(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	if _, err := SplitCommand(""); !errors.Is(err, ErrEmptyCommand) {
		t.Errorf("SplitCommand(\"\") error = %v, want ErrEmptyCommand", err)
	}
}

func TestCommandArgs(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{`notify "/usr/bin/n.sh 'a b' c"`, []string{"/usr/bin/n.sh", "a b", "c"}},
		{`notify /usr/bin/n.sh MASTER`, []string{"/usr/bin/n.sh", "MASTER"}},
		{`script "</dev/tcp/127.0.0.1/80"`, []string{"</dev/tcp/127.0.0.1/80"}},
	}
	for _, tc := range tests {
		f, err := ParseBytes("k.conf", []byte(tc.src), goldenOptions("n"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := CommandArgs(f.Nodes[0].Args)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.src, diff)
		}
	}
}
