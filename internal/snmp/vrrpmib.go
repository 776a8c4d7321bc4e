package snmp

import (
	"net"
	"net/netip"
	"slices"
	"time"
)

// Subtrees served: VRRPV3-MIB (RFC 6527) and VRRP-MIB (RFC 2787).
var (
	VRRPv3MIB = MustOID("1.3.6.1.2.1.207")
	VRRPv2MIB = MustOID("1.3.6.1.2.1.68")
)

// State is a virtual router's state as the MIBs number it
// (initialize(1), backup(2), master(3)); govrrp's FAULT is backup, as
// keepalived maps its own FAULT.
type State int

const (
	StateInit   State = 1
	StateBackup State = 2
	StateMaster State = 3
)

// NewMasterReason is vrrpv3StatisticsNewMasterReason.
type NewMasterReason int

const (
	ReasonNotMaster  NewMasterReason = 0
	ReasonPriority   NewMasterReason = 1 // address owner
	ReasonPreempted  NewMasterReason = 2
	ReasonNoResponse NewMasterReason = 3 // master-down timer
)

// Router is one vrrp_instance as the MIBs see it: an immutable copy built
// from the daemon's snapshot and the configuration the last apply used.
type Router struct {
	Name        string
	IfIndex     int
	MAC         net.HardwareAddr // of the interface adverts leave on (keepalived: the VMAC with use_vmac)
	VRID        uint8
	IPv6        bool
	Version     int // 2 or 3
	State       State
	Primary     netip.Addr // our advert source
	Master      netip.Addr // the master's address; ours while master
	Priority    uint8      // effective
	VIPs        []netip.Addr
	AdvInterval time.Duration
	Preempt     bool
	Accept      bool
	AuthPass    bool // v2 auth_type PASS (AH is refused by govrrp)
	Started     time.Time
	NewMaster   NewMasterReason
	ProtoErr    int // vrrpv3StatisticsProtoErrReason: the last protocol error (0 none)

	BecameMaster, Received                          uint64
	IntervalErrors, TTLErrors                       uint64
	PriZeroReceived, PriZeroSent                    uint64
	InvalidType, AddrListErrors, LengthErrors       uint64
	AuthFailures, InvalidAuthType, AuthTypeMismatch uint64
}

// View is what the MIBs are built from.
type View struct {
	Now     time.Time
	Start   time.Time // the daemon's start (RFC 2787 uptimes count from it)
	Routers []Router
	// Router-wide counters of VRRPV3-MIB: every instance's and the
	// sockets' (adverts no instance took).
	ChecksumErrors, VersionErrors, VRIDErrors uint64
	// VRRP-MIB's: VRRPv2 instances' and the sockets' only (keepalived
	// 2.2.7 counts a VRRPv3 instance's version errors in VRRPV3-MIB only).
	V2ChecksumErrors, V2VersionErrors uint64
	RFCv2, RFCv3                      bool
	TrapsEnabled                      bool
	// KA is KEEPALIVED-MIB's content (enable_snmp_vrrp; kamib.go), nil off.
	KA *KAView
}

// scalar is a scalar object's instance (.0).
var scalar = []uint32{0}

// centis converts a duration to TimeTicks.
func centis(d time.Duration) uint32 {
	if d < 0 {
		return 0
	}
	return uint32(d / (10 * time.Millisecond))
}

// addr is an InetAddress of the router's family; unknown is all zeros
// (keepalived 2.2.7: a backup that heard no master shows 00 00 00 00).
func (r *Router) addr(a netip.Addr) []byte {
	if a.IsValid() && a.Is6() == r.IPv6 {
		return a.AsSlice()
	}
	if r.IPv6 {
		return make([]byte, 16)
	}
	return make([]byte, 4)
}

// upTime is d in TimeTicks, 0 while the router is in initialize (keepalived
// 2.2.7 shows 0 in FAULT; backup and master count).
func (r *Router) upTime(d time.Duration) uint32 {
	if r.State == StateInit {
		return 0
	}
	return centis(d)
}

func truth(b bool) Value {
	if b {
		return Integer(1)
	}
	return Integer(2)
}

// Tree builds the enabled MIBs. Rows are emitted in OID order (columns
// outermost, rows by index), so the Builder need not sort: one request
// PDU's tree for 1,000 instances is BenchmarkTree1000 (the subagent reuses a
// tree for TreeMaxAge).
func (v View) Tree() Tree {
	var b Builder
	n := 8
	for i := range v.Routers {
		n += 52 + 2*len(v.Routers[i].VIPs) // the columns of both MIBs and the address rows
	}
	b.Grow(n)
	if v.RFCv2 { // 1.3.6.1.2.1.68 sorts before 1.3.6.1.2.1.207
		v.addV2(&b)
	}
	if v.RFCv3 {
		v.addV3(&b)
	}
	if v.KA != nil { // enterprises sorts after mib-2
		v.KA.add(&b)
	}
	return b.Tree()
}

// v3Index is (ifIndex, VRID, InetAddressType).
func (r *Router) v3Index() []uint32 {
	typ := uint32(1)
	if r.IPv6 {
		typ = 2
	}
	return []uint32{uint32(r.IfIndex), uint32(r.VRID), typ}
}

// row is a router with its index, in index order.
type row struct {
	r  *Router
	ix []uint32
}

// rows are the routers keep accepts, sorted by their index.
func rows(rs []Router, keep func(*Router) bool, index func(*Router) []uint32) []row {
	var out []row
	for i := range rs {
		if keep(&rs[i]) {
			out = append(out, row{&rs[i], index(&rs[i])})
		}
	}
	slices.SortFunc(out, func(a, b row) int { return slices.Compare(a.ix, b.ix) })
	return out
}

// column is one columnar object: its sub-identifier and its value per row.
type column struct {
	sub uint32
	val func(*Router) Value
}

// addColumns adds every column of table for every row, column-major (OID
// order).
func addColumns(b *Builder, table OID, cols []column, rs []row) {
	for _, c := range cols {
		obj := table.Append(c.sub)
		for _, x := range rs {
			b.Add(obj, x.ix, c.val(x.r))
		}
	}
}

// addAddrs adds an associated-address table's RowStatus column: one row
// per (router, address), addresses in order after the router's index.
func addAddrs(b *Builder, obj OID, rs []row) {
	for _, x := range rs {
		addrs := slices.Clone(x.r.VIPs)
		slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
		for _, a := range slices.Compact(addrs) {
			b.Add(obj, append(slices.Clone(x.ix), addrSubIDs(a)...), Integer(1))
		}
	}
}

// addV3 fills VRRPV3-MIB as keepalived 2.2.7 does (seen with snmpwalk):
// every instance, v2 ones included, is a row; the associated-address index
// is the address without a length octet; RowStatus is active(1);
// vrrpv3OperationsUpTime counts from the instance's start, not sysUpTime.
func (v View) addV3(b *Builder) {
	rs := rows(v.Routers, func(*Router) bool { return true }, (*Router).v3Index)
	addColumns(b, VRRPv3MIB.Append(1, 1, 1, 1), []column{ // vrrpv3OperationsEntry
		{3, func(r *Router) Value { return Octets(r.addr(r.Master)) }},
		{4, func(r *Router) Value { return Octets(r.addr(r.Primary)) }},
		{5, func(r *Router) Value { return Octets(r.MAC) }},
		{6, func(r *Router) Value { return Integer(int64(r.State)) }},
		{7, func(r *Router) Value { return Gauge32(uint32(r.Priority)) }},
		{8, func(r *Router) Value { return Integer(int64(len(r.VIPs))) }},
		{9, func(r *Router) Value { return Integer(int64(r.AdvInterval / (10 * time.Millisecond))) }},
		{10, func(r *Router) Value { return truth(r.Preempt) }},
		{11, func(r *Router) Value { return truth(r.Accept) }},
		{12, func(r *Router) Value { return TimeTicks(r.upTime(v.Now.Sub(r.Started))) }},
		{13, func(*Router) Value { return Integer(1) }}, // RowStatus active
	}, rs)
	addAddrs(b, VRRPv3MIB.Append(1, 1, 2, 1, 2), rs)
	stats := VRRPv3MIB.Append(1, 2)
	b.Add(stats.Append(1), scalar, Counter64(v.ChecksumErrors))
	b.Add(stats.Append(2), scalar, Counter64(v.VersionErrors))
	b.Add(stats.Append(3), scalar, Counter64(v.VRIDErrors))
	b.Add(stats.Append(4), scalar, TimeTicks(0)) // GlobalStatisticsDiscontinuityTime
	addColumns(b, stats.Append(5, 1), []column{  // vrrpv3StatisticsEntry
		{1, func(r *Router) Value { return Counter32(r.BecameMaster) }},
		{2, func(r *Router) Value { return Integer(int64(r.NewMaster)) }},
		{3, func(r *Router) Value { return Counter64(r.Received) }},
		{4, func(r *Router) Value { return Counter64(r.IntervalErrors) }},
		{5, func(r *Router) Value { return Counter64(r.TTLErrors) }},
		{6, func(r *Router) Value { return Integer(int64(r.ProtoErr)) }},
		{7, func(r *Router) Value { return Counter64(r.PriZeroReceived) }},
		{8, func(r *Router) Value { return Counter64(r.PriZeroSent) }},
		{9, func(r *Router) Value { return Counter64(r.InvalidType) }},
		{10, func(r *Router) Value { return Counter64(r.AddrListErrors) }},
		{11, func(r *Router) Value { return Counter64(r.LengthErrors) }},
		{12, func(*Router) Value { return TimeTicks(0) }}, // RowDiscontinuityTime
		{13, func(r *Router) Value { return Gauge32(uint32(r.AdvInterval / time.Millisecond)) }},
	}, rs)
}

func addrSubIDs(a netip.Addr) []uint32 {
	b := a.AsSlice()
	out := make([]uint32, len(b))
	for i, x := range b {
		out[i] = uint32(x)
	}
	return out
}

// addV2 fills VRRP-MIB as keepalived 2.2.7 does: only VRRPv2 IPv4
// instances are rows; vrrpOperMasterIpAddr reads 0.0.0.0 while master;
// vrrpOperAuthKey is not served; vrrpNotificationCntl is enabled(1) with
// enable_traps, else disabled(2); vrrpOperVirtualRouterUpTime is the
// instance's start since the daemon's. keepalived 2.2.7 shows only its
// first VRRPv2 instance in vrrpOperTable and vrrpRouterStatsTable (getnext
// skips to the next column); govrrp shows every one (README).
func (v View) addV2(b *Builder) {
	rs := rows(v.Routers, func(r *Router) bool { return r.Version == 2 && !r.IPv6 },
		func(r *Router) []uint32 { return []uint32{uint32(r.IfIndex), uint32(r.VRID)} })
	ops := VRRPv2MIB.Append(1)
	b.Add(ops.Append(1), scalar, Integer(2)) // vrrpNodeVersion
	b.Add(ops.Append(2), scalar, truth(v.TrapsEnabled))
	addColumns(b, ops.Append(3, 1), []column{ // vrrpOperEntry
		{2, func(r *Router) Value { return Octets(r.MAC) }},
		{3, func(r *Router) Value { return Integer(int64(r.State)) }},
		{4, func(*Router) Value { return Integer(1) }}, // AdminState up
		{5, func(r *Router) Value { return Integer(int64(r.Priority)) }},
		{6, func(r *Router) Value { return Integer(int64(len(r.VIPs))) }},
		{7, func(r *Router) Value {
			if r.State != StateMaster && r.Master.Is4() {
				return IPAddress(r.Master.As4())
			}
			return IPAddress([4]byte{})
		}},
		{8, func(r *Router) Value { return IPAddress(as4(r.Primary)) }},
		{9, func(r *Router) Value {
			if r.AuthPass {
				return Integer(2) // simpleTextPassword
			}
			return Integer(1) // noAuthentication
		}},
		{11, func(r *Router) Value { return Integer(int64(r.AdvInterval / time.Second)) }},
		{12, func(r *Router) Value { return truth(r.Preempt) }},
		{13, func(r *Router) Value { return TimeTicks(r.upTime(r.Started.Sub(v.Start))) }},
		{14, func(*Router) Value { return Integer(1) }}, // Protocol ip
		{15, func(*Router) Value { return Integer(1) }}, // RowStatus active
	}, rs)
	addAddrs(b, ops.Append(4, 1, 2), rs)
	stats := VRRPv2MIB.Append(2)
	b.Add(stats.Append(1), scalar, Counter32(v.V2ChecksumErrors))
	b.Add(stats.Append(2), scalar, Counter32(v.V2VersionErrors))
	b.Add(stats.Append(3), scalar, Counter32(v.VRIDErrors))
	addColumns(b, stats.Append(4, 1), []column{ // vrrpRouterStatsEntry
		{1, func(r *Router) Value { return Counter32(r.BecameMaster) }},
		{2, func(r *Router) Value { return Counter32(r.Received) }},
		{3, func(r *Router) Value { return Counter32(r.IntervalErrors) }},
		{4, func(r *Router) Value { return Counter32(r.AuthFailures) }},
		{5, func(r *Router) Value { return Counter32(r.TTLErrors) }},
		{6, func(r *Router) Value { return Counter32(r.PriZeroReceived) }},
		{7, func(r *Router) Value { return Counter32(r.PriZeroSent) }},
		{8, func(r *Router) Value { return Counter32(r.InvalidType) }},
		{9, func(r *Router) Value { return Counter32(r.AddrListErrors) }},
		{10, func(r *Router) Value { return Counter32(r.InvalidAuthType) }},
		{11, func(r *Router) Value { return Counter32(r.AuthTypeMismatch) }},
		{12, func(r *Router) Value { return Counter32(r.LengthErrors) }},
	}, rs)
}

func as4(a netip.Addr) [4]byte {
	if a.Is4() {
		return a.As4()
	}
	return [4]byte{}
}
