package kaconf

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// LoadOptions controls Load and Build.
type LoadOptions struct {
	Parse ParseOptions
	// VRRPOnly mirrors keepalived -P/--vrrp: LVS and checker blocks are
	// skipped with a single notice instead of being an error.
	VRRPOnly bool
	// Strict makes every fallback (a value keepalived 2.2.7 replaces with
	// a default, or a line it ignores) an error instead of a warning.
	Strict bool
}

// ErrInvalid is wrapped by the error Build returns when the configuration has
// error diagnostics.
var ErrInvalid = errors.New("kaconf: invalid configuration")

// Load parses the file at path (with includes) and builds the typed
// configuration. Parser and builder diagnostics are returned together.
func Load(path string, o LoadOptions) (*Config, []Diagnostic, error) {
	f, err := ParseFile(path, o.Parse)
	if f == nil {
		if err == nil {
			err = fmt.Errorf("kaconf: %s: parser returned nothing", path)
		}
		return nil, nil, err
	}
	diags := append([]Diagnostic(nil), f.Diags...)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			diags = append(diags, pe.Diags...)
		}
		return nil, diags, err
	}
	cfg, bd, err := Build(f.Nodes, o)
	return cfg, append(diags, bd...), err
}

// Build turns parsed nodes into a Config. It returns an error wrapping
// ErrInvalid, listing every error diagnostic as FILE:LINE:COL, when any
// diagnostic has SevError; the Config is still returned for inspection.
func Build(nodes []*Node, o LoadOptions) (*Config, []Diagnostic, error) {
	c := newCtx(o)
	cfg := newConfig()
	for i, n := range nodes {
		c.topIdx[n] = i
	}
	dispatch(c, topTable, nodes, cfg)
	derive(c, cfg)
	check(c, cfg)
	cfg.NotActedOn = c.parsedOnly
	return cfg, c.diags, c.err()
}

func newConfig() *Config {
	return &Config{
		Global:         defaultGlobal(),
		Scripts:        map[string]*Script{},
		TrackFiles:     map[string]*TrackFile{},
		TrackProcesses: map[string]*TrackProcess{},
	}
}

func defaultGlobal() GlobalDefs {
	return GlobalDefs{
		VRRPVersion:             2,
		GarpMasterRepeat:        5,
		GarpMasterDelay:         5 * time.Second,
		GarpMasterRefreshRepeat: 1,
		GarpLowerPrioRepeat:     -1, // resolved in derive
		GarpLowerPrioDelay:      -1,
		DownTimerAdverts:        3,
		McastGroup4:             netip.MustParseAddr("224.0.0.18"),
		McastGroup6:             netip.MustParseAddr("ff02::12"),
		DefaultInterface:        "eth0",
	}
}

const second = time.Second

// ctx carries diagnostics and bookkeeping through one Build.
type ctx struct {
	o       LoadOptions
	diags   []Diagnostic
	topIdx  map[*Node]int           // top-level node → index, for order-free references
	defIdx  map[string]int          // "script:NAME" → index of its top-level definition
	instIdx map[*Instance]int       // instance → index of its top-level node
	set     map[any]map[string]bool // object → keywords given explicitly
	given   map[any]map[string]bool // object → keywords written, valid or not
	lvsSeen bool
	// parsedOnly lists the lines whose keyword govrrp parses but does not
	// act on yet, for the daemon to refuse or warn.
	parsedOnly      []KeywordUse
	parsedOnlyDepth int // > 0 while inside a parsed-only block
	unknowns        int // unknown keywords seen, to bound suggestion work
	// fb is what keepalived does with an invalid value of the keyword
	// being read ("" when an invalid value is an error); see bad.
	fb string
	// where holds the position of each keyword's last line per object,
	// for rules that depend on file order (an instance's family).
	where map[any]map[string]Pos
	// rulesNoPref counts rules written without a preference, which
	// keepalived numbers down from defaultRulePref in file order.
	rulesNoPref int
	// instEnd is the closing brace of each instance, where keepalived
	// reports what it finds when completing the instance.
	instEnd map[*Instance]Pos
}

func newCtx(o LoadOptions) *ctx {
	return &ctx{
		o:       o,
		topIdx:  map[*Node]int{},
		defIdx:  map[string]int{},
		instIdx: map[*Instance]int{},
		set:     map[any]map[string]bool{},
		given:   map[any]map[string]bool{},
		where:   map[any]map[string]Pos{},
		instEnd: map[*Instance]Pos{},
	}
}

func (c *ctx) add(p Pos, s Severity, format string, a ...any) {
	c.diags = append(c.diags, Diagnostic{Pos: p, Severity: s, Msg: fmt.Sprintf(format, a...)})
}
func (c *ctx) errf(p Pos, f string, a ...any)    { c.add(p, SevError, f, a...) }
func (c *ctx) warnf(p Pos, f string, a ...any)   { c.add(p, SevWarning, f, a...) }
func (c *ctx) noticef(p Pos, f string, a ...any) { c.add(p, SevNotice, f, a...) }

func (c *ctx) markSet(obj any, kw string) { markKeyword(c.set, obj, kw) }

func (c *ctx) isSet(obj any, kw string) bool { return c.set[obj][kw] }

// markGiven records that kw was written for obj, valid or not, so a missing
// keyword is not reported on top of its invalid value.
func (c *ctx) markGiven(obj any, kw string) { markKeyword(c.given, obj, kw) }

func (c *ctx) isGiven(obj any, kw string) bool { return c.given[obj][kw] }

// markKeyword records kw for obj in one of the ctx's keyword sets.
func markKeyword(sets map[any]map[string]bool, obj any, kw string) {
	m := sets[obj]
	if m == nil {
		m = map[string]bool{}
		sets[obj] = m
	}
	m[kw] = true
}

// err lists the error diagnostics, or returns nil when there are none.
func (c *ctx) err() error {
	var b strings.Builder
	n := 0
	for _, d := range c.diags {
		if d.Severity != SevError {
			continue
		}
		n++
		b.WriteString("\n")
		b.WriteString(d.String())
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d error(s):%s", ErrInvalid, n, b.String())
}

// --- argument helpers: each reports its own diagnostic and returns ok=false.

func (c *ctx) intArg(n *Node, i int, lo, hi int64) (int64, bool) {
	if i >= len(n.Args) {
		c.errf(n.Pos(), "%s: missing argument", n.Keyword.Text)
		return 0, false
	}
	return c.intTok(n.Keyword.Text, n.Args[i], lo, hi)
}

func (c *ctx) intTok(what string, t Token, lo, hi int64) (int64, bool) {
	v, err := strconv.ParseInt(t.Text, 10, 64)
	if err != nil {
		c.bad(t.Pos, "%s: %q is not an integer", what, t.Text)
		return 0, false
	}
	if v < lo || v > hi {
		c.bad(t.Pos, "%s: %d outside range [%d, %d]", what, v, lo, hi)
		return 0, false
	}
	return v, true
}

// decimalRE is the number syntax keepalived reads (no exponent, hex, inf).
var decimalRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// secondsArg reads a decimal number of seconds (resolution 1 µs, as keepalived).
func (c *ctx) secondsArg(n *Node, i int, lo, hi float64) (time.Duration, bool) {
	if i >= len(n.Args) {
		c.errf(n.Pos(), "%s: missing argument", n.Keyword.Text)
		return 0, false
	}
	t := n.Args[i]
	v, err := strconv.ParseFloat(t.Text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || !decimalRE.MatchString(t.Text) {
		c.bad(t.Pos, "%s: %q is not a number", n.Keyword.Text, t.Text)
		return 0, false
	}
	if v < lo || v > hi {
		c.bad(t.Pos, "%s: %s outside range [%g, %g]", n.Keyword.Text, t.Text, lo, hi)
		return 0, false
	}
	return time.Duration(math.Round(v*1e6)) * time.Microsecond, true
}

// boolArg reads keepalived's optional boolean: no argument means true.
func (c *ctx) boolArg(n *Node, i int) (bool, bool) {
	if i >= len(n.Args) {
		return true, true
	}
	t := n.Args[i]
	switch strings.ToLower(t.Text) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	c.bad(t.Pos, "%s: %q is not a boolean (on|off|true|false|yes|no)", n.Keyword.Text, t.Text)
	return false, false
}

func (c *ctx) addrArg(n *Node, i int) (netip.Addr, bool) {
	if i >= len(n.Args) {
		c.errf(n.Pos(), "%s: missing address", n.Keyword.Text)
		return netip.Addr{}, false
	}
	return c.addrTok(n.Keyword.Text, n.Args[i])
}

func (c *ctx) addrTok(what string, t Token) (netip.Addr, bool) {
	a, err := netip.ParseAddr(t.Text)
	if err != nil || a.Zone() != "" {
		c.bad(t.Pos, "%s: invalid IP address %q", what, t.Text)
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func words(n *Node) []string {
	w := make([]string, 0, 1+len(n.Args))
	w = append(w, n.Keyword.Text)
	for _, a := range n.Args {
		w = append(w, a.Text)
	}
	return w
}

func raw(n *Node) Raw { return Raw{Words: words(n), Pos: n.Pos()} }

func argText(n *Node, i int) string {
	if i < len(n.Args) {
		return n.Args[i].Text
	}
	return ""
}

// setRunAs records "USER [GROUP]" given from argument i on under the line's
// keyword; nothing when the line names no user.
func setRunAs(m *map[string]RunAs, n *Node, i int) {
	if i >= len(n.Args) {
		return
	}
	if *m == nil {
		*m = make(map[string]RunAs)
	}
	(*m)[n.Keyword.Text] = RunAs{User: n.Args[i].Text, Group: argText(n, i+1)}
}
