package kaconf

import (
	"strings"
)

// includeChecks is the set of include checks keepalived 2.2.7 applies: which
// unmatched include patterns are errors (a start-up refusal, keepalived's exit
// code 6) instead of a warning.
type includeChecks uint8

const (
	// incMatch: a pattern without a wildcard that names no file.
	incMatch includeChecks = 1 << iota
	// incWildcard: a pattern with a wildcard (* ? [) that matches nothing.
	incWildcard
	// incBrace: one {a,b} alternative that matches nothing.
	incBrace

	incAll = incMatch | incWildcard | incBrace
)

// includeVariantChecks are the checks of the include keywords, as keepalived
// 2.2.7 does them (observed with keepalived -t, exit 6 = error): includew also
// refuses a missing plain file; includer checks nothing, because 2.2.7 does
// not know the "readable" check its man page describes (include_check
// readable: "Unknown include_check type 'readable' - ignoring").
var includeVariantChecks = map[string]includeChecks{
	"includer": 0,
	"includem": incMatch,
	"includew": incMatch | incWildcard,
	"includeb": incBrace,
	"includea": incAll,
}

var includeCheckNames = map[string]includeChecks{
	"match":          incMatch,
	"wildcard_match": incWildcard,
	"brace_match":    incBrace,
}

// globalNode acts on the global_defs keywords that govern the rest of the
// reading, when the parser makes their statement: include_check (the
// includes after it) and random_seed (random.go). keepalived applies them
// while reading too, and only inside global_defs (at the top level 2.2.7
// reports include_check as an unknown keyword and checks nothing).
func (p *pp) globalNode(n *Node, open []*Node) {
	if len(open) != 1 || open[0].Keyword.Text != "global_defs" {
		return
	}
	switch n.Keyword.Text {
	case "include_check":
		p.includeCheck(n)
	case "random_seed":
		p.randomSeed(n)
	}
}

// includeCheck sets the include checks in force; the setting is restored
// when the file that set it ends (runFile).
func (p *pp) includeCheck(n *Node) {
	if len(n.Args) == 0 {
		p.incCheck = incAll // no option: every check
		return
	}
	set := includeChecks(0)
	for _, a := range n.Args {
		w, op := a.Text, byte(0)
		if w != "" && (w[0] == '+' || w[0] == '-') {
			op, w = w[0], w[1:]
		}
		c, ok := includeCheckNames[w]
		if !ok {
			p.report(a.Pos, SevWarning, "include_check: unknown check %q - ignoring (keepalived 2.2.7 knows match, wildcard_match and brace_match)", w)
			continue
		}
		switch op {
		case '+':
			p.incCheck |= c
		case '-':
			p.incCheck &^= c
		default:
			set |= c
		}
	}
	if set != 0 {
		p.incCheck = set
	}
}

// hasWildcard reports whether a glob pattern has a wildcard of its own.
func hasWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}

// checkUnmatched reports the include patterns that matched nothing: an error
// when the checks in force cover it, else a warning (keepalived logs "Config
// files missing" and goes on).
func (p *pp) checkUnmatched(kw, pattern string, pos Pos, checks includeChecks, alts []string, matched []int) {
	total := 0
	for _, n := range matched {
		total += n
	}
	if total == 0 {
		c := incMatch
		if hasWildcard(pattern) {
			c = incWildcard
		}
		p.reportMissing(pos, sevIf(checks&c != 0), "%s %s: no file matches", kw, pattern)
		return
	}
	if len(alts) < 2 {
		return
	}
	var missing []string
	for i, n := range matched {
		if n == 0 {
			missing = append(missing, alts[i])
		}
	}
	if len(missing) > 0 {
		p.reportMissing(pos, sevIf(checks&incBrace != 0), "%s %s: some alternatives match no file: %s", kw, pattern, strings.Join(missing, ", "))
	}
}
