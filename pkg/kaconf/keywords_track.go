package kaconf

import (
	"strconv"
	"time"
)

// vrrp_script, track_file, vrrp_track_process and vrrp_sync_group keywords.

type kwS = keyword[*Script]

var scriptTable = newTable("vrrp_script", nil, []kwS{
	{name: "script", args: "CMD", min: 1, max: 1, status: Supported, doc: "command to run (quoted for arguments)",
		fn: func(c *ctx, n *Node, s *Script) { s.Script = n.Args[0].Text }},
	{name: "interval", args: "SECONDS", min: 1, max: 1, status: Supported, doc: "seconds between runs (default 1)", fallback: ignore,
		fn: scriptInterval},
	{name: "timeout", args: "SECONDS", min: 1, max: 1, status: Supported, doc: "run time limit (default: interval)", fallback: ignore,
		fn: func(c *ctx, n *Node, s *Script) { setSecs(c, n, 1e-6, 4294, &s.Timeout) }},
	{name: "weight", args: "<-253..253> [reverse]", min: 1, max: 2, status: Supported, doc: "priority change (default 0: FAULT on failure)", fallback: ignore,
		fn: scriptWeight},
	{name: "rise", args: "N", min: 1, max: 1, status: Supported, doc: "successes for OK (default 1)", fallback: "use 1",
		fn: func(c *ctx, n *Node, s *Script) { s.Rise = 1; setInt(c, n, 1, 1<<31-1, &s.Rise) }},
	{name: "fall", args: "N", min: 1, max: 1, status: Supported, doc: "failures for KO (default 1)", fallback: "use 1",
		fn: func(c *ctx, n *Node, s *Script) { s.Fall = 1; setInt(c, n, 1, 1<<31-1, &s.Fall) }},
	{name: "user", args: "USER [GROUP]", min: 1, max: 2, status: Supported, doc: "run as",
		fn: func(c *ctx, n *Node, s *Script) { s.User, s.Group = n.Args[0].Text, argText(n, 1) }},
	{name: "init_fail", status: Supported, doc: "start in failed state",
		fn: func(c *ctx, n *Node, s *Script) { s.InitFail = true }},
})

type kwF = keyword[*TrackFile]

var trackFileTable = newTable("track_file", nil, []kwF{
	{name: "file", args: "PATH", min: 1, max: 1, status: Supported, doc: "file holding a number",
		fn: func(c *ctx, n *Node, f *TrackFile) { f.File = n.Args[0].Text }},
	kwF{name: "weight", args: "<-254..254> [reverse]", min: 1, max: 2, status: Supported, doc: "multiplier (default 1)", fallback: ignore,
		fn: func(c *ctx, n *Node, f *TrackFile) {
			f.Weight, f.Reverse = weightArgs(c, n, -254, 254, f.Weight)
		}}.nonNumberAs("0", func(f *TrackFile) { f.Weight = 0 }), // measured: fallbacks/file_weight
	{name: "init_file", args: "[VALUE] [overwrite]", max: 2, status: Supported, doc: "create the file at start", fallback: "ignore the option",
		fn: func(c *ctx, n *Node, f *TrackFile) {
			f.InitFile = true
			for _, a := range n.Args {
				if a.Text == "overwrite" {
					f.Overwrite = true
				} else if v, err := strconv.Atoi(a.Text); err == nil {
					f.InitValue = v
				} else {
					c.bad(a.Pos, "init_file: %q is not a number or overwrite", a.Text)
				}
			}
		}},
})

type kwP = keyword[*TrackProcess]

var trackProcessTable = newTable("vrrp_track_process", nil, []kwP{
	{name: "process", args: "NAME [ARGS...]", min: 1, max: -1, status: Supported, doc: "process (and parameters) to look for",
		fn: func(c *ctx, n *Node, p *TrackProcess) { p.Process = words(n)[1:] }},
	{name: "param_match", args: "initial|partial", min: 1, max: 1, status: Supported, doc: "parameter matching", fallback: ignore,
		fn: func(c *ctx, n *Node, p *TrackProcess) {
			if t := n.Args[0].Text; t == "initial" || t == "partial" {
				p.ParamMatch = t
			} else {
				c.bad(n.Args[0].Pos, "param_match: %q is not initial or partial", t)
			}
		}},
	{name: "weight", args: "<-254..254> [reverse]", min: 1, max: 2, status: Supported, doc: "priority change (default 0: FAULT when the quorum is lost)", fallback: ignore,
		fn: func(c *ctx, n *Node, p *TrackProcess) { p.Weight, p.Reverse = weightArgs(c, n, -254, 254, p.Weight) }},
	{name: "quorum", args: "N", min: 1, max: 1, status: Supported, doc: "minimum processes (default 1)", fallback: ignore,
		fn: func(c *ctx, n *Node, p *TrackProcess) { setInt(c, n, 1, 65535, &p.Quorum) }},
	{name: "quorum_max", args: "N", min: 1, max: 1, status: Supported, doc: "maximum processes", fallback: ignore,
		fn: processQuorumMax},
	{name: "fork_delay", args: "SECONDS", min: 1, max: 1, status: Supported, doc: "delay before up", fallback: ignore,
		fn: func(c *ctx, n *Node, p *TrackProcess) { setSecs(c, n, 1e-6, 3600, &p.ForkDelay) }},
	{name: "terminate_delay", args: "SECONDS", min: 1, max: 1, status: Supported, doc: "delay before down", fallback: ignore,
		fn: func(c *ctx, n *Node, p *TrackProcess) { setSecs(c, n, 1e-6, 3600, &p.TerminateDelay) }},
	{name: "delay", args: "SECONDS", min: 1, max: 1, status: Supported, doc: "both delays", fallback: ignore,
		fn: func(c *ctx, n *Node, p *TrackProcess) {
			var d time.Duration
			if v, ok := c.secondsArg(n, 0, 1e-6, 3600); ok {
				d = v
				p.ForkDelay, p.TerminateDelay = d, d
			}
		}},
	{name: "full_command", status: Supported, doc: "match the full command line",
		fn: func(c *ctx, n *Node, p *TrackProcess) { p.FullCommand = true }},
})

type kwSG = keyword[*SyncGroup]

func sgTrack(name string, lo, hi int64, list func(*SyncGroup) *[]TrackRef) kwSG {
	return kwSG{name: name, args: "{ NAME [weight W] [reverse] ... }", block: true, status: Supported, doc: "tracked by every member",
		fn: func(c *ctx, n *Node, g *SyncGroup) { *list(g) = append(*list(g), c.trackRefs(n, lo, hi)...) }}
}

func sgScript(name string, set func(*SyncGroup, string)) kwSG {
	return kwSG{name: name, args: "CMD [USER [GROUP]]", min: 1, max: 3, status: Supported, doc: "group notify script",
		fn: func(c *ctx, n *Node, g *SyncGroup) {
			set(g, n.Args[0].Text)
			setRunAs(&g.RunAs, n, 1)
		}}
}

var syncGroupTable = newTable("vrrp_sync_group", nil, []kwSG{
	{name: "group", args: "{ INSTANCE ... }", block: true, status: Supported, doc: "member instances",
		fn: func(c *ctx, n *Node, g *SyncGroup) {
			for _, ch := range n.Children {
				for _, w := range append([]Token{ch.Keyword}, ch.Args...) {
					g.Group = append(g.Group, w.Text)
					g.GroupPos = append(g.GroupPos, w.Pos)
				}
			}
		}},
	sgTrack("track_interface", -253, 253, func(g *SyncGroup) *[]TrackRef { return &g.TrackInterfaces }),
	sgTrack("track_script", -253, 253, func(g *SyncGroup) *[]TrackRef { return &g.TrackScripts }),
	sgTrack("track_file", -254, 254, func(g *SyncGroup) *[]TrackRef { return &g.TrackFiles }),
	sgTrack("track_process", -254, 254, func(g *SyncGroup) *[]TrackRef { return &g.TrackProcesses }),
	sgTrack("track_bfd", -253, 253, func(g *SyncGroup) *[]TrackRef { return &g.TrackBFDs }),
	sgScript("notify", func(g *SyncGroup, s string) { g.Notify = s }),
	sgScript("notify_master", func(g *SyncGroup, s string) { g.NotifyMaster = s }),
	sgScript("notify_backup", func(g *SyncGroup, s string) { g.NotifyBackup = s }),
	sgScript("notify_fault", func(g *SyncGroup, s string) { g.NotifyFault = s }),
	sgScript("notify_stop", func(g *SyncGroup, s string) { g.NotifyStop = s }),
	{name: "notify_deleted", args: "[CMD]", max: 3, status: Supported, doc: "ignored with a warning, as keepalived 2.2.7 does (it does not know the word in a sync group)",
		fn: func(c *ctx, n *Node, g *SyncGroup) {
			c.fallbackf(n.Pos(), "ignore the line", "notify_deleted in vrrp_sync_group %s: keepalived 2.2.7 does not know it (Unknown keyword) and runs nothing when a group is deleted", g.Name)
		}},
	{name: "notify_priority_changes", args: "[BOOL]", max: 1, status: Supported, doc: "the members' priority changes on the FIFOs (INSTANCE lines; no GROUP line)",
		fn: func(c *ctx, n *Node, g *SyncGroup) { g.NotifyPriorityChanges, _ = c.boolArg(n, 0) }},
	{name: "smtp_alert", args: "[BOOL]", max: 1, status: Supported, doc: "mail on group transitions (internal/mail)",
		fn: func(c *ctx, n *Node, g *SyncGroup) {
			if v, ok := c.boolArg(n, 0); ok {
				g.SmtpAlert, g.SmtpAlertSet = v, true
			}
		}},
	{name: "global_tracking", status: Supported, doc: "deprecated: members keep their weights",
		fn: func(c *ctx, n *Node, g *SyncGroup) { g.GlobalTracking = true }},
	{name: "sync_group_tracking_weight", status: Supported, doc: "members keep their tracking weights",
		fn: func(c *ctx, n *Node, g *SyncGroup) { g.SyncGroupTrackingWeight = true }},
})

func setInt(c *ctx, n *Node, lo, hi int64, dst *int) {
	if v, ok := c.intArg(n, 0, lo, hi); ok {
		*dst = int(v)
	}
}

func setSecs(c *ctx, n *Node, lo, hi float64, dst *time.Duration) {
	if v, ok := c.secondsArg(n, 0, lo, hi); ok {
		*dst = v
	}
}

// weightArgs reads "W [reverse]"; on error the previous weight is kept.
func weightArgs(c *ctx, n *Node, lo, hi int64, prev int) (int, bool) {
	rev := reverseArg(c, n)
	v, ok := c.intArg(n, 0, lo, hi)
	if !ok {
		return prev, rev
	}
	return int(v), rev
}

// reverseArg reads the optional "reverse" after a weight.
func reverseArg(c *ctx, n *Node) bool {
	if len(n.Args) < 2 {
		return false
	}
	switch n.Args[1].Text {
	case "reverse":
		return true
	case "noreverse", "no_reverse":
	default:
		c.fallbackf(n.Args[1].Pos, "ignore the option", "weight: %q is not reverse", n.Args[1].Text)
	}
	return false
}
