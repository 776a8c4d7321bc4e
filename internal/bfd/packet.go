package bfd

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"
)

// RFC 5880 4.1 mandatory section: 24 bytes; with the A bit an
// authentication section of at least 2 more follows.
const (
	headerLen = 24
	version   = 1
	// Port is RFC 5881's single-hop control port.
	Port = 3784
)

// Flag bits of byte 1 (after the 2-bit state).
const (
	flagPoll       = 0x20
	flagFinal      = 0x10
	flagCPI        = 0x08
	flagAuth       = 0x04
	flagDemand     = 0x02
	flagMultipoint = 0x01
)

// Packet is one BFD Control packet (RFC 5880 4.1). Intervals are carried
// in microseconds on the wire and as time.Duration here.
type Packet struct {
	Version    uint8
	Diag       uint8 // 5 bits
	State      State
	Poll       bool
	Final      bool
	CPI        bool // Control Plane Independent
	Auth       bool
	Demand     bool
	Multipoint bool
	DetectMult uint8
	Length     uint8
	MyDisc     uint32
	YourDisc   uint32
	// DesiredMinTx, RequiredMinRx and RequiredMinEchoRx are in whole
	// microseconds (the wire's unit).
	DesiredMinTx, RequiredMinRx, RequiredMinEchoRx time.Duration
}

// DropError is why a received packet was discarded; Reason is the counter
// key ("bad-version", "short", ...).
type DropError struct{ Reason string }

func (e *DropError) Error() string { return "bfd: packet dropped: " + e.Reason }

func drop(reason string) error { return &DropError{Reason: reason} }

// Reason returns the drop reason of err, or "other".
func Reason(err error) string {
	var d *DropError
	if errors.As(err, &d) {
		return d.Reason
	}
	return "other"
}

// Append encodes p's mandatory section (24 bytes, no authentication) after
// b. Version and Length are always written as 1 and 24.
func (p *Packet) Append(b []byte) []byte {
	var f byte
	for _, x := range []struct {
		on  bool
		bit byte
	}{{p.Poll, flagPoll}, {p.Final, flagFinal}, {p.CPI, flagCPI}, {p.Demand, flagDemand}, {p.Multipoint, flagMultipoint}} {
		if x.on {
			f |= x.bit
		}
	}
	b = append(b, version<<5|p.Diag&0x1f, byte(p.State&3)<<6|f, p.DetectMult, headerLen)
	b = binary.BigEndian.AppendUint32(b, p.MyDisc)
	b = binary.BigEndian.AppendUint32(b, p.YourDisc)
	b = binary.BigEndian.AppendUint32(b, usec(p.DesiredMinTx))
	b = binary.BigEndian.AppendUint32(b, usec(p.RequiredMinRx))
	return binary.BigEndian.AppendUint32(b, usec(p.RequiredMinEchoRx))
}

// usec converts to the wire's microseconds, saturating.
func usec(d time.Duration) uint32 {
	u := d / time.Microsecond
	switch {
	case u < 0:
		return 0
	case u > 0xffffffff:
		return 0xffffffff
	}
	return uint32(u)
}

// Decode parses b and applies the session-independent reception checks of
// RFC 5880 6.8.6 (all before a session is selected). An error is a
// *DropError naming the check that failed.
func Decode(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 4 {
		return p, drop("short")
	}
	p.Version = b[0] >> 5
	if p.Version != version {
		return p, drop("bad-version")
	}
	p.Diag = b[0] & 0x1f
	p.State = State(b[1] >> 6)
	f := b[1]
	p.Poll, p.Final, p.CPI = f&flagPoll != 0, f&flagFinal != 0, f&flagCPI != 0
	p.Auth, p.Demand, p.Multipoint = f&flagAuth != 0, f&flagDemand != 0, f&flagMultipoint != 0
	p.DetectMult, p.Length = b[2], b[3]
	// "If the Length field is less than the minimum correct value (24 if
	// the A bit is clear, or 26 if the A bit is set), the packet MUST be
	// discarded." and "greater than the payload".
	minLen := headerLen
	if p.Auth {
		minLen += 2
	}
	if int(p.Length) < minLen {
		return p, drop("bad-length")
	}
	if int(p.Length) > len(b) {
		return p, drop("short")
	}
	p.MyDisc = binary.BigEndian.Uint32(b[4:])
	p.YourDisc = binary.BigEndian.Uint32(b[8:])
	p.DesiredMinTx = time.Duration(binary.BigEndian.Uint32(b[12:])) * time.Microsecond
	p.RequiredMinRx = time.Duration(binary.BigEndian.Uint32(b[16:])) * time.Microsecond
	p.RequiredMinEchoRx = time.Duration(binary.BigEndian.Uint32(b[20:])) * time.Microsecond
	switch {
	case p.DetectMult == 0:
		return p, drop("zero-mult")
	case p.Multipoint:
		return p, drop("multipoint")
	case p.MyDisc == 0:
		return p, drop("zero-my-disc")
	case p.YourDisc == 0 && p.State != Down && p.State != AdminDown:
		return p, drop("zero-your-disc")
	case p.Auth:
		// govrrp implements no BFD authentication (keepalived 2.2.7 has none
		// either): 6.8.6 "If the A bit is set and no authentication is in
		// use, the packet MUST be discarded."
		return p, drop("auth")
	}
	return p, nil
}

// peekYourDisc is the Your Discriminator of a packet too broken to decode,
// so its drop can still be counted against the session it names.
func peekYourDisc(b []byte) uint32 {
	if len(b) < 12 {
		return 0
	}
	return binary.BigEndian.Uint32(b[8:])
}

func (s State) String() string {
	switch s {
	case AdminDown:
		return "AdminDown"
	case Down:
		return "Down"
	case Init:
		return "Init"
	case Up:
		return "Up"
	}
	return "State(?)"
}

// DiagName names an RFC 5880 4.1 diagnostic code for logs and status
// ("diag N" for codes the RFC does not define).
func DiagName(d uint8) string {
	names := [...]string{"no diagnostic", "control detection time expired", "echo function failed",
		"neighbor signaled session down", "forwarding plane reset", "path down", "concatenated path down",
		"administratively down", "reverse concatenated path down"}
	if int(d) < len(names) {
		return names[d]
	}
	return "diag " + strconv.Itoa(int(d))
}
