package snmp

import (
	"net/netip"
	"time"
)

// KATrack is one row of a tracked-object table (vrrpTracked*Table,
// vrrpSyncTracked*Table): the object's name, the weight this instance or
// group gives it, and whether the weight is reversed.
type KATrack struct {
	Name    string
	Weight  int
	Reverse bool
}

// KAScript is one vrrpScriptTable row (a vrrp_script).
type KAScript struct {
	Name, Command string // Command as keepalived prints it
	Interval      int    // seconds
	Weight        int
	Result        int // init(1), bad(2), good(3), initfailed(5)
	Rise, Fall    uint32
	Reverse       bool
}

// KAFile is one vrrpFileTable row (a vrrp_track_file).
type KAFile struct {
	Name, Path string
	Value      int // the file's current value (0 unreadable)
	Weight     int
	Reverse    bool
}

// KAProcess is one vrrpProcessTable row (a vrrp_track_process).
type KAProcess struct {
	Name, Path, Params string
	ParamMatch         int // none(0), exact(1), partial(2), initial(3)
	Weight             int
	Reverse            bool
	Quorum             uint32
	QuorumMax          int           // -1: none
	ForkDelay          time.Duration // shown in microseconds
	TerminateDelay     time.Duration
	FullCommand        bool
	Running            int
	OK                 bool
}

// KARoute is one vrrpRouteTable row (a virtual_routes line).
type KARoute struct {
	Dst      netip.Prefix
	Via, Src netip.Addr // invalid: not given
	Metric   uint32
	Scope    int // InetScopeType
	Type     int // RouteType: unicast(1), blackhole(3), unreachable(7), prohibit(8), throw(9)
	IfIndex  int
	IfName   string // "" no dev
	Table    uint32
	Set      bool
	Protocol int // the kernel's protocol number (keepalived's 18 by default)
	MTU      uint32
	MTULock  bool
	Nexthops []KANexthop // multipath: Type is ecmp(2)
}

// KANexthop is one vrrpRouteNextHopTable row.
type KANexthop struct {
	Via     netip.Addr
	IfIndex int
	IfName  string
	Weight  uint32 // 0: not given
	OnLink  bool
}

// KARule is one vrrpRuleTable row (a virtual_rules line).
type KARule struct {
	From, To       netip.Prefix // invalid: not given
	Table          uint32
	Set            bool
	FwMark, FwMask uint32 // FwMark 0: none
	IIF, OIF       string
	Pref           uint32
}

// tracks adds one tracked-object table: for each owner (instance or
// group, 1-based), its rows indexed by position, columns name, weight and
// reverse at sub-identifiers first, first+1, first+2.
func tracks(b *Builder, entry OID, first uint32, owners [][]KATrack) {
	for c := uint32(0); c < 3; c++ {
		obj := entry.Append(first + c)
		for i, ts := range owners {
			for j, t := range ts {
				ix := []uint32{uint32(i + 1), uint32(j + 1)}
				switch c {
				case 0:
					b.Add(obj, ix, String(t.Name))
				case 1:
					b.Add(obj, ix, Integer(int64(t.Weight)))
				case 2:
					b.Add(obj, ix, truth(t.Reverse))
				}
			}
		}
	}
}

func (v *KAView) perInstance(f func(r *KAInstance) []KATrack) [][]KATrack {
	out := make([][]KATrack, len(v.Instances))
	for i := range v.Instances {
		out[i] = f(&v.Instances[i])
	}
	return out
}

// addTrackedIfsScripts adds vrrpTrackedInterfaceTable (.4) and
// vrrpTrackedScriptTable (.5), which sort before vrrpAddressTable (.6).
func (v *KAView) addTrackedIfsScripts(b *Builder) {
	tracks(b, KAVRRP.Append(4, 1), 1, v.perInstance(func(r *KAInstance) []KATrack { return r.TrackedIfs }))
	tracks(b, KAVRRP.Append(5, 1), 2, v.perInstance(func(r *KAInstance) []KATrack { return r.TrackedScripts }))
}

// addTracked adds the route, rule, script, file and process tables and
// the other tracked-object tables, in OID order after vrrpAddressTable.
func (v *KAView) addTracked(b *Builder) {
	inst := v.perInstance
	grp := func(f func(g *KAGroup) []KATrack) [][]KATrack {
		out := make([][]KATrack, len(v.Groups))
		for i := range v.Groups {
			out[i] = f(&v.Groups[i])
		}
		return out
	}
	v.addRoutes(b)
	v.addRules(b)
	v.addScripts(b)
	v.addNexthops(b)
	tracks(b, KAVRRP.Append(12, 1), 2, inst(func(r *KAInstance) []KATrack { return r.TrackedFiles }))
	v.addFiles(b)
	tracks(b, KAVRRP.Append(14, 1), 1, grp(func(g *KAGroup) []KATrack { return g.TrackedIfs }))
	tracks(b, KAVRRP.Append(15, 1), 2, grp(func(g *KAGroup) []KATrack { return g.TrackedScripts }))
	tracks(b, KAVRRP.Append(16, 1), 2, grp(func(g *KAGroup) []KATrack { return g.TrackedFiles }))
	tracks(b, KAVRRP.Append(20, 1), 2, inst(func(r *KAInstance) []KATrack { return r.TrackedProcs }))
	v.addProcesses(b)
	tracks(b, KAVRRP.Append(22, 1), 2, grp(func(g *KAGroup) []KATrack { return g.TrackedProcs }))
}

// addProcesses: vrrpProcessTable as keepalived 2.2.7 fills it (seen with
// snmpwalk): the parameters "" when none; QuorumMax -1 when unset; the
// delays in microseconds.
func (v *KAView) addProcesses(b *Builder) {
	addRows(b, KAVRRP.Append(21, 1), v.Processes,
		func(p *KAProcess) Value { return String(p.Name) },
		func(p *KAProcess) Value { return String(p.Path) },
		func(p *KAProcess) Value { return String(p.Params) },
		func(p *KAProcess) Value { return Integer(int64(p.ParamMatch)) },
		func(p *KAProcess) Value { return Integer(int64(p.Weight)) },
		func(p *KAProcess) Value { return truth(p.Reverse) },
		func(p *KAProcess) Value { return Gauge32(p.Quorum) },
		func(p *KAProcess) Value { return Integer(int64(p.QuorumMax)) },
		func(p *KAProcess) Value { return Gauge32(uint32(p.ForkDelay / time.Microsecond)) },
		func(p *KAProcess) Value { return Gauge32(uint32(p.TerminateDelay / time.Microsecond)) },
		func(p *KAProcess) Value { return truth(p.FullCommand) },
		func(p *KAProcess) Value { return Integer(int64(p.Running)) },
		func(p *KAProcess) Value { return truth(p.OK) },
	)
}

func (v *KAView) addScripts(b *Builder) {
	addRows(b, KAVRRP.Append(9, 1), v.Scripts,
		func(s *KAScript) Value { return String(s.Name) },
		func(s *KAScript) Value { return String(s.Command) },
		func(s *KAScript) Value { return Integer(int64(s.Interval)) },
		func(s *KAScript) Value { return Integer(int64(s.Weight)) },
		func(s *KAScript) Value { return Integer(int64(s.Result)) },
		func(s *KAScript) Value { return Gauge32(s.Rise) },
		func(s *KAScript) Value { return Gauge32(s.Fall) },
		func(s *KAScript) Value { return truth(s.Reverse) },
	)
}

func (v *KAView) addFiles(b *Builder) {
	addRows(b, KAVRRP.Append(13, 1), v.Files,
		func(f *KAFile) Value { return String(f.Name) },
		func(f *KAFile) Value { return String(f.Path) },
		func(f *KAFile) Value { return Integer(int64(f.Value)) },
		func(f *KAFile) Value { return Integer(int64(f.Weight)) },
		func(f *KAFile) Value { return truth(f.Reverse) },
	)
}

// addRows adds a table indexed 1..len(rows) whose columns 2, 3, ... are
// cols, each present in every row (the tree sorts what is added).
func addRows[T any](b *Builder, entry OID, rows []T, cols ...func(*T) Value) {
	for i := range rows {
		ix := []uint32{uint32(i + 1)}
		for c, col := range cols {
			b.Add(entry.Append(uint32(c+2)), ix, col(&rows[i]))
		}
	}
}

// addRoutes: vrrpRouteTable as keepalived 2.2.7 fills it (seen with
// snmpwalk): the gateway, source, interface and MTU only when given;
// vrrpRouteProtocol is the kernel's protocol number plus one (19 for
// keepalived's 18); ECN and QuickAck false.
func (v *KAView) addRoutes(b *Builder) {
	e := KAVRRP.Append(7, 1)
	for c := uint32(2); c <= 23; c++ {
		for i := range v.Instances {
			for j, r := range v.Instances[i].Routes {
				ix := []uint32{uint32(i + 1), uint32(j + 1)}
				if val, ok := routeColumn(c, &r); ok {
					b.Add(e.Append(c), ix, val)
				}
			}
		}
	}
}

// addNexthops: vrrpRouteNextHopTable (instance, route, nexthop), the
// weight only when given (seen on keepalived 2.2.7).
func (v *KAView) addNexthops(b *Builder) {
	e := KAVRRP.Append(11, 1)
	for c := uint32(2); c <= 7; c++ {
		for i := range v.Instances {
			for j, r := range v.Instances[i].Routes {
				for k, nh := range r.Nexthops {
					nexthopColumn(b, e.Append(c), []uint32{uint32(i + 1), uint32(j + 1), uint32(k + 1)}, c, &nh)
				}
			}
		}
	}
}

func nexthopColumn(b *Builder, obj OID, ix []uint32, c uint32, nh *KANexthop) {
	switch c {
	case 2:
		if nh.Via.IsValid() {
			b.Add(obj, ix, inetType(nh.Via))
		}
	case 3:
		if nh.Via.IsValid() {
			b.Add(obj, ix, Octets(nh.Via.AsSlice()))
		}
	case 4:
		if nh.IfName != "" {
			b.Add(obj, ix, Integer(int64(nh.IfIndex)))
		}
	case 5:
		str(b, obj, ix, nh.IfName)
	case 6:
		if nh.Weight != 0 {
			b.Add(obj, ix, Gauge32(nh.Weight))
		}
	case 7:
		b.Add(obj, ix, truth(nh.OnLink))
	}
}

func routeColumn(c uint32, r *KARoute) (Value, bool) {
	switch c {
	case 2:
		return inetType(r.Dst.Addr()), true
	case 3:
		return Octets(r.Dst.Addr().AsSlice()), true
	case 4:
		return Gauge32(uint32(r.Dst.Bits())), true
	case 5:
		if r.Via.IsValid() {
			return Octets(r.Via.AsSlice()), true
		}
	case 7:
		if r.Src.IsValid() {
			return Octets(r.Src.AsSlice()), true
		}
	case 8:
		return Gauge32(r.Metric), true
	case 9:
		return Integer(int64(r.Scope)), true
	case 10:
		return Integer(int64(r.Type)), true
	case 11:
		if r.IfName != "" {
			return Integer(int64(r.IfIndex)), true
		}
	case 12:
		if r.IfName != "" {
			return String(r.IfName), true
		}
	case 13:
		return Gauge32(r.Table), true
	case 14:
		return enabled(r.Set), true
	case 18:
		return Integer(int64(r.Protocol + 1)), true
	case 19, 20:
		return truth(false), true
	case 22:
		if r.MTU != 0 {
			return Gauge32(r.MTU), true
		}
	case 23:
		if r.MTU != 0 {
			return truth(r.MTULock), true
		}
	}
	return Value{}, false
}

// addRules: vrrpRuleTable likewise: vrrpRuleDirection is "from", "to" or
// "both"; the first address is the destination when there is one; the
// destination and source columns only when given; fwmark and interfaces
// only when given; action table(1).
func (v *KAView) addRules(b *Builder) {
	e := KAVRRP.Append(8, 1)
	for c := uint32(2); c <= 25; c++ {
		for i := range v.Instances {
			for j, r := range v.Instances[i].Rules {
				ix := []uint32{uint32(i + 1), uint32(j + 1)}
				if val, ok := ruleColumn(c, &r); ok {
					b.Add(e.Append(c), ix, val)
				}
			}
		}
	}
}

func ruleColumn(c uint32, r *KARule) (Value, bool) {
	first := r.To // keepalived 2.2.7 shows the destination of a rule with both
	if !first.IsValid() {
		first = r.From
	}
	switch c {
	case 2:
		switch {
		case r.From.IsValid() && r.To.IsValid():
			return String("both"), true
		case r.From.IsValid():
			return String("from"), true
		case r.To.IsValid():
			return String("to"), true
		}
	case 3, 4, 5:
		if first.IsValid() {
			return prefixColumn(c-3, first), true
		}
	case 6, 24:
		return Gauge32(r.Table), true
	case 7:
		return enabled(r.Set), true
	case 8:
		return truth(false), true // invert
	case 9, 10, 11:
		if r.To.IsValid() {
			return prefixColumn(c-9, r.To), true
		}
	case 12, 13, 14:
		if r.From.IsValid() {
			return prefixColumn(c-12, r.From), true
		}
	case 15:
		return Gauge32(0), true // tos
	case 16:
		if r.FwMark != 0 {
			return Gauge32(r.FwMark), true
		}
	case 17:
		if r.FwMark != 0 {
			return Gauge32(r.FwMask), true
		}
	case 20:
		if r.IIF != "" {
			return String(r.IIF), true
		}
	case 21:
		if r.OIF != "" {
			return String(r.OIF), true
		}
	case 23:
		return Integer(1), true // table
	case 25:
		return Gauge32(r.Pref), true
	}
	return Value{}, false
}

// prefixColumn is an (InetAddressType, InetAddress, prefix length) triple's
// k-th member.
func prefixColumn(k uint32, p netip.Prefix) Value {
	switch k {
	case 0:
		return inetType(p.Addr())
	case 1:
		return Octets(p.Addr().AsSlice())
	}
	return Gauge32(uint32(p.Bits()))
}
