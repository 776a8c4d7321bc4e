package kaconf

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// global_defs keywords. Only router_id and vrrp_version are acted on; the
// rest are parsed (VRRP-relevant ones into fields, others kept raw).

type kwG = keyword[*GlobalDefs]

func globalSink(g *GlobalDefs, r Raw) { g.Other = append(g.Other, r) }

// gOther is a recognised global keyword kept raw.
func gOther(name, args string, min, max int, doc string) kwG {
	return kwG{name: name, args: args, min: min, max: max, status: ParsedOnly, doc: doc}
}

func gInt(name string, lo, hi int64, doc string, set func(*GlobalDefs, int)) kwG {
	return kwG{name: name, args: "<" + itoa(lo) + ".." + itoa(hi) + ">", min: 1, max: 1, status: ParsedOnly, doc: doc, fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if v, ok := c.intArg(n, 0, lo, hi); ok {
				set(g, int(v))
				c.markSet(g, n.Keyword.Text)
			}
		}}
}

func gSecs(name string, lo, hi float64, doc string, set func(*GlobalDefs, time.Duration)) kwG {
	return kwG{name: name, args: "SECONDS", min: 1, max: 1, status: ParsedOnly, doc: doc, fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if v, ok := c.secondsArg(n, 0, lo, hi); ok {
				set(g, v)
				c.markSet(g, n.Keyword.Text)
			}
		}}
}

func gBool(name, doc string, set func(*GlobalDefs, bool)) kwG {
	return kwG{name: name, args: "[BOOL]", max: 1, status: ParsedOnly, doc: doc, fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if v, ok := c.boolArg(n, 0); ok {
				set(g, v)
			}
		}}
}

func gStr(name, doc string, set func(*GlobalDefs, string)) kwG {
	return kwG{name: name, args: "STRING", min: 1, max: 1, status: ParsedOnly, doc: doc,
		fn: func(c *ctx, n *Node, g *GlobalDefs) { set(g, n.Args[0].Text) }}
}

// gScript is "PATH [user [group]]": the path is kept, user/group not modelled.
func gScript(name, doc string, set func(*GlobalDefs, string)) kwG {
	return kwG{name: name, args: "PATH [USER [GROUP]]", min: 1, max: 3, status: ParsedOnly, doc: doc,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			set(g, n.Args[0].Text)
			setRunAs(&g.RunAs, n, 1)
		}}
}

var globalTable = newTable("global_defs", globalSink, []kwG{
	{name: "router_id", args: "STRING", min: 1, max: 1, status: Supported, doc: "name of this router in logs and notifications",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.RouterID = n.Args[0].Text }},
	{name: "vrrp_version", args: "<2|3>", min: 1, max: 1, status: Supported, doc: "default VRRP version (default 2; IPv6 instances use 3)", fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if v, ok := c.intArg(n, 0, 2, 3); ok {
				g.VRRPVersion = uint8(v)
			}
		}},
	gInt("vrrp_garp_master_repeat", 0, 4294967295, "GARPs per burst on becoming master (default 5)", func(g *GlobalDefs, v int) { g.GarpMasterRepeat = v }).with(Supported).
		nonNumberAs("1", func(g *GlobalDefs) { g.GarpMasterRepeat = 1 }),
	gSecs("vrrp_garp_master_delay", 0, 4294, "delay of the second GARP burst (default 5 s, 0 = none)", func(g *GlobalDefs, v time.Duration) { g.GarpMasterDelay = v }).with(Supported).
		nonNumberAs("0", func(g *GlobalDefs) { g.GarpMasterDelay = 0 }),
	gSecs("vrrp_garp_master_refresh", 0, 1e9, "periodic GARP refresh while master (default 0 = off)", func(g *GlobalDefs, v time.Duration) { g.GarpMasterRefresh = v }).with(Supported),
	{name: "vrrp_garp_master_refresh_repeat", args: "<1..4294967295>", min: 1, max: 1, status: Supported, doc: "GARPs per refresh (default 1)",
		fallback: ignore, fn: globalGarpRefreshRepeat},
	gInt("vrrp_garp_lower_prio_repeat", 0, 4294967295, "GARPs after a lower-priority advert (default: vrrp_garp_master_repeat)", func(g *GlobalDefs, v int) { g.GarpLowerPrioRepeat = v }).with(Supported).
		nonNumberAs("0", func(g *GlobalDefs) { g.GarpLowerPrioRepeat = 0 }),
	gSecs("vrrp_garp_lower_prio_delay", 0, 4294, "delay for that burst (default: vrrp_garp_master_delay)", func(g *GlobalDefs, v time.Duration) { g.GarpLowerPrioDelay = v }).with(Supported).
		nonNumberAs("0", func(g *GlobalDefs) { g.GarpLowerPrioDelay = 0 }),
	gSecs("vrrp_garp_interval", 0, 4294.967295, "spacing of GARPs on an interface in no garp_group (default 0 = none)", func(g *GlobalDefs, v time.Duration) { g.GarpInterval = v }).with(Supported),
	gSecs("vrrp_gna_interval", 0, 4294.967295, "spacing of unsolicited NAs on an interface in no garp_group (default 0 = none)", func(g *GlobalDefs, v time.Duration) { g.GnaInterval = v }).with(Supported),
	gBool("vrrp_min_garp", "defaults: one GARP/NA, no second burst, no refresh GARPs", func(g *GlobalDefs, v bool) { g.MinGarp = v }).with(Supported),
	{name: "vrrp_garp_extra_if", args: "[all] SECS", min: 1, max: 2, status: Supported, doc: "default of garp_extra_if", fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if all, d, ok := c.extraIfArgs(n); ok {
				g.GarpExtraIf, g.GarpExtraIfAll = d, all
			}
		}},
	gOtherCheck("vrrp_garp_extra_if_vmac", "[all] SECS", 1, 2, "keepalived > 2.2 only: 2.2.7 ignores the line as an unknown keyword, and so does govrrp (warning)", notIn227).with(Ignored),
	gInt("vrrp_down_timer_adverts", 1, 100, "adverts before master down (default 3)", func(g *GlobalDefs, v int) { g.DownTimerAdverts = v }).with(Supported),
	gBool("vrrp_lower_prio_no_advert", "no advert after a lower-priority advert", func(g *GlobalDefs, v bool) { g.LowerPrioNoAdvert = v }).with(Supported),
	gBool("vrrp_higher_prio_send_advert", "advert before yielding to a higher priority", func(g *GlobalDefs, v bool) { g.HigherPrioSendAdvert = v }).with(Supported),
	{name: "vrrp_mcast_group4", args: "ADDR", min: 1, max: 1, status: Supported, doc: "IPv4 advert group (default 224.0.0.18)", fallback: "skip it (the default group stays)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if a, ok := c.addrArg(n, 0); ok && c.wantMcast(n, a, true) {
				g.McastGroup4 = a
			}
		}},
	{name: "vrrp_mcast_group6", args: "ADDR", min: 1, max: 1, status: Supported, doc: "IPv6 advert group (default ff02::12)", fallback: "skip it (the default group stays)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if a, ok := c.addrArg(n, 0); ok && c.wantMcast(n, a, false) {
				g.McastGroup6 = a
			}
		}},
	{name: "vrrp_strict", status: Supported, doc: "strict RFC compliance (strict_mode for every instance; implies no_accept)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.Strict = true }},
	{name: "vrrp_check_unicast_src", status: Supported, doc: "accept unicast adverts only from peers (govrrp always does)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.CheckUnicastSrc = true }},
	{name: "vrrp_skip_check_adv_addr", status: Supported, doc: "skip VIP list check for the same master (govrrp never drops for it)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.SkipCheckAdvAddr = true }},
	{name: "notification_email", args: "{ ADDR ... }", block: true, status: Supported, doc: "mail recipients",
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			for _, ch := range n.Children {
				g.NotificationEmail = append(g.NotificationEmail, words(ch)...)
			}
		}},
	{name: "notification_email_from", args: "STRING", max: 1, status: Supported, doc: "mail sender (default root@HOSTNAME, as keepalived 2.2.7 sends)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if checkNeedsArg(c, n); len(n.Args) > 0 {
				g.NotificationEmailFrom = n.Args[0].Text
			}
		}},
	{name: "smtp_server", args: "HOST [PORT]", min: 1, max: 2, status: Supported, doc: "SMTP server (port 25)", fn: globalSMTPServer},
	gStr("smtp_helo_name", "HELO name (default the host name)", func(g *GlobalDefs, v string) { g.SMTPHeloName = v }).with(Supported),
	gSecs("smtp_connect_timeout", 0, 4294, "SMTP timeout per step (default 30 s)", func(g *GlobalDefs, v time.Duration) { g.SMTPConnectTimeout = v }).with(Supported),
	gBool("smtp_alert", "default smtp_alert", func(g *GlobalDefs, v bool) { g.SMTPAlert = &v }).with(Supported),
	gBool("smtp_alert_vrrp", "default smtp_alert for VRRP", func(g *GlobalDefs, v bool) { g.SMTPAlertVRRP = &v }).with(Supported),
	gOther("smtp_alert_checker", "[BOOL]", 0, 1, "checker mail (LVS)").otherProcess(),
	{name: "no_email_faults", status: Supported, doc: "no mail on entering FAULT",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.NoEmailFaults = true }},
	{name: "enable_script_security", status: Supported, doc: "refuse scripts in non-root-writable paths",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.EnableScriptSecurity = true }},
	{name: "script_user", args: "USER [GROUP]", min: 1, max: 2, status: Supported, doc: "default user for scripts",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.ScriptUser, g.ScriptGroup = n.Args[0].Text, argText(n, 1) }},
	gScript("notify_fifo", "FIFO for all notify events", func(g *GlobalDefs, v string) { g.NotifyFifo = v }).with(Supported),
	gScript("notify_fifo_script", "script reading notify_fifo", func(g *GlobalDefs, v string) { g.NotifyFifoScript = v }).with(Supported),
	gScript("vrrp_notify_fifo", "FIFO for VRRP notify events", func(g *GlobalDefs, v string) { g.VRRPNotifyFifo = v }).with(Supported),
	gScript("vrrp_notify_fifo_script", "script reading vrrp_notify_fifo", func(g *GlobalDefs, v string) { g.VRRPNotifyFifoScript = v }).with(Supported),
	gBool("vrrp_notify_priority_changes", "priority changes on notify FIFOs", func(g *GlobalDefs, v bool) { g.VRRPNotifyPriorityChanges = v }).with(Supported),
	{name: "dynamic_interfaces", args: "[allow_if_changes]", max: 1, status: Supported, doc: "an instance whose interface is missing is FAULT (not a start-up error) until it appears; allow_if_changes accepted (govrrp follows interfaces by name)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			g.DynamicInterfaces = true
			if len(n.Args) > 0 && n.Args[0].Text != "allow_if_changes" {
				c.fallbackf(n.Args[0].Pos, "ignore the option", "dynamic_interfaces: unknown option %q", n.Args[0].Text)
			}
		}},
	gStr("default_interface", "interface for static addresses without dev (default eth0)", func(g *GlobalDefs, v string) { g.DefaultInterface = v }).with(Supported),
	gSecs("vrrp_startup_delay", 0, 4294.967295, "delay before instances start (at daemon start; instances stay INIT)", func(g *GlobalDefs, v time.Duration) { g.VRRPStartupDelay = v }).with(Supported),
	gStr("vmac_prefix", "prefix of generated VMAC names (default vrrp)", func(g *GlobalDefs, v string) { g.VmacPrefix = v }).with(Supported),
	gStr("vmac_addr_prefix", "prefix of VMACs for VIPs on other interfaces (default vmac_prefix)", func(g *GlobalDefs, v string) { g.VmacAddrPrefix = v }).with(Supported),
	pickKeyword(reloadKeywords, "tmp_config_directory"), // reloadcfg.go
	pickKeyword(reloadKeywords, "config_save_dir"),
	gProc("process_names", "", 0, 0, "default process names (govrrp is one process: comm keepalived_vrrp)", func(c *ctx, n *Node, p *ProcessDefs) { p.ProcessNames = true }),
	gProc("process_name", "NAME", 1, 1, "parent process name (govrrp's comm unless vrrp_process_name is set)", procName(func(p *ProcessDefs, v string) { p.ProcessName = v })),
	gProc("vrrp_process_name", "NAME", 1, 1, "VRRP process name (comm of every govrrp thread)", procName(func(p *ProcessDefs, v string) { p.VRRPProcessName = v })),
	gOther("checker_process_name", "NAME", 1, 1, "checker process name").otherProcess(),
	gOther("bfd_process_name", "NAME", 1, 1, "BFD process name").otherProcess(),
	gScript("startup_script", "script run before any instance starts", func(g *GlobalDefs, v string) { g.StartupScript = v }).with(Supported),
	gSecs("startup_script_timeout", 1, 1000, "its timeout (default 10 s; then killed)", func(g *GlobalDefs, v time.Duration) { g.StartupScriptTimeout = v }).with(Supported),
	gScript("shutdown_script", "script run after every instance stopped", func(g *GlobalDefs, v string) { g.ShutdownScript = v }).with(Supported),
	gSecs("shutdown_script_timeout", 1, 1000, "its timeout (default 10 s; then killed)", func(g *GlobalDefs, v time.Duration) { g.ShutdownScriptTimeout = v }).with(Supported),
	gOther("checker_log_all_failures", "[BOOL]", 0, 1, "checker logging (LVS)").otherProcess(),
	gOther("lvs_sync_daemon", "IF [inst] NAME ...", 1, -1, "IPVS sync daemon (LVS)").otherProcess(),
	gOtherCheck("lvs_timeouts", "[tcp S] [tcpfin S] [udp S]", 1, -1, "IPVS timeouts (LVS)", checkLVSTimeouts).otherProcess(),
	gOther("lvs_flush", "", 0, 0, "flush IPVS at start (LVS)").otherProcess(),
	gOther("lvs_flush_on_stop", "[VS]", 0, 1, "flush IPVS at stop (LVS)").otherProcess(),
	gOther("lvs_notify_fifo", "FIFO [USER [GROUP]]", 1, 3, "checker FIFO (LVS)").otherProcess(),
	gOther("lvs_notify_fifo_script", "PATH [USER [GROUP]]", 1, 3, "checker FIFO script (LVS)").otherProcess(),
	{name: "nftables", args: "[TABLE]", max: 1, status: Supported, doc: "no_accept drops in this nftables table (family inet; default govrrp)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.NFTablesTable = argText(n, 0) }},
	{name: "nftables_priority", args: "PRIO", min: 1, max: 1, status: Supported, doc: "priority of the no_accept chains (default -1)", fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if v, ok := c.intArg(n, 0, -1<<31, 1<<31-1); ok {
				p := int(v)
				g.NFTablesPriority = &p
			}
		}},
	{name: "nftables_counters", status: Supported, doc: "a counter on each no_accept drop rule",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.NFTablesCounters = true }},
	{name: "nftables_ifindex", status: Supported, doc: "IPv6 link-local no_accept drops match the interface by index for every instance (without it a dont_track_primary instance's match by name, as keepalived)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.NFTablesIfindex = true }},
	gOther("nftables_ipvs", "[TABLE]", 0, 1, "nftables for IPVS (LVS)").otherProcess(),
	gOther("nftables_ipvs_priority", "PRIO", 1, 1, "(LVS)").otherProcess(),
	gOther("nftables_ipvs_start_fwmark", "N", 1, 1, "(LVS)").otherProcess(),
	{name: "vrrp_iptables", args: "[IN [OUT]]", max: 2, status: Supported, doc: "firewall for no_accept via iptables: mapped to nftables (as keepalived 2.2.7 as packaged does)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			c.fallbackf(n.Pos(), "", "vrrp_iptables: keepalived 2.2.7 as packaged has no iptables support and uses nftables instead; govrrp does the same (its own table, see `nftables`); the chain names are not used")
		}},
	gOtherCheck("vrrp_ipsets", "[NAMES...]", 0, 5, "ipset names (keepalived 2.2.7 without ipset: unknown keyword)", func(c *ctx, n *Node) {
		c.fallbackf(n.Pos(), "ignore the line", "vrrp_ipsets: keepalived 2.2.7 as packaged has no ipset support")
	}).with(Ignored),
	{name: "disable_local_igmp", status: Supported, doc: "net.ipv4.igmp_link_local_mcast_reports 0 at start (no IGMP reports for 224.0.0.18), restored at stop if govrrp changed it",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.DisableLocalIGMP = true }},
	gProc("max_auto_priority", "[<-1..99>]", 0, 1, "raise the realtime priority by one per late wake-up, up to this (0/-1 off; no value 99)", procMaxAuto),
	gProc("min_auto_priority_delay", "USECS", 1, 1, "lateness that raises the priority (default 1 s)", procMinAutoDelay),
	gProc("vrrp_priority", "<-20..19>", 1, 1, "nice of every thread (not with vrrp_rt_priority, as keepalived)", procNice),
	gOtherCheck("checker_priority", "<-20..19>", 1, 1, "(LVS)", checkInt(-20, 19)).otherProcess(),
	gOtherCheck("bfd_priority", "<-20..19>", 1, 1, "(BFD)", checkInt(-20, 19)).otherProcess(),
	gProc("vrrp_no_swap", "", 0, 0, "mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT)", func(c *ctx, n *Node, p *ProcessDefs) { p.NoSwap = true }),
	gOther("checker_no_swap", "", 0, 0, "(LVS)").otherProcess(),
	gOther("bfd_no_swap", "", 0, 0, "(BFD)").otherProcess(),
	gProc("vrrp_cpu_affinity", "CPU...", 1, -1, "CPU set of every thread", procAffinity),
	gOtherCheck("checker_cpu_affinity", "CPU...", 1, -1, "(LVS)", checkAllInts(0, 4095)).otherProcess(),
	gOtherCheck("bfd_cpu_affinity", "CPU...", 1, -1, "(BFD)", checkAllInts(0, 4095)).otherProcess(),
	gProc("vrrp_rt_priority", "<1..99>", 1, 1, "SCHED_RR (reset on fork: scripts are not realtime) on every thread", procRTPriority),
	gOtherCheck("checker_rt_priority", "<1..99>", 1, 1, "(LVS)", checkRTPriority).otherProcess(),
	gOtherCheck("bfd_rt_priority", "<1..99>", 1, 1, "(BFD)", checkRTPriority).otherProcess(),
	gProc("vrrp_rlimit_rttime", "USECS", 1, 1, "RLIMIT_RTTIME hard limit when realtime (soft: half; default 10000)", procRTTime),
	gOtherCheck("checker_rlimit_rttime", "USECS", 1, 1, "(LVS)", checkInt(0, 1<<32-1)).otherProcess(),
	gOtherCheck("bfd_rlimit_rttime", "USECS", 1, 1, "(BFD)", checkInt(0, 1<<32-1)).otherProcess(),
	{name: "snmp_socket", args: "ADDR", min: 1, max: 1, status: Supported, doc: "AgentX master address (default unix:/var/agentx/master; unix:PATH, PATH, tcp:HOST:PORT, HOST:PORT)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			g.SNMP.Socket = n.Args[0].Text
			globalSink(g, raw(n))
			checkSNMPSocket(c, n)
		}},
	gSNMP(gOther("enable_snmp_vrrp", "", 0, 0, "KEEPALIVED-MIB (global scalars and VRRP tables, vrrpInstanceStateChange / vrrpSyncGroupStateChange traps) over AgentX"), func(g *GlobalDefs, _ *Node) { g.SNMP.VRRP = true }).with(Supported),
	gSNMP(gOther("enable_snmp_keepalived", "", 0, 0, "KEEPALIVED-MIB over AgentX (deprecated name of enable_snmp_vrrp)"), func(g *GlobalDefs, _ *Node) { g.SNMP.VRRP = true }).with(Supported),
	gOther("enable_snmp_checker", "", 0, 0, "SNMP (LVS)").otherProcess(),
	gSNMP(gOther("enable_snmp_rfc", "", 0, 0, "VRRP-MIB and VRRPV3-MIB over AgentX (as enable_snmp_rfcv2 + enable_snmp_rfcv3)"), func(g *GlobalDefs, _ *Node) { g.SNMP.RFCv2, g.SNMP.RFCv3 = true, true }).with(Supported),
	gSNMP(gOther("enable_snmp_rfcv2", "", 0, 0, "VRRP-MIB (RFC 2787) over AgentX, every VRRPv2 instance a row"), func(g *GlobalDefs, _ *Node) { g.SNMP.RFCv2 = true }).with(Supported),
	gSNMP(gOther("enable_snmp_rfcv3", "", 0, 0, "VRRPV3-MIB (RFC 6527) over AgentX"), func(g *GlobalDefs, _ *Node) { g.SNMP.RFCv3 = true }).with(Supported),
	gSNMP(gOther("enable_traps", "", 0, 0, "VRRP-MIB / VRRPV3-MIB notifications: new master, protocol error, auth failure"), func(g *GlobalDefs, _ *Node) { g.SNMP.Traps = true }).with(Supported),
	{name: "enable_dbus", status: Supported, doc: "keepalived's D-Bus interface on the system bus (objects under /org/keepalived/Vrrp1)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.EnableDBus = true }},
	{name: "dbus_service_name", args: "NAME", max: 1, status: Supported, doc: "D-Bus bus name (default org.keepalived.Vrrp1; the object paths stay)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			if len(n.Args) == 0 { // keepalived 2.2.7: "dbus_service_name missing - ignoring"
				c.fallbackf(n.Pos(), "ignore the line (org.keepalived.Vrrp1)", "dbus_service_name: missing name")
				return
			}
			g.DBusServiceName = n.Args[0].Text
		}},
	{name: "fifo_write_vrrp_states_on_reload", status: Supported, doc: "on reload, each sync group's state to the FIFOs (keepalived 2.2.7 writes GROUP lines only)",
		fn: func(c *ctx, n *Node, g *GlobalDefs) { g.FifoWriteStatesOnReload = true }},
	gInt("vrrp_netlink_cmd_rcv_bufs", 0, 4294967295, "receive buffer of the netlink command socket (the VIP lease's address dumps)", func(g *GlobalDefs, v int) { g.NetlinkCmdRcvBufs = v }).with(Supported),
	gBool("vrrp_netlink_cmd_rcv_bufs_force", "set it with SO_RCVBUFFORCE (past rmem_max)", func(g *GlobalDefs, v bool) { g.NetlinkCmdRcvBufsForce = v }).with(Supported),
	gInt("vrrp_netlink_monitor_rcv_bufs", 0, 4294967295, "receive buffer of the netlink monitor sockets (address, link and route watchers)", func(g *GlobalDefs, v int) { g.NetlinkMonRcvBufs = v }).with(Supported),
	gBool("vrrp_netlink_monitor_rcv_bufs_force", "set it with SO_RCVBUFFORCE (past rmem_max)", func(g *GlobalDefs, v bool) { g.NetlinkMonRcvBufsForce = v }).with(Supported),
	gOtherCheck("lvs_netlink_cmd_rcv_bufs", "BYTES", 1, 1, "(LVS)", checkInt(0, 1<<32-1)).otherProcess(),
	gOther("lvs_netlink_cmd_rcv_bufs_force", "[BOOL]", 0, 1, "(LVS)").otherProcess(),
	gOtherCheck("lvs_netlink_monitor_rcv_bufs", "BYTES", 1, 1, "(LVS)", checkInt(0, 1<<32-1)).otherProcess(),
	gOther("lvs_netlink_monitor_rcv_bufs_force", "[BOOL]", 0, 1, "(LVS)").otherProcess(),
	gInt("process_monitor_rcv_bufs", 0, 4294967295, "receive buffer of the process events connector socket (track_process)", func(g *GlobalDefs, v int) { g.ProcessMonRcvBufs = v }).with(Supported),
	gBool("process_monitor_rcv_bufs_force", "set it with SO_RCVBUFFORCE (past rmem_max)", func(g *GlobalDefs, v bool) { g.ProcessMonRcvBufsForce = v }).with(Supported),
	gRxBufsPolicy(), // rxbufs.go
	gRxBufsMultiplier(),
	gOther("rs_init_notifies", "", 0, 0, "(LVS)").otherProcess(),
	gOther("no_checker_emails", "", 0, 0, "(LVS)").otherProcess(),
	gProc("umask", "NUMBER|BITS", 1, -1, "file creation mask of the process", procUmask),
	gOther("log_unknown_vrids", "", 0, 0, "log adverts of unknown VRIDs (govrrp always logs them, rate-limited, and counts them per socket)").with(Supported),
	pickKeyword(reloadKeywords, "random_seed"), // reloadcfg.go
	pickKeyword(reloadKeywords, "reload_check_config"),
	pickKeyword(reloadKeywords, "include_check"),
	pickKeyword(reloadKeywords, "reload_time_file"),
	pickKeyword(reloadKeywords, "reload_repeat"),
	pickKeyword(reloadKeywords, "reload_file"),
	gOtherCheck("data_use_instance", "[BOOL]", 0, 1, "instance name in the .data file's name (govrrp's keepalived-format dumps)", checkOptBool).with(Supported),
	gOtherCheck("linkbeat_use_polling", "", 0, 0, "poll link state (keepalived 2.2.7: unknown in global_defs; ignored with a warning, as 2.2.7 does)", notIn227).with(Ignored),
	gOtherCheck("net_namespace", "NAME", 1, 1, "top-level keyword (keepalived 2.2.7: unknown in global_defs; ignored with a warning, as 2.2.7 does)", notIn227).with(Ignored),
	gOther("net_namespace_ipvs", "[NAME]", 0, 1, "(LVS)").otherProcess(),
	gOtherCheck("namespace_with_ipsets", "", 0, 0, "ipset names per namespace (keepalived 2.2.7: unknown in global_defs; ignored with a warning, as 2.2.7 does)", notIn227).with(Ignored),
	gOtherCheck("instance", "NAME", 1, 1, "top-level keyword (keepalived 2.2.7: unknown in global_defs)", notIn227).with(Rejected),
	gOtherCheck("use_pid_dir", "", 0, 0, "top-level keyword (keepalived 2.2.7: unknown in global_defs)", notIn227).with(Rejected),
	gOtherCheck("vrrp_garp_lower_prio_no_advert", "[BOOL]", 0, 1, "old name of vrrp_lower_prio_no_advert: keepalived 2.2.7 ignores the line as an unknown keyword, and so does govrrp (warning)", notIn227).with(Ignored),
	{name: "vrrp_owner_ignore_adverts", status: Rejected, doc: "keepalived > 2.2 only"},
})

// wantMcast checks a multicast group address of the right family.
func (c *ctx) wantMcast(n *Node, a netip.Addr, v4 bool) bool {
	if a.Is4() != v4 || !a.IsMulticast() {
		c.bad(n.Args[0].Pos, "%s: %s is not an IPv%s multicast address", n.Keyword.Text, a, map[bool]string{true: "4", false: "6"}[v4])
		return false
	}
	return true
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// gSNMP also records a keyword kept raw in a typed field (the SNMP rows:
// internal/snmp acts on them).
func gSNMP(k kwG, set func(*GlobalDefs, *Node)) kwG {
	k.fn = func(_ *ctx, n *Node, g *GlobalDefs) {
		set(g, n)
		globalSink(g, raw(n))
	}
	return k
}

// checkSNMPSocket refuses an snmp_socket transport govrrp's subagent does
// not speak (net-snmp also knows udp:, tls:, dtls:, ...): by name, rather
// than a subagent that never connects.
func checkSNMPSocket(c *ctx, n *Node) {
	a := n.Args[0].Text
	switch {
	case strings.HasPrefix(a, "unix:"), strings.HasPrefix(a, "/"), strings.HasPrefix(a, "tcp:"):
		return
	}
	if _, _, err := net.SplitHostPort(a); err == nil && !strings.Contains(a, "/") {
		return
	}
	c.errf(n.Args[0].Pos, "snmp_socket %q: govrrp's AgentX subagent connects over unix:PATH, PATH, tcp:HOST:PORT or HOST:PORT only", a)
}
