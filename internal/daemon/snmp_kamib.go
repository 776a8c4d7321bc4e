package daemon

import (
	"fmt"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/snmp"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// kaStatic is KEEPALIVED-MIB's configuration side (enable_snmp_vrrp),
// computed on the loop at apply; the agent's goroutine adds each
// instance's snapshot (state, priority) per request.
type kaStatic struct {
	global snmp.KAGlobals
	insts  []kaInst  // configuration order: position+1 is vrrpInstanceIndex
	groups []kaGroup // likewise vrrpSyncGroupIndex
	// scripts, files: vrrpScriptTable, vrrpFileTable without results.
	scripts []snmp.KAScript
	files   []snmp.KAFile
	procs   []snmp.KAProcess
}

type kaInst struct {
	in  *instance
	row snmp.KAInstance // without State, Wanted, Priority, VIPsSet, Addrs[].Set, IfIndex
}

type kaGroup struct {
	row     snmp.KAGroup // without State
	members []*instance
}

// kaVersion is the version string govrrp serves (keepalived 2.2.7 serves
// "Keepalived v2.2.7 (01/16,2022)").
func kaVersion() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return "govrrp " + v
}

// kaStaticOf is cfg as KEEPALIVED-MIB shows it. Loop only.
func (d *Daemon) kaStaticOf(cfg *kaconf.Config) *kaStatic {
	g := &cfg.Global
	ks := &kaStatic{global: snmp.KAGlobals{Version: kaVersion(), RouterID: g.RouterID, EmailFrom: g.NotificationEmailFrom,
		Emails: g.NotificationEmail, EmailFaults: !g.NoEmailFaults, SMTPAlert: g.SMTPAlert, SMTPAlertVRRP: g.SMTPAlertVRRP,
		Traps: g.SNMP.Traps, DBus: g.EnableDBus, DynamicInterfaces: g.DynamicInterfaces,
		SMTPTimeout: uint32(g.SMTPConnectTimeout / time.Second)}}
	if a, port, ok := smtpServerAddr(g); ok {
		ks.global.SMTPServer, ks.global.SMTPPort = a, port
	}
	byName := map[string]*instance{}
	for _, in := range d.instances {
		byName[in.name] = in
	}
	group := map[string]string{}
	for _, sg := range cfg.SyncGroups {
		kg := kaGroup{row: snmp.KAGroup{Name: sg.Name, SmtpAlert: sg.SmtpAlert, TrackingWeight: sg.SyncGroupTrackingWeight,
			Master: kaScript(sg.NotifyMaster), Backup: kaScript(sg.NotifyBackup), Fault: kaScript(sg.NotifyFault),
			Any: kaScript(sg.Notify), Stop: kaScript(sg.NotifyStop),
			TrackedIfs: kaTracks(sg.TrackInterfaces, nil), TrackedScripts: kaTracks(sg.TrackScripts, scriptWeight(cfg)),
			TrackedFiles: kaGroupFiles(sg.TrackFiles, cfg), TrackedProcs: kaTracks(sg.TrackProcesses, processWeight(cfg))}}
		for _, m := range sg.Group {
			if in := byName[m]; in != nil {
				kg.row.Members = append(kg.row.Members, m)
				kg.members = append(kg.members, in)
				group[m] = sg.Name
			}
		}
		ks.groups = append(ks.groups, kg)
	}
	for _, c := range cfg.Instances {
		in := byName[c.Name]
		if in == nil {
			continue
		}
		row := kaInstanceOf(in, g, group[c.Name])
		row.TrackedIfs = kaTracks(c.TrackInterfaces, nil)
		row.TrackedScripts = kaTracks(c.TrackScripts, scriptWeight(cfg))
		row.TrackedFiles = kaTracks(c.TrackFiles, fileWeight(cfg))
		row.TrackedProcs = kaTracks(c.TrackProcesses, processWeight(cfg))
		ks.insts = append(ks.insts, kaInst{in: in, row: row})
	}
	kaDefs(ks, cfg)
	return ks
}

// smtpServerAddr is smtp_server as an address and port (25 by default).
func smtpServerAddr(g *kaconf.GlobalDefs) (a netip.Addr, port uint32, ok bool) {
	if g.SMTPServer == "" {
		return a, 0, false
	}
	a, err := netip.ParseAddr(g.SMTPServer)
	if err != nil {
		return a, 0, false
	}
	port = 25
	if g.SMTPServerPort != 0 {
		port = uint32(g.SMTPServerPort)
	}
	return a, port, true
}

// kaInstanceOf is an instance's static row. Observed on keepalived 2.2.7:
// an instance's smtp_alert defaults to off.
func kaInstanceOf(in *instance, g *kaconf.GlobalDefs, group string) snmp.KAInstance {
	c := in.cfg
	r := snmp.KAInstance{Name: in.name, VRID: c.VRID, Initial: snmp.KABackup, BasePriority: int(c.Priority),
		Interface: in.ifname, Preempt: !c.Nopreempt, PreemptDelay: uint32(c.PreemptDelay / time.Second),
		AuthPass: c.AuthType == "PASS", SyncGroup: group, GarpDelay: uint32(c.GarpMasterDelay / time.Second),
		Master: kaScript(c.NotifyMaster), Backup: kaScript(c.NotifyBackup), Fault: kaScript(c.NotifyFault),
		Stop: kaScript(c.NotifyStop), Any: kaScript(c.Notify), RxLowerPri: kaScript(c.NotifyMasterRxLowerPri),
		Deleted: kaScript(c.NotifyDeleted), PromoteSecondaries: c.PromoteSecondaries, Linkbeat: c.LinkbeatUsePolling,
		NotifyDeleted: c.NotifyDeletedSet, Version: int(in.version)}
	// Observed: tracked(1) for an instance with track_interface entries
	// (the own interface left out), notTracked(2) otherwise.
	r.TrackPrimary = len(c.TrackInterfaces) > 0 && !c.DontTrackPrimary
	if strings.EqualFold(c.State, "MASTER") {
		r.Initial = snmp.KAMaster
	}
	r.AdvInt = uint32(c.AdverInt / (10 * time.Millisecond))
	if in.version == vrrp.V2 {
		r.AdvInt = uint32(c.AdverInt / time.Second)
	}
	r.Accept = !c.StrictMode && !g.Strict
	if c.Accept != nil {
		r.Accept = *c.Accept
	}
	switch {
	case c.SmtpAlertSet:
		r.SmtpAlert = c.SmtpAlert
	case g.SMTPAlertVRRP != nil:
		r.SmtpAlert = *g.SMTPAlertVRRP
	case g.SMTPAlert != nil:
		r.SmtpAlert = *g.SMTPAlert
	}
	if len(c.UnicastPeers) == 0 && len(in.dsts) > 0 {
		r.Mcast = in.dsts[0]
	}
	for _, v := range c.VIPs {
		r.Addrs = append(r.Addrs, kaAddress(in, v, true))
	}
	for _, v := range c.ExcludedVIPs {
		r.Addrs = append(r.Addrs, kaAddress(in, v, false))
	}
	r.Routes, r.Rules = kaRoutes(c.VirtualRouteSpecs), kaRules(c.VirtualRuleSpecs)
	return r
}

// kaAddress is a VIP's (advertised) or an eVIP's row; its interface is the
// one govrrp installs it on.
func kaAddress(in *instance, v kaconf.VIP, advertised bool) snmp.KAAddress {
	a := snmp.KAAddress{Prefix: v.Prefix, Broadcast: v.Broadcast, Scope: kaScope(v.Scope), IfName: in.ifname,
		Label: v.Label, Advertised: advertised, Peer: v.Peer}
	if v.Dev != "" {
		a.IfName = v.Dev
	}
	for _, x := range in.vips {
		if x.Prefix == v.Prefix && x.Dev != "" {
			a.IfName = x.Dev
		}
	}
	return a
}

// kaScope is an address scope as InetScopeType: host is
// interfaceLocal(1), link linkLocal(2), site siteLocal(5), else global(14)
// (keepalived 2.2.7 shows 14 for addresses without a scope).
func kaScope(s string) int {
	switch s {
	case "host":
		return 1
	case "link":
		return 2
	case "site":
		return 5
	}
	return 14
}

// kaScript is a notify command as keepalived 2.2.7 shows it: every word in
// single quotes, the executable resolved ("/bin/true x" reads
// "'/usr/bin/true' 'x'").
func kaScript(cmd string) string {
	if cmd == "" {
		return ""
	}
	argv, err := kaconf.SplitCommand(cmd)
	if err != nil || len(argv) == 0 {
		return ""
	}
	if p, err := track.ResolveExecutable(argv[0]); err == nil {
		argv[0] = p
	}
	var b strings.Builder
	for i, w := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "'%s'", w)
	}
	return b.String()
}

// kaState maps govrrp's state names onto VrrpState.
func kaState(s string) snmp.KAState {
	switch s {
	case "MASTER":
		return snmp.KAMaster
	case "BACKUP", "RELEASING":
		return snmp.KABackup
	case "FAULT":
		return snmp.KAFault
	}
	return snmp.KAInit
}

// kaFSMState maps a machine's state likewise (traps, on the loop).
func kaFSMState(s fsm.State) snmp.KAState {
	switch s {
	case fsm.Master:
		return snmp.KAMaster
	case fsm.Backup:
		return snmp.KABackup
	case fsm.Fault:
		return snmp.KAFault
	}
	return snmp.KAInit
}

// groupState is a sync group's state from its members': shutdown if one
// is stopping, else FAULT if any is, MASTER if all are, BACKUP if any is,
// else INIT.
func groupState(states []snmp.KAState) snmp.KAState {
	if len(states) == 0 {
		return snmp.KAInit
	}
	if slices.Contains(states, snmp.KAShutdown) {
		return snmp.KAShutdown
	}
	all, backup := true, false
	for _, s := range states {
		if s == snmp.KAFault {
			return snmp.KAFault
		}
		all = all && s == snmp.KAMaster
		backup = backup || s == snmp.KABackup
	}
	switch {
	case all:
		return snmp.KAMaster
	case backup:
		return snmp.KABackup
	}
	return snmp.KAInit
}

// view is KEEPALIVED-MIB's content now: the static rows with each
// instance's snapshot. On the agent's goroutine.
func (ks *kaStatic) view(st *snmpStatic) *snmp.KAView {
	v := &snmp.KAView{Global: ks.global, Scripts: slices.Clone(ks.scripts), Files: slices.Clone(ks.files), Processes: slices.Clone(ks.procs)}
	states := map[*instance]snmp.KAState{}
	tracks, details := map[string]string{}, map[string]string{}
	for _, x := range ks.insts {
		ci := x.in.snapshot()
		for _, t := range ci.Tracks {
			tracks[t.Kind+" "+t.Name], details[t.Kind+" "+t.Name] = t.State, t.Detail
		}
		r := x.row
		r.State = kaState(ci.State)
		r.Wanted = r.State
		r.Priority = int(ci.EffectivePriority)
		r.VIPsSet = r.State == snmp.KAMaster
		r.Addrs = append([]snmp.KAAddress(nil), x.row.Addrs...)
		for i := range r.Addrs {
			r.Addrs[i].Set = r.VIPsSet
			r.Addrs[i].IfIndex = st.link(r.Addrs[i].IfName).index
		}
		r.Routes = slices.Clone(x.row.Routes)
		for i := range r.Routes {
			r.Routes[i].Set = r.VIPsSet
			if r.Routes[i].IfName != "" {
				r.Routes[i].IfIndex = st.link(r.Routes[i].IfName).index
			}
			r.Routes[i].Nexthops = slices.Clone(r.Routes[i].Nexthops)
			for k := range r.Routes[i].Nexthops {
				if nh := &r.Routes[i].Nexthops[k]; nh.IfName != "" {
					nh.IfIndex = st.link(nh.IfName).index
				}
			}
		}
		r.Rules = slices.Clone(x.row.Rules)
		for i := range r.Rules {
			r.Rules[i].Set = r.VIPsSet
		}
		states[x.in] = r.State
		v.Instances = append(v.Instances, r)
	}
	for _, g := range ks.groups {
		row := g.row
		var ss []snmp.KAState
		for _, m := range g.members {
			ss = append(ss, states[m])
		}
		row.State = groupState(ss)
		v.Groups = append(v.Groups, row)
	}
	kaResults(v, tracks, details)
	return v
}

// kaTransition is the state a transition's trap shows: shutdown(5) for an
// instance stopping (deleted(6) when a reload removed it), as keepalived
// 2.2.7 sends at its stop; false for entering Releasing, whose end (in
// Initialize) is the stop.
func kaTransition(in *instance, to fsm.State) (snmp.KAState, bool) {
	switch to {
	case fsm.Releasing:
		return 0, false
	case fsm.Initialize:
		if in.deleting {
			return snmp.KADeleted, true
		}
		return snmp.KAShutdown, true
	}
	return kaFSMState(to), true
}

// kaStateChanged sends vrrpInstanceStateChange for in, and
// vrrpSyncGroupStateChange when its group's state changed with it, as
// keepalived 2.2.7 does with enable_snmp_vrrp and enable_traps (also on
// entering BACKUP at start-up, and shutdown(5) for each instance and group
// at stop). Loop only: it reads the members' machines.
func (d *Daemon) kaStateChanged(st *snmpStatic, in *instance, to fsm.State) {
	ks := st.ka
	notify := d.snmp.kaNotify
	if notify == nil && st.agent != nil {
		notify = func(vbs []snmp.VarBind) { st.agent.Notify(vbs) } // a full queue is counted by the agent
	}
	state, ok := kaTransition(in, to)
	if ks == nil || notify == nil || !st.defs.Traps || !ok {
		return
	}
	for _, x := range ks.insts {
		if x.in == in {
			notify(snmp.KAInstanceStateTrap(x.row.Name, state, x.row.Initial, ks.global.RouterID))
		}
	}
	for _, g := range ks.groups {
		var ss []snmp.KAState
		member := false
		for _, m := range g.members {
			s := kaFSMState(m.machine.State())
			if m == in {
				s, member = state, true
			}
			ss = append(ss, s)
		}
		if !member {
			continue
		}
		s := groupState(ss)
		if d.snmp.groupStates == nil {
			d.snmp.groupStates = map[string]snmp.KAState{}
		}
		if last, ok := d.snmp.groupStates[g.row.Name]; ok && last == s {
			continue
		}
		d.snmp.groupStates[g.row.Name] = s
		if s != snmp.KAInit {
			notify(snmp.KASyncGroupStateTrap(g.row.Name, s, ks.global.RouterID))
		}
	}
}
