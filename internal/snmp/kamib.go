package snmp

import (
	"net/netip"
	"slices"
)

// KEEPALIVED-MIB (enterprises.9586.100.5, shipped with keepalived as
// KEEPALIVED-MIB.txt): govrrp serves its global scalars (.1) and its VRRP
// branch (.2) with enable_snmp_vrrp, as keepalived 2.2.7 fills them.
var (
	KeepalivedMIB = MustOID("1.3.6.1.4.1.9586.100.5")
	KAGlobal      = KeepalivedMIB.Append(1)
	KAVRRP        = KeepalivedMIB.Append(2)
)

// KAState is KEEPALIVED-MIB's VrrpState: init(0), backup(1), master(2),
// fault(3).
type KAState int

const (
	KAInit   KAState = 0
	KABackup KAState = 1
	KAMaster KAState = 2
	KAFault  KAState = 3
	// KAShutdown and KADeleted are sent in traps only: an instance (or
	// group) stopping with the daemon, an instance a reload removed.
	KAShutdown KAState = 5
	KADeleted  KAState = 6
)

// KAView is what KEEPALIVED-MIB is built from: the global settings, the
// sync groups and the instances, each in configuration order (their
// 1-based position is their index, as in keepalived).
type KAView struct {
	Global    KAGlobals
	Groups    []KAGroup
	Instances []KAInstance
	Scripts   []KAScript // vrrp_script, in definition order
	Files     []KAFile   // vrrp_track_file, likewise
	Processes []KAProcess
}

// KAGlobals are the scalars of the global branch keepalived's VRRP process
// fills.
type KAGlobals struct {
	Version     string
	RouterID    string
	SMTPServer  netip.Addr // invalid: none configured
	SMTPPort    uint32
	SMTPTimeout uint32 // seconds
	EmailFrom   string
	Emails      []string
	EmailFaults bool // not no_email_faults
	// SMTPAlert, SMTPAlertVRRP: smtp_alert / smtp_alert_vrrp, nil unset.
	SMTPAlert, SMTPAlertVRRP *bool
	Traps                    bool
	LinkbeatPolling          bool
	NetNamespace             string
	DBus                     bool
	DynamicInterfaces        bool
}

// KAGroup is one vrrp_sync_group.
type KAGroup struct {
	Name                             string
	State                            KAState
	SmtpAlert, TrackingWeight        bool
	Master, Backup, Fault, Any, Stop string // notify scripts as keepalived prints them ("" none)
	Members                          []string
	// Group-level tracks (vrrpSyncTracked*Table).
	TrackedIfs, TrackedScripts, TrackedFiles, TrackedProcs []KATrack
}

// KAInstance is one vrrp_instance's vrrpInstanceTable row and addresses.
type KAInstance struct {
	Name                   string
	VRID                   uint8
	State, Initial, Wanted KAState
	BasePriority, Priority int
	VIPsSet                bool
	Interface              string
	TrackPrimary           bool
	AdvInt                 uint32 // VRRPv3: centiseconds; VRRPv2: seconds (as keepalived)
	Preempt                bool
	PreemptDelay           uint32 // seconds
	AuthPass               bool
	SyncGroup              string
	GarpDelay              uint32 // seconds
	SmtpAlert              bool
	// Notify scripts as keepalived prints them ("" none).
	Master, Backup, Fault, Stop, Any, RxLowerPri, Deleted string
	Accept                                                bool
	PromoteSecondaries, Linkbeat, NotifyDeleted           bool
	Version                                               int
	Mcast                                                 netip.Addr // invalid: unicast
	Addrs                                                 []KAAddress
	// Tracked objects (vrrpTracked*Table), routes and rules.
	TrackedIfs, TrackedScripts, TrackedFiles, TrackedProcs []KATrack
	Routes                                                 []KARoute
	Rules                                                  []KARule
}

// KAAddress is one vrrpAddressTable row: a VIP or an eVIP.
type KAAddress struct {
	Prefix     netip.Prefix
	Broadcast  netip.Addr
	Scope      int // InetScopeType
	IfIndex    int
	IfName     string
	Label      string
	Set        bool
	Advertised bool // a VIP (in adverts), not an eVIP
	Peer       netip.Addr
}

func (g KAGroup) notifyExec() bool {
	return g.Master != "" || g.Backup != "" || g.Fault != "" || g.Any != "" || g.Stop != ""
}

func (r KAInstance) notifyExec() bool {
	return r.Master != "" || r.Backup != "" || r.Fault != "" || r.Stop != "" || r.Any != "" || r.RxLowerPri != "" || r.Deleted != ""
}

// enabled is INTEGER { enabled(1), disabled(2) } (and the MIB's other
// 1/2 pairs).
func enabled(b bool) Value { return truth(b) }

// onOff is { on(1), off(2), unset(3) }.
func onOff(b *bool) Value {
	if b == nil {
		return Integer(3)
	}
	return truth(*b)
}

func inetType(a netip.Addr) Value {
	if a.Is4() {
		return Integer(1)
	}
	return Integer(2)
}

// add adds KEEPALIVED-MIB's global scalars and VRRP tables in OID order
// (so the Builder need not sort).
func (v *KAView) add(b *Builder) {
	n := 32 + 12*len(v.Groups) + 10*len(v.Scripts) + 8*len(v.Files) + 14*len(v.Processes)
	for i := range v.Instances {
		r := &v.Instances[i]
		n += 35 + 11*len(r.Addrs) + 3*(len(r.TrackedIfs)+len(r.TrackedScripts)+len(r.TrackedFiles)+len(r.TrackedProcs)) +
			20*(len(r.Routes)+len(r.Rules))
	}
	b.Grow(n)
	v.addGlobal(b)
	v.addGroups(b)
	v.addInstances(b)
	v.addTrackedIfsScripts(b)
	v.addAddresses(b)
	v.addTracked(b)
}

// addGlobal: observed on keepalived 2.2.7: without smtp_server the server
// is type ipv6(2) with four zero octets, timeout and port 0; the email
// table and emailFrom only when configured; ipvs64BitStats true (a build
// feature); the LVS scalars disabled.
func (v *KAView) addGlobal(b *Builder) {
	g := &v.Global
	b.Add(KAGlobal.Append(1), scalar, String(g.Version))
	b.Add(KAGlobal.Append(2), scalar, String(g.RouterID))
	mail := KAGlobal.Append(3)
	if g.SMTPServer.IsValid() {
		b.Add(mail.Append(1), scalar, inetType(g.SMTPServer))
		b.Add(mail.Append(2), scalar, Octets(g.SMTPServer.AsSlice()))
		b.Add(mail.Append(3), scalar, Gauge32(g.SMTPTimeout))
	} else {
		b.Add(mail.Append(1), scalar, Integer(2))
		b.Add(mail.Append(2), scalar, Octets(make([]byte, 4)))
		b.Add(mail.Append(3), scalar, Gauge32(0))
	}
	if g.EmailFrom != "" {
		b.Add(mail.Append(4), scalar, String(g.EmailFrom))
	}
	for i, e := range g.Emails {
		b.Add(mail.Append(5, 1, 2), []uint32{uint32(i + 1)}, String(e))
	}
	port := uint32(0)
	if g.SMTPServer.IsValid() {
		port = g.SMTPPort
	}
	b.Add(mail.Append(6), scalar, Gauge32(port))
	b.Add(mail.Append(7), scalar, enabled(g.EmailFaults))
	b.Add(mail.Append(8), scalar, onOff(g.SMTPAlert))
	b.Add(mail.Append(9), scalar, onOff(g.SMTPAlertVRRP))
	b.Add(mail.Append(10), scalar, Integer(3)) // smtp_alert_checker: the checker's
	b.Add(KAGlobal.Append(4), scalar, enabled(g.Traps))
	if g.LinkbeatPolling {
		b.Add(KAGlobal.Append(5), scalar, Integer(2))
	} else {
		b.Add(KAGlobal.Append(5), scalar, Integer(1))
	}
	b.Add(KAGlobal.Append(6), scalar, Integer(2)) // lvsFlush
	b.Add(KAGlobal.Append(7), scalar, Integer(1)) // ipvs64BitStats
	b.Add(KAGlobal.Append(8), scalar, String(g.NetNamespace))
	b.Add(KAGlobal.Append(9), scalar, truth(g.DBus))
	b.Add(KAGlobal.Append(10), scalar, truth(g.DynamicInterfaces))
	b.Add(KAGlobal.Append(11), scalar, Integer(2)) // lvsFlushOnStop
}

// str adds a DisplayString column's rows, skipping empty values (keepalived
// serves no row for an unset script).
func str(b *Builder, obj OID, ix []uint32, s string) {
	if s != "" {
		b.Add(obj, ix, String(s))
	}
}

// addGroups: vrrpSyncGroupTable and vrrpSyncGroupMemberTable, indexed by
// position (the member index is the member's position in the group).
func (v *KAView) addGroups(b *Builder) {
	t := KAVRRP.Append(1, 1)
	cols := []func(g *KAGroup, obj OID, ix []uint32){
		2:  func(g *KAGroup, obj OID, ix []uint32) { b.Add(obj, ix, String(g.Name)) },
		3:  func(g *KAGroup, obj OID, ix []uint32) { b.Add(obj, ix, Integer(int64(g.State))) },
		4:  func(g *KAGroup, obj OID, ix []uint32) { b.Add(obj, ix, enabled(g.SmtpAlert)) },
		5:  func(g *KAGroup, obj OID, ix []uint32) { b.Add(obj, ix, enabled(g.notifyExec())) },
		6:  func(g *KAGroup, obj OID, ix []uint32) { str(b, obj, ix, g.Master) },
		7:  func(g *KAGroup, obj OID, ix []uint32) { str(b, obj, ix, g.Backup) },
		8:  func(g *KAGroup, obj OID, ix []uint32) { str(b, obj, ix, g.Fault) },
		9:  func(g *KAGroup, obj OID, ix []uint32) { str(b, obj, ix, g.Any) },
		10: func(g *KAGroup, obj OID, ix []uint32) { b.Add(obj, ix, enabled(g.TrackingWeight)) },
		11: func(g *KAGroup, obj OID, ix []uint32) { str(b, obj, ix, g.Stop) },
	}
	for sub, f := range cols {
		if f == nil {
			continue
		}
		for i := range v.Groups {
			f(&v.Groups[i], t.Append(uint32(sub)), []uint32{uint32(i + 1)})
		}
	}
	m := KAVRRP.Append(2, 1, 2)
	for i, g := range v.Groups {
		for j, name := range g.Members {
			b.Add(m, []uint32{uint32(i + 1), uint32(j + 1)}, String(name))
		}
	}
}

// addInstances: vrrpInstanceTable as keepalived 2.2.7 fills it (seen with
// snmpwalk): vrrpInstanceAccept is 0 for a VRRPv2 instance; the
// advertisement interval is in centiseconds for VRRPv3 and seconds for
// VRRPv2; scripts and the sync group only when set; the multicast group
// only for multicast instances.
func (v *KAView) addInstances(b *Builder) {
	t := KAVRRP.Append(3, 1)
	type col func(r *KAInstance, obj OID, ix []uint32)
	add := func(val func(r *KAInstance) Value) col {
		return func(r *KAInstance, obj OID, ix []uint32) { b.Add(obj, ix, val(r)) }
	}
	script := func(s func(r *KAInstance) string) col {
		return func(r *KAInstance, obj OID, ix []uint32) { str(b, obj, ix, s(r)) }
	}
	cols := map[uint32]col{
		2:  add(func(r *KAInstance) Value { return String(r.Name) }),
		3:  add(func(r *KAInstance) Value { return Gauge32(uint32(r.VRID)) }),
		4:  add(func(r *KAInstance) Value { return Integer(int64(r.State)) }),
		5:  add(func(r *KAInstance) Value { return Integer(int64(r.Initial)) }),
		6:  add(func(r *KAInstance) Value { return Integer(int64(r.Wanted)) }),
		7:  add(func(r *KAInstance) Value { return Integer(int64(r.BasePriority)) }),
		8:  add(func(r *KAInstance) Value { return Integer(int64(r.Priority)) }),
		9:  add(func(r *KAInstance) Value { return enabled(r.VIPsSet) }),
		10: add(func(r *KAInstance) Value { return String(r.Interface) }),
		11: add(func(r *KAInstance) Value { return enabled(r.TrackPrimary) }),
		12: add(func(r *KAInstance) Value { return Gauge32(r.AdvInt) }),
		13: add(func(r *KAInstance) Value { return enabled(r.Preempt) }),
		14: add(func(r *KAInstance) Value { return Gauge32(r.PreemptDelay) }),
		15: add(func(r *KAInstance) Value {
			if r.AuthPass {
				return Integer(1) // password
			}
			return Integer(0) // none
		}),
		16: add(func(*KAInstance) Value { return Integer(2) }), // lvs_sync_daemon: the checker's
		18: script(func(r *KAInstance) string { return r.SyncGroup }),
		19: add(func(r *KAInstance) Value { return Gauge32(r.GarpDelay) }),
		20: add(func(r *KAInstance) Value { return enabled(r.SmtpAlert) }),
		21: add(func(r *KAInstance) Value { return enabled(r.notifyExec()) }),
		22: script(func(r *KAInstance) string { return r.Master }),
		23: script(func(r *KAInstance) string { return r.Backup }),
		24: script(func(r *KAInstance) string { return r.Fault }),
		25: script(func(r *KAInstance) string { return r.Stop }),
		26: script(func(r *KAInstance) string { return r.Any }),
		27: add(func(r *KAInstance) Value {
			if r.Version == 2 {
				return Integer(0)
			}
			return truth(r.Accept)
		}),
		28: add(func(r *KAInstance) Value { return truth(r.PromoteSecondaries) }),
		29: add(func(r *KAInstance) Value { return truth(r.Linkbeat) }),
		30: add(func(r *KAInstance) Value { return Integer(int64(r.Version)) }),
		31: script(func(r *KAInstance) string { return r.RxLowerPri }),
		32: script(func(r *KAInstance) string { return r.Deleted }),
		33: add(func(r *KAInstance) Value { return truth(r.NotifyDeleted) }),
		34: func(r *KAInstance, obj OID, ix []uint32) {
			if r.Mcast.IsValid() {
				b.Add(obj, ix, inetType(r.Mcast))
			}
		},
		35: func(r *KAInstance, obj OID, ix []uint32) {
			if r.Mcast.IsValid() {
				b.Add(obj, ix, Octets(r.Mcast.AsSlice()))
			}
		},
	}
	subs := make([]uint32, 0, len(cols))
	for s := range cols {
		subs = append(subs, s)
	}
	slices.Sort(subs)
	ix := make([]uint32, 1)
	for _, s := range subs {
		obj := t.Append(s)
		for i := range v.Instances {
			ix[0] = uint32(i + 1) // Builder.Add copies the index
			cols[s](&v.Instances[i], obj, ix)
		}
	}
}

// addAddresses: vrrpAddressTable, each instance's VIPs then its eVIPs in
// configuration order; vrrpAddressBroadcast only for IPv4 (0.0.0.0 when
// none); the alias (label) and peer only when set.
func (v *KAView) addAddresses(b *Builder) {
	t := KAVRRP.Append(6, 1)
	for sub := uint32(2); sub <= 12; sub++ {
		obj := t.Append(sub)
		for i := range v.Instances {
			for j, a := range v.Instances[i].Addrs {
				ix := []uint32{uint32(i + 1), uint32(j + 1)}
				addr := a.Prefix.Addr()
				switch sub {
				case 2:
					b.Add(obj, ix, inetType(addr))
				case 3:
					b.Add(obj, ix, Octets(addr.AsSlice()))
				case 4:
					if addr.Is4() {
						b.Add(obj, ix, Octets(as4slice(a.Broadcast)))
					}
				case 5:
					b.Add(obj, ix, Gauge32(uint32(a.Prefix.Bits())))
				case 6:
					b.Add(obj, ix, Integer(int64(a.Scope)))
				case 7:
					b.Add(obj, ix, Integer(int64(a.IfIndex)))
				case 8:
					b.Add(obj, ix, String(a.IfName))
				case 9:
					str(b, obj, ix, a.Label)
				case 10:
					b.Add(obj, ix, enabled(a.Set)) // set(1), unset(2)
				case 11:
					b.Add(obj, ix, enabled(a.Advertised))
				case 12:
					if a.Peer.IsValid() {
						b.Add(obj, ix, Octets(a.Peer.AsSlice()))
					}
				}
			}
		}
	}
}

func as4slice(a netip.Addr) []byte {
	b := as4(a)
	return b[:]
}

// Notifications of KEEPALIVED-MIB keepalived 2.2.7 sends with enable_traps.
var (
	KASyncGroupTrap = KAVRRP.Append(10, 0, 1) // vrrpSyncGroupStateChange
	KAInstanceTrap  = KAVRRP.Append(10, 0, 2) // vrrpInstanceStateChange
)

// KAInstanceStateTrap is vrrpInstanceStateChange as keepalived 2.2.7 sends
// it (seen with snmptrapd): vrrpInstanceName, vrrpInstanceState and
// vrrpInstanceInitialState named without an instance index, then
// routerId.0.
func KAInstanceStateTrap(name string, state, initial KAState, routerID string) []VarBind {
	return []VarBind{
		{Name: snmpTrapOID, Value: ObjectID(KAInstanceTrap)},
		{Name: KAVRRP.Append(3, 1, 2), Value: String(name)},
		{Name: KAVRRP.Append(3, 1, 4), Value: Integer(int64(state))},
		{Name: KAVRRP.Append(3, 1, 5), Value: Integer(int64(initial))},
		{Name: KAGlobal.Append(2, 0), Value: String(routerID)},
	}
}

// KASyncGroupStateTrap is vrrpSyncGroupStateChange likewise:
// vrrpSyncGroupName and vrrpSyncGroupState without an index, routerId.0.
func KASyncGroupStateTrap(name string, state KAState, routerID string) []VarBind {
	return []VarBind{
		{Name: snmpTrapOID, Value: ObjectID(KASyncGroupTrap)},
		{Name: KAVRRP.Append(1, 1, 2), Value: String(name)},
		{Name: KAVRRP.Append(1, 1, 3), Value: Integer(int64(state))},
		{Name: KAGlobal.Append(2, 0), Value: String(routerID)},
	}
}
