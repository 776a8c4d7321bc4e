package kaconf

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLineLimitSurvivesPrint: the line limit counts the same thing on the
// text a user wrote and on the text Print writes for it, so whatever parses
// within the limit prints to text that parses within it too (FuzzParse
// found "0{}" packed thousands of times into few lines: accepted, but
// printed one statement per line it exceeded the limit).
func TestLineLimitSurvivesPrint(t *testing.T) {
	const limit = 5000
	tests := []struct {
		name    string
		src     string
		wantErr string // "" = accepted; then it must print and parse back within the limit
	}{
		{"fuzz report: printed form over the limit",
			"0{00000000000000!000000\n~SEQ(A000,1700)~SEQ(A0,0)0{}\n}",
			"/fuzz.conf:2:26: error: configuration has more than 5000 lines when written one statement per line\n" +
				"/fuzz.conf:1:2: error: unclosed '{' (missing '}')"},
		{"packed statements within the limit", "top {\n~SEQ(I,1666) a$I{}b\n}\n", ""},
		{"printed form exactly at the limit", "~SEQ(I,2500) 0{}\n", ""},
		{"printed form one over the limit", "~SEQ(I,2500) 0{}\nx\n",
			"/fuzz.conf:2:1: error: configuration has more than 5000 lines when written one statement per line"},
		{"many statements on one written line", strings.Repeat("k{}", 2501) + "\n",
			"/fuzz.conf:1:1: error: configuration has more than 5000 lines when written one statement per line"},
		// Expansions that yield no statement still count: they used to run
		// unbounded (10^12 empty iterations here).
		{"empty nested sequences", "$E=\n~SEQ(I,1000000) ~SEQ(J,1000000) $E\n",
			"/fuzz.conf:2:1: error: configuration expands to more than 5000 lines"},
		{"empty inner sequence per outer value", "$E=\n~SEQ(I,3000) ~SEQ(J,2) $E\n",
			"/fuzz.conf:2:14: error: configuration expands to more than 5000 lines"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := goldenOptions("fuzz")
			o.maxLines = limit
			f, err := ParseBytes("/fuzz.conf", []byte(tc.src), o)
			if tc.wantErr != "" {
				var perr *Error
				if !errors.As(err, &perr) {
					t.Fatalf("error = %v, want *Error", err)
				}
				if diff := cmp.Diff(tc.wantErr, perr.Error()); diff != "" {
					t.Fatalf("(-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := Print(&b, f.Nodes); err != nil {
				t.Fatal(err)
			}
			again, err := ParseBytes("/fuzz.conf", b.Bytes(), o)
			if err != nil {
				t.Fatalf("printed text (%d lines) does not parse: %v", bytes.Count(b.Bytes(), []byte("\n")), err)
			}
			if diff := cmp.Diff(stripped(f.Nodes, false), stripped(again.Nodes, false)); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}
