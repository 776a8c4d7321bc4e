package kaconf

import "time"

// GarpGroup is one garp_group block: the spacing of gratuitous ARPs and of
// unsolicited NAs on its interfaces, which share one budget (keepalived:
// "the limits apply to the switch as a whole"). An interface already in an
// earlier group is dropped from a later one with a warning, as keepalived
// 2.2.7 does ("garp_group already specified for eth0 - ignoring").
type GarpGroup struct {
	Pos          Pos
	GarpInterval time.Duration // 0 = no spacing
	GnaInterval  time.Duration
	Interfaces   []string

	prev []*GarpGroup // the groups before this one (while reading)
	// delaySet: an interval was read (a word that is not a number counts,
	// as 0; a number out of range does not): keepalived 2.2.7 removes a
	// group without one.
	delaySet bool
}

type kwGG = keyword[*GarpGroup]

// maxGarpGroupSecs is keepalived 2.2.7's bound for garp_group intervals
// ("outside range [0.000000, 2147.483647]").
const maxGarpGroupSecs = 2147.483647

var garpGroupTable = newTable("garp_group", nil, []kwGG{
	kwGG{name: "garp_interval", args: "SECONDS", min: 1, max: 1, status: Supported, doc: "spacing of gratuitous ARPs on the group's interfaces (µs resolution)", fallback: ignore,
		fn: func(c *ctx, n *Node, g *GarpGroup) {
			if v, ok := c.secondsArg(n, 0, 0, maxGarpGroupSecs); ok {
				g.GarpInterval, g.delaySet = v, true
			}
		}}.nonNumberAs("0", func(g *GarpGroup) { g.GarpInterval, g.delaySet = 0, true }),
	kwGG{name: "gna_interval", args: "SECONDS", min: 1, max: 1, status: Supported, doc: "spacing of unsolicited NAs on the group's interfaces (µs resolution)", fallback: ignore,
		fn: func(c *ctx, n *Node, g *GarpGroup) {
			if v, ok := c.secondsArg(n, 0, 0, maxGarpGroupSecs); ok {
				g.GnaInterval, g.delaySet = v, true
			}
		}}.nonNumberAs("0", func(g *GarpGroup) { g.GnaInterval, g.delaySet = 0, true }),
	{name: "interface", args: "IF", min: 1, max: 1, status: Supported, doc: "the interface the intervals apply to",
		fn: func(c *ctx, n *Node, g *GarpGroup) { c.garpGroupIf(g, n.Args[0]) }},
	{name: "interfaces", args: "{ IF ... }", block: true, status: Supported, doc: "interfaces sharing one budget (one switch)",
		fn: func(c *ctx, n *Node, g *GarpGroup) {
			for _, ch := range n.Children {
				c.garpGroupIf(g, ch.Keyword)
				for _, a := range ch.Args {
					c.garpGroupIf(g, a)
				}
			}
		}},
})

// topGarpGroup reads one garp_group block into cfg.GarpGroups.
func topGarpGroup(c *ctx, n *Node, cfg *Config) {
	g := &GarpGroup{Pos: n.Pos(), prev: cfg.GarpGroups}
	dispatch(c, garpGroupTable, n.Children, g)
	g.prev = nil
	if !g.delaySet {
		at := n.End // keepalived reports it at the closing brace
		if at.Line == 0 {
			at = n.Pos()
		}
		c.fallbackf(at, "ignore the group", "garp_group does not have any delay set")
		return
	}
	cfg.GarpGroups = append(cfg.GarpGroups, g)
}

// garpGroupIf adds an interface to g unless an earlier group (or g) has it.
func (c *ctx) garpGroupIf(g *GarpGroup, t Token) {
	name := t.Text
	taken := func(gs []*GarpGroup) bool {
		for _, o := range gs {
			for _, i := range o.Interfaces {
				if i == name {
					return true
				}
			}
		}
		return false
	}
	if taken(g.prev) || taken([]*GarpGroup{g}) {
		c.fallbackf(t.Pos, "ignore it here", "garp_group already specified for %s", name)
		return
	}
	g.Interfaces = append(g.Interfaces, name)
}

// minGarpDefaults is vrrp_min_garp: it changes the global defaults, not the
// values written. keepalived 2.2.7's -d dump, whatever the order of the
// lines: vrrp_garp_master_repeat 1, vrrp_garp_master_delay 0 and
// vrrp_garp_master_refresh_repeat 0 unless written (so a refresh sends
// nothing: seen on the wire, garp_master_refresh 2 sent no GARP in 6 s), the
// lower-priority pair derived from those as usual; instance lines still win.
func minGarpDefaults(c *ctx, g *GlobalDefs) {
	if !g.MinGarp {
		return
	}
	if !c.isSet(g, "vrrp_garp_master_repeat") {
		g.GarpMasterRepeat = 1
	}
	if !c.isSet(g, "vrrp_garp_master_delay") {
		g.GarpMasterDelay = 0
	}
	if !c.isSet(g, "vrrp_garp_master_refresh_repeat") {
		g.GarpMasterRefreshRepeat = 0
	}
}

// maxExtraIfSecs: "The maximum permitted value is 1 day (86400 seconds)".
const maxExtraIfSecs = 86400

// extraIfArgs reads "[all] SECS" (garp_extra_if, vrrp_garp_extra_if).
func (c *ctx) extraIfArgs(n *Node) (all bool, every time.Duration, ok bool) {
	i := 0
	if len(n.Args) == 2 {
		if n.Args[0].Text != "all" {
			c.bad(n.Args[0].Pos, "%s: %q is not \"all\"", n.Keyword.Text, n.Args[0].Text)
			return false, 0, false
		}
		all, i = true, 1
	}
	every, ok = c.secondsArg(n, i, 0, maxExtraIfSecs)
	return all, every, ok
}
