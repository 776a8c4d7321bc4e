// Package kaconf reads keepalived.conf: a lexer and preprocessor that keep the
// position of every token (include with globs, comments, quoting, $NAME
// definitions, @ conditionals, ~SEQ/~LST), a generic syntax tree, and the
// typed VRRP configuration built from it.
//
// Invariants: Build never panics on any input; it returns an error exactly
// when a diagnostic is an error. A value keepalived 2.2.7 reports and replaces
// while loading is a warning with Fallback set, and the Config holds the
// value keepalived runs with (testdata/fallbacks records keepalived's own
// output and dump for each case); LoadOptions.Strict makes those errors. An
// error without Strict is only what keepalived refuses to run or what leaves
// an instance unable to work.
package kaconf

import "fmt"

// Pos is a position in a configuration file. Line and Col are 1-based; Col
// counts bytes.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Token is one word of a configuration line after preprocessing.
type Token struct {
	Text   string
	Pos    Pos
	Quoted bool // the word was written in double quotes
}

// Node is one configuration line: its first word is the keyword, the rest are
// arguments. A line followed by '{' owns the lines up to the matching '}' as
// Children. Inside list blocks such as virtual_ipaddress the "keyword" is the
// first word of the entry (an address), which is how keepalived reads them too.
type Node struct {
	Keyword  Token
	Args     []Token
	Children []*Node
	Block    bool // the line opened a { } block (Children may be empty)
	End      Pos  // position of the closing '}' when Block
}

// Pos returns the position of the node's keyword.
func (n *Node) Pos() Pos { return n.Keyword.Pos }

// Severity of a diagnostic.
type Severity int

const (
	SevWarning Severity = iota
	SevError
	SevNotice
)

func (s Severity) String() string {
	switch s {
	case SevError:
		return "error"
	case SevNotice:
		return "notice"
	default:
		return "warning"
	}
}

// Diagnostic is a message about the configuration, tied to a position.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
	// Fallback: keepalived 2.2.7 accepts the line and replaces its value
	// (govrrp does the same); an error only with LoadOptions.Strict.
	Fallback bool
	// MissingFile: an include that matches no file (or cannot be read),
	// an error when include_check covers it; keepalived 2.2.7's -t then
	// exits 6 rather than 5, even beside other errors.
	MissingFile bool
}

// String formats the diagnostic as FILE:LINE:COL: severity: message.
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s: %s: %s", d.Pos, d.Severity, d.Msg)
}
