package snmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// AgentX PDU types (RFC 2741 6.1).
const (
	pduOpen       = 1
	pduClose      = 2
	pduRegister   = 3
	pduUnregister = 4
	pduGet        = 5
	pduGetNext    = 6
	pduGetBulk    = 7
	pduTestSet    = 8
	pduCommitSet  = 9
	pduUndoSet    = 10
	pduCleanupSet = 11
	pduNotify     = 12
	pduPing       = 13
	pduResponse   = 18
)

// Header flags (RFC 2741 6.1).
const (
	flagNonDefaultContext = 0x08
	flagNetworkByteOrder  = 0x10
)

// Response errors (RFC 2741 6.2.16) and the SNMP errors a subagent returns.
const (
	errNone        = 0
	errNotWritable = 17
	errParse       = 266
	errProcessing  = 268
)

// Varbind types (RFC 2741 5.4).
const (
	TypeInteger     = 2
	TypeOctetString = 4
	TypeNull        = 5
	TypeOID         = 6
	TypeIPAddress   = 64
	TypeCounter32   = 65
	TypeGauge32     = 66
	TypeTimeTicks   = 67
	TypeCounter64   = 70
	typeNoSuchObj   = 128
	typeNoSuchInst  = 129
	typeEndOfView   = 130
)

// headerLen is the fixed AgentX header; maxPayload bounds what a peer may
// make us allocate (net-snmp's own PDUs stay far below it).
const (
	headerLen  = 20
	maxPayload = 1 << 20
	maxSubIDs  = 128 // RFC 2578: an OID has at most 128 sub-identifiers
)

// Decoding errors; every decode failure wraps errMalformed.
var (
	errMalformed = errors.New("snmp: malformed AgentX PDU")
	errShort     = fmt.Errorf("%w: truncated", errMalformed)
)

// OID is a numeric object identifier.
type OID []uint32

// ParseOID reads dotted decimal ("1.3.6.1.2.1.207", a leading dot allowed).
func ParseOID(s string) (OID, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ".")
	o := make(OID, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("snmp: OID %q: %w", s, err)
		}
		o = append(o, uint32(n))
	}
	return o, nil
}

// MustOID is ParseOID for constants.
func MustOID(s string) OID {
	o, err := ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

func (o OID) String() string {
	var b strings.Builder
	for i, n := range o {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	return b.String()
}

// Compare orders OIDs lexicographically, as SNMP walks them.
func (o OID) Compare(p OID) int { return slices.Compare(o, p) }

// HasPrefix reports whether p is o or an ancestor of o.
func (o OID) HasPrefix(p OID) bool { return len(o) >= len(p) && slices.Equal(o[:len(p)], p) }

// Append returns o followed by sub, in a new slice.
func (o OID) Append(sub ...uint32) OID { return append(slices.Clip(o), sub...) }

// Value is one varbind's value: Type and the field that type uses.
type Value struct {
	Type  uint16
	Int   int64  // Integer (signed 32), Counter32, Gauge32, TimeTicks, Counter64
	Bytes []byte // OctetString, IPAddress (4 bytes)
	OID   OID    // OID
}

// VarBind is a name and its value.
type VarBind struct {
	Name  OID
	Value Value
}

// Convenience constructors for MIB code.
func Integer(v int64) Value     { return Value{Type: TypeInteger, Int: v} }
func Gauge32(v uint32) Value    { return Value{Type: TypeGauge32, Int: int64(v)} }
func Counter32(v uint64) Value  { return Value{Type: TypeCounter32, Int: int64(uint32(v))} }
func Counter64(v uint64) Value  { return Value{Type: TypeCounter64, Int: int64(v)} }
func TimeTicks(v uint32) Value  { return Value{Type: TypeTimeTicks, Int: int64(v)} }
func Octets(b []byte) Value     { return Value{Type: TypeOctetString, Bytes: b} }
func String(s string) Value     { return Value{Type: TypeOctetString, Bytes: []byte(s)} }
func IPAddress(b [4]byte) Value { return Value{Type: TypeIPAddress, Bytes: b[:]} }
func ObjectID(o OID) Value      { return Value{Type: TypeOID, OID: o} }

// header is the fixed part of every PDU.
type header struct {
	Type       uint8
	Flags      uint8
	SessionID  uint32
	TransID    uint32
	PacketID   uint32
	PayloadLen uint32
	order      binary.ByteOrder
}

// searchRange is one requested range (RFC 2741 5.2).
type searchRange struct {
	Start   OID
	Include bool
	End     OID
}

// pdu is a decoded PDU: the fields the subagent acts on.
type pdu struct {
	header
	Context  []byte
	Ranges   []searchRange // Get, GetNext, GetBulk
	NonRep   uint16        // GetBulk
	MaxRep   uint16        // GetBulk
	VarBinds []VarBind     // Response (when decoded), TestSet
	Error    uint16        // Response
	Index    uint16        // Response
	Reason   uint8         // Close
}

// decodeHeader reads the 20-byte header; payload length is checked against
// maxPayload so a hostile length cannot make the reader allocate.
func decodeHeader(b []byte) (header, error) {
	if len(b) < headerLen {
		return header{}, errShort
	}
	if b[0] != 1 {
		return header{}, fmt.Errorf("%w: version %d", errMalformed, b[0])
	}
	h := header{Type: b[1], Flags: b[2], order: binary.LittleEndian}
	if h.Flags&flagNetworkByteOrder != 0 {
		h.order = binary.BigEndian
	}
	h.SessionID = h.order.Uint32(b[4:])
	h.TransID = h.order.Uint32(b[8:])
	h.PacketID = h.order.Uint32(b[12:])
	h.PayloadLen = h.order.Uint32(b[16:])
	if h.PayloadLen > maxPayload || h.PayloadLen%4 != 0 {
		return header{}, fmt.Errorf("%w: payload length %d", errMalformed, h.PayloadLen)
	}
	return h, nil
}

// reader walks a payload; the first error sticks and later reads return
// zero values, so decoders check err once at the end.
type reader struct {
	b     []byte
	order binary.ByteOrder
	err   error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = errShort
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) u8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return r.order.Uint16(b)
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return r.order.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return r.order.Uint64(b)
}

// oid reads an Object Identifier (RFC 2741 5.1) and its include byte.
func (r *reader) oid() (OID, bool) {
	n, prefix, include := r.u8(), r.u8(), r.u8()
	r.take(1)
	if r.err != nil {
		return nil, false
	}
	if n > maxSubIDs {
		r.err = fmt.Errorf("%w: %d sub-identifiers", errMalformed, n)
		return nil, false
	}
	var o OID
	if prefix != 0 {
		o = OID{1, 3, 6, 1, uint32(prefix)}
	}
	if n == 0 && prefix == 0 {
		return nil, include != 0 // the null OID
	}
	for range n {
		o = append(o, r.u32())
	}
	return o, include != 0
}

// octets reads an Octet String (RFC 2741 5.3), padded to 4 bytes.
func (r *reader) octets() []byte {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if n > uint32(len(r.b)) {
		r.err = errShort
		return nil
	}
	s := slices.Clone(r.take(int(n)))
	r.take(int((4 - n%4) % 4))
	return s
}

func (r *reader) varbind() VarBind {
	t := r.u16()
	r.take(2)
	name, _ := r.oid()
	v := Value{Type: t}
	switch t {
	case TypeInteger:
		v.Int = int64(int32(r.u32()))
	case TypeCounter32, TypeGauge32, TypeTimeTicks:
		v.Int = int64(r.u32())
	case TypeCounter64:
		v.Int = int64(r.u64())
	case TypeOctetString, TypeIPAddress, 68: // 68: Opaque
		v.Bytes = r.octets()
	case TypeOID:
		v.OID, _ = r.oid()
	case TypeNull, typeNoSuchObj, typeNoSuchInst, typeEndOfView:
	default:
		if r.err == nil {
			r.err = fmt.Errorf("%w: varbind type %d", errMalformed, t)
		}
	}
	return VarBind{Name: name, Value: v}
}

// decodePDU decodes one whole PDU (header and payload). Unknown types keep
// only their header, so the session can answer them.
func decodePDU(b []byte) (*pdu, error) {
	h, err := decodeHeader(b)
	if err != nil {
		return nil, err
	}
	if uint32(len(b)-headerLen) < h.PayloadLen {
		return nil, errShort
	}
	p := &pdu{header: h}
	r := &reader{b: b[headerLen : headerLen+int(h.PayloadLen)], order: h.order}
	if h.Flags&flagNonDefaultContext != 0 && hasContext(h.Type) {
		p.Context = r.octets()
	}
	switch h.Type {
	case pduGet, pduGetNext:
		p.Ranges = r.ranges()
	case pduGetBulk:
		p.NonRep, p.MaxRep = r.u16(), r.u16()
		p.Ranges = r.ranges()
	case pduTestSet, pduNotify:
		for len(r.b) > 0 && r.err == nil {
			p.VarBinds = append(p.VarBinds, r.varbind())
		}
	case pduResponse:
		r.u32() // sysUpTime
		p.Error, p.Index = r.u16(), r.u16()
		for len(r.b) > 0 && r.err == nil {
			p.VarBinds = append(p.VarBinds, r.varbind())
		}
	case pduClose:
		p.Reason = r.u8()
		r.take(3)
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// hasContext: the PDU types that carry a context when flagged (RFC 2741 6.1.1).
func hasContext(t uint8) bool {
	switch t {
	case pduRegister, pduUnregister, pduGet, pduGetNext, pduGetBulk, pduTestSet,
		pduNotify, pduPing, 14, 15, 16, 17:
		return true
	}
	return false
}

func (r *reader) ranges() []searchRange {
	var rs []searchRange
	for len(r.b) > 0 && r.err == nil {
		start, inc := r.oid()
		end, _ := r.oid()
		rs = append(rs, searchRange{Start: start, Include: inc, End: end})
		if len(rs) > 1024 {
			r.err = fmt.Errorf("%w: too many search ranges", errMalformed)
		}
	}
	return rs
}

// writer builds a payload in network byte order (the subagent always sets
// NETWORK_BYTE_ORDER in what it sends).
type writer struct{ b []byte }

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }

// oid writes o, using the 1.3.6.1.X prefix compression when it applies.
func (w *writer) oid(o OID, include bool) {
	inc := uint8(0)
	if include {
		inc = 1
	}
	var prefix uint8
	if len(o) >= 5 && o[0] == 1 && o[1] == 3 && o[2] == 6 && o[3] == 1 && o[4] > 0 && o[4] < 256 {
		prefix = uint8(o[4])
		o = o[5:]
	}
	w.u8(uint8(len(o)))
	w.u8(prefix)
	w.u8(inc)
	w.u8(0)
	for _, n := range o {
		w.u32(n)
	}
}

func (w *writer) octets(b []byte) {
	w.u32(uint32(len(b)))
	w.b = append(w.b, b...)
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *writer) varbind(vb VarBind) {
	w.u16(vb.Value.Type)
	w.u16(0)
	w.oid(vb.Name, false)
	switch vb.Value.Type {
	case TypeInteger, TypeCounter32, TypeGauge32, TypeTimeTicks:
		w.u32(uint32(vb.Value.Int))
	case TypeCounter64:
		w.u64(uint64(vb.Value.Int))
	case TypeOctetString, TypeIPAddress, 68:
		w.octets(vb.Value.Bytes)
	case TypeOID:
		w.oid(vb.Value.OID, false)
	}
}

// frame prepends the header to payload.
func frame(h header, payload []byte) []byte {
	b := make([]byte, headerLen, headerLen+len(payload))
	b[0] = 1
	b[1] = h.Type
	b[2] = h.Flags | flagNetworkByteOrder
	binary.BigEndian.PutUint32(b[4:], h.SessionID)
	binary.BigEndian.PutUint32(b[8:], h.TransID)
	binary.BigEndian.PutUint32(b[12:], h.PacketID)
	binary.BigEndian.PutUint32(b[16:], uint32(len(payload)))
	return append(b, payload...)
}

// encodeOpen: timeout, the subagent's identity and description (6.2.1).
func encodeOpen(packetID uint32, timeout uint8, id OID, descr string) []byte {
	w := &writer{}
	w.u8(timeout)
	w.u8(0)
	w.u8(0)
	w.u8(0)
	w.oid(id, false)
	w.octets([]byte(descr))
	return frame(header{Type: pduOpen, PacketID: packetID}, w.b)
}

// encodeRegister registers subtree at priority (6.2.3); lower is preferred.
func encodeRegister(session, packetID uint32, subtree OID, priority uint8) []byte {
	w := &writer{}
	w.u8(0) // timeout: the session's
	w.u8(priority)
	w.u8(0) // range_subid
	w.u8(0)
	w.oid(subtree, false)
	return frame(header{Type: pduRegister, SessionID: session, PacketID: packetID}, w.b)
}

// encodeClose ends the session (6.2.2); reason 5 is shutdown.
func encodeClose(session, packetID uint32, reason uint8) []byte {
	w := &writer{}
	w.u8(reason)
	w.u8(0)
	w.u8(0)
	w.u8(0)
	return frame(header{Type: pduClose, SessionID: session, PacketID: packetID}, w.b)
}

// encodeNotify sends vbs (sysUpTime.0 and snmpTrapOID.0 first) (6.2.10).
func encodeNotify(session, packetID uint32, vbs []VarBind) []byte {
	w := &writer{}
	for _, vb := range vbs {
		w.varbind(vb)
	}
	return frame(header{Type: pduNotify, SessionID: session, PacketID: packetID}, w.b)
}

// encodeResponse answers req (6.2.16).
func encodeResponse(req header, upTime uint32, errStatus, errIndex uint16, vbs []VarBind) []byte {
	w := &writer{}
	w.u32(upTime)
	w.u16(errStatus)
	w.u16(errIndex)
	for _, vb := range vbs {
		w.varbind(vb)
	}
	return frame(header{Type: pduResponse, SessionID: req.SessionID, TransID: req.TransID, PacketID: req.PacketID}, w.b)
}

// encodeRequest builds a Get/GetNext/GetBulk as a master would; the tests'
// fake master and the fuzz seeds use it.
func encodeRequest(typ uint8, session, packetID uint32, nonRep, maxRep uint16, rs []searchRange) []byte {
	w := &writer{}
	if typ == pduGetBulk {
		w.u16(nonRep)
		w.u16(maxRep)
	}
	for _, r := range rs {
		w.oid(r.Start, r.Include)
		w.oid(r.End, false)
	}
	return frame(header{Type: typ, SessionID: session, PacketID: packetID}, w.b)
}
