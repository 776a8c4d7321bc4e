package kaconf

import (
	"strings"
)

// span gives the source position of the bytes of a pline from off onwards.
// A fixed span maps every byte to pos (text produced by a $ reference); an
// unfixed span advances the column byte by byte (text written in the file).
type span struct {
	off   int
	pos   Pos
	fixed bool
}

// pline is one logical line with the origin of each byte, so that tokens keep
// the position where they were written even after substitution and slicing.
type pline struct {
	text  string
	spans []span
}

func newPline(text string, pos Pos) pline {
	return pline{text: text, spans: []span{{pos: pos}}}
}

func fixedPline(text string, pos Pos) pline {
	return pline{text: text, spans: []span{{pos: pos, fixed: true}}}
}

// posAt returns the position of byte i (i may equal len(text)).
func (l pline) posAt(i int) Pos {
	if len(l.spans) == 0 {
		return Pos{}
	}
	s := l.spans[0]
	for _, c := range l.spans[1:] {
		if c.off > i {
			break
		}
		s = c
	}
	if s.fixed {
		return s.pos
	}
	p := s.pos
	p.Col += i - s.off
	return p
}

// slice returns bytes [i,j) keeping their positions.
func (l pline) slice(i, j int) pline {
	out := pline{text: l.text[i:j]}
	out.spans = append(out.spans, span{pos: l.posAt(i), fixed: l.fixedAt(i)})
	for _, s := range l.spans {
		if s.off > i && s.off < j {
			out.spans = append(out.spans, span{off: s.off - i, pos: s.pos, fixed: s.fixed})
		}
	}
	return out
}

func (l pline) fixedAt(i int) bool {
	f := false
	for _, s := range l.spans {
		if s.off > i {
			break
		}
		f = s.fixed
	}
	return f
}

// concat appends b to l.
func (l pline) concat(b pline) pline {
	if b.text == "" {
		return l
	}
	if l.text == "" {
		return b
	}
	out := pline{text: l.text + b.text}
	out.spans = append(out.spans, l.spans...)
	for _, s := range b.spans {
		s.off += len(l.text)
		last := out.spans[len(out.spans)-1]
		if s.fixed && last.fixed && s.pos == last.pos {
			continue // same reference: keep span lists short under recursion
		}
		out.spans = append(out.spans, s)
	}
	return out
}

// replace substitutes bytes [i,j) with val, all positioned at pos.
func (l pline) replace(i, j int, val string, pos Pos) pline {
	return l.slice(0, i).concat(fixedPline(val, pos)).concat(l.slice(j, len(l.text)))
}

// trimSpace drops leading and trailing blanks.
func (l pline) trimSpace() pline {
	i, j := 0, len(l.text)
	for i < j && isBlank(l.text[i]) {
		i++
	}
	for j > i && isBlank(l.text[j-1]) {
		j--
	}
	return l.slice(i, j)
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n'
}

// stripComment cuts the line at the first '#' or '!' outside double quotes.
func stripComment(s string) string {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '#', '!':
			if !inQuote {
				return s[:i]
			}
		}
	}
	return s
}

// tokKind is the kind of a lexItem in the token stream.
type tokKind int

const (
	tWord tokKind = iota
	tOpen
	tClose
	tEOL
)

type lexItem struct {
	kind tokKind
	tok  Token
}

// lexLine splits a preprocessed line into words and braces. Double quotes
// group words (keeping blanks and braces); "${NAME}" stays inside a word.
func lexLine(l pline, out []lexItem) ([]lexItem, *Diagnostic) {
	s := l.text
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isBlank(c):
			i++
		case c == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return out, &Diagnostic{Pos: l.posAt(i), Severity: SevError, Msg: "unterminated double quote"}
			}
			out = append(out, lexItem{kind: tWord, tok: Token{Text: s[i+1 : i+1+end], Pos: l.posAt(i), Quoted: true}})
			i += end + 2
		case c == '{':
			out = append(out, lexItem{kind: tOpen, tok: Token{Text: "{", Pos: l.posAt(i)}})
			i++
		case c == '}':
			out = append(out, lexItem{kind: tClose, tok: Token{Text: "}", Pos: l.posAt(i)}})
			i++
		default:
			j := wordEnd(s, i)
			out = append(out, lexItem{kind: tWord, tok: Token{Text: s[i:j], Pos: l.posAt(i)}})
			i = j
		}
	}
	return out, nil
}

// wordEnd returns the end of the unquoted word starting at i.
func wordEnd(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if isBlank(c) || c == '"' || c == '{' || c == '}' {
			return i
		}
		if c == '$' && i+1 < len(s) && s[i+1] == '{' {
			if k := refBraceEnd(s, i+2); k > 0 {
				i = k + 1
				continue
			}
		}
		i++
	}
	return i
}

// refBraceEnd returns the index of the '}' closing a "${" whose content
// starts at i, or -1 when the content has blanks or braces.
func refBraceEnd(s string, i int) int {
	for k := i; k < len(s); k++ {
		switch c := s[k]; {
		case c == '}':
			return k
		case isBlank(c) || c == '{' || c == '"':
			return -1
		}
	}
	return -1
}
