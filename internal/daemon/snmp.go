package daemon

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/snmp"
	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// snmpState is the AgentX subagent (internal/snmp) serving VRRPV3-MIB and
// VRRP-MIB. The loop starts, restarts and stops it from apply; the agent's
// goroutine reads only d.view (instances' snapshots) and static, which
// apply replaces whole.
type snmpState struct {
	agent  *snmp.Agent
	defs   kaconf.SNMPDefs // what agent was started with
	static atomic.Pointer[snmpStatic]
	// started: when each instance (by name) was first applied, kept across
	// reloads (vrrpv3OperationsUpTime counts from it). Loop only.
	started map[string]time.Time
	// protoErr: each instance's last protocol error (RFC 6527
	// ProtoErrReason), *instance -> *atomic.Int32, set by socket readers.
	protoErr sync.Map
	// lookupLink finds an interface's index and MAC (nil: the system's);
	// a seam for tests. Set before the daemon starts.
	lookupLink func(name string) (snmpLink, error)
	// groupStates: each sync group's last state sent in
	// vrrpSyncGroupStateChange (snmp_kamib.go). Loop only.
	groupStates map[string]snmp.KAState
	// kaNotify, when set, receives KEEPALIVED-MIB's traps instead of the
	// agent (a seam for tests). Set before the daemon starts.
	kaNotify func([]snmp.VarBind)
}

// snmpStatic is the configuration side of every instance's row, computed
// on the loop at apply: the agent must not read in.cfg, which a reload
// replaces.
type snmpStatic struct {
	defs    kaconf.SNMPDefs
	agent   *snmp.Agent // nil: no subagent (socket readers send traps through it)
	byInst  map[*instance]*snmpInst
	links   sync.Map // interface name -> snmpLink, filled on first use
	lookup  func(string) (snmpLink, error)
	started time.Time
	ka      *kaStatic // KEEPALIVED-MIB (enable_snmp_vrrp); nil off
}

type snmpInst struct {
	link     string // the instance's interface: the rows' ifIndex
	macLink  string // whose MAC the rows show: the VMAC with use_vmac (keepalived 2.2.7)
	vrid     uint8
	ipv6     bool
	version  int
	vips     []netip.Addr
	advInt   time.Duration
	preempt  bool
	accept   bool
	authPass bool
	started  time.Time
}

type snmpLink struct {
	index int
	mac   net.HardwareAddr
}

// applySNMP starts, restarts (a changed snmp_socket or MIB set) or stops
// the subagent and publishes the rows' configuration. The agent only dials
// on its own goroutine: an absent snmpd never delays apply.
func (d *Daemon) applySNMP(cfg *kaconf.Config) {
	defs := cfg.Global.SNMP
	d.restartSNMPAgent(defs)
	if d.snmp.started == nil {
		d.snmp.started = map[string]time.Time{}
	}
	st := &snmpStatic{defs: defs, agent: d.snmp.agent, byInst: map[*instance]*snmpInst{}, started: d.start, lookup: d.snmp.lookupLink}
	if st.lookup == nil {
		st.lookup = systemLink
	}
	now := time.Now()
	seen := map[string]bool{}
	for _, in := range d.instances {
		seen[in.name] = true
		if _, ok := d.snmp.started[in.name]; !ok {
			d.snmp.started[in.name] = now
		}
		st.byInst[in] = snmpInstOf(in, d.snmp.started[in.name], &cfg.Global)
	}
	if defs.VRRP {
		st.ka = d.kaStaticOf(cfg)
	}
	for name := range d.snmp.started {
		if !seen[name] {
			delete(d.snmp.started, name)
		}
	}
	d.snmp.protoErr.Range(func(k, _ any) bool {
		if st.byInst[k.(*instance)] == nil {
			d.snmp.protoErr.Delete(k)
		}
		return true
	})
	d.snmp.static.Store(st)
}

// restartSNMPAgent makes the running subagent match defs: stopped when no
// MIB is on, restarted when the socket or the MIB set changed.
func (d *Daemon) restartSNMPAgent(defs kaconf.SNMPDefs) {
	want := defs.RFCv2 || defs.RFCv3 || defs.VRRP
	if d.snmp.agent != nil && (!want || defs != d.snmp.defs) {
		d.snmp.agent.Close()
		d.snmp.agent = nil
	}
	if !want || d.snmp.agent != nil {
		return
	}
	var subtrees []snmp.OID
	if defs.RFCv3 {
		subtrees = append(subtrees, snmp.VRRPv3MIB)
	}
	if defs.RFCv2 {
		subtrees = append(subtrees, snmp.VRRPv2MIB)
	}
	if defs.VRRP {
		subtrees = append(subtrees, snmp.KAGlobal, snmp.KAVRRP)
	}
	agent, err := snmp.Start(snmp.Config{Address: defs.Socket, Subtrees: subtrees, View: d.snmpTree,
		Descr: "govrrp VRRP subagent", Logger: d.log.With("component", "snmp")})
	if err != nil {
		d.log.Error("SNMP subagent not started", "err", err)
		return
	}
	d.snmp.agent, d.snmp.defs = agent, defs
}

// snmpClose stops the subagent (Close PDU to the master) at daemon exit.
func (d *Daemon) snmpClose() {
	if st := d.snmp.static.Load(); st != nil {
		d.snmp.static.Store(&snmpStatic{defs: st.defs, byInst: st.byInst, lookup: st.lookup, started: st.started, ka: st.ka})
	}
	if d.snmp.agent != nil {
		d.snmp.agent.Drain(snmpDrainMax) // the stop's traps (snmp_kamib.go)
		d.snmp.agent.Close()
		d.snmp.agent = nil
	}
}

// snmpDrainMax bounds how long the daemon's exit waits for queued traps.
const snmpDrainMax = 500 * time.Millisecond

// snmpInstOf is in's configuration as the MIBs show it. Loop only.
func snmpInstOf(in *instance, started time.Time, g *kaconf.GlobalDefs) *snmpInst {
	c := in.cfg
	si := &snmpInst{link: in.ifname, macLink: in.ifname, vrid: c.VRID, ipv6: in.family == vrrp.IPv6, version: int(in.version),
		advInt: c.AdverInt, preempt: !c.Nopreempt, authPass: c.AuthType == "PASS", started: started}
	if in.vmac != nil {
		si.macLink = in.vmac.Name
	}
	// keepalived 2.2.7 accepts unless no_accept, strict_mode or vrrp_strict.
	si.accept = !c.StrictMode && !g.Strict
	if c.Accept != nil {
		si.accept = *c.Accept
	}
	for _, v := range in.vips {
		si.vips = append(si.vips, v.Prefix.Addr())
	}
	return si
}

// link resolves an interface's index and MAC once per apply (a missing
// interface is retried on the next request).
func (st *snmpStatic) link(name string) snmpLink {
	if l, ok := st.links.Load(name); ok {
		return l.(snmpLink)
	}
	l, err := st.lookup(name)
	if err != nil {
		return snmpLink{}
	}
	st.links.Store(name, l)
	return l
}

func systemLink(name string) (snmpLink, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return snmpLink{}, err
	}
	return snmpLink{index: ifi.Index, mac: ifi.HardwareAddr}, nil
}

// snmpTree is the subagent's View: built from the published instance list
// and each instance's snapshot, on the agent's goroutine.
func (d *Daemon) snmpTree() snmp.Tree {
	st, view := d.snmp.static.Load(), d.view.Load()
	if st == nil || view == nil {
		return snmp.Tree{}
	}
	v := snmp.View{Now: time.Now(), Start: st.started, RFCv2: st.defs.RFCv2, RFCv3: st.defs.RFCv3, TrapsEnabled: st.defs.Traps}
	for _, in := range view.instances {
		si := st.byInst[in]
		if si == nil {
			continue // added after the last apply published static
		}
		ci := in.snapshot()
		r := snmp.Router{Name: ci.Name, IfIndex: st.link(si.link).index, MAC: st.link(si.macLink).mac, VRID: si.vrid, IPv6: si.ipv6, Version: si.version,
			State: snmpState3(ci.State), Priority: ci.EffectivePriority, VIPs: si.vips, AdvInterval: si.advInt,
			Preempt: si.preempt, Accept: si.accept, AuthPass: si.authPass, Started: si.started,
			BecameMaster: ci.BecameMaster, Received: ci.AdvertsReceived,
			PriZeroReceived: ci.PriorityZeroReceived, PriZeroSent: ci.PriorityZeroSent}
		r.Primary, _ = netip.ParseAddr(ci.Source)
		r.Master, _ = netip.ParseAddr(ci.Master)
		if r.State == snmp.StateMaster {
			r.Master = r.Primary
			r.NewMaster = newMasterReason(ci.Reason)
		}
		countDrops(&r, &v, ci.Drops)
		if e, ok := d.snmp.protoErr.Load(in); ok {
			r.ProtoErr = int(e.(*atomic.Int32).Load())
		}
		v.Routers = append(v.Routers, r)
	}
	for _, s := range view.sockets {
		drops := s.snapshot()
		sum, ver := drops[vrrp.DropChecksum.String()], drops[vrrp.DropVersion.String()]
		v.ChecksumErrors += sum
		v.V2ChecksumErrors += sum
		v.VersionErrors += ver
		v.V2VersionErrors += ver
		v.VRIDErrors += drops[vrrp.DropUnknownVRID.String()]
	}
	if st.ka != nil {
		v.KA = st.ka.view(st)
	}
	return v.Tree()
}

// countDrops maps govrrp's drop reasons onto the MIBs' error counters.
func countDrops(r *snmp.Router, v *snmp.View, drops map[string]uint64) {
	for reason, n := range drops {
		switch reason {
		case vrrp.DropIntervalMismatch.String(), vrrp.DropZeroInterval.String():
			r.IntervalErrors += n
		case vrrp.DropTTL.String():
			r.TTLErrors += n
		case vrrp.DropType.String():
			r.InvalidType += n
		case vrrp.DropLength.String(), vrrp.DropTooShort.String():
			r.LengthErrors += n
		case vrrp.DropAuthType.String(), vrrp.DropAuthUnsupported.String():
			r.AuthTypeMismatch += n
		case vrrp.DropChecksum.String():
			v.ChecksumErrors += n
			if r.Version == 2 {
				v.V2ChecksumErrors += n
			}
		case vrrp.DropVersion.String(), vrrp.DropVersionMismatch.String():
			v.VersionErrors += n
			if r.Version == 2 {
				v.V2VersionErrors += n
			}
		default:
			if reason == vrrp.DropAuthMismatch.String() || strings.HasPrefix(reason, "hmac_") {
				r.AuthFailures += n
			}
		}
	}
}

// snmpState3 maps govrrp's state names onto the MIBs' initialize(1),
// backup(2), master(3).
func snmpState3(s string) snmp.State {
	switch s {
	case "MASTER":
		return snmp.StateMaster
	case "BACKUP":
		return snmp.StateBackup
	}
	return snmp.StateInit // INIT, FAULT, RELEASING
}

// newMasterReason reads vrrpv3StatisticsNewMasterReason off the reason the
// machine gave for becoming master (internal/fsm's wording).
func newMasterReason(reason string) snmp.NewMasterReason {
	switch {
	case strings.Contains(reason, "preempting"):
		return snmp.ReasonPreempted
	case strings.Contains(reason, "address owner"):
		return snmp.ReasonPriority
	}
	return snmp.ReasonNoResponse
}

// snmpStateChanged sends keepalived's enable_traps notifications for an
// instance becoming master (vrrpTrapNewMaster, vrrpv3NewMaster). Loop
// only; Notify queues and never blocks.
func (d *Daemon) snmpStateChanged(in *instance, to fsm.State, reason string) {
	st := d.snmp.static.Load()
	if st != nil {
		d.kaStateChanged(st, in, to) // KEEPALIVED-MIB's traps (snmp_kamib.go)
	}
	if st == nil || st.agent == nil || !st.defs.Traps || to != fsm.Master {
		return
	}
	si := st.byInst[in]
	if si == nil {
		return
	}
	l := st.link(si.link)
	r := snmp.Router{IfIndex: l.index, VRID: si.vrid, IPv6: si.ipv6, Version: si.version, State: snmp.StateMaster,
		Primary: in.src, NewMaster: newMasterReason(reason)}
	for _, vbs := range snmp.NewMasterTraps(r, st.defs.RFCv2, st.defs.RFCv3) {
		st.agent.Notify(vbs) // a full queue is counted by the agent
	}
}

// snmpDrop records an advert's protocol error for ProtoErrReason and sends
// keepalived's enable_traps notifications for it: vrrpv3ProtoError (TTL,
// version, checksum) and, for a VRRPv2 instance, vrrpTrapAuthFailure.
// Called by the socket reader; lock-free, and Notify never blocks.
func (d *Daemon) snmpDrop(in *instance, reason vrrp.DropReason, src netip.Addr) {
	st := d.snmp.static.Load()
	if st == nil || st.agent == nil {
		return
	}
	si := st.byInst[in]
	if si == nil {
		return
	}
	code := protoErrCode(reason)
	if code != 0 {
		e, _ := d.snmp.protoErr.LoadOrStore(in, new(atomic.Int32))
		e.(*atomic.Int32).Store(int32(code))
	}
	if !st.defs.Traps {
		return
	}
	l := st.link(si.link)
	r := snmp.Router{IfIndex: l.index, VRID: si.vrid, IPv6: si.ipv6, Version: si.version, ProtoErr: code}
	var vbs []snmp.VarBind
	if code != 0 && st.defs.RFCv3 {
		vbs = snmp.ProtoErrorTrap(r)
	} else if auth := authErrType(reason); auth != 0 && st.defs.RFCv2 && si.version == 2 && !si.ipv6 {
		vbs = snmp.AuthFailureTrap(r, src, auth)
	}
	if vbs != nil {
		st.agent.Notify(vbs)
	}
}

// protoErrCode is RFC 6527's ProtoErrReason for a drop: ipTtlError(1),
// versionError(2), checksumError(3); 0 for the others.
func protoErrCode(r vrrp.DropReason) int {
	switch r {
	case vrrp.DropTTL:
		return 1
	case vrrp.DropVersion, vrrp.DropVersionMismatch:
		return 2
	case vrrp.DropChecksum:
		return 3
	}
	return 0
}

// authErrType is RFC 2787's vrrpTrapAuthErrorType: authTypeMismatch(2),
// authFailure(3); 0 when the drop is no authentication error.
func authErrType(r vrrp.DropReason) int {
	switch r {
	case vrrp.DropAuthType, vrrp.DropAuthUnsupported:
		return 2
	case vrrp.DropAuthMismatch:
		return 3
	}
	return 0
}
