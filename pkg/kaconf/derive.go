package kaconf

import (
	"strconv"
	"time"
)

// Post-parse defaults and derivations, following keepalived 2.2.7. Each rule
// was checked against `keepalived -d` output (see testdata/cfg/dump.sh);
// where govrrp deliberately differs the comment says so.

func derive(c *ctx, cfg *Config) {
	g := &cfg.Global
	minGarpDefaults(c, g) // vrrp_min_garp (garpgroup.go)
	if g.GarpLowerPrioRepeat < 0 {
		g.GarpLowerPrioRepeat = g.GarpMasterRepeat
	}
	if g.GarpLowerPrioDelay < 0 {
		g.GarpLowerPrioDelay = g.GarpMasterDelay
	}
	for _, s := range cfg.Scripts {
		if s.Timeout == 0 {
			s.Timeout = s.Interval
		}
	}
	for _, in := range cfg.Instances {
		deriveInstance(c, g, in)
		resolveTracks(c, cfg, in)
	}
	deriveSyncGroups(c, cfg)
	dropEmptySyncGroups(cfg)
	deriveBFD(c, cfg) // bfd.go
}

func deriveInstance(c *ctx, g *GlobalDefs, in *Instance) {
	inheritGlobal(c, g, in)
	in.Family = c.instanceFamily(in)
	c.dropOtherFamily(in)
	if in.Version == 0 {
		in.Version = g.VRRPVersion
	}
	if in.Family == 6 && in.Version != 3 {
		// keepalived runs IPv6 instances as VRRPv3 whatever vrrp_version says.
		if c.isSet(in, "version") {
			c.warnf(in.Pos, "(%s) IPv6 instances use VRRPv3; version 2 ignored", in.Name)
		}
		in.Version = 3
	}
	if in.AuthType == "PASS" && in.AuthPassRaw == "" {
		c.fallbackf(in.Pos, "run the instance without authentication", "(%s) auth_type PASS without auth_pass", in.Name)
		in.AuthType = ""
	}
	if in.AuthType == "AH" && in.State == "MASTER" && in.Version == 2 {
		// keepalived 2.2.7 does the same (keepalived.conf.SSL_GET sample).
		c.fallbackf(in.Pos, "", "(%s) initial state MASTER is incompatible with AH authentication; state set to BACKUP", in.Name)
		in.State = "BACKUP"
	}
	if !in.PrioritySet {
		// keepalived 2.2.7: state MASTER without priority is the address owner.
		in.Priority = 100
		if in.State == "MASTER" {
			in.Priority = 255
		}
	}
	if in.Priority == 255 && !c.isGiven(in, "state") {
		// keepalived 2.2.7 (-d: Wantstate = MASTER): the address owner
		// starts as MASTER unless state BACKUP is written.
		in.State = "MASTER"
	}
	in.AdverInt = roundAdverInt(c, in)
	c.unicastWithoutPeers(in)
	c.vmacXmitBaseAlone(in)
	c.vmacAddrRedundant(in) // vmacaddr.go
	derivePreempt(c, in)
	c.deriveStrict(in)
	if in.UseVMAC == "-" {
		prefix := g.VmacPrefix
		if prefix == "" {
			prefix = "vrrp"
		}
		in.UseVMAC = prefix + "." + strconv.Itoa(int(in.VRID))
	}
	if in.Version == 3 && in.AuthType != "" {
		c.fallbackf(in.Pos, "", "(%s) authentication is not used with VRRPv3; ignored", in.Name)
		in.AuthType, in.AuthPass, in.AuthPassRaw = "", [8]byte{}, ""
	}
}

// inheritGlobal fills instance settings that default to global_defs values.
func inheritGlobal(c *ctx, g *GlobalDefs, in *Instance) {
	if !c.isSet(in, "garp_master_repeat") {
		in.GarpMasterRepeat = g.GarpMasterRepeat
	}
	if !c.isSet(in, "garp_master_delay") {
		in.GarpMasterDelay = g.GarpMasterDelay
	}
	if !c.isSet(in, "garp_master_refresh") {
		in.GarpMasterRefresh = g.GarpMasterRefresh
	}
	if !c.isSet(in, "garp_master_refresh_repeat") {
		in.GarpMasterRefreshRepeat = g.GarpMasterRefreshRepeat
	}
	if !c.isSet(in, "garp_lower_prio_repeat") {
		in.GarpLowerPrioRepeat = g.GarpLowerPrioRepeat
	}
	if !c.isSet(in, "garp_lower_prio_delay") {
		in.GarpLowerPrioDelay = g.GarpLowerPrioDelay
	}
	if !c.isSet(in, "garp_extra_if") {
		in.GarpExtraIf, in.GarpExtraIfAll = g.GarpExtraIf, g.GarpExtraIfAll
	}
	if !c.isSet(in, "down_timer_adverts") {
		in.DownTimerAdverts = g.DownTimerAdverts
	}
	if !c.isSet(in, "lower_prio_no_advert") {
		in.LowerPrioNoAdvert = g.LowerPrioNoAdvert
	}
	if !c.isSet(in, "higher_prio_send_advert") {
		in.HigherPrioSendAdvert = g.HigherPrioSendAdvert
	}
	if !c.isSet(in, "skip_check_adv_addr") {
		in.SkipCheckAdvAddr = g.SkipCheckAdvAddr
	}
	if !c.isSet(in, "strict_mode") {
		in.StrictMode = g.Strict
	}
	if in.StrictMode {
		// keepalived 2.2.7 (-d with vrrp_strict): no advert and no GARP
		// burst after a lower-priority advert.
		in.LowerPrioNoAdvert = true
		if !c.isSet(in, "garp_lower_prio_repeat") {
			in.GarpLowerPrioRepeat = 0
		}
		if !c.isSet(in, "garp_lower_prio_delay") {
			in.GarpLowerPrioDelay = 0
		}
	}
	in.CheckUnicastSrc = in.CheckUnicastSrc || g.CheckUnicastSrc
}

func familyOf(is4 bool) uint8 {
	if is4 {
		return 4
	}
	return 6
}

// roundAdverInt: default 1 s; VRRPv2 rounds to the nearest whole second
// half up, minimum 1 s (keepalived: 0.4 → 1, 2.5 → 3); VRRPv3 rounds to
// centiseconds, half up (0.125 → 130 ms), clamped to 40.95 s (12-bit field).
func roundAdverInt(c *ctx, in *Instance) time.Duration {
	d := in.AdverInt
	if d == 0 {
		return time.Second
	}
	unit := 10 * time.Millisecond
	if in.Version == 2 {
		unit = time.Second
	}
	r := d.Round(unit)
	if r < unit {
		r = unit
	}
	if r != d {
		c.fallbackf(in.Pos, "", "(%s) VRRPv%d advert_int %v rounded to %v", in.Name, in.Version, d, r)
	}
	if maxV3 := 4095 * 10 * time.Millisecond; in.Version == 3 && r > maxV3 {
		// keepalived 2.2.7 clamps (the field has 12 bits of centiseconds).
		c.fallbackf(in.Pos, "", "(%s) VRRPv3 advert_int %v out of range; set to %v", in.Name, r, maxV3)
		r = maxV3
	}
	return r
}

// derivePreempt applies keepalived's resets: nopreempt is cleared for the
// address owner and for state MASTER; preempt_delay is cleared by nopreempt.
func derivePreempt(c *ctx, in *Instance) {
	if in.Nopreempt && in.Priority == 255 {
		c.fallbackf(in.Pos, "", "(%s) nopreempt is incompatible with priority 255; cleared", in.Name)
		in.Nopreempt = false
	}
	if in.Nopreempt && in.State == "MASTER" {
		c.fallbackf(in.Pos, "", "(%s) nopreempt does not work with initial state MASTER; cleared", in.Name)
		in.Nopreempt = false
	}
	if in.Nopreempt && in.PreemptDelay > 0 {
		c.fallbackf(in.Pos, "", "(%s) preempt_delay is incompatible with nopreempt; cleared", in.Name)
		in.PreemptDelay = 0
	}
}

// resolveTracks checks track_* names order-free, fills default weights and
// drops weighted tracks of the address owner (its priority cannot change).
func resolveTracks(c *ctx, cfg *Config, in *Instance) {
	at := c.instIdx[in]
	in.TrackScripts = resolveRefs(c, in.Name, "vrrp_script", in.TrackScripts, at, func(n string) (int, bool, bool) {
		s := cfg.Scripts[n]
		if s == nil {
			return 0, false, false
		}
		return s.Weight, s.Reverse, true
	})
	in.TrackFiles = resolveRefs(c, in.Name, "track_file", in.TrackFiles, at, func(n string) (int, bool, bool) {
		f := cfg.TrackFiles[n]
		if f == nil {
			return 0, false, false
		}
		return f.Weight, f.Reverse, true
	})
	in.TrackProcesses = resolveRefs(c, in.Name, "vrrp_track_process", in.TrackProcesses, at, func(n string) (int, bool, bool) {
		p := cfg.TrackProcesses[n]
		if p == nil {
			return 0, false, false
		}
		return p.Weight, p.Reverse, true
	})
	in.TrackInterfaces = dropOwnInterface(c, in)
	if in.Priority == 255 {
		in.TrackScripts = dropWeighted(c, in, "script", in.TrackScripts)
		in.TrackFiles = dropWeighted(c, in, "file", in.TrackFiles)
		in.TrackProcesses = dropWeighted(c, in, "process", in.TrackProcesses)
		in.TrackInterfaces = dropWeighted(c, in, "interface", in.TrackInterfaces)
	}
}

type lookupFn func(name string) (weight int, reverse bool, ok bool)

func resolveRefs(c *ctx, owner, kind string, refs []TrackRef, at int, look lookupFn) []TrackRef {
	out := refs[:0]
	for _, r := range refs {
		w, rev, ok := look(r.Name)
		if !ok {
			c.fallbackf(r.Pos, "ignore the entry (nothing is tracked)", "(%s) %s %q is not defined", owner, kind, r.Name)
			continue
		}
		if def, found := c.defIdx[kind+":"+r.Name]; found && def > at {
			c.noticef(r.Pos, "(%s) %s %q is defined after its use; govrrp resolves it, keepalived 2.2 would ignore it", owner, kind, r.Name)
		}
		if !r.WeightSet {
			r.Weight, r.Reverse = w, rev
		}
		out = append(out, r)
	}
	return out
}

func dropWeighted(c *ctx, in *Instance, kind string, refs []TrackRef) []TrackRef {
	out := refs[:0]
	for _, r := range refs {
		if r.Weight != 0 {
			c.fallbackf(r.Pos, "", "(%s) ignoring tracked %s %s with weight %d: the address owner's priority cannot change", in.Name, kind, r.Name, r.Weight)
			continue
		}
		out = append(out, r)
	}
	return out
}

// deriveSyncGroups resolves members and, unless the group keeps them, drops
// the members' weighted tracks as keepalived 2.2.7 does (consistent
// priorities across a group; see syncMemberWeights).
func deriveSyncGroups(c *ctx, cfg *Config) {
	byName := map[string]*Instance{}
	for _, in := range cfg.Instances {
		byName[in.Name] = in
	}
	inGroup := map[string]string{}
	for _, g := range cfg.SyncGroups {
		var names []string
		var poss []Pos
		for i, m := range g.Group {
			switch {
			case byName[m] == nil:
				c.fallbackf(g.GroupPos[i], "ignore the member", "vrrp_sync_group %s: instance %q does not exist", g.Name, m)
				continue
			case inGroup[m] != "":
				c.errf(g.GroupPos[i], "vrrp_sync_group %s: instance %q is already in group %s", g.Name, m, inGroup[m])
				continue
			}
			inGroup[m] = g.Name
			names, poss = append(names, m), append(poss, g.GroupPos[i])
		}
		g.Group, g.GroupPos = names, poss
		if len(g.Group) == 0 {
			c.fallbackf(g.Pos, "remove the group", "vrrp_sync_group %s has no instances", g.Name)
			continue // removed below
		}
		if len(g.Group) == 1 {
			// keepalived 2.2.7 says so too, and runs the group.
			c.warnf(g.Pos, "vrrp_sync_group %s has only 1 instance; a sync group is for several", g.Name)
		}
		syncInitialState(c, g, byName)
		keep := g.SyncGroupTrackingWeight || g.GlobalTracking
		for _, m := range g.Group {
			if !keep {
				syncMemberWeights(c, byName[m])
			}
		}
		g.TrackScripts = resolveRefs(c, g.Name, "vrrp_script", g.TrackScripts, 1<<30, func(n string) (int, bool, bool) {
			s := cfg.Scripts[n]
			if s == nil {
				return 0, false, false
			}
			return s.Weight, s.Reverse, true
		})
		g.TrackFiles = resolveRefs(c, g.Name, "track_file", g.TrackFiles, 1<<30, func(n string) (int, bool, bool) {
			f := cfg.TrackFiles[n]
			if f == nil {
				return 0, false, false
			}
			return f.Weight, f.Reverse, true
		})
		g.TrackProcesses = resolveRefs(c, g.Name, "vrrp_track_process", g.TrackProcesses, 1<<30, func(n string) (int, bool, bool) {
			p := cfg.TrackProcesses[n]
			if p == nil {
				return 0, false, false
			}
			return p.Weight, p.Reverse, true
		})
	}
}

// dropEmptySyncGroups removes the groups left without members.
func dropEmptySyncGroups(cfg *Config) {
	kept := cfg.SyncGroups[:0]
	for _, g := range cfg.SyncGroups {
		if len(g.Group) > 0 {
			kept = append(kept, g)
		}
	}
	cfg.SyncGroups = kept
}

// syncMemberWeights is what keepalived 2.2.7 does to a sync group member's
// own weighted tracks without sync_group_tracking_weight (seen running it):
// a weighted track_script or track_file is dropped ("ignoring tracked script
// chk with weights due to SYNC group": its failure then changes nothing); a
// weighted track_interface is announced as ignored but its weight still
// applies (150 -> 130 with weight -20); a weighted track_process keeps its
// weight silently (150 -> 140 with -10). Unweighted tracks stay: their
// failure is FAULT. Group-level tracks keep their weights.
func syncMemberWeights(c *ctx, in *Instance) {
	drop := func(kind string, refs []TrackRef) []TrackRef {
		kept := refs[:0]
		for _, r := range refs {
			if r.Weight == 0 {
				kept = append(kept, r)
				continue
			}
			c.warnf(r.Pos, "(%s) %s %s with weight %d ignored: it is in a vrrp_sync_group without sync_group_tracking_weight (keepalived 2.2.7 drops it too)", in.Name, kind, r.Name, r.Weight)
		}
		return kept
	}
	in.TrackScripts = drop("track_script", in.TrackScripts)
	in.TrackFiles = drop("track_file", in.TrackFiles)
	for _, r := range in.TrackInterfaces {
		if r.Weight != 0 {
			c.warnf(r.Pos, "(%s) track_interface %s keeps weight %d in a vrrp_sync_group without sync_group_tracking_weight: keepalived 2.2.7 says it ignores the weight but applies it, and so does govrrp", in.Name, r.Name, r.Weight)
		}
	}
	for _, r := range in.TrackProcesses {
		if r.Weight != 0 {
			c.warnf(r.Pos, "(%s) track_process %s keeps weight %d in a vrrp_sync_group without sync_group_tracking_weight, as in keepalived 2.2.7: the members' priorities can differ", in.Name, r.Name, r.Weight)
		}
	}
}

// syncInitialState: keepalived 2.2.7 starts every member of a sync group in
// BACKUP unless all members are address owners (checked with `keepalived -d`:
// two MASTER members, priorities 255 and 200, both get Wantstate BACKUP).
func syncInitialState(c *ctx, g *SyncGroup, byName map[string]*Instance) {
	for _, m := range g.Group {
		if byName[m].Priority != 255 {
			for _, m := range g.Group {
				if in := byName[m]; in.State == "MASTER" {
					c.noticef(in.Pos, "(%s) starts in BACKUP: member of sync group %s whose members are not all address owners", in.Name, g.Name)
					in.State = "BACKUP"
				}
			}
			return
		}
	}
}
