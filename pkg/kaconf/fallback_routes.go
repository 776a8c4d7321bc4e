package kaconf

import (
	"net/netip"
	"strings"
)

// What keepalived 2.2.7 reports about the ip route / ip rule lines it keeps
// (virtual_routes, static_routes, virtual_rules, static_rules), measured
// with keepalived -t on its own samples (keepalived.conf.vrrp.routes and
// .rules). These checks are on the raw lines; routes.go parses them into the
// typed Route and Rule that the daemon installs.

// checkRoutes reports deprecated words and, for virtual_routes, the routes
// keepalived cannot track (no dev: it does not restore them if deleted).
func (c *ctx) checkRoutes(n *Node, virtual bool) {
	for _, ch := range n.Children {
		dev := false
		for _, w := range append([]Token{ch.Keyword}, ch.Args...) {
			switch w.Text {
			case "dev":
				dev = true
			case "or":
				c.fallbackf(w.Pos, "read it as nexthop", "route: \"or\" is deprecated; use \"nexthop\"")
			case "gw":
				c.fallbackf(w.Pos, "read it as via", "route: \"gw\" is deprecated; use \"via\"")
			}
		}
		if virtual && !dev {
			c.fallbackf(ch.Pos(), "install it but do not track it (a deleted route is not restored)", "virtual_routes: route without dev")
		}
	}
}

// defaultRulePref is where keepalived 2.2.7 starts numbering rules written
// without a preference; each such rule takes the next lower number.
const defaultRulePref = 16384

// checkRules drops rules whose from/to address keepalived cannot parse and
// reports the preference it gives rules written without one.
func (c *ctx) checkRules(n *Node) []Raw {
	out := make([]Raw, 0, len(n.Children))
	for _, ch := range n.Children {
		words := append([]Token{ch.Keyword}, ch.Args...)
		if !c.ruleAddrsOK(words) {
			continue
		}
		if !hasWord(words, "preference", "pref", "priority", "prio") {
			pref := defaultRulePref - c.rulesNoPref
			c.rulesNoPref++
			c.fallbackf(ch.Pos(), "give it preference "+itoa(int64(pref)), "rule without preference")
		}
		out = append(out, raw(ch))
	}
	return out
}

// ruleAddrsOK checks the address after from/to ("all" or a prefix).
func (c *ctx) ruleAddrsOK(words []Token) bool {
	for i := 0; i+1 < len(words); i++ {
		if w := words[i].Text; w != "from" && w != "to" {
			continue
		}
		a := words[i+1]
		if a.Text == "all" || validPrefixText(a.Text) {
			continue
		}
		c.fallbackf(a.Pos, "ignore the rule", "rule: invalid %s address %q", words[i].Text, a.Text)
		return false
	}
	return true
}

func validPrefixText(s string) bool {
	if strings.Contains(s, "/") {
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func hasWord(words []Token, any ...string) bool {
	for _, w := range words {
		for _, a := range any {
			if w.Text == a {
				return true
			}
		}
	}
	return false
}
