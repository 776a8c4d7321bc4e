package kaconf

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ParseOptions control how a configuration is read. The zero value reads the
// real file system with keepalived's defaults.
type ParseOptions struct {
	ConfigID string                                 // keepalived -i; default: short hostname (os.Hostname up to the first '.')
	ReadFile func(name string) ([]byte, error)      // default os.ReadFile (tests inject)
	Glob     func(pattern string) ([]string, error) // default filepath.Glob; {a,b} braces are expanded before the call
	Getenv   func(string) string                    // default os.Getenv (for ${_ENV X})
	Random   func() int                             // for ${_RANDOM}; default math/rand

	maxLines int // line budget (see defaultMaxLines); 0 means defaultMaxLines (the fuzz tests lower it)
}

// Limits that keep hostile or mistaken input (recursive definitions, huge
// sequences, include loops) from running away.
//
// maxLines bounds two counts, and Print relies on both:
//   - the lines the preprocessor handles: every line read from a file plus
//     every line an expansion makes (one per ~SEQ/~LST value, one per line of
//     a multi-line definition), whether or not it yields any token. This is
//     the work bound: it also stops expansions that produce nothing.
//   - the size of the tree: one per statement and one per closed block, which
//     is exactly the number of lines Print writes. This is counted on the
//     tree, not on the text, because one input line may hold many statements
//     ("a {} b {} c {}") and Print writes one per line.
//
// Text printed from an accepted tree therefore reads back within the same
// limit: Print's output has no expansions, so its handled lines are its
// printed lines, which are the tree size the first parse already bounded.
const (
	defaultMaxLines = 4_000_000
	maxDepth        = 64
	maxSubst        = 1_000
	maxLineLen      = 64 << 10
	maxSeqCount     = 1 << 20
	maxErrors       = 100
)

func (o ParseOptions) withDefaults() ParseOptions {
	if o.ConfigID == "" {
		if h, err := os.Hostname(); err == nil {
			o.ConfigID, _, _ = strings.Cut(h, ".")
		}
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.Glob == nil {
		o.Glob = filepath.Glob
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Random == nil {
		o.Random = rand.Int
	}
	if o.maxLines <= 0 {
		o.maxLines = defaultMaxLines
	}
	return o
}

// lineSource yields the logical lines still to read; a multi-line definition
// consumes its continuation lines from it.
type lineSource interface {
	next() (pline, bool)
}

// fileLines yields a file's non-empty lines with comments removed.
type fileLines struct {
	file  string
	lines []string
	i     int
}

func (f *fileLines) next() (pline, bool) {
	for f.i < len(f.lines) {
		n := f.i
		f.i++
		raw := strings.TrimRight(stripComment(f.lines[n]), " \t\r\v\f")
		if strings.TrimSpace(raw) == "" {
			continue
		}
		return newPline(raw, Pos{File: f.file, Line: n + 1, Col: 1}), true
	}
	return pline{}, false
}

// sliceLines yields lines produced by expanding a multi-line definition.
type sliceLines struct {
	lines []pline
	i     int
}

func (s *sliceLines) next() (pline, bool) {
	for s.i < len(s.lines) {
		l := s.lines[s.i]
		s.i++
		if strings.TrimSpace(l.text) != "" {
			return l, true
		}
	}
	return pline{}, false
}

// pp is the preprocessor state for one parse.
type pp struct {
	o       ParseOptions
	defs    map[string]string
	curFile string
	chain   []string // files being read, as written, outermost first
	keys    []string // the same files, cleaned to absolute paths
	tree    *treeBuilder
	scratch []lexItem // one line's tokens, reused
	diags   []Diagnostic
	nerrs   int
	lines   int // lines handled so far (the work bound)
	stopped bool

	incCheck includeChecks // include_check in force (include.go); restored at the end of each file
	rnd      func() int    // ${_RANDOM}'s source: o.Random until a random_seed line (random.go)
}

func (p *pp) report(pos Pos, sev Severity, format string, args ...any) {
	if sev == SevError {
		p.nerrs++
		if p.nerrs > maxErrors {
			p.stopped = true
			return
		}
	}
	p.diags = append(p.diags, Diagnostic{Pos: pos, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}

// reportMissing is report for an include that names no file it can read.
func (p *pp) reportMissing(pos Pos, sev Severity, format string, args ...any) {
	p.report(pos, sev, format, args...)
	if n := len(p.diags); n > 0 && p.diags[n-1].Pos == pos {
		p.diags[n-1].MissingFile = true
	}
}

func (p *pp) fail(pos Pos, format string, args ...any) {
	p.report(pos, SevError, format, args...)
}

// runFile preprocesses one file's contents; name is used for positions.
func (p *pp) runFile(name string, data []byte) {
	saved, savedCheck := p.curFile, p.incCheck
	p.curFile = name
	p.chain = append(p.chain, name)
	p.keys = append(p.keys, fileKey(name))
	src := &fileLines{file: name, lines: strings.Split(string(data), "\n")}
	for !p.stopped {
		l, ok := src.next()
		if !ok {
			break
		}
		if p.charge(l) {
			p.line(src, l, 0)
		}
	}
	p.chain = p.chain[:len(p.chain)-1]
	p.keys = p.keys[:len(p.keys)-1]
	p.curFile, p.incCheck = saved, savedCheck
}

// charge counts one handled line against the line budget; it reports false
// (and stops the parse) once the budget is spent.
func (p *pp) charge(l pline) bool {
	if p.stopped {
		return false
	}
	p.lines++
	if p.lines > p.o.maxLines {
		p.fail(l.posAt(0), "configuration expands to more than %d lines", p.o.maxLines)
		p.stopped = true
		return false
	}
	return true
}

func fileKey(name string) string {
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return filepath.Clean(name)
}

// line runs one logical line through conditionals, definitions, sequences,
// substitution and include, then lexes what remains.
func (p *pp) line(src lineSource, l pline, depth int) {
	if p.stopped {
		return
	}
	if depth > maxDepth {
		p.fail(l.posAt(0), "expansion nested deeper than %d levels (recursive definition?)", maxDepth)
		return
	}
	l = l.trimSpace()
	for strings.HasPrefix(l.text, "@") {
		keep, rest := p.conditional(l)
		if !keep {
			if _, _, ok := defStart(rest.text); ok && strings.HasSuffix(rest.text, `\`) {
				p.readContinuation(src) // a skipped definition still owns its lines
			}
			return
		}
		l = rest
	}
	if l.text == "" {
		return
	}
	if name, val, ok := defStart(l.text); ok {
		p.define(src, name, val)
		return
	}
	if strings.HasPrefix(l.text, "~SEQ") || strings.HasPrefix(l.text, "~LST") {
		p.sequence(l, depth)
		return
	}
	out, multi, changed, ok := p.substitute(l)
	switch {
	case !ok:
		return
	case multi != nil:
		ms := &sliceLines{lines: multi}
		for !p.stopped {
			m, more := ms.next()
			if !more || !p.charge(m) {
				break
			}
			p.line(ms, m, depth+1)
		}
		return
	case changed:
		// Substituted text may itself be a conditional or definition.
		p.line(src, out, depth+1)
		return
	}
	if p.include(l) {
		return
	}
	p.emit(l) // include_check and random_seed act as they are made (include.go: globalNode)
}

// conditional evaluates "@ID rest" / "@^ID rest" against the config id.
func (p *pp) conditional(l pline) (bool, pline) {
	s := l.text[1:]
	neg := strings.HasPrefix(s, "^")
	if neg {
		s = s[1:]
	}
	id := s
	if k := strings.IndexFunc(s, func(r rune) bool { return r < 128 && isBlank(byte(r)) }); k >= 0 {
		id = s[:k]
	}
	start := len(l.text) - len(s) + len(id)
	rest := l.slice(start, len(l.text)).trimSpace()
	return (id == p.o.ConfigID) != neg, rest
}

// defStart recognises "$NAME=value".
func defStart(s string) (name, val string, ok bool) {
	if !strings.HasPrefix(s, "$") {
		return "", "", false
	}
	n := identLen(s[1:])
	if n == 0 || 1+n >= len(s) || s[1+n] != '=' {
		return "", "", false
	}
	return s[1 : 1+n], s[2+n:], true
}

// identLen is the length of the parameter name at the start of s.
func identLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !alpha && (i == 0 || c < '0' || c > '9') {
			return i
		}
	}
	return len(s)
}

// define stores a definition; a value ending in '\' continues on the next
// lines, which become separate lines when the definition is used.
func (p *pp) define(src lineSource, name, val string) {
	val = strings.TrimSpace(val)
	if !strings.HasSuffix(val, `\`) {
		p.defs[name] = val
		return
	}
	var parts []string
	if first := strings.TrimSpace(strings.TrimSuffix(val, `\`)); first != "" {
		parts = append(parts, first)
	}
	parts = append(parts, p.readContinuation(src)...)
	p.defs[name] = strings.Join(parts, "\n")
}

// readContinuation reads the lines of a multi-line definition after its first.
func (p *pp) readContinuation(src lineSource) []string {
	var parts []string
	for src != nil {
		nl, ok := src.next()
		if !ok {
			break
		}
		t := strings.TrimSpace(nl.text)
		if !strings.HasSuffix(t, `\`) {
			parts = append(parts, t)
			break
		}
		parts = append(parts, strings.TrimSpace(strings.TrimSuffix(t, `\`)))
	}
	return parts
}

// substitute replaces $NAME / ${NAME} references until none is left. When a
// multi-line definition is met the line is split and returned as multi; its
// lines are then processed afresh (they may define or use parameters).
func (p *pp) substitute(l pline) (out pline, multi []pline, changed, ok bool) {
	count := 0
	for i := 0; i < len(l.text); {
		k := strings.IndexByte(l.text[i:], '$')
		if k < 0 {
			break
		}
		k += i
		end, val, found, err := p.lookup(l.text, k)
		if err != "" {
			p.fail(l.posAt(k), "%s", err)
			return l, nil, false, false
		}
		if !found {
			i = k + 1
			continue
		}
		pos := l.posAt(k)
		if strings.Contains(val, "\n") {
			return l, splitMulti(l, k, end, val, pos), true, true
		}
		l = l.replace(k, end, val, pos)
		changed = true
		count++
		if count > maxSubst || len(l.text) > maxLineLen {
			p.fail(pos, "too many substitutions (recursive definition?)")
			return l, nil, false, false
		}
		i = 0 // rescan: the replacement may complete a new reference
	}
	return l, nil, changed, true
}

func splitMulti(l pline, k, end int, val string, pos Pos) []pline {
	parts := strings.Split(val, "\n")
	lines := []pline{l.slice(0, k).concat(fixedPline(parts[0], pos))}
	for _, m := range parts[1 : len(parts)-1] {
		lines = append(lines, fixedPline(m, pos))
	}
	last := fixedPline(parts[len(parts)-1], pos).concat(l.slice(end, len(l.text)))
	return append(lines, last)
}

// lookup resolves the reference at s[k] == '$'. It returns the end of the
// reference and its value; found is false for text that stays as written.
func (p *pp) lookup(s string, k int) (end int, val string, found bool, err string) {
	var name, params string
	if k+1 < len(s) && s[k+1] == '{' {
		c := strings.IndexByte(s[k+2:], '}')
		if c < 0 {
			return 0, "", false, ""
		}
		inner := s[k+2 : k+2+c]
		end = k + 3 + c
		n := identLen(inner)
		if n == 0 || (n < len(inner) && inner[n] != ' ') {
			return 0, "", false, ""
		}
		name, params = inner[:n], strings.TrimSpace(inner[n:])
	} else {
		n := identLen(s[k+1:])
		end = k + 1 + n
		if n == 0 || (end < len(s) && !strings.ContainsRune(" \t,)", rune(s[end]))) {
			return 0, "", false, ""
		}
		name = s[k+1 : end]
	}
	val, found, err = p.resolve(name, params)
	return end, val, found, err
}

// resolve returns the value of a built-in or defined parameter.
func (p *pp) resolve(name, params string) (string, bool, string) {
	switch name {
	case "_PWD":
		return pwdOf(p.curFile), params == "", ""
	case "_INSTANCE":
		return p.o.ConfigID, params == "", ""
	case "_HASH":
		return "#", params == "", ""
	case "_BANG":
		return "!", params == "", ""
	case "_RANDOM":
		return p.random(params)
	case "_ENV":
		if params == "" || strings.ContainsAny(params, " \t") {
			return "", false, ""
		}
		return p.o.Getenv(params), true, ""
	}
	v, ok := p.defs[name]
	if !ok || params != "" {
		return "", false, ""
	}
	return v, true, ""
}

func pwdOf(file string) string {
	if abs, err := filepath.Abs(filepath.Dir(file)); err == nil {
		return abs
	}
	return filepath.Dir(file)
}

// random implements ${_RANDOM [MIN [MAX]]} (defaults 0 and 32767).
func (p *pp) random(params string) (string, bool, string) {
	lo, hi := int64(0), int64(32767)
	f := strings.Fields(params)
	nums := make([]int64, 0, 2)
	for _, s := range f {
		v, err := strconv.ParseUint(s, 10, 31)
		if err != nil {
			return "", false, "" // not a _RANDOM reference: keep the text
		}
		nums = append(nums, int64(v))
	}
	switch len(nums) {
	case 0:
	case 1:
		lo = nums[0]
	case 2:
		lo, hi = nums[0], nums[1]
	default:
		return "", false, "${_RANDOM} takes at most MIN and MAX"
	}
	if hi < lo {
		return "", false, fmt.Sprintf("${_RANDOM %s}: MAX is less than MIN", params)
	}
	if p.rnd == nil {
		p.rnd = p.o.Random
	}
	r := int64(p.rnd())
	if r < 0 {
		r = -(r + 1)
	}
	return strconv.FormatInt(lo+r%(hi-lo+1), 10), true, ""
}

// sequence expands a ~SEQ/~SEQx/~LST line: the rest of the line is processed
// once per value with the variable(s) defined.
func (p *pp) sequence(l pline, depth int) {
	s := l.text
	hex := strings.HasPrefix(s, "~SEQx")
	i := 4
	if hex {
		i = 5
	}
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	cl := strings.IndexByte(s[i:], ')')
	if i >= len(s) || s[i] != '(' || cl < 0 {
		p.fail(l.posAt(0), "invalid %s: expected (...)", s[:4])
		return
	}
	header := s[i+1 : i+cl]
	body := l.slice(i+cl+1, len(s)).trimSpace()
	var vars []string
	var sets [][]string
	var err string
	if strings.HasPrefix(s, "~SEQ") {
		vars, sets, err = p.seqValues(header, hex)
	} else {
		vars, sets, err = lstValues(header)
	}
	if err != "" {
		p.fail(l.posAt(0), "%s", err)
		p.stopped = p.stopped || p.lines >= p.o.maxLines
		return
	}
	p.iterate(vars, sets, body, depth)
}

// iterate processes body once per value set, restoring the variables after.
func (p *pp) iterate(vars []string, sets [][]string, body pline, depth int) {
	saved := make(map[string]*string, len(vars))
	for _, v := range vars {
		if old, ok := p.defs[v]; ok {
			saved[v] = &old
		} else {
			saved[v] = nil
		}
	}
	for _, set := range sets {
		if p.stopped {
			break
		}
		if !p.charge(body) {
			break
		}
		for j, v := range vars {
			p.defs[v] = set[j]
		}
		p.line(nil, body, depth+1)
	}
	for v, old := range saved {
		if old == nil {
			delete(p.defs, v)
		} else {
			p.defs[v] = *old
		}
	}
}

// seqValues parses "var, [start,] [step,] end" (numbers may be definitions).
func (p *pp) seqValues(header string, hex bool) ([]string, [][]string, string) {
	f := strings.Split(header, ",")
	name := strings.TrimSpace(f[0])
	if len(f) < 2 || len(f) > 4 || identLen(name) != len(name) || name == "" {
		return nil, nil, fmt.Sprintf("invalid ~SEQ(%s)", header)
	}
	nums := make([]int64, 0, 3)
	for _, a := range f[1:] {
		v, err := strconv.ParseInt(p.expandText(strings.TrimSpace(a)), 0, 64)
		if err != nil {
			return nil, nil, fmt.Sprintf("invalid ~SEQ(%s): %q is not a number", header, strings.TrimSpace(a))
		}
		nums = append(nums, v)
	}
	start, step, end := seqBounds(nums)
	if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
		return nil, nil, fmt.Sprintf("invalid ~SEQ(%s): step never reaches the end", header)
	}
	if hex && (start < 0 || end < 0) {
		return nil, nil, fmt.Sprintf("invalid ~SEQx(%s): hexadecimal sequences must be positive", header)
	}
	n := (end-start)/step + 1
	if n > maxSeqCount || n < 0 {
		return nil, nil, fmt.Sprintf("~SEQ(%s) has more than %d values", header, maxSeqCount)
	}
	if n > int64(p.o.maxLines-p.lines) {
		// Every value is charged as a line: the budget would run out anyway,
		// so stop before building the values (nested sequences would
		// otherwise build them again for each outer value).
		p.lines = p.o.maxLines
		return nil, nil, fmt.Sprintf("configuration expands to more than %d lines", p.o.maxLines)
	}
	base := 10
	if hex {
		base = 16
	}
	var sets [][]string
	for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
		sets = append(sets, []string{strconv.FormatInt(v, base)})
	}
	return []string{name}, sets, ""
}

// seqBounds applies keepalived's defaults for omitted start and step.
func seqBounds(n []int64) (start, step, end int64) {
	switch len(n) {
	case 1:
		end = n[0]
		start, step = 1, 1
		if end < 0 {
			start = -1
		}
		if end < 1 {
			step = -1
		}
	case 2:
		start, end, step = n[0], n[1], 1
		if start > end {
			step = -1
		}
	default:
		start, step, end = n[0], n[1], n[2]
	}
	return start, step, end
}

// expandText substitutes single-line references in s (used in ~SEQ bounds).
func (p *pp) expandText(s string) string {
	out, multi, _, ok := p.substitute(newPline(s, Pos{}))
	if !ok || multi != nil {
		return s
	}
	return out.text
}

// lstValues parses "var, v1, v2" or "{a, b}, {1, 2}, {3, 4}".
func lstValues(header string) ([]string, [][]string, string) {
	bad := fmt.Sprintf("invalid ~LST(%s)", header)
	vars, rest, ok := lstGroup(header)
	if !ok || len(vars) == 0 {
		return nil, nil, bad
	}
	for _, v := range vars {
		if v == "" || identLen(v) != len(v) {
			return nil, nil, bad
		}
	}
	var sets [][]string
	for {
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(rest, ",") {
			break
		}
		var set []string
		set, rest, ok = lstGroup(rest[1:])
		if !ok || len(set) > len(vars) {
			return nil, nil, bad
		}
		for len(set) < len(vars) {
			set = append(set, "") // missing values are blank
		}
		sets = append(sets, set)
	}
	if strings.TrimSpace(rest) != "" || len(sets) == 0 {
		return nil, nil, bad
	}
	return vars, sets, ""
}

// lstGroup reads "{a, b}" or a single "a" up to the next ','.
func lstGroup(s string) ([]string, string, bool) {
	s = strings.TrimLeft(s, " \t")
	if strings.HasPrefix(s, "{") {
		c := strings.IndexByte(s, '}')
		if c < 0 {
			return nil, s, false
		}
		var out []string
		for _, v := range strings.Split(s[1:c], ",") {
			out = append(out, strings.TrimSpace(v))
		}
		return out, s[c+1:], true
	}
	c := strings.IndexByte(s, ',')
	if c < 0 {
		c = len(s)
	}
	return []string{strings.TrimSpace(s[:c])}, s[c:], true
}

// include handles "include PATTERN" and its keepalived variants; it reports
// whether the line was an include.
func (p *pp) include(l pline) bool {
	kw, rest := l.text, ""
	if i := strings.IndexAny(l.text, " \t"); i >= 0 {
		kw, rest = l.text[:i], l.text[i+1:]
	}
	switch kw {
	case "include", "includer", "includem", "includew", "includeb", "includea":
	default:
		return false
	}
	pos := l.posAt(0)
	pattern := strings.TrimSpace(rest)
	if len(pattern) >= 2 && pattern[0] == '"' && pattern[len(pattern)-1] == '"' {
		pattern = pattern[1 : len(pattern)-1]
	}
	if pattern == "" {
		p.fail(pos, "%s: missing file name", kw)
		return true
	}
	checks, variant := includeVariantChecks[kw]
	if !variant {
		checks = p.incCheck
	}
	files, alts, matched, ok := p.globAll(pattern, pos)
	if !ok {
		return true
	}
	p.checkUnmatched(kw, pattern, pos, checks, alts, matched)
	for _, f := range files {
		if p.stopped {
			break
		}
		p.readFile(f, pos, checks != 0)
	}
	return true
}

func sevIf(strict bool) Severity {
	if strict {
		return SevError
	}
	return SevWarning
}

// globAll expands braces and globs relative to the current file's directory;
// each alternative's matches are sorted, alternatives keep their order.
func (p *pp) globAll(pattern string, pos Pos) (files, alts []string, matched []int, ok bool) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(p.curFile), pattern)
	}
	seen := map[string]bool{}
	alts = expandBraces(pattern)
	matched = make([]int, len(alts))
	for i, alt := range alts {
		m, err := p.o.Glob(alt)
		if err != nil {
			p.fail(pos, "include %s: %v", pattern, err)
			return nil, nil, nil, false
		}
		sort.Strings(m)
		matched[i] = len(m)
		for _, f := range m {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	return files, alts, matched, true
}

// readFile reads an included file, refusing include cycles.
func (p *pp) readFile(name string, from Pos, strict bool) {
	key := fileKey(name)
	for i, k := range p.keys {
		if k == key {
			chain := append(append([]string{}, p.chain[i:]...), name)
			p.fail(from, "include cycle: %s", strings.Join(chain, " -> "))
			return
		}
	}
	if len(p.chain) > maxDepth {
		p.fail(from, "includes nested deeper than %d files", maxDepth)
		return
	}
	data, err := p.o.ReadFile(name)
	if err != nil {
		p.reportMissing(from, sevIf(strict), "include: cannot read %s: %v", name, err)
		return
	}
	p.runFile(name, data)
}

// expandBraces expands csh-style {a,b} alternatives (nested allowed); a
// backslash escapes the next byte.
func expandBraces(s string) []string {
	open := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '{' {
			open = i
			break
		}
	}
	if open < 0 {
		return []string{s}
	}
	alts, close := braceAlternatives(s, open)
	if close < 0 {
		return []string{s}
	}
	var out []string
	for _, a := range alts {
		out = append(out, expandBraces(s[:open]+a+s[close+1:])...)
		if len(out) > 10_000 {
			break
		}
	}
	return out
}

// braceAlternatives splits the top-level commas of the {...} at open and
// returns the index of its closing brace (-1 if unbalanced).
func braceAlternatives(s string, open int) ([]string, int) {
	depth, start := 0, open+1
	var alts []string
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return append(alts, s[start:i]), i
			}
		case ',':
			if depth == 1 {
				alts = append(alts, s[start:i])
				start = i + 1
			}
		}
	}
	return nil, -1
}

// emit lexes a fully preprocessed line into the token stream.
func (p *pp) emit(l pline) {
	var d *Diagnostic
	p.scratch, d = lexLine(l, p.scratch[:0])
	if d != nil {
		p.fail(d.Pos, "%s", d.Msg)
	}
	p.tree.feed(p.scratch)
	p.tree.feed([]lexItem{{kind: tEOL}})
	if p.tree.size > p.o.maxLines {
		p.fail(l.posAt(0), "configuration has more than %d lines when written one statement per line", p.o.maxLines)
		p.stopped = true
	}
}
