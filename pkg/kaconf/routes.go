package kaconf

import (
	"net/netip"
	"strconv"
	"strings"
)

// Typed virtual_routes / static_routes and virtual_rules / static_rules.
// keepalived 2.2.7 reads the `ip route add` / `ip rule add` grammar with
// full option names only. govrrp models the options it installs through
// netlink; any other option keepalived knows is recorded in NotActedOn by
// name and position, so `govrrp run` refuses the file instead of installing a
// route that differs from keepalived's. Observed on keepalived 2.2.7: every
// route and rule it installs carries protocol 18 ("proto keepalived"), a
// route given only a dev gets scope global, a rule without a preference gets
// 16384, 16383, ... in file order (see checkRules).

// Route is one line of virtual_routes or static_routes.
type Route struct {
	Pos  Pos
	Type string // "" (unicast) | "blackhole" | "unreachable" | "prohibit" | "throw"
	// Dst is the destination; "default" is 0.0.0.0/0 (::/0 with inet6).
	Dst      netip.Prefix
	Src      netip.Addr // preferred source ("src", keepalived's first form)
	Via      netip.Addr
	Dev      string
	Scope    string // "" (global) | global | site | link | host | nowhere
	Table    int    // 0: main
	Metric   int
	Protocol int // 0: keepalived's own (18)
	MTU      int
	MTULock  bool
	OnLink   bool
	// Nexthops are the paths of a multipath route ("nexthop ..." or the
	// deprecated "or ADDR"); Via/Dev then describe the first path only when
	// given before the first nexthop.
	Nexthops []Nexthop
	// NoTrack: a deleted route is not restored and does not move the
	// instance out of MASTER (keepalived's no_track).
	NoTrack bool
	// TrackGroup names the track_group whose instances go to FAULT while
	// the route cannot be kept (static_routes only; trackgroup.go).
	TrackGroup string
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Via    netip.Addr
	Dev    string
	Weight int // 1..256; 0 = 1
	OnLink bool
}

// IPv6 reports the route's family.
func (r Route) IPv6() bool { return r.Dst.Addr().Is6() }

// Rule is one line of virtual_rules or static_rules.
type Rule struct {
	Pos      Pos
	Family6  bool         // "inet6", or an IPv6 from/to
	From, To netip.Prefix // invalid: all
	Table    int          // 0: main
	Pref     int          // keepalived numbers rules without one (see checkRules)
	FwMark   uint32
	FwMask   uint32 // 0: exact mark
	IIF, OIF string
	NoTrack  bool
	// TrackGroup: as Route.TrackGroup (static_rules with dev/iif only).
	TrackGroup string
}

// routeTypes are the route types govrrp installs; keepalived also takes
// local, broadcast, multicast, nat and anycast, refused by name.
var routeTypes = map[string]bool{"unicast": true, "blackhole": true, "unreachable": true, "prohibit": true, "throw": true}

// routeOptsKnown are keepalived route options govrrp does not act on; a
// line using one is recorded as not acted on. Each takes one value unless
// listed in routeFlagsKnown.
var routeOptsKnown = map[string]bool{
	"tos": true, "dsfield": true, "hoplimit": true, "advmss": true, "rtt": true, "rttvar": true,
	"reordering": true, "window": true, "cwnd": true, "ssthresh": true, "realms": true, "rto_min": true,
	"initcwnd": true, "initrwnd": true, "features": true, "quickack": true, "congctl": true, "pref": true,
	"fastopen_no_cookie": true, "vrf": true, "encap": true, "expires": true, "track_group": true,
	"local": true, "broadcast": true, "multicast": true, "nat": true, "anycast": true,
}

// routeFlagsKnown are keepalived route words without a value govrrp does not act on.
var routeFlagsKnown = map[string]bool{"append": true, "prepend": true, "lock": true}

// tableNames are the names iproute2 knows without rt_tables.
var tableNames = map[string]int{"main": 254, "local": 255, "default": 253}

// typedRoutes parses every child of a route block; ones that do not parse
// are reported and left out.
func (c *ctx) typedRoutes(n *Node, block string) []Route {
	out := make([]Route, 0, len(n.Children))
	for _, ch := range n.Children {
		if r, ok := c.parseRoute(append([]Token{ch.Keyword}, ch.Args...), ch.Pos(), block); ok {
			out = append(out, r)
		}
	}
	return out
}

// notActed records a route/rule option govrrp parses but does not act on
// (unless the whole block is already recorded as parsed-only).
func (c *ctx) notActed(block, what string, p Pos) {
	if c.parsedOnlyDepth == 0 {
		c.parsedOnly = append(c.parsedOnly, KeywordUse{Block: block, Name: what, Pos: p})
	}
}

// routeWords walks the tokens of one line.
type routeWords struct {
	c    *ctx
	w    []Token
	i    int
	bad  bool
	what string // "route" | "rule": what keepalived skips when a word is invalid
}

// skip reports an invalid word: keepalived 2.2.7 (keepalived -t) logs it
// and runs without the line, so it is a fallback, not an error.
func (ws *routeWords) skip(p Pos, format string, a ...any) {
	ws.c.fallbackf(p, "skip the "+ws.what, format, a...)
	ws.bad = true
}

func (ws *routeWords) more() bool { return !ws.bad && ws.i < len(ws.w) }
func (ws *routeWords) next() Token {
	t := ws.w[ws.i]
	ws.i++
	return t
}

// value is the word after option opt, or an error at opt (keepalived 2.2.7
// refuses to run a line missing a parameter).
func (ws *routeWords) value(opt Token) Token {
	if ws.i >= len(ws.w) {
		ws.c.errf(opt.Pos, "%s: missing value", opt.Text)
		ws.bad = true
		return Token{}
	}
	return ws.next()
}

func (ws *routeWords) addr(opt Token) netip.Addr {
	t := ws.value(opt)
	if ws.bad {
		return netip.Addr{}
	}
	if t.Text == "inet" || t.Text == "inet6" { // "via inet6 ADDR"
		t = ws.value(t)
		if ws.bad {
			return netip.Addr{}
		}
	}
	a, err := netip.ParseAddr(t.Text)
	if err != nil {
		ws.skip(t.Pos, "%s: invalid address %q", opt.Text, t.Text)
	}
	return a
}

func (ws *routeWords) num(opt Token, lo, hi int) int {
	t := ws.value(opt)
	if ws.bad {
		return 0
	}
	v, err := strconv.ParseInt(t.Text, 0, 64)
	if err != nil || v < int64(lo) || v > int64(hi) {
		ws.skip(t.Pos, "%s: %q is not a number in %d..%d", opt.Text, t.Text, lo, hi)
	}
	return int(v)
}

// table reads a table number or one of the names iproute2 always knows.
func (ws *routeWords) table(opt Token, block string) int {
	return ws.numberOrName(opt, block, tableNames, 32, "table name", "rt_tables")
}

// numberOrName reads a number of at most bits bits or one of names; any
// other name would come from an iproute2 file (from) govrrp does not read,
// and is refused by name.
func (ws *routeWords) numberOrName(opt Token, block string, names map[string]int, bits int, what, from string) int {
	t := ws.value(opt)
	if ws.bad {
		return 0
	}
	if v, ok := names[t.Text]; ok {
		return v
	}
	v, err := strconv.ParseUint(t.Text, 0, bits)
	if err != nil {
		ws.c.notActed(block, what+" "+strconv.Quote(t.Text)+" (from "+from+")", t.Pos)
		return 0
	}
	return int(v)
}

// parseRoute reads one route line.
func (c *ctx) parseRoute(w []Token, pos Pos, block string) (Route, bool) {
	r := Route{Pos: pos}
	ws := &routeWords{c: c, w: w, what: "route"}
	inet6, dstSet := false, false
	var nh *Nexthop
	for ws.more() {
		t := ws.next()
		switch t.Text {
		case "inet6":
			inet6 = true
		case "inet":
		case "src":
			r.Src = ws.addr(t)
		case "to":
			r.Dst, dstSet = ws.prefix(ws.value(t)), true
		case "via", "gw":
			a := ws.addr(t)
			if nh != nil {
				nh.Via = a
			} else {
				r.Via = a
			}
		case "or":
			ws.orPath(&r, t) // a dev after it still applies to every path
		case "nexthop":
			r.Nexthops = append(r.Nexthops, Nexthop{})
			nh = &r.Nexthops[len(r.Nexthops)-1]
		case "weight":
			if nh == nil {
				ws.skip(t.Pos, "weight outside a nexthop")
				return r, false
			}
			nh.Weight = ws.num(t, 1, 256)
		case "dev", "oif":
			d := ws.value(t).Text
			if nh != nil {
				nh.Dev = d
			} else {
				r.Dev = d
			}
		case "onlink":
			if nh != nil {
				nh.OnLink = true
			} else {
				r.OnLink = true
			}
		case "scope":
			r.Scope = ws.scope(t)
		case "table":
			r.Table = ws.table(t, block)
		case "metric", "priority", "preference":
			r.Metric = ws.num(t, 0, 1<<32-1)
		case "protocol", "proto":
			r.Protocol = ws.protocol(t, block)
		case "mtu":
			r.MTU, r.MTULock = ws.mtu(t)
		case "no_track":
			r.NoTrack = true
		case "track_group":
			r.TrackGroup = ws.trackGroup(t, block)
		default:
			switch {
			case routeTypes[t.Text] && ws.i == 1:
				if t.Text != "unicast" {
					r.Type = t.Text
				}
			case routeOptsKnown[t.Text]:
				c.notActed(block, "route option "+t.Text, t.Pos)
				if !(t.Text == "local" || t.Text == "broadcast" || t.Text == "multicast" || t.Text == "nat" || t.Text == "anycast") {
					ws.value(t)
				}
			case routeFlagsKnown[t.Text]:
				c.notActed(block, "route option "+t.Text, t.Pos)
			case !dstSet:
				r.Dst, dstSet = ws.prefix(t), true
			default:
				ws.skip(t.Pos, "route: unknown option %q", t.Text)
				return r, false
			}
		}
	}
	if ws.bad {
		return r, false
	}
	return c.finishRoute(r, w[0], dstSet, inet6)
}

// orPath turns keepalived's deprecated "via A or B" into two nexthops.
func (ws *routeWords) orPath(r *Route, t Token) {
	if len(r.Nexthops) == 0 {
		r.Nexthops = append(r.Nexthops, Nexthop{Via: r.Via, Dev: r.Dev})
		r.Via = netip.Addr{}
	}
	r.Nexthops = append(r.Nexthops, Nexthop{Via: ws.addr(t), Dev: r.Dev})
}

func (c *ctx) finishRoute(r Route, first Token, dstSet, inet6 bool) (Route, bool) {
	if !dstSet {
		c.fallbackf(first.Pos, "skip the route", "route: no destination")
		return r, false
	}
	if !r.Dst.IsValid() { // "default"
		r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if inet6 || r.Via.Is6() || r.Src.Is6() {
			r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
	}
	for _, a := range []netip.Addr{r.Src, r.Via} {
		if a.IsValid() && a.Is6() != r.IPv6() {
			c.fallbackf(r.Pos, "skip the route", "route: %s is not of the family of %s", a, r.Dst)
			return r, false
		}
	}
	for i := range r.Nexthops {
		if r.Nexthops[i].Dev == "" {
			r.Nexthops[i].Dev = r.Dev
		}
	}
	if r.Type != "" && (r.Via.IsValid() || len(r.Nexthops) > 0) {
		c.fallbackf(r.Pos, "skip the route", "route: a %s route has no gateway", r.Type)
		return r, false
	}
	return r, true
}

// prefix reads a destination: ADDR, ADDR/LEN or "default" (the zero Prefix,
// filled in by finishRoute once the family is known).
func (ws *routeWords) prefix(t Token) netip.Prefix {
	if ws.bad {
		return netip.Prefix{}
	}
	if t.Text == "default" {
		return netip.Prefix{}
	}
	p, ok := parsePrefixText(t.Text)
	if ok {
		return p.Masked()
	}
	// keepalived: "Invalid address prefix len 33 ... - using 32".
	if a, bits, cut := strings.Cut(t.Text, "/"); cut {
		if addr, err := netip.ParseAddr(a); err == nil {
			if n, err := strconv.Atoi(bits); err == nil && n > addr.BitLen() {
				ws.c.fallbackf(t.Pos, "use /"+strconv.Itoa(addr.BitLen()), "prefix length %d of %s is too long", n, a)
				return netip.PrefixFrom(addr, addr.BitLen())
			}
		}
	}
	ws.skip(t.Pos, "invalid prefix %q", t.Text)
	return netip.Prefix{}
}

func parsePrefixText(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p, err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

var scopeNames = map[string]bool{"global": true, "universe": true, "site": true, "link": true, "host": true, "nowhere": true}

func (ws *routeWords) scope(opt Token) string {
	t := ws.value(opt)
	if ws.bad {
		return ""
	}
	if !scopeNames[t.Text] {
		ws.skip(t.Pos, "scope: %q is not global, site, link, host or nowhere", t.Text)
	}
	if t.Text == "universe" {
		return "global"
	}
	return t.Text
}

// protoNames are the rtnetlink protocol names iproute2 knows without rt_protos.
var protoNames = map[string]int{"kernel": 2, "boot": 3, "static": 4, "keepalived": 18, "bird": 12, "zebra": 11, "dhcp": 16}

func (ws *routeWords) protocol(opt Token, block string) int {
	return ws.numberOrName(opt, block, protoNames, 8, "protocol name", "rt_protos")
}

func (ws *routeWords) mtu(opt Token) (int, bool) {
	lock := false
	if ws.i < len(ws.w) && ws.w[ws.i].Text == "lock" {
		lock = true
		ws.i++
	}
	return ws.num(opt, 68, 1<<16-1), lock
}

// typedRules parses the rules of a block the way checkRules kept them:
// rules it dropped (a bad from/to) are skipped, and a rule without a
// preference gets the number checkRules announced (from start on).
func (c *ctx) typedRules(n *Node, start int, block string) []Rule {
	out := make([]Rule, 0, len(n.Children))
	for _, ch := range n.Children {
		w := append([]Token{ch.Keyword}, ch.Args...)
		if !ruleAddrsValid(w) {
			continue
		}
		r, ok := c.parseRule(w, ch.Pos(), block)
		if !ok {
			continue
		}
		if !hasWord(w, "preference", "pref", "priority", "prio") {
			r.Pref = defaultRulePref - start
			start++
		}
		out = append(out, r)
	}
	return out
}

func ruleAddrsValid(w []Token) bool {
	for i := 0; i+1 < len(w); i++ {
		if (w[i].Text == "from" || w[i].Text == "to") && w[i+1].Text != "all" && !validPrefixText(w[i+1].Text) {
			return false
		}
	}
	return true
}

// ruleOptsKnown are keepalived rule options (with one value) govrrp does
// not act on.
var ruleOptsKnown = map[string]bool{"tos": true, "dsfield": true, "realms": true, "goto": true, "suppress_prefixlength": true,
	"suppress_ifgroup": true, "uidrange": true, "ip_proto": true, "ipproto": true, "sport": true, "dport": true,
	"protocol": true, "nat": true, "map-to": true, "track_group": true, "tun_id": true}

// ruleFlagsKnown are keepalived rule words without a value govrrp does not act on.
var ruleFlagsKnown = map[string]bool{"not": true, "l3mdev": true, "blackhole": true, "prohibit": true, "unreachable": true}

// parseRule reads one rule line.
func (c *ctx) parseRule(w []Token, pos Pos, block string) (Rule, bool) {
	r := Rule{Pos: pos}
	ws := &routeWords{c: c, w: w, what: "rule"}
	for ws.more() {
		t := ws.next()
		switch t.Text {
		case "inet6":
			r.Family6 = true
		case "inet":
		case "from":
			r.From = ws.ruleAddr(t)
		case "to":
			r.To = ws.ruleAddr(t)
		case "table", "lookup":
			r.Table = ws.table(t, block)
		case "preference", "pref", "priority", "prio":
			r.Pref = ws.num(t, 0, 1<<32-1)
		case "fwmark":
			r.FwMark, r.FwMask = ws.fwmark(t)
		case "iif", "dev":
			r.IIF = ws.value(t).Text
		case "oif":
			r.OIF = ws.value(t).Text
		case "no_track":
			r.NoTrack = true
		case "track_group":
			r.TrackGroup = ws.trackGroup(t, block)
		default:
			switch {
			case ruleOptsKnown[t.Text]:
				c.notActed(block, "rule option "+t.Text, t.Pos)
				ws.value(t)
			case ruleFlagsKnown[t.Text]:
				c.notActed(block, "rule option "+t.Text, t.Pos)
			default:
				ws.skip(t.Pos, "rule: unknown option %q", t.Text)
				return r, false
			}
		}
	}
	if ws.bad {
		return r, false
	}
	return c.finishRule(r)
}

func (c *ctx) finishRule(r Rule) (Rule, bool) {
	for _, p := range []netip.Prefix{r.From, r.To} {
		if p.IsValid() && p.Addr().Is6() {
			r.Family6 = true
		}
	}
	for _, p := range []netip.Prefix{r.From, r.To} {
		if p.IsValid() && p.Addr().Is6() != r.Family6 {
			c.fallbackf(r.Pos, "skip the rule", "rule: from and to are of different families")
			return r, false
		}
	}
	return r, true
}

// ruleAddr reads "all" (the zero Prefix) or a prefix; checkRules already
// dropped lines where it is invalid.
func (ws *routeWords) ruleAddr(opt Token) netip.Prefix {
	t := ws.value(opt)
	if ws.bad || t.Text == "all" {
		return netip.Prefix{}
	}
	return ws.prefix(t)
}

func (ws *routeWords) fwmark(opt Token) (uint32, uint32) {
	t := ws.value(opt)
	if ws.bad {
		return 0, 0
	}
	m, k, hasMask := strings.Cut(t.Text, "/")
	mv, err1 := strconv.ParseUint(m, 0, 32)
	kv, err2 := uint64(0), error(nil)
	if hasMask {
		kv, err2 = strconv.ParseUint(k, 0, 32)
	}
	if err1 != nil || err2 != nil {
		ws.skip(t.Pos, "fwmark: %q is not MARK[/MASK]", t.Text)
	}
	return uint32(mv), uint32(kv)
}

// addrOptsNotActed records the address options govrrp keeps but does not
// act on (kept in VIP.Other, and peer), by name at the address's line.
func (c *ctx) addrOptsNotActed(block string, v VIP) {
	if v.Peer.IsValid() {
		c.notActed(block, "address option peer", v.Pos)
	}
	if v.UseVMAC && block == "static_ipaddress" {
		c.notActed(block, "address option use_vmac", v.Pos) // no instance, so no virtual MAC
	}
	for i, o := range v.Other {
		switch {
		case o == "home", o == "mngtmpaddr", o == "noprefixroute", o == "autojoin":
			c.notActed(block, "address option "+o, v.Pos)
		case o == "preferred_lft" && i+1 < len(v.Other) && v.Other[i+1] != "forever":
			c.notActed(block, "address option preferred_lft "+v.Other[i+1], v.Pos)
		}
	}
}
