package kaconf

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// vrrp_instance keywords.

type kwI = keyword[*Instance]

func instanceSink(in *Instance, r Raw) { in.Other = append(in.Other, r) }

func iOther(name, args string, min, max int, doc string) kwI {
	return kwI{name: name, args: args, min: min, max: max, status: ParsedOnly, doc: doc}
}

func iFlag(name, doc string, set func(*Instance)) kwI {
	return kwI{name: name, status: ParsedOnly, doc: doc, fn: func(c *ctx, n *Node, in *Instance) { set(in) }}
}

func iBool(name, doc string, set func(*Instance, bool)) kwI {
	return kwI{name: name, args: "[BOOL]", max: 1, status: ParsedOnly, doc: doc, fallback: ignore,
		fn: func(c *ctx, n *Node, in *Instance) {
			if v, ok := c.boolArg(n, 0); ok {
				set(in, v)
				c.markSet(in, n.Keyword.Text)
			}
		}}
}

func iInt(name string, st Status, lo, hi int64, doc string, set func(*Instance, int)) kwI {
	return kwI{name: name, args: "<" + itoa(lo) + ".." + itoa(hi) + ">", min: 1, max: 1, status: st, doc: doc,
		fn: func(c *ctx, n *Node, in *Instance) {
			if v, ok := c.intArg(n, 0, lo, hi); ok {
				set(in, int(v))
				c.markSet(in, n.Keyword.Text)
			}
		}}
}

func iSecs(name string, st Status, lo, hi float64, doc string, set func(*Instance, time.Duration)) kwI {
	return kwI{name: name, args: "SECONDS", min: 1, max: 1, status: st, doc: doc, fallback: ignore,
		fn: func(c *ctx, n *Node, in *Instance) {
			if v, ok := c.secondsArg(n, 0, lo, hi); ok {
				set(in, v)
				c.markSet(in, n.Keyword.Text)
			}
		}}
}

// iScript is a notify script: "PATH|'QUOTED CMD' [USER [GROUP]]"; the command
// is kept, and the user it runs as in RunAs under the keyword.
func iScript(name, doc string, set func(*Instance, string)) kwI {
	return kwI{name: name, args: "CMD [USER [GROUP]]", min: 1, max: 3, status: ParsedOnly, doc: doc,
		fn: func(c *ctx, n *Node, in *Instance) {
			set(in, n.Args[0].Text)
			setRunAs(&in.RunAs, n, 1)
		}}
}

func iAddr(name string, st Status, doc string, set func(*Instance, netip.Addr)) kwI {
	return kwI{name: name, args: "ADDR", min: 1, max: 1, status: st, doc: doc,
		fn: func(c *ctx, n *Node, in *Instance) {
			if a, ok := c.addrArg(n, 0); ok {
				set(in, a)
			}
		}}
}

func iTrack(name string, lo, hi int64, doc string, list func(*Instance) *[]TrackRef) kwI {
	return kwI{name: name, args: "{ NAME [weight <" + itoa(lo) + ".." + itoa(hi) + ">] [reverse] ... }", block: true, status: ParsedOnly, doc: doc,
		fn: func(c *ctx, n *Node, in *Instance) { *list(in) = append(*list(in), c.trackRefs(n, lo, hi)...) }}
}

var instanceTable = newTable("vrrp_instance", instanceSink, []kwI{
	{name: "state", args: "MASTER|BACKUP", min: 1, max: 1, status: Supported, doc: "initial state (default BACKUP)",
		fn: func(c *ctx, n *Node, in *Instance) {
			switch s := n.Args[0].Text; s {
			case "MASTER", "BACKUP":
				in.State = s
			default:
				// keepalived compares case-sensitively: "master" is BACKUP too.
				in.State = "BACKUP"
				c.fallbackf(n.Args[0].Pos, "start the instance as BACKUP", "state: %q is not MASTER or BACKUP", s)
			}
		}},
	{name: "interface", args: "IFNAME", min: 1, max: 1, status: Supported, doc: "interface adverts are sent on",
		fn: func(c *ctx, n *Node, in *Instance) { in.Interface = n.Args[0].Text }},
	iInt("virtual_router_id", Supported, 1, 255, "VRID, required", func(in *Instance, v int) { in.VRID = uint8(v) }),
	{name: "priority", args: "<1..255>", min: 1, max: 1, status: Supported, doc: "priority (default 100; 255 with state MASTER when omitted)",
		fallback: "use priority 100 (also with state MASTER)", fn: instPriority},
	iSecs("advert_int", Supported, 0.01, 255, "advert interval, seconds (v2: whole seconds, v3: 10 ms units)", func(in *Instance, v time.Duration) { in.AdverInt = v }).
		orElse("ignore the line (advert_int 1 s unless set before)"),
	iInt("version", Supported, 2, 3, "VRRP version (default vrrp_version; IPv6 forces 3)", func(in *Instance, v int) { in.Version = uint8(v) }).
		orElse("ignore the line (the version of vrrp_version)"),
	{name: "authentication", args: "{ auth_type PASS; auth_pass PW }", block: true, status: Supported, doc: "VRRPv2 simple password (AH: parsed only)",
		fn: func(c *ctx, n *Node, in *Instance) { dispatch(c, authTable, n.Children, in); c.hmacVersusLegacy(in) }},
	{name: "virtual_ipaddress", args: "{ ADDR[/LEN] [brd A] [dev IF] [scope S] [label L] ... }", block: true, status: Supported, doc: "VIPs (one family per instance)",
		fn: func(c *ctx, n *Node, in *Instance) {
			vs := c.vipList(n)
			for _, v := range vs {
				c.addrOptsNotActed("virtual_ipaddress", v) // routes.go
			}
			in.VIPs = append(in.VIPs, vs...)
		}},
	{name: "virtual_ipaddress_excluded", args: "{ ADDR ... }", block: true, status: Supported, doc: "VIPs not sent in adverts (any family), installed with the VIPs",
		fn: func(c *ctx, n *Node, in *Instance) {
			vs := c.vipList(n)
			for _, v := range vs {
				c.addrOptsNotActed("virtual_ipaddress_excluded", v) // routes.go
			}
			in.ExcludedVIPs = append(in.ExcludedVIPs, vs...)
		}},
	{name: "nopreempt", status: Supported, doc: "do not preempt a lower-priority master (cleared for state MASTER / priority 255)",
		fn: func(c *ctx, n *Node, in *Instance) { in.Nopreempt = true }},
	iFlag("preempt", "default; clears an earlier nopreempt", func(in *Instance) { in.Nopreempt = false }).with(Supported),
	iSecs("preempt_delay", Supported, 0, 1000, "delay before preempting (reset with nopreempt)", func(in *Instance, v time.Duration) { in.PreemptDelay = v }),
	iAddr("unicast_src_ip", Supported, "source address of unicast adverts", func(in *Instance, a netip.Addr) { in.UnicastSrcIP = a }).
		orElse("skip it (the interface's address is used)"),
	{name: "unicast_peer", args: "{ ADDR [min_ttl N] [max_ttl N] ... }", block: true, status: Supported, doc: "send adverts by unicast to these peers",
		fn: func(c *ctx, n *Node, in *Instance) { in.UnicastPeers = append(in.UnicastPeers, c.peers(n)...) }},
	iAddr("mcast_src_ip", Supported, "source address of multicast adverts", func(in *Instance, a netip.Addr) { in.McastSrcIP = a }).
		orElse("skip it (the interface's address is used)"),
	{name: "mcast_dst_ip", args: "ADDR", min: 1, max: 1, status: Supported, doc: "advert multicast group of this instance (default vrrp_mcast_group4/6)",
		fallback: "skip it (the default group is used)", fn: instMcastDst},
	iInt("garp_master_repeat", Supported, 0, 4294967295, "GARPs per burst on becoming master (default global, 5)", func(in *Instance, v int) { in.GarpMasterRepeat = v }).orElse(ignore).
		nonNumberAs("1", func(in *Instance) { in.GarpMasterRepeat = 1 }),
	iSecs("garp_master_delay", Supported, 0, 4294, "delay of the second burst (default global, 5 s)", func(in *Instance, v time.Duration) { in.GarpMasterDelay = v }).
		nonNumberAs("0", func(in *Instance) { in.GarpMasterDelay = 0 }),
	iSecs("garp_master_refresh", Supported, 0, 1e9, "GARP refresh while master (default global, 0 = off)", func(in *Instance, v time.Duration) { in.GarpMasterRefresh = v }),
	{name: "garp_master_refresh_repeat", args: "<1..4294967295>", min: 1, max: 1, status: Supported, doc: "GARPs per refresh (default global, 1)",
		fallback: ignore, fn: instGarpRefreshRepeat},
	iInt("garp_lower_prio_repeat", Supported, 0, 4294967295, "GARPs after a lower-priority advert", func(in *Instance, v int) { in.GarpLowerPrioRepeat = v }).orElse(ignore).
		nonNumberAs("0", func(in *Instance) { in.GarpLowerPrioRepeat = 0 }),
	iSecs("garp_lower_prio_delay", Supported, 0, 4294, "delay for that burst", func(in *Instance, v time.Duration) { in.GarpLowerPrioDelay = v }).
		nonNumberAs("0", func(in *Instance) { in.GarpLowerPrioDelay = 0 }),
	{name: "garp_extra_if", args: "[all] SECS", min: 1, max: 2, status: Supported, doc: "periodic GARP/NA while master on the other interfaces of VIPs (all; without it: the VMACs of VIPs, use_vmac_addr / a VIP's use_vmac)", fallback: ignore,
		fn: func(c *ctx, n *Node, in *Instance) {
			if all, d, ok := c.extraIfArgs(n); ok {
				in.GarpExtraIf, in.GarpExtraIfAll = d, all
				c.markSet(in, n.Keyword.Text)
			}
		}},
	iOtherCheck("garp_extra_if_vmac", "[all] SECS", 1, 2, "keepalived > 2.2 only: 2.2.7 ignores the line as an unknown keyword, and so does govrrp (warning)", notIn227).with(Ignored),
	iInt("down_timer_adverts", Supported, 1, 100, "adverts before master down (default 3)", func(in *Instance, v int) { in.DownTimerAdverts = v }).orElse(ignore),
	iBool("lower_prio_no_advert", "no advert after a lower-priority advert", func(in *Instance, v bool) { in.LowerPrioNoAdvert = v }).with(Supported),
	iBool("higher_prio_send_advert", "advert before yielding", func(in *Instance, v bool) { in.HigherPrioSendAdvert = v }).with(Supported),
	iTrack("track_interface", -253, 253, "interfaces to track (weight 0: FAULT when down)", func(in *Instance) *[]TrackRef { return &in.TrackInterfaces }).with(Supported),
	iTrack("track_script", -253, 253, "vrrp_scripts to track (weight defaults to the script's)", func(in *Instance) *[]TrackRef { return &in.TrackScripts }).with(Supported),
	iTrack("track_file", -254, 254, "track_files to track (weight defaults to the file's)", func(in *Instance) *[]TrackRef { return &in.TrackFiles }).with(Supported),
	iTrack("track_process", -254, 254, "vrrp_track_processes to track", func(in *Instance) *[]TrackRef { return &in.TrackProcesses }).with(Supported),
	iTrack("track_bfd", -253, 253, "bfd_instances to track: weight while up (negative: while down), 0 = FAULT while down", func(in *Instance) *[]TrackRef { return &in.TrackBFDs }).with(Supported),
	iScript("notify", "script for every transition", func(in *Instance, s string) { in.Notify = s }).with(Supported),
	iScript("notify_master", "script on MASTER", func(in *Instance, s string) { in.NotifyMaster = s }).with(Supported),
	iScript("notify_backup", "script on BACKUP", func(in *Instance, s string) { in.NotifyBackup = s }).with(Supported),
	iScript("notify_fault", "script on FAULT", func(in *Instance, s string) { in.NotifyFault = s }).with(Supported),
	iScript("notify_stop", "script on stop", func(in *Instance, s string) { in.NotifyStop = s }).with(Supported),
	iScript("notify_master_rx_lower_pri", "script when master sees a lower priority", func(in *Instance, s string) { in.NotifyMasterRxLowerPri = s }).with(Supported),
	{name: "notify_deleted", args: "[CMD [USER [GROUP]]]", max: 3, status: Supported, doc: "DELETED instead of FAULT on reload removal",
		fn: func(c *ctx, n *Node, in *Instance) {
			in.NotifyDeleted, in.NotifyDeletedSet = argText(n, 0), true
			setRunAs(&in.RunAs, n, 1)
		}},
	iBool("notify_priority_changes", "priority changes on notify FIFOs", func(in *Instance, v bool) { in.NotifyPriorityChanges = v }).with(Supported),
	iBool("smtp_alert", "mail on transitions (internal/mail)", func(in *Instance, v bool) { in.SmtpAlert, in.SmtpAlertSet = v, true }).with(Supported),
	iFlag("accept", "accept packets to VIPs when not owner (default)", func(in *Instance) { t := true; in.Accept = &t }).with(Supported),
	iFlag("no_accept", "drop packets to VIPs when not owner (nftables table inet govrrp)", func(in *Instance) { f := false; in.Accept = &f }).with(Supported),
	iBool("strict_mode", "strict RFC compliance (default vrrp_strict; implies no_accept)", func(in *Instance, v bool) { in.StrictMode = v }).with(Supported),
	iFlag("v3_checksum_as_v2", "v3 IPv4 checksum without pseudo-header (keepalived > 2.2)", func(in *Instance) { in.V3ChecksumAsV2 = true }).with(Supported),
	{name: "use_vmac", args: "[IFNAME] [MAC]", max: 2, status: Supported, doc: "virtual MAC via macvlan",
		fn: func(c *ctx, n *Node, in *Instance) {
			in.UseVMAC = "-" // resolved to vrrp.<VRID> in derive
			for _, a := range n.Args {
				switch {
				case strings.Count(a.Text, ":") >= 4:
					// Five octets: keepalived makes the VRID the sixth (man
					// keepalived.conf); kept as written, completed by the daemon.
					full := a.Text
					if len(full) == 14 && strings.Count(full, ":") == 4 {
						full += ":00"
					}
					if _, err := net.ParseMAC(full); err != nil || len(full) != 17 {
						c.fallbackf(a.Pos, "ignore the address (the VRRP virtual MAC is used)", "use_vmac: invalid MAC address %q", a.Text)
						continue
					}
					in.VMACAddr = a.Text
				case !validIfName(a.Text):
					c.fallbackf(a.Pos, "use the default name (vmac_prefix.VRID)", "use_vmac: %q is too long or has invalid characters for an interface name", a.Text)
				default:
					in.UseVMAC = a.Text
				}
			}
		}},
	iFlag("use_vmac_addr", "VMACs for VIPs/eVIPs on other interfaces or of the other family", func(in *Instance) { in.UseVMACAddr = true }).with(Supported),
	iFlag("vmac_xmit_base", "send adverts on the base interface", func(in *Instance) { in.VMACXmitBase = true }).with(Supported),
	iOther("use_ipvlan", "[IFNAME] [ADDR] [MODE]", 0, 3, "ipvlan instead of macvlan"),
	{name: "native_ipv6", status: Supported, doc: "deprecated: the instance is IPv6 (VRRPv3) from this line on; IPv4 addresses after it are ignored, as in keepalived 2.2.7"},
	iFlag("dont_track_primary", "ignore faults of the instance interface", func(in *Instance) { in.DontTrackPrimary = true }).with(Supported),
	iBool("skip_check_adv_addr", "skip VIP list check for the same master (govrrp never drops for it)", func(in *Instance, v bool) { in.SkipCheckAdvAddr = v }).with(Supported),
	iFlag("promote_secondaries", "set promote_secondaries on the interface (restored at exit)", func(in *Instance) { in.PromoteSecondaries = true }).with(Supported),
	iFlag("no_virtual_ipaddress", "an instance without VIPs (runs the protocol and notifies, installs nothing); keepalived 2.2.7 ignores the word as unknown", func(in *Instance) { in.NoVirtualIPAddress = true }).with(Supported),
	{name: "virtual_routes", args: "{ ROUTE ... }", block: true, status: Supported, doc: "routes moved with the VIPs (ip route grammar)",
		fn: func(c *ctx, n *Node, in *Instance) {
			c.checkRoutes(n, true)
			in.VirtualRoutes = append(in.VirtualRoutes, rawChildren(n)...)
			in.VirtualRouteSpecs = append(in.VirtualRouteSpecs, c.typedRoutes(n, "virtual_routes")...)
		}},
	{name: "virtual_rules", args: "{ RULE ... }", block: true, status: Supported, doc: "rules moved with the VIPs (ip rule grammar)",
		fn: func(c *ctx, n *Node, in *Instance) {
			start := c.rulesNoPref
			in.VirtualRules = append(in.VirtualRules, c.checkRules(n)...)
			in.VirtualRuleSpecs = append(in.VirtualRuleSpecs, c.typedRules(n, start, "virtual_rules")...)
		}},
	iFlag("track_src_ip", "FAULT when the source address disappears", func(in *Instance) { in.TrackSrcIP = true }).with(Supported),
	iFlag("check_unicast_src", "accept unicast adverts only from peers (govrrp always does)", func(in *Instance) { in.CheckUnicastSrc = true }).with(Supported),
	iFlag("unicast_fault_no_peer", "FAULT instead of multicast without peers", func(in *Instance) { in.UnicastFaultNoPeer = true }).with(Supported),
	iInt("unicast_ttl", Supported, 0, 255, "TTL of unicast adverts", func(in *Instance, v int) { in.UnicastTTL = v }).orElse(ignore),
	{name: "old_unicast_checksum", args: "[never]", max: 1, status: Supported, doc: "pre-1.3.6 v3 unicast checksum (pseudo-header to 224.0.0.18): sent, and the only form accepted; never: not even auto-detected on receive",
		fn: func(c *ctx, n *Node, in *Instance) { in.OldUnicastChecksum = oldUnicastChecksumMode(c, n) }},
	iOther("vrf", "IFNAME", 1, 1, "VRF for unicast without interface"),
	{name: "debug", args: "<0..4>", max: 1, status: Supported, doc: "accepted, no effect (keepalived 2.2.7: not implemented)", fallback: ignore,
		fn: func(c *ctx, n *Node, in *Instance) {
			if len(n.Args) > 0 {
				if _, ok := c.intArg(n, 0, 0, 4); !ok {
					return
				}
			}
			// keepalived 2.2.7 stores the level and never reads it.
			c.noticef(n.Pos(), "(%s) debug has no effect (keepalived 2.2.7 does not implement it either)", in.Name)
		}},
	iKernelRxBufSize(), // rxbufs.go
	{name: "linkbeat_use_polling", status: Supported, doc: "deprecated: poll the carrier of the instance's interface",
		fn: func(c *ctx, n *Node, in *Instance) {
			in.LinkbeatUsePolling = true
			c.fallbackf(n.Pos(), "", "linkbeat_use_polling in a vrrp_instance is deprecated; use a linkbeat_interfaces block")
		}},
	kwI{name: "lvs_sync_daemon_interface", args: "IFNAME", min: 1, max: 1, doc: "deprecated: LVS sync daemon",
		fn: func(c *ctx, n *Node, in *Instance) {
			in.Other = append(in.Other, raw(n))
			c.fallbackf(n.Pos(), "", "lvs_sync_daemon_interface in a vrrp_instance is deprecated; use global_defs lvs_sync_daemon")
		}}.otherProcess(),
	{name: "owner_ignore_adverts", args: "", status: Rejected, doc: "keepalived > 2.2 only"},
	// keepalived 2.4's signed adverts (draft-cassen-vrrp-auth-hmac-00); every
	// bad value in the block is an error (authhmac.go).
	{name: "auth_hmac", args: "{ key ID KEY; active_key ID; anti_replay time|monotonic; time_window SECS; mode MODE }", block: true, status: Supported,
		doc: "keepalived 2.4 HMAC-SHA256 signed adverts with anti-replay",
		fn:  func(c *ctx, n *Node, in *Instance) { c.authHMACBlock(n, in) }},
})

// authentication { } block.
var authTable = newTable("authentication", func(*Instance, Raw) {}, []kwI{
	{name: "auth_type", args: "PASS|AH", min: 1, max: 1, status: Supported, doc: "PASS supported; AH parsed only",
		fn: func(c *ctx, n *Node, in *Instance) {
			switch t := n.Args[0].Text; t {
			case "PASS", "AH":
				in.AuthType = t
			default:
				in.AuthType = ""
				c.fallbackf(n.Args[0].Pos, "run the instance without authentication", "auth_type: %q is not PASS or AH", t)
			}
		}},
	{name: "auth_pass", args: "PASSWORD", min: 1, max: 1, status: Supported, doc: "password, truncated to 8 characters",
		fn: func(c *ctx, n *Node, in *Instance) {
			in.AuthPassRaw = n.Args[0].Text
			if len(in.AuthPassRaw) > 8 {
				c.fallbackf(n.Args[0].Pos, "", "auth_pass: truncated to 8 characters (as keepalived)")
			}
			in.AuthPass = [8]byte{}
			copy(in.AuthPass[:], in.AuthPassRaw)
		}},
	{name: "auth_hmac", args: "...", max: -1, status: Rejected, doc: "not here: auth_hmac { } goes directly in vrrp_instance"},
})

// vipList reads the entries of a virtual_ipaddress-like block.
func (c *ctx) vipList(n *Node) []VIP {
	out := make([]VIP, 0, len(n.Children))
	c.withFallback("skip the address", func() {
		for _, ch := range n.Children {
			if v, ok := c.parseVIP(ch, true); ok {
				out = append(out, v)
			}
		}
	})
	return out
}

// parseVIP reads "ADDR[/LEN] [brd A] [dev IF] [scope S] [label L] ...".
func (c *ctx) parseVIP(n *Node, vrrp bool) (VIP, bool) {
	v := VIP{Pos: n.Pos()}
	p, ok := c.prefixTok(n.Keyword)
	if !ok {
		return v, false
	}
	v.Prefix = p
	args := n.Args
	for i := 0; i < len(args); i++ {
		opt := args[i].Text
		val := func() (Token, bool) {
			if i+1 >= len(args) {
				c.errf(args[i].Pos, "%s: missing value", opt)
				return Token{}, false
			}
			i++
			return args[i], true
		}
		switch opt {
		case "brd", "broadcast":
			t, ok := val()
			if !ok {
				return v, false
			}
			if t.Text == "+" || t.Text == "-" {
				v.Other = append(v.Other, opt, t.Text)
				continue
			}
			a, ok := c.addrTok("brd", t)
			if !ok {
				return v, false
			}
			v.Broadcast = a
		case "dev":
			t, ok := val()
			if !ok {
				return v, false
			}
			v.Dev = t.Text
		case "scope":
			t, ok := val()
			if !ok {
				return v, false
			}
			switch t.Text {
			case "site", "link", "host", "nowhere", "global":
				v.Scope = t.Text
			default:
				c.fallbackf(t.Pos, "ignore the option", "scope: %q is not site|link|host|nowhere|global", t.Text)
			}
		case "label":
			t, ok := val()
			if !ok {
				return v, false
			}
			v.Label = t.Text
		case "peer":
			t, ok := val()
			if !ok {
				return v, false
			}
			a, ok := c.addrTok("peer", t)
			if !ok {
				return v, false
			}
			v.Peer = a
		case "-nodad":
			v.NoDAD = true
		case "no_track":
			v.NoTrack = true
		case "use_vmac":
			v.UseVMAC = true
		case "home", "mngtmpaddr", "noprefixroute", "autojoin":
			v.Other = append(v.Other, opt)
		case "track_group":
			t, ok := val()
			if !ok {
				return v, false
			}
			if !c.vipTrackGroup(&v, vrrp, t) {
				return v, false
			}
		case "preferred_lft":
			t, ok := val()
			if !ok {
				return v, false
			}
			v.Other = append(v.Other, opt, t.Text)
		default:
			c.fallbackf(args[i].Pos, "ignore the option", "unknown address option %q", opt)
		}
	}
	return v, true
}

// prefixTok parses ADDR or ADDR/LEN; a bare address is a host prefix.
func (c *ctx) prefixTok(t Token) (netip.Prefix, bool) {
	if !strings.Contains(t.Text, "/") {
		a, ok := c.addrTok("address", t)
		if !ok {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(t.Text)
	if err != nil {
		return c.badPrefix(t)
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()), true
}

// peers reads unicast_peer entries.
func (c *ctx) peers(n *Node) []UnicastPeer {
	var out []UnicastPeer
	for _, ch := range n.Children {
		var a netip.Addr
		ok := false
		c.withFallback("skip the peer", func() { a, ok = c.addrTok("unicast_peer", ch.Keyword) })
		if !ok {
			continue
		}
		p := UnicastPeer{Addr: a, MinTTL: -1, MaxTTL: -1, Pos: ch.Pos()}
		for i := 0; i+1 < len(ch.Args); i += 2 {
			v, err := strconv.Atoi(ch.Args[i+1].Text)
			if err != nil || v < 0 || v > 255 {
				c.fallbackf(ch.Args[i+1].Pos, "ignore the option", "%s: %q outside range [0, 255]", ch.Args[i].Text, ch.Args[i+1].Text)
				continue
			}
			switch ch.Args[i].Text {
			case "min_ttl":
				p.MinTTL = v
			case "max_ttl":
				p.MaxTTL = v
			default:
				c.fallbackf(ch.Args[i].Pos, "ignore the option", "unicast_peer: unknown option %q", ch.Args[i].Text)
			}
		}
		if p.MinTTL >= 0 && p.MaxTTL >= 0 && p.MinTTL > p.MaxTTL {
			c.warnf(ch.Pos(), "unicast_peer %s: min_ttl %d > max_ttl %d: every advert from it is dropped (as in keepalived 2.2.7)", a, p.MinTTL, p.MaxTTL)
		}
		if len(ch.Args)%2 == 1 {
			c.errf(ch.Args[len(ch.Args)-1].Pos, "unicast_peer: %q needs a value", ch.Args[len(ch.Args)-1].Text)
		}
		out = append(out, p)
	}
	return out
}

// trackRefs reads "NAME [weight W] [reverse|noreverse|no_reverse]" lines.
func (c *ctx) trackRefs(n *Node, lo, hi int64) []TrackRef {
	var out []TrackRef
	for _, ch := range n.Children {
		r := TrackRef{Name: ch.Keyword.Text, Pos: ch.Pos()}
		ok := true
		for i := 0; i < len(ch.Args); i++ {
			switch a := ch.Args[i].Text; a {
			case "weight":
				if i+1 >= len(ch.Args) {
					c.errf(ch.Args[i].Pos, "%s %s: weight needs a value", n.Keyword.Text, r.Name)
					ok = false
					break
				}
				// keepalived 2.2.7 keeps the entry: an interface with weight 0,
				// a script/file/process with its own weight (checked with -d).
				instead := "use the tracked object's own weight"
				if n.Keyword.Text == "track_interface" {
					instead = "use weight 0"
				}
				c.withFallback(instead, func() {
					w, good := c.intTok("weight", ch.Args[i+1], lo, hi)
					r.Weight, r.WeightSet = int(w), good || n.Keyword.Text == "track_interface"
				})
				i++
			case "reverse":
				r.Reverse = true
			case "noreverse", "no_reverse":
				r.Reverse = false
			default:
				c.fallbackf(ch.Args[i].Pos, "ignore the option", "%s: unknown option %q", n.Keyword.Text, a)
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}
