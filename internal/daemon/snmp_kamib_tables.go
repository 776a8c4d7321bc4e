package daemon

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/govrrp/govrrp/internal/snmp"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// kaTracks is an instance's or group's tracked objects as
// vrrpTracked*Table rows, each with the weight it is given (its own, else
// the object's default). kaconf has already dropped what keepalived 2.2.7
// drops (the own interface, a sync member's weighted scripts and files).
func kaTracks(refs []kaconf.TrackRef, dflt func(name string) (int, bool)) []snmp.KATrack {
	out := make([]snmp.KATrack, 0, len(refs))
	for _, r := range refs {
		t := snmp.KATrack{Name: r.Name, Weight: r.Weight, Reverse: r.Reverse}
		if !r.WeightSet && dflt != nil {
			t.Weight, t.Reverse = dflt(r.Name)
		}
		out = append(out, t)
	}
	return out
}

// kaGroupFiles: keepalived 2.2.7 shows a group's tracked file with the
// file's own weight, though the group's weight is what applies (seen:
// "tf weight 2" in the group reads 1, and the members move by 2 per unit).
func kaGroupFiles(refs []kaconf.TrackRef, cfg *kaconf.Config) []snmp.KATrack {
	out := kaTracks(refs, nil)
	for i := range out {
		out[i].Weight, out[i].Reverse = fileWeight(cfg)(out[i].Name)
	}
	return out
}

// ownWeight looks a tracked object up by name in one of kaconf's
// definition maps and gives its own weight and reverse flag (0, false for
// a name not defined). kaconf's three definition types share no method, so
// each caller says where its fields are.
func ownWeight[T any](defs map[string]*T, of func(*T) (int, bool)) func(string) (int, bool) {
	return func(n string) (int, bool) {
		if d := defs[n]; d != nil {
			return of(d)
		}
		return 0, false
	}
}

func scriptWeight(cfg *kaconf.Config) func(string) (int, bool) {
	return ownWeight(cfg.Scripts, func(s *kaconf.Script) (int, bool) { return s.Weight, s.Reverse })
}

func fileWeight(cfg *kaconf.Config) func(string) (int, bool) {
	return ownWeight(cfg.TrackFiles, func(f *kaconf.TrackFile) (int, bool) { return f.Weight, f.Reverse })
}

func processWeight(cfg *kaconf.Config) func(string) (int, bool) {
	return ownWeight(cfg.TrackProcesses, func(p *kaconf.TrackProcess) (int, bool) { return p.Weight, p.Reverse })
}

// kaDefs fills vrrpScriptTable's and vrrpFileTable's static columns.
func kaDefs(ks *kaStatic, cfg *kaconf.Config) {
	for _, s := range kaconf.InFileOrder(cfg.Scripts, func(s *kaconf.Script) kaconf.Pos { return s.Pos }) {
		ks.scripts = append(ks.scripts, snmp.KAScript{Name: s.Name, Command: kaScript(s.Script), Interval: int(s.Interval / time.Second),
			Weight: s.Weight, Rise: uint32(s.Rise), Fall: uint32(s.Fall), Reverse: s.Reverse, Result: 1})
	}
	for _, p := range kaconf.InFileOrder(cfg.TrackProcesses, func(p *kaconf.TrackProcess) kaconf.Pos { return p.Pos }) {
		ks.procs = append(ks.procs, kaProcess(p))
	}
	for _, f := range kaconf.InFileOrder(cfg.TrackFiles, func(f *kaconf.TrackFile) kaconf.Pos { return f.Pos }) {
		ks.files = append(ks.files, snmp.KAFile{Name: f.Name, Path: f.File, Weight: f.Weight, Reverse: f.Reverse})
	}
}

func kaProcess(p *kaconf.TrackProcess) snmp.KAProcess {
	x := snmp.KAProcess{Name: p.Name, Weight: p.Weight, Reverse: p.Reverse, Quorum: uint32(p.Quorum), QuorumMax: p.QuorumMax,
		ForkDelay: p.ForkDelay, TerminateDelay: p.TerminateDelay, FullCommand: p.FullCommand}
	if len(p.Process) > 0 {
		x.Path, x.Params = p.Process[0], strings.Join(p.Process[1:], " ")
	}
	if len(p.Process) > 1 {
		x.ParamMatch = map[string]int{"": 1, "partial": 2, "initial": 3}[p.ParamMatch]
	}
	return x
}

// kaRouteType is RouteType for a route's type word.
func kaRouteType(t string) int {
	switch t {
	case "blackhole":
		return 3
	case "unreachable":
		return 7
	case "prohibit":
		return 8
	case "throw":
		return 9
	}
	return 1
}

// kaRoutes and kaRules are an instance's virtual_routes and virtual_rules
// as rows (table 0 is main, 254; protocol 0 is keepalived's 18).
func kaRoutes(rs []kaconf.Route) []snmp.KARoute {
	out := make([]snmp.KARoute, 0, len(rs))
	for _, r := range rs {
		x := snmp.KARoute{Dst: r.Dst, Via: r.Via, Src: r.Src, Metric: uint32(r.Metric), Scope: kaScope(r.Scope),
			Type: kaRouteType(r.Type), IfName: r.Dev, Table: uint32(r.Table), Protocol: r.Protocol,
			MTU: uint32(r.MTU), MTULock: r.MTULock}
		if x.Table == 0 {
			x.Table = 254
		}
		if x.Protocol == 0 {
			x.Protocol = 18
		}
		for _, nh := range r.Nexthops {
			x.Nexthops = append(x.Nexthops, snmp.KANexthop{Via: nh.Via, IfName: nh.Dev, Weight: uint32(nh.Weight), OnLink: nh.OnLink})
		}
		if len(x.Nexthops) > 0 {
			x.Type = 2 // ecmp
		}
		out = append(out, x)
	}
	return out
}

func kaRules(rs []kaconf.Rule) []snmp.KARule {
	out := make([]snmp.KARule, 0, len(rs))
	for _, r := range rs {
		x := snmp.KARule{From: r.From, To: r.To, Table: uint32(r.Table), FwMark: r.FwMark, FwMask: r.FwMask,
			IIF: r.IIF, OIF: r.OIF, Pref: uint32(r.Pref)}
		if x.Table == 0 {
			x.Table = 254
		}
		if x.FwMark != 0 && x.FwMask == 0 {
			x.FwMask = 0xffffffff
		}
		out = append(out, x)
	}
	return out
}

// kaResults turns the tracks' states (`govrrp status` words) into
// vrrpScriptResult (init(1), bad(2), good(3)) and vrrpFileResult (the
// value; 0 unreadable, as keepalived reads a missing file), and the
// processes' vrrpProcessCurProc and vrrpProcessResult (from the detail
// "N running").
func kaResults(v *snmp.KAView, states, details map[string]string) {
	for i := range v.Scripts {
		switch states["track_script "+v.Scripts[i].Name] {
		case "ok":
			v.Scripts[i].Result = 3
		case "failed":
			v.Scripts[i].Result = 2
		}
	}
	for i := range v.Processes {
		p := &v.Processes[i]
		st := states["track_process "+p.Name]
		p.OK = st == "ok"
		if d, ok := details["track_process "+p.Name]; ok {
			fmt.Sscanf(d, "%d running", &p.Running)
		}
	}
	for i := range v.Files {
		if n, ok := strings.CutPrefix(states["track_file "+v.Files[i].Name], "value "); ok {
			v.Files[i].Value, _ = strconv.Atoi(n)
		}
	}
}
