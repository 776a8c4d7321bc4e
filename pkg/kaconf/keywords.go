package kaconf

import (
	"sort"
	"strings"
)

// Status says what govrrp does with a keyword.
type Status int

const (
	// Supported: the daemon acts on it.
	Supported Status = iota
	// ParsedOnly: parsed and validated, not yet acted on.
	ParsedOnly
	// Rejected: recognised by name and refused (LVS/checker blocks, keywords of
	// keepalived newer than 2.2 that govrrp does not implement).
	Rejected
	// Ignored: recognised and ignored with a diagnostic, as keepalived
	// 2.2.7's VRRP process ignores it: settings of keepalived's checker
	// (LVS) and BFD processes, which govrrp does not replace, and keywords
	// 2.2.7 itself does not know in that place. Never in NotActedOn.
	Ignored
)

func (s Status) String() string {
	switch s {
	case Supported:
		return "Supported"
	case ParsedOnly:
		return "ParsedOnly"
	case Ignored:
		return "Ignored"
	default:
		return "Rejected"
	}
}

// KeywordInfo describes one registered keyword, for documentation.
type KeywordInfo struct {
	Block  string // enclosing block: "top", "global_defs", "vrrp_instance", ...
	Name   string
	Args   string // argument syntax, e.g. "<1..255>"
	Status Status
	Doc    string
}

// keyword is one registry row. fn is nil for keywords that are only
// recognised (ParsedOnly without a model: kept raw in the target's Other when
// the table has a rawSink, Rejected: an error).
type keyword[T any] struct {
	name   string
	args   string
	min    int  // minimum argument count
	max    int  // maximum argument count, -1 unlimited
	block  bool // takes a { } block
	status Status
	doc    string
	fn     func(c *ctx, n *Node, t T)
	// fallback: what keepalived 2.2.7 (and govrrp) do when the value is
	// invalid; "" makes an invalid value an error. See orElse.
	fallback string
}

// otherProcess marks a setting of keepalived's checker (LVS) or BFD
// process: its value is still checked as keepalived checks it, and each
// use is a notice saying govrrp ignores it, as keepalived's VRRP process
// does. It is never refused: govrrp replaces only the VRRP process.
func (k keyword[T]) otherProcess() keyword[T] {
	check := k.fn
	k.status = Ignored
	k.fn = func(c *ctx, n *Node, t T) {
		c.noticef(n.Pos(), "%s is a setting of keepalived's checker (LVS) or BFD process, which govrrp does not replace: ignored, as keepalived's VRRP process ignores it", k.name)
		if check != nil {
			check(c, n, t)
		}
	}
	return k
}

// with returns the keyword with another status; it keeps the helpers that
// build rows (gInt, iFlag, ...) free of a status argument.
func (k keyword[T]) with(st Status) keyword[T] {
	k.status = st
	return k
}

// KeywordUse is one line of a file that uses a keyword.
type KeywordUse struct {
	Block string
	Name  string
	Pos   Pos
}

// table is the registry of one block kind.
type table[T any] struct {
	block   string
	kws     []keyword[T]
	idx     map[string]int
	rawSink func(t T, r Raw) // where recognised-but-unmodelled lines go
}

func newTable[T any](block string, sink func(T, Raw), kws []keyword[T]) *table[T] {
	t := &table[T]{block: block, kws: kws, idx: make(map[string]int, len(kws)), rawSink: sink}
	for i, k := range kws {
		t.idx[k.name] = i
	}
	return t
}

func (t *table[T]) infos() []KeywordInfo {
	out := make([]KeywordInfo, 0, len(t.kws))
	for _, k := range t.kws {
		out = append(out, KeywordInfo{Block: t.block, Name: k.name, Args: k.args, Status: k.status, Doc: k.doc})
	}
	return out
}

func (t *table[T]) names() []string {
	out := make([]string, 0, len(t.kws))
	for _, k := range t.kws {
		out = append(out, k.name)
	}
	return out
}

// dispatch runs each node through the table: unknown keywords are warnings
// with a suggestion, arity and block shape are checked before the handler.
func dispatch[T any](c *ctx, tb *table[T], nodes []*Node, tgt T) {
	for _, n := range nodes {
		i, ok := tb.idx[n.Keyword.Text]
		if !ok {
			c.unknown(tb.block, tb.names(), n)
			continue
		}
		k := &tb.kws[i]
		c.markGiven(tgt, k.name)
		c.markWhere(tgt, k.name, n.Pos())
		if !c.shapeOK(tb.block, k.name, k.min, k.max, k.block, n) {
			continue
		}
		// Only the outermost parsed-only line is recorded: a vrrp_script
		// block is one thing not acted on, not one per line inside it.
		notActedOn := k.status == ParsedOnly && c.parsedOnlyDepth == 0
		if notActedOn {
			c.parsedOnly = append(c.parsedOnly, KeywordUse{Block: tb.block, Name: k.name, Pos: n.Pos()})
		}
		switch {
		case k.fn != nil:
			if notActedOn {
				c.parsedOnlyDepth++
			}
			c.withFallback(k.fallback, func() { k.fn(c, n, tgt) })
			if notActedOn {
				c.parsedOnlyDepth--
			}
		case k.status == Rejected:
			c.errf(n.Pos(), "keyword %q in %s is not supported by govrrp (it is from a keepalived newer than 2.2.7)", k.name, tb.block)
		case tb.rawSink != nil:
			tb.rawSink(tgt, raw(n))
		}
	}
}

func (c *ctx) shapeOK(block, name string, min, max int, wantBlock bool, n *Node) bool {
	if len(n.Args) < min {
		c.errf(n.Pos(), "%s in %s: needs at least %d argument(s)", name, block, min)
		return false
	}
	if max >= 0 && len(n.Args) > max {
		c.fallbackf(n.Args[max].Pos, "ignore them", "%s in %s: extra argument(s)", name, block)
	}
	if wantBlock && !n.Block {
		c.errf(n.Pos(), "%s in %s: expects a { } block", name, block)
		return false
	}
	if !wantBlock && n.Block {
		c.errf(n.Pos(), "%s in %s: does not take a { } block", name, block)
		return false
	}
	return true
}

// maxSuggestions bounds the edit-distance work on files full of junk.
const maxSuggestions = 200

func (c *ctx) unknown(block string, names []string, n *Node) {
	kw := n.Keyword.Text
	c.unknowns++
	const instead = "ignore the line"
	if c.unknowns > maxSuggestions {
		c.fallbackf(n.Pos(), instead, "unknown keyword %q in %s", kw, block)
		return
	}
	if s := suggest(kw, names); s != "" {
		c.fallbackf(n.Pos(), instead, "unknown keyword %q in %s (did you mean %q?)", kw, block, s)
		return
	}
	c.fallbackf(n.Pos(), instead, "unknown keyword %q in %s", kw, block)
}

// suggest returns the closest name within an edit distance that scales with
// the word (1 for short words, up to 3), or "".
func suggest(w string, names []string) string {
	best, bestD := "", len(w)/3+1
	if bestD > 3 {
		bestD = 3
	}
	for _, n := range names {
		if l := len(n) - len(w); l > bestD || -l > bestD {
			continue // the distance is at least the length difference
		}
		if d := editDistance(w, n); d <= bestD && (best == "" || d < bestD) {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance (bytes; keywords are ASCII).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // not a typo of any keyword; avoid quadratic work
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Keywords lists every registered keyword, grouped by block in a stable
// order. cmd/kaconf-keywords prints the README table from it.
func Keywords() []KeywordInfo {
	var out []KeywordInfo
	for _, f := range []func() []KeywordInfo{
		topTable.infos, globalTable.infos, instanceTable.infos, authTable.infos, authHMACTable.infos,
		scriptTable.infos, trackFileTable.infos, trackProcessTable.infos, syncGroupTable.infos,
		garpGroupTable.infos, bfdTable.infos,
	} {
		part := f()
		sort.SliceStable(part, func(i, j int) bool { return part[i].Name < part[j].Name })
		out = append(out, part...)
	}
	return out
}

// MarkdownTable renders Keywords as the README compatibility table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Block | Keyword | Arguments | Status | Notes |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, k := range Keywords() {
		b.WriteString("| " + k.Block + " | `" + k.Name + "` | " + mdEscape(k.Args) + " | " +
			k.Status.String() + " | " + mdEscape(k.Doc) + " |\n")
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
