package kaconf

// Top-level blocks of keepalived.conf.

type kwTop = keyword[*Config]

func topSink(cfg *Config, r Raw) { cfg.Global.Other = append(cfg.Global.Other, r) }

// lvsBlock is recognised and skipped whole: govrrp has no LVS/checker.
func lvsBlock(name, doc string) kwTop {
	return kwTop{name: name, args: "... { }", max: -1, block: true, status: Rejected, doc: doc, fn: skipLVS}
}

var topTable = newTable("top", topSink, []kwTop{
	{name: "global_defs", args: "{ }", block: true, status: Supported, doc: "global definitions (see the global_defs rows)", fn: topGlobal},
	{name: "vrrp_instance", args: "NAME { }", min: 1, max: 1, block: true, status: Supported, doc: "a VRRP instance (see the vrrp_instance rows)", fn: topInstance},
	{name: "vrrp_script", args: "NAME { }", min: 1, max: 1, block: true, status: Supported, doc: "script to track", fn: topScript},
	{name: "track_file", args: "NAME { }", min: 1, max: 1, block: true, status: Supported, doc: "file whose value is tracked", fn: topTrackFile},
	{name: "vrrp_track_file", args: "NAME { }", min: 1, max: 1, block: true, status: Supported, doc: "deprecated synonym of track_file", fn: topTrackFile},
	{name: "vrrp_track_process", args: "NAME { }", min: 1, max: 1, block: true, status: Supported, doc: "process presence to track", fn: topTrackProcess},
	{name: "vrrp_sync_group", args: "NAME { }", min: 1, max: 1, block: true, status: Supported, doc: "instances that change state together", fn: topSyncGroup},
	{name: "static_ipaddress", args: "{ ADDR ... }", block: true, status: Supported, doc: "addresses configured at start, restored if deleted, removed at stop", fn: topStaticAddr},
	{name: "static_routes", args: "{ ROUTE ... }", block: true, status: Supported, doc: "routes configured at start, restored if deleted, removed at stop", fn: topStaticRoutes},
	{name: "static_rules", args: "{ RULE ... }", block: true, status: Supported, doc: "rules configured at start, restored if deleted, removed at stop", fn: topStaticRules},
	{name: "linkbeat_interfaces", args: "{ IF [MII|ETHTOOL|IOCTL] ... }", block: true, status: Supported, doc: "interfaces whose carrier is polled (SIOCGIFFLAGS/ETHTOOL_GLINK) instead of followed over netlink", fn: topLinkbeat},
	{name: "track_group", args: "NAME { group { INSTANCE ... } }", min: 1, max: 1, block: true, status: Supported, doc: "instances that go to FAULT while a static address/route/rule naming the group cannot be kept (its interface down or gone)", fn: topTrackGroup},
	{name: "garp_group", args: "{ }", block: true, status: Supported, doc: "GARP/NA spacing shared by its interfaces (see the garp_group rows)", fn: topGarpGroup},
	{name: "interface_up_down_delays", args: "{ IF DOWN [UP] ... }", block: true, status: Supported, doc: "debounce of interface state changes (reduced below (down_timer_adverts-1) x advert_int, as keepalived)", fn: topIfaceDelays},
	{name: "net_namespace", args: "NAME", min: 1, max: 1, status: Supported, doc: "network namespace to run in (govrrp re-executes itself into /run/netns/NAME; not changeable on reload)", fn: topNetNamespace},
	kwTop{name: "net_namespace_ipvs", args: "NAME", min: 0, max: 1, doc: "namespace for IPVS (LVS)"}.otherProcess(),
	{name: "namespace_with_ipsets", status: Ignored, doc: "ipset names per namespace: no effect without ipsets (keepalived 2.2.7 as packaged has none; govrrp uses nftables)",
		fn: func(c *ctx, n *Node, _ *Config) {
			c.noticef(n.Pos(), "namespace_with_ipsets has no effect: keepalived 2.2.7 as packaged has no ipset support and govrrp uses nftables; ignored")
		}},
	pickKeyword(topPidKeywords, "instance"), // reloadcfg.go
	pickKeyword(topPidKeywords, "use_pid_dir"),
	{name: "linkbeat_use_polling", status: Supported, doc: "poll every interface's carrier instead of netlink", fn: func(c *ctx, n *Node, cfg *Config) { cfg.Ifaces.LinkbeatAll = true }},
	pickKeyword(topPidKeywords, "child_wait_time"),
	lvsBlock("virtual_server", "LVS virtual server: govrrp does not provide LVS (run with --vrrp)"),
	lvsBlock("virtual_server_group", "LVS virtual server group: skipped"),
	lvsBlock("real_server", "LVS real server: skipped"),
	{name: "bfd_instance", args: "NAME { }", min: 1, max: 1, block: true, status: Supported, doc: "an RFC 5880 BFD session, run by govrrp's internal/bfd (see the bfd_instance rows)", fn: topBFD},
	lvsBlock("SSL", "checker SSL settings: skipped"),
	lvsBlock("HTTP_GET", "checker: skipped"),
	lvsBlock("SSL_GET", "checker: skipped"),
	lvsBlock("TCP_CHECK", "checker: skipped"),
	lvsBlock("SMTP_CHECK", "checker: skipped"),
	lvsBlock("MISC_CHECK", "checker: skipped"),
	lvsBlock("DNS_CHECK", "checker: skipped"),
	lvsBlock("BFD_CHECK", "checker: skipped"),
	lvsBlock("UDP_CHECK", "checker: skipped"),
	lvsBlock("PING_CHECK", "checker: skipped"),
	lvsBlock("FILE_CHECK", "checker: skipped"),
})

// skipLVS reports an LVS/checker block: an error unless VRRPOnly, where a
// single notice covers the whole file.
func skipLVS(c *ctx, n *Node, cfg *Config) {
	cfg.Skipped = append(cfg.Skipped, raw(n))
	if !c.o.VRRPOnly {
		c.errf(n.Pos(), "%s: govrrp does not provide LVS/checkers/BFD; run with --vrrp (keepalived -P) to ignore these blocks", n.Keyword.Text)
		return
	}
	if !c.lvsSeen {
		c.lvsSeen = true
		c.noticef(n.Pos(), "%s: LVS/checker blocks are ignored (--vrrp)", n.Keyword.Text)
	}
}

func topGlobal(c *ctx, n *Node, cfg *Config) { dispatch(c, globalTable, n.Children, &cfg.Global) }

// define records a named top-level object; a second definition is an error.
func (c *ctx) define(kind string, n *Node, exists bool) bool {
	name := n.Args[0].Text
	if exists {
		c.errf(n.Args[0].Pos, "%s %q defined twice", kind, name)
		return false
	}
	c.defIdx[kind+":"+name] = c.topIdx[n]
	return true
}

func topInstance(c *ctx, n *Node, cfg *Config) {
	name := n.Args[0].Text
	for _, in := range cfg.Instances {
		if in.Name == name {
			c.errf(n.Args[0].Pos, "vrrp_instance %q defined twice (first at %s)", name, in.Pos)
			return
		}
	}
	in := &Instance{Name: name, Pos: n.Pos(), State: "BACKUP"}
	c.instIdx[in] = c.topIdx[n]
	c.instEnd[in] = blockEnd(n)
	dispatch(c, instanceTable, n.Children, in)
	cfg.Instances = append(cfg.Instances, in)
}

func topScript(c *ctx, n *Node, cfg *Config) {
	name := n.Args[0].Text
	if !c.define("vrrp_script", n, cfg.Scripts[name] != nil) {
		return
	}
	s := &Script{Name: name, Pos: n.Pos(), Interval: second, Rise: 1, Fall: 1}
	dispatch(c, scriptTable, n.Children, s)
	if s.Script == "" {
		// keepalived 2.2.7: "No script set for vrrp_script - removing";
		// the instances tracking it then ignore the entry.
		c.fallbackf(blockEnd(n), "remove the vrrp_script", "vrrp_script %q: no script given", name)
		return
	}
	cfg.Scripts[name] = s
}

func topTrackFile(c *ctx, n *Node, cfg *Config) {
	name := n.Args[0].Text
	if !c.define("track_file", n, cfg.TrackFiles[name] != nil) {
		return
	}
	f := &TrackFile{Name: name, Pos: n.Pos(), Weight: 1}
	dispatch(c, trackFileTable, n.Children, f)
	if f.File == "" {
		c.errf(n.Pos(), "track_file %q: no file given", name)
	}
	cfg.TrackFiles[name] = f
}

func topTrackProcess(c *ctx, n *Node, cfg *Config) {
	name := n.Args[0].Text
	if !c.define("vrrp_track_process", n, cfg.TrackProcesses[name] != nil) {
		return
	}
	// Weight 0 by default, as keepalived 2.2.7's -d dump shows ("Weight = 0").
	p := &TrackProcess{Name: name, Pos: n.Pos(), Quorum: 1, QuorumMax: -1}
	dispatch(c, trackProcessTable, n.Children, p)
	if len(p.Process) == 0 {
		c.errf(n.Pos(), "vrrp_track_process %q: no process given", name)
	}
	cfg.TrackProcesses[name] = p
}

func topSyncGroup(c *ctx, n *Node, cfg *Config) {
	name := n.Args[0].Text
	for _, g := range cfg.SyncGroups {
		if g.Name == name {
			c.errf(n.Args[0].Pos, "vrrp_sync_group %q defined twice (first at %s)", name, g.Pos)
			return
		}
	}
	g := &SyncGroup{Name: name, Pos: n.Pos()}
	dispatch(c, syncGroupTable, n.Children, g)
	cfg.SyncGroups = append(cfg.SyncGroups, g)
}

func topStaticAddr(c *ctx, n *Node, cfg *Config) {
	c.withFallback("skip the address", func() {
		for _, ch := range n.Children {
			if v, ok := c.parseVIP(ch, false); ok {
				c.addrOptsNotActed("static_ipaddress", v) // routes.go
				cfg.StaticIPAddresses = append(cfg.StaticIPAddresses, v)
			}
		}
	})
}

func topStaticRoutes(c *ctx, n *Node, cfg *Config) {
	c.checkRoutes(n, false)
	cfg.StaticRoutes = append(cfg.StaticRoutes, rawChildren(n)...)
	cfg.StaticRouteSpecs = append(cfg.StaticRouteSpecs, c.typedRoutes(n, "static_routes")...)
}

func topStaticRules(c *ctx, n *Node, cfg *Config) {
	start := c.rulesNoPref
	cfg.StaticRules = append(cfg.StaticRules, c.checkRules(n)...)
	cfg.StaticRuleSpecs = append(cfg.StaticRuleSpecs, c.typedRules(n, start, "static_rules")...)
}

func rawChildren(n *Node) []Raw {
	out := make([]Raw, 0, len(n.Children))
	for _, ch := range n.Children {
		out = append(out, raw(ch))
	}
	return out
}
