package kaconf

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Print writes nodes as canonical keepalived.conf text: one node per line,
// four spaces of indent per block level, blocks as "keyword args {" ... "}".
// Parsing the output again yields the same keywords, arguments and blocks.
// Quoted tokens are printed in double quotes. An unquoted token is quoted
// only where its text would otherwise be read differently (blanks, braces, a
// leading '@', '~SEQ' or "$NAME=" in keyword position, e.g. "{ @x }" written
// on one line), so Quoted is kept except in those cases; '#' and '!' in
// unquoted tokens are written as ${_HASH} and ${_BANG}. Tokens containing '"' or line
// breaks cannot be written and make Print fail.
func Print(w io.Writer, nodes []*Node) error {
	bw := bufio.NewWriter(w)
	if err := printNodes(bw, nodes, 0); err != nil {
		return err
	}
	return bw.Flush()
}

func printNodes(w *bufio.Writer, nodes []*Node, depth int) error {
	indent := strings.Repeat("    ", depth)
	for _, n := range nodes {
		if n == nil {
			continue
		}
		line, err := formatLine(n)
		if err != nil {
			return err
		}
		w.WriteString(indent)
		w.WriteString(line)
		if !n.Block {
			w.WriteString("\n")
			continue
		}
		w.WriteString(" {\n")
		if err := printNodes(w, n.Children, depth+1); err != nil {
			return err
		}
		w.WriteString(indent)
		w.WriteString("}\n")
	}
	return nil
}

func formatLine(n *Node) (string, error) {
	kw, err := formatToken(n.Keyword, true)
	if err != nil {
		return "", err
	}
	parts := []string{kw}
	for _, a := range n.Args {
		s, err := formatToken(a, false)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " "), nil
}

// formatToken writes one token so that the parser reads it back unchanged.
func formatToken(t Token, first bool) (string, error) {
	if strings.ContainsAny(t.Text, "\"\n") {
		return "", fmt.Errorf("kaconf: print: token %q at %s cannot be written (contains a quote or line break)", t.Text, t.Pos)
	}
	if t.Quoted || mustQuote(t.Text, first) {
		return `"` + t.Text + `"`, nil
	}
	r := strings.NewReplacer("#", "${_HASH}", "!", "${_BANG}")
	return r.Replace(t.Text), nil
}

// mustQuote reports whether an unquoted token's text would be read back as
// something else when written bare.
func mustQuote(s string, first bool) bool {
	if s == "" || wordEnd(s, 0) != len(s) || endsWithBuiltinRef(s) {
		return true
	}
	if !first {
		return false
	}
	if _, _, def := defStart(s); def {
		return true
	}
	switch s {
	case "include", "includer", "includem", "includew", "includeb", "includea":
		return true
	}
	return strings.HasPrefix(s, "@") || strings.HasPrefix(s, "~SEQ") || strings.HasPrefix(s, "~LST")
}

// endsWithBuiltinRef: a bare "$_PWD" at the end of a word was left alone
// because something other than a blank followed it; printed before a blank
// it would be replaced.
func endsWithBuiltinRef(s string) bool {
	for _, b := range []string{"_PWD", "_INSTANCE", "_HASH", "_BANG", "_RANDOM"} {
		if strings.HasSuffix(s, "$"+b) {
			return true
		}
	}
	return false
}
