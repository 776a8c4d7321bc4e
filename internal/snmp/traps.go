package snmp

import "net/netip"

// snmpTrapOID is snmpTrapOID.0, the first varbind of a notification after
// sysUpTime.0 (RFC 3416).
var snmpTrapOID = MustOID("1.3.6.1.6.3.1.1.4.1.0")

// Notifications keepalived 2.2.7 sends with enable_traps.
var (
	VRRPTrapNewMaster   = VRRPv2MIB.Append(0, 1) // vrrpTrapNewMaster
	VRRPv3NewMasterTrap = VRRPv3MIB.Append(0, 1) // vrrpv3NewMaster
	VRRPTrapAuthFailure = VRRPv2MIB.Append(0, 2) // vrrpTrapAuthFailure
	VRRPv3ProtoErrTrap  = VRRPv3MIB.Append(0, 2) // vrrpv3ProtoError
)

// NewMasterTraps are the notifications for r becoming master, in
// keepalived 2.2.7's order (seen with snmptrapd): vrrpTrapNewMaster with
// vrrpOperMasterIpAddr (our primary address) for a VRRPv2 IPv4 instance
// when VRRP-MIB is on, then vrrpv3NewMaster with
// vrrpv3OperationsMasterIpAddr and vrrpv3StatisticsNewMasterReason when
// VRRPV3-MIB is on. Each is a varbind list for Agent.Notify.
func NewMasterTraps(r Router, rfcv2, rfcv3 bool) [][]VarBind {
	var out [][]VarBind
	if rfcv2 && r.Version == 2 && !r.IPv6 {
		out = append(out, []VarBind{
			{Name: snmpTrapOID, Value: ObjectID(VRRPTrapNewMaster)},
			{Name: VRRPv2MIB.Append(1, 3, 1, 7, uint32(r.IfIndex), uint32(r.VRID)), Value: IPAddress(as4(r.Primary))},
		})
	}
	if rfcv3 {
		ix := r.v3Index()
		out = append(out, []VarBind{
			{Name: snmpTrapOID, Value: ObjectID(VRRPv3NewMasterTrap)},
			{Name: VRRPv3MIB.Append(1, 1, 1, 1, 3).Append(ix...), Value: Octets(r.addr(r.Primary))},
			{Name: VRRPv3MIB.Append(1, 2, 5, 1, 2).Append(ix...), Value: Integer(int64(r.NewMaster))},
		})
	}
	return out
}

// ProtoErrorTrap is vrrpv3ProtoError with vrrpv3StatisticsProtoErrReason
// (r.ProtoErr), as keepalived 2.2.7 sends it for an advert dropped for its
// TTL, version or checksum.
func ProtoErrorTrap(r Router) []VarBind {
	return []VarBind{
		{Name: snmpTrapOID, Value: ObjectID(VRRPv3ProtoErrTrap)},
		{Name: VRRPv3MIB.Append(1, 2, 5, 1, 6).Append(r.v3Index()...), Value: Integer(int64(r.ProtoErr))},
	}
}

// AuthFailureTrap is vrrpTrapAuthFailure with vrrpTrapPacketSrc and
// vrrpTrapAuthErrorType (invalidAuthType(1), authTypeMismatch(2),
// authFailure(3)), as keepalived 2.2.7 sends it for each VRRPv2 advert
// failing authentication.
func AuthFailureTrap(r Router, src netip.Addr, errType int) []VarBind {
	ix := []uint32{uint32(r.IfIndex), uint32(r.VRID)}
	return []VarBind{
		{Name: snmpTrapOID, Value: ObjectID(VRRPTrapAuthFailure)},
		{Name: VRRPv2MIB.Append(1, 5).Append(ix...), Value: IPAddress(as4(src))},
		{Name: VRRPv2MIB.Append(1, 6).Append(ix...), Value: Integer(int64(errType))},
	}
}
