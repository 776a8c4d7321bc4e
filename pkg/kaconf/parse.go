package kaconf

import (
	"strings"
)

// File is a parsed configuration: its top-level nodes, and the warnings and
// notices found while reading it.
type File struct {
	Nodes []*Node
	Diags []Diagnostic
}

// Error lists the errors that made a configuration unreadable.
type Error struct {
	Diags []Diagnostic
}

// Error formats one diagnostic per line as FILE:LINE:COL: error: msg.
func (e *Error) Error() string {
	lines := make([]string, len(e.Diags))
	for i, d := range e.Diags {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// ParseFile reads path (following includes) and returns its syntax tree. On
// failure the error is an *Error and the partial *File is still returned so
// that callers can show its warnings.
func ParseFile(path string, o ParseOptions) (*File, error) {
	o = o.withDefaults()
	data, err := o.ReadFile(path)
	if err != nil {
		d := Diagnostic{Pos: Pos{File: path}, Severity: SevError, Msg: "kaconf: " + err.Error()}
		return &File{}, &Error{Diags: []Diagnostic{d}}
	}
	return parseSource(path, data, o)
}

// ParseBytes parses src as if it were the file name (includes are resolved
// relative to name's directory).
func ParseBytes(name string, src []byte, o ParseOptions) (*File, error) {
	return parseSource(name, src, o.withDefaults())
}

func parseSource(name string, src []byte, o ParseOptions) (*File, error) {
	p := &pp{o: o, defs: map[string]string{}}
	b := &treeBuilder{fail: func(pos Pos, msg string) { p.fail(pos, "%s", msg) }, onNode: p.globalNode}
	p.tree = b
	p.runFile(name, src)
	b.finish()
	f := &File{Nodes: b.top}
	var errs []Diagnostic
	for _, d := range p.diags {
		if d.Severity == SevError {
			errs = append(errs, d)
		} else {
			f.Diags = append(f.Diags, d)
		}
	}
	if len(errs) > 0 {
		return f, &Error{Diags: errs}
	}
	return f, nil
}

// treeBuilder turns the token stream into nested nodes.
type treeBuilder struct {
	top     []*Node
	stack   []*Node // open blocks, innermost last
	opens   []Pos   // position of each open block's '{'
	words   []Token // words of the line being read
	pending *Node   // last node ended by a line break: a '{' on the next line opens it
	size    int     // statements plus closed blocks: the lines Print writes for the tree
	fail    func(pos Pos, msg string)
	// onNode sees each statement as it is made, with the blocks open
	// around it: the preprocessor acts on global_defs keywords that govern
	// the rest of the reading (include.go).
	onNode func(n *Node, open []*Node)
}

// feed consumes the next tokens of the stream.
func (b *treeBuilder) feed(items []lexItem) {
	for _, it := range items {
		switch it.kind {
		case tWord:
			b.words = append(b.words, it.tok)
			b.pending = nil
		case tEOL:
			b.pending = b.flush()
		case tOpen:
			b.open(it.tok.Pos)
		case tClose:
			b.close(it.tok.Pos)
		}
	}
}

// finish ends the stream and reports blocks left open.
func (b *treeBuilder) finish() {
	b.flush()
	if n := len(b.opens); n > 0 {
		b.fail(b.opens[n-1], "unclosed '{' (missing '}')")
	}
}

// flush turns the pending words into a node at the current level.
func (b *treeBuilder) flush() *Node {
	if len(b.words) == 0 {
		return nil
	}
	n := &Node{Keyword: b.words[0]}
	if len(b.words) > 1 {
		n.Args = append([]Token(nil), b.words[1:]...)
	}
	b.words = b.words[:0]
	b.size++
	if k := len(b.stack); k > 0 {
		b.stack[k-1].Children = append(b.stack[k-1].Children, n)
	} else {
		b.top = append(b.top, n)
	}
	if b.onNode != nil {
		b.onNode(n, b.stack)
	}
	return n
}

func (b *treeBuilder) open(pos Pos) {
	n := b.flush()
	if n == nil {
		n = b.pending
	}
	b.pending = nil
	if n == nil || n.Block {
		b.fail(pos, "'{' without a keyword before it")
		return
	}
	n.Block = true
	b.stack = append(b.stack, n)
	b.opens = append(b.opens, pos)
}

func (b *treeBuilder) close(pos Pos) {
	b.flush()
	b.pending = nil
	k := len(b.stack)
	if k == 0 {
		b.fail(pos, "unexpected '}' (no open block)")
		return
	}
	b.stack[k-1].End = pos
	b.size++
	b.stack = b.stack[:k-1]
	b.opens = b.opens[:k-1]
}
