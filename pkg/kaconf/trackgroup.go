package kaconf

// track_group NAME { group { VI_1 VI_2 } } and the "track_group NAME"
// option of static_ipaddress / static_routes / static_rules lines.
// Observed on keepalived 2.2.7 in a namespace: the instances of the group
// go to FAULT (not BACKUP, whatever one sentence of the man page says) while
// the interface of a tracked static line is down or gone, and back to
// BACKUP when it is up again, the address and route then restored. What it
// says while loading, matched line for line here:
//   - an unknown group: "track_group NOPE not found" (the line stays, untracked);
//   - a static route without dev: "Static route cannot have track group if no
//     oif specified"; a static rule without dev/iif: "Static rule cannot have
//     track_group if dev/iif not specified" (installed, untracked);
//   - in virtual_routes / virtual_rules: an unknown option, the line skipped;
//   - in virtual_ipaddress: "Unknown configuration entry" for both words, the
//     address kept.

// TrackGroup is one track_group block.
type TrackGroup struct {
	Name     string
	Pos      Pos
	Group    []string // instance names, in file order
	GroupPos []Pos
}

func topTrackGroup(c *ctx, n *Node, cfg *Config) {
	name := n.Args[0].Text
	if cfg.TrackGroups == nil {
		cfg.TrackGroups = map[string]*TrackGroup{}
	}
	if _, dup := cfg.TrackGroups[name]; dup {
		c.fallbackf(n.Pos(), "use the later block", "track_group %s defined twice", name)
	}
	g := &TrackGroup{Name: name, Pos: n.Pos()}
	cfg.TrackGroups[name] = g
	for _, ch := range n.Children {
		if ch.Keyword.Text != "group" {
			c.unknown("track_group", []string{"group"}, ch)
			continue
		}
		for _, m := range ch.Children {
			for _, w := range append([]Token{m.Keyword}, m.Args...) {
				g.Group = append(g.Group, w.Text)
				g.GroupPos = append(g.GroupPos, w.Pos)
			}
		}
	}
}

// trackGroup reads the name after track_group on a route or rule line; in
// a virtual_* block keepalived 2.2.7 does not know the option and skips the
// line.
func (ws *routeWords) trackGroup(opt Token, block string) string {
	if block != "static_routes" && block != "static_rules" {
		ws.skip(opt.Pos, "%s: track_group only applies to static routes and rules", ws.what)
		return ""
	}
	return ws.value(opt).Text
}

// vipTrackGroup records track_group on a static_ipaddress line; on a
// virtual_ipaddress line keepalived ignores both words and keeps the
// address. It reports whether the address is still usable.
func (c *ctx) vipTrackGroup(v *VIP, vrrp bool, name Token) bool {
	if vrrp {
		c.fallbackf(name.Pos, "ignore the option", "track_group %s: only static_ipaddress lines take track_group", name.Text)
		return true
	}
	v.TrackGroup = name.Text
	return true
}

// checkTrackGroups resolves the group names once every block is read (a
// track_group may come after the line naming it).
func checkTrackGroups(c *ctx, cfg *Config) {
	known := func(name string, p Pos) bool {
		if _, ok := cfg.TrackGroups[name]; ok {
			return true
		}
		c.fallbackf(p, "install it untracked", "track_group %s not found", name)
		return false
	}
	for i := range cfg.StaticIPAddresses {
		v := &cfg.StaticIPAddresses[i]
		if v.TrackGroup != "" && !known(v.TrackGroup, v.Pos) {
			v.TrackGroup = ""
		}
	}
	for i := range cfg.StaticRouteSpecs {
		r := &cfg.StaticRouteSpecs[i]
		switch {
		case r.TrackGroup == "":
		case !known(r.TrackGroup, r.Pos):
			r.TrackGroup = ""
		case len(RouteDevs(*r)) == 0:
			c.fallbackf(r.Pos, "install it untracked", "static route cannot have track_group if no dev (oif) is specified")
			r.TrackGroup = ""
		}
	}
	for i := range cfg.StaticRuleSpecs {
		r := &cfg.StaticRuleSpecs[i]
		switch {
		case r.TrackGroup == "":
		case !known(r.TrackGroup, r.Pos):
			r.TrackGroup = ""
		case r.IIF == "": // keepalived 2.2.7 tracks a rule by its dev/iif only
			c.fallbackf(r.Pos, "install it untracked", "static rule cannot have track_group if dev/iif is not specified")
			r.TrackGroup = ""
		}
	}
	names := map[string]bool{}
	for _, in := range cfg.Instances {
		names[in.Name] = true
	}
	for _, g := range cfg.TrackGroups {
		for i, m := range g.Group {
			if !names[m] {
				c.warnf(g.GroupPos[i], "track_group %s: no vrrp_instance %s", g.Name, m)
			}
		}
	}
}

// RouteDevs lists the interfaces a route names (its dev and its nexthops').
func RouteDevs(r Route) []string {
	var out []string
	if r.Dev != "" {
		out = append(out, r.Dev)
	}
	for _, h := range r.Nexthops {
		if h.Dev != "" {
			out = append(out, h.Dev)
		}
	}
	return out
}

// TrackGroupsOf lists the groups naming instance, sorted by name.
func (cfg *Config) TrackGroupsOf(instance string) []*TrackGroup {
	var out []*TrackGroup
	for _, g := range cfg.TrackGroups {
		for _, m := range g.Group {
			if m == instance {
				out = append(out, g)
				break
			}
		}
	}
	sortGroups(out)
	return out
}

func sortGroups(gs []*TrackGroup) {
	for i := 1; i < len(gs); i++ {
		for j := i; j > 0 && gs[j].Name < gs[j-1].Name; j-- {
			gs[j], gs[j-1] = gs[j-1], gs[j]
		}
	}
}
