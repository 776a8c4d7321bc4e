package vrrp

// keepalived 2.4's auth_hmac (draft-cassen-vrrp-auth-hmac-00): a 28-byte
// trailer after the VRRP message,
//
//	0: ext type (1)  1: key id  2-3: reserved (0)
//	4-7: seconds (Unix, 32 bits)  8-9: 1/65536 s fraction  10-11: counter
//	12-27: HMAC-SHA256 truncated to its first 16 bytes
//
// The HMAC covers a 20-byte pseudo-header (family 4|6, VRRP version, VRID, a
// zero byte, the IP source zero padded to 16 bytes), then the VRRP message
// with its checksum field zero, then the trailer with the HMAC field zero.
// The IP header stays out. The checksum is computed after signing: over the
// message only for IPv4 (as before), over message and trailer for IPv6 (the
// kernel's IPV6_CHECKSUM, which keepalived uses, covers the whole payload).
// Every fact here was checked against keepalived 2.4.3's captures in
// testdata/auth-hmac.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"time"
)

// HMACTrailerLen is the size of the auth_hmac trailer on the wire.
const HMACTrailerLen = 28

// HMAC key sizes keepalived 2.4 accepts (32 keeps a 128-bit margin).
const (
	MinHMACKeyLen = 32
	MaxHMACKeyLen = 64
)

const (
	hmacExtType   = 1
	hmacTagLen    = 16
	hmacTagOff    = 12 // offset of the HMAC in the trailer
	hmacPseudoLen = 20
	sha256Block   = 64
	// replaySenders bounds the per-sender anti-replay table: a flood of
	// verified senders (all holding the key) cannot grow memory.
	replaySenders = 32
)

var zeroTag [hmacTagLen]byte

// HMACMode says what a receiver does with unsigned and badly signed adverts.
type HMACMode uint8

const (
	// HMACEnforce (keepalived's default): sign; drop unsigned and bad adverts.
	HMACEnforce HMACMode = iota
	// HMACPermissive (keepalived 2.4): sign; accept unsigned adverts (counted),
	// drop adverts whose trailer does not verify.
	HMACPermissive
	// HMACReceiveOnly (govrrp only): send unsigned; verify and count every
	// trailer but accept every advert. The first step of a migration.
	HMACReceiveOnly
)

func (m HMACMode) String() string {
	switch m {
	case HMACEnforce:
		return "enforce"
	case HMACPermissive:
		return "permissive"
	case HMACReceiveOnly:
		return "receive-only"
	}
	return fmt.Sprintf("hmac_mode(%d)", uint8(m))
}

// AntiReplay selects how a receiver judges freshness.
type AntiReplay uint8

const (
	// ReplayTime: the trailer's seconds within ±window of our clock, and
	// each sender's sequence strictly growing (keepalived's default).
	ReplayTime AntiReplay = iota
	// ReplayMonotonic: only strict growth per sender; no clock agreement.
	ReplayMonotonic
)

func (r AntiReplay) String() string {
	if r == ReplayMonotonic {
		return "monotonic"
	}
	return "time"
}

// HMACKey is one configured key.
type HMACKey struct {
	ID     uint8
	Secret []byte
}

// ErrHMACConfig wraps every NewHMACConfig error.
var ErrHMACConfig = errors.New("vrrp: invalid auth_hmac configuration")

// HMACConfig is an instance's immutable auth_hmac setting: the key ring, the
// sending key, the mode and the replay policy. Safe for concurrent use.
type HMACConfig struct {
	keys   []hmacKey
	active int // index into keys; -1 when nothing is sent signed
	Mode   HMACMode
	Replay AntiReplay
	// Window is the freshness window in whole seconds (ReplayTime only).
	Window int
}

// hmacKey keeps the HMAC pads precomputed, so signing and verifying are two
// SHA-256 passes with no key schedule and no allocation.
type hmacKey struct {
	id         uint8
	ipad, opad [sha256Block]byte
}

// NewHMACConfig checks and builds a key ring. active is the key id used to
// sign (0: none, allowed only in HMACReceiveOnly). window is whole seconds,
// 1..300, used with ReplayTime.
func NewHMACConfig(keys []HMACKey, active uint8, mode HMACMode, replay AntiReplay, window int) (*HMACConfig, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrHMACConfig)
	}
	if mode > HMACReceiveOnly || replay > ReplayMonotonic {
		return nil, fmt.Errorf("%w: mode %d / anti_replay %d", ErrHMACConfig, mode, replay)
	}
	if replay == ReplayTime && (window < 1 || window > 300) {
		return nil, fmt.Errorf("%w: time_window %d is not 1..300 seconds", ErrHMACConfig, window)
	}
	c := &HMACConfig{active: -1, Mode: mode, Replay: replay, Window: window}
	for _, k := range keys {
		if k.ID == 0 {
			return nil, fmt.Errorf("%w: key id 0 (ids are 1..255)", ErrHMACConfig)
		}
		if len(k.Secret) < MinHMACKeyLen || len(k.Secret) > MaxHMACKeyLen {
			return nil, fmt.Errorf("%w: key %d is %d bytes, want %d..%d", ErrHMACConfig, k.ID, len(k.Secret), MinHMACKeyLen, MaxHMACKeyLen)
		}
		if c.find(k.ID) != nil {
			return nil, fmt.Errorf("%w: key %d defined twice", ErrHMACConfig, k.ID)
		}
		c.keys = append(c.keys, newHMACKey(k))
		if k.ID == active {
			c.active = len(c.keys) - 1
		}
	}
	if active != 0 && c.active < 0 {
		return nil, fmt.Errorf("%w: active_key %d is not a defined key", ErrHMACConfig, active)
	}
	if active == 0 && mode != HMACReceiveOnly {
		return nil, fmt.Errorf("%w: active_key is required in mode %v", ErrHMACConfig, mode)
	}
	return c, nil
}

func newHMACKey(k HMACKey) hmacKey {
	hk := hmacKey{id: k.ID}
	// Keys are at most 64 bytes, the SHA-256 block: RFC 2104 pads them with
	// zeros and never needs to hash them first.
	copy(hk.ipad[:], k.Secret)
	copy(hk.opad[:], k.Secret)
	for i := range hk.ipad {
		hk.ipad[i] ^= 0x36
		hk.opad[i] ^= 0x5c
	}
	return hk
}

func (c *HMACConfig) find(id uint8) *hmacKey {
	for i := range c.keys {
		if c.keys[i].id == id {
			return &c.keys[i]
		}
	}
	return nil
}

// Signs reports whether adverts are sent with a trailer (not receive-only).
func (c *HMACConfig) Signs() bool { return c != nil && c.Mode != HMACReceiveOnly && c.active >= 0 }

// ActiveKey is the id adverts are signed with (0: none).
func (c *HMACConfig) ActiveKey() uint8 {
	if c == nil || c.active < 0 {
		return 0
	}
	return c.keys[c.active].id
}

// ClockSequence is the 64-bit sequence a clock reading gives: Unix seconds
// (32 bits), a 1/65536 s fraction (16 bits), a zero counter (16 bits).
func ClockSequence(t time.Time) uint64 {
	frac := uint64(t.Nanosecond()) << 16 / uint64(time.Second)
	return uint64(uint32(t.Unix()))<<32 | frac<<16
}

// seqAfter is RFC 1982 serial-number order, so the field wrap is harmless.
func seqAfter(a, b uint64) bool { return int64(a-b) > 0 }

// macState is the scratch of one HMAC computation: owned by one goroutine.
type macState struct {
	h      hash.Hash
	inner  [sha256.Size]byte
	out    [sha256.Size]byte
	pseudo [hmacPseudoLen]byte
}

func (s *macState) setPseudo(fam Family, v Version, vrid uint8, src netip.Addr) {
	s.pseudo = [hmacPseudoLen]byte{}
	s.pseudo[0], s.pseudo[1], s.pseudo[2] = byte(fam), byte(v), vrid
	if src.Is4() {
		a := src.As4()
		copy(s.pseudo[4:], a[:])
	} else if src.Is6() {
		a := src.As16()
		copy(s.pseudo[4:], a[:])
	}
}

// tag computes the truncated HMAC over pseudo || msg (checksum as zero) ||
// trailer head (12 bytes) || 16 zero bytes, into s.out[:16].
func (s *macState) tag(k *hmacKey, msg, head []byte) []byte {
	if s.h == nil {
		s.h = sha256.New()
	}
	h := s.h
	h.Reset()
	h.Write(k.ipad[:])
	h.Write(s.pseudo[:])
	h.Write(msg[:6])
	h.Write(zeroTag[:2])
	h.Write(msg[8:])
	h.Write(head[:hmacTagOff])
	h.Write(zeroTag[:])
	inner := h.Sum(s.inner[:0])
	h.Reset()
	h.Write(k.opad[:])
	h.Write(inner)
	return h.Sum(s.out[:0])[:hmacTagLen]
}

// HMACSigner is one instance's sending side. Keep it across reloads so the
// sequence never goes back; not safe for concurrent use.
type HMACSigner struct {
	last uint64
	mac  macState
}

// next is the larger of the clock's sequence and the last one plus one.
func (s *HMACSigner) next(now time.Time) uint64 {
	if c := ClockSequence(now); seqAfter(c, s.last) {
		s.last = c
	} else {
		s.last++
	}
	return s.last
}

// AppendMarshalSigned is AppendMarshal with the auth_hmac trailer, signed
// with c's active key at now. o.Src must be the packet's source address: it
// is bound into the HMAC. Without a signing key it is AppendMarshal.
func (a *Advert) AppendMarshalSigned(dst []byte, o MarshalOptions, c *HMACConfig, s *HMACSigner, now time.Time) ([]byte, error) {
	if !c.Signs() {
		return a.AppendMarshal(dst, o)
	}
	if !o.Src.IsValid() {
		return dst, fmt.Errorf("%w: a signed advert needs its source address", ErrInvalid)
	}
	start := len(dst)
	out, err := a.AppendMarshal(dst, o)
	if err != nil {
		return dst, err
	}
	fam, _ := a.checkMarshal(&o)
	k := &c.keys[c.active]
	seq := s.next(now)
	out = append(out, hmacExtType, k.id, 0, 0)
	out = binary.BigEndian.AppendUint64(out, seq)
	out = append(out, zeroTag[:]...)
	pkt := out[start:]
	msg, tr := pkt[:len(pkt)-HMACTrailerLen], pkt[len(pkt)-HMACTrailerLen:]
	msg[6], msg[7] = 0, 0
	s.mac.setPseudo(fam, a.Version, a.VRID, o.Src)
	copy(tr[hmacTagOff:], s.mac.tag(k, msg, tr))
	covered := msg
	if fam == IPv6 {
		covered = pkt
	}
	binary.BigEndian.PutUint16(msg[6:8], checksum(covered, a.Version, fam, o.Src, o.Dst, o.Checksum))
	return out, nil
}

// HMACVerifier is one instance's receiving side: the per-sender anti-replay
// table and the HMAC scratch. Keep it across reloads (the table is what
// stops a replay right after one); used by one goroutine at a time.
type HMACVerifier struct {
	mac     macState
	senders [replaySenders]replaySlot
	clock   uint64 // LRU rank source
}

type replaySlot struct {
	addr netip.Addr
	seq  uint64
	used uint64 // LRU rank; 0 = empty
}

// NewHMACVerifier returns an empty verifier.
func NewHMACVerifier() *HMACVerifier { return new(HMACVerifier) }

// HMACCheck is what Verify found beyond pass/fail.
type HMACCheck struct {
	// Skew is our clock minus the trailer's seconds (ReplayTime only).
	Skew time.Duration
}

// Verify checks trailer tr of message msg (a structurally valid VRRP
// message) received from src at now. The order is keepalived's:
// malformed → stale (before the costly HMAC, so a replayed capture flood
// costs no digest) → unknown key → invalid HMAC → replay; the replay high
// water mark moves only after the HMAC verified.
func (v *HMACVerifier) Verify(c *HMACConfig, msg, tr []byte, fam Family, src netip.Addr, now time.Time) (HMACCheck, DropReason) {
	var chk HMACCheck
	if len(tr) != HMACTrailerLen || len(msg) < headerLen {
		return chk, DropHMACMalformed
	}
	if tr[0] != hmacExtType || tr[2] != 0 || tr[3] != 0 {
		return chk, DropHMACMalformed
	}
	sec := binary.BigEndian.Uint32(tr[4:8])
	seq := binary.BigEndian.Uint64(tr[4:12])
	if c.Replay == ReplayTime {
		delta := int32(uint32(now.Unix()) - sec)
		chk.Skew = time.Duration(delta) * time.Second
		if delta > int32(c.Window) || delta < -int32(c.Window) {
			return chk, DropHMACStale
		}
	}
	k := c.find(tr[1])
	if k == nil {
		return chk, DropHMACUnknownKey
	}
	v.mac.setPseudo(fam, Version(msg[0]>>4), msg[1], src.WithZone(""))
	if subtle.ConstantTimeCompare(v.mac.tag(k, msg, tr), tr[hmacTagOff:]) != 1 {
		return chk, DropHMACInvalid
	}
	if !v.replayOK(src.WithZone(""), seq) {
		return chk, DropHMACReplay
	}
	return chk, DropNone
}

// replayOK accepts a strictly growing sequence per sender and raises its
// mark; a new sender takes the least recently used slot.
func (v *HMACVerifier) replayOK(src netip.Addr, seq uint64) bool {
	v.clock++
	victim := &v.senders[0]
	for i := range v.senders {
		s := &v.senders[i]
		if s.used != 0 && s.addr == src {
			if !seqAfter(seq, s.seq) {
				return false
			}
			s.seq, s.used = seq, v.clock
			return true
		}
		if s.used < victim.used {
			victim = s
		}
	}
	*victim = replaySlot{addr: src, seq: seq, used: v.clock}
	return true
}

// splitTrailer returns the message and, when c is set and b is exactly a
// message plus a trailer, the trailer. It judges the length only.
func splitTrailer(b []byte, fam Family, c *HMACConfig) (msg, tr []byte) {
	if c == nil || len(b) < headerLen {
		return b, nil
	}
	v := Version(b[0] >> 4)
	if v != V2 && v != V3 {
		return b, nil
	}
	if n := messageLen(v, fam, int(b[3])); len(b) == n+HMACTrailerLen {
		return b[:n], b[n:]
	}
	return b, nil
}

// checkHMAC applies inst's auth_hmac mode to a decoded advert: it returns
// the drop reason, or DropNone with res's HMAC fields set.
func checkHMAC(inst *InstanceParams, msg, tr []byte, m RecvMeta, res *Result) DropReason {
	c := inst.HMAC
	if tr == nil {
		res.Warnings |= WarnHMACUnsigned
		if c.Mode == HMACEnforce {
			return DropHMACMissing
		}
		return DropNone
	}
	v := inst.HMACState
	if v == nil {
		v = NewHMACVerifier() // misuse: verifies, but remembers nothing
	}
	now := m.Time
	if now.IsZero() {
		now = time.Now()
	}
	chk, r := v.Verify(c, msg, tr, m.Family, m.Src, now)
	if r == DropNone {
		res.HMACVerified = true
		if w := time.Duration(c.Window) * time.Second; c.Replay == ReplayTime && 2*chk.Skew.Abs() > w {
			res.Warnings |= WarnHMACSkew // the early sign of clock drift, before adverts go stale
		}
		return DropNone
	}
	if c.Mode == HMACReceiveOnly {
		res.Warnings |= WarnHMACUnverified
		res.HMACFailure = r
		return DropNone
	}
	return r
}
