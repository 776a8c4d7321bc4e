package kaconf

import (
	"errors"
	"fmt"
	"strings"
)

// ErrEmptyCommand is returned by SplitCommand for a command with no words.
var ErrEmptyCommand = errors.New("kaconf: empty command")

// SplitCommand splits a script or notify command into argv the way keepalived
// does: words are separated by unquoted blanks; ' and " quote (the quotes are
// removed and quoted parts join the surrounding word); a backslash escape
// works everywhere: \a \b \E \f \n \r \t \v, \nnn (octal, up to 3 digits),
// \xHH.. (hex), \cC (control character), and \C for any other C is C.
func SplitCommand(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b, n := unescape(s[i+1:])
			cur.WriteByte(b)
			i += n
			inWord = true
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			inWord = true
		case isBlank(c):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("kaconf: command %q: missing terminating %c", s, quote)
	}
	if inWord {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		return nil, ErrEmptyCommand
	}
	return out, nil
}

// unescape decodes the escape after a backslash; s is the text after it. It
// returns the byte and how many bytes of s it used. A trailing backslash
// stands for itself.
func unescape(s string) (byte, int) {
	if s == "" {
		return '\\', 0
	}
	simple := map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}
	c := s[0]
	if b, ok := simple[c]; ok {
		return b, 1
	}
	switch {
	case c >= '0' && c <= '7':
		v, n := 0, 0
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v*8 + int(s[n]-'0')
			n++
		}
		return byte(v), n
	case c == 'x':
		v, n := 0, 1
		for n < len(s) && hexVal(s[n]) >= 0 {
			v = (v*16 + hexVal(s[n])) & 0xff
			n++
		}
		if n == 1 {
			return 'x', 1
		}
		return byte(v), n
	case c == 'c' && len(s) > 1:
		if s[1] == '?' {
			return 0x7f, 2
		}
		return toUpper(s[1]) & 0x1f, 2
	}
	return c, 1
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func toUpper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// CommandArgs returns the argv of a script keyword's arguments (script,
// notify, notify_master ...): the arguments are joined with blanks, as
// keepalived does, and split again by SplitCommand, so both
// `notify "/x.sh 'a b'"` and `notify /x.sh arg` work.
func CommandArgs(args []Token) ([]string, error) {
	texts := make([]string, len(args))
	for i, a := range args {
		texts[i] = a.Text
	}
	return SplitCommand(strings.Join(texts, " "))
}
