package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// DropReason says why Validate refused an advert. Validate runs its checks in
// the order of the constants below and reports the first that fails, so each
// packet has exactly one reason. String() is a stable snake_case metric label.
type DropReason uint8

const (
	DropNone DropReason = iota
	// DropTTL: TTL/hop limit is not 255 and the instance checks it (multicast).
	// Checked first because an off-link packet deserves no further work; it
	// needs the VRID (byte 1) to find the instance, so unknown VRIDs skip it.
	DropTTL
	DropTooShort // shorter than the 8-byte header (or than 2 bytes)
	DropVersion  // version is neither 2 nor 3
	DropType     // type is not 1 (advertisement)
	DropLength   // length is not header + count*addrlen (+8 auth for v2)
	DropChecksum // no accepted checksum form matches
	DropUnknownVRID
	DropFamily          // v2 over IPv6, or RecvMeta.Family unknown (the latter reported first)
	DropVersionMismatch // packet version differs from the instance's
	DropAuthType        // v2: auth type differs from the instance's
	DropAuthUnsupported // v2: both sides use AH, which is recognised but not implemented
	DropAuthMismatch    // v2 PASS: the 8 bytes differ
	// auth_hmac (keepalived 2.4), in keepalived's check order.
	DropHMACMissing    // no trailer and the mode is enforce
	DropHMACMalformed  // trailer ext type or reserved bytes wrong
	DropHMACStale      // trailer time outside ±time_window (anti_replay time)
	DropHMACUnknownKey // trailer key id is not configured
	DropHMACInvalid    // the HMAC does not verify (wrong key, altered packet)
	DropHMACReplay     // sequence not newer than the sender's last verified one
	DropIntervalMismatch
	DropZeroInterval  // v3 Max Adver Int 0 (RFC 9568 erratum 8301)
	DropOwnerReceived // we own the addresses and ignore adverts (owner_ignore_adverts)
	DropNotLinkLocal  // v6 source not link-local and the instance is strict
	numDropReasons
)

var dropLabels = [numDropReasons]string{
	DropNone:             "none",
	DropTTL:              "ttl",
	DropTooShort:         "too_short",
	DropVersion:          "version",
	DropType:             "type",
	DropLength:           "length",
	DropChecksum:         "checksum",
	DropUnknownVRID:      "unknown_vrid",
	DropFamily:           "family",
	DropVersionMismatch:  "version_mismatch",
	DropAuthType:         "auth_type",
	DropAuthUnsupported:  "auth_ah_unsupported",
	DropAuthMismatch:     "auth_mismatch",
	DropHMACMissing:      "hmac_missing",
	DropHMACMalformed:    "hmac_malformed",
	DropHMACStale:        "hmac_stale",
	DropHMACUnknownKey:   "hmac_unknown_key",
	DropHMACInvalid:      "hmac_invalid",
	DropHMACReplay:       "hmac_replay",
	DropIntervalMismatch: "interval_mismatch",
	DropZeroInterval:     "zero_interval",
	DropOwnerReceived:    "owner_received",
	DropNotLinkLocal:     "src_not_link_local",
}

func (r DropReason) String() string {
	if r < numDropReasons {
		return dropLabels[r]
	}
	return fmt.Sprintf("drop_reason_%d", uint8(r))
}

// AllDropReasons returns every reason except DropNone, in check order, for
// pre-registering metric labels.
func AllDropReasons() []DropReason {
	rs := make([]DropReason, 0, numDropReasons-1)
	for r := DropNone + 1; r < numDropReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Warning is a bit set of things worth logging about an accepted advert.
type Warning uint8

const (
	// WarnNotLinkLocal: IPv6 source is not link-local (RFC 5798 section 5.1.2.1).
	WarnNotLinkLocal Warning = 1 << iota
	// WarnIntervalMismatch: v3 interval differs from ours; log it and learn
	// Master_Adver_Interval from the advert.
	WarnIntervalMismatch
	// WarnAddrCount: the advert lists no addresses (RFC: count is at least 1).
	WarnAddrCount
	// WarnFirstAddrNotLinkLocal: v3 IPv6 first address is not link-local
	// (RFC 5798 section 5.2.9 wants the link-local VIP first; keepalived
	// does not enforce it). Never a drop, even when strict.
	WarnFirstAddrNotLinkLocal
	// WarnAddrMismatch: the advert's addresses differ from
	// InstanceParams.Addrs (keepalived logs this and keeps going).
	WarnAddrMismatch
	// WarnHMACUnsigned: auth_hmac configured, advert without a trailer,
	// accepted (permissive, receive-only).
	WarnHMACUnsigned
	// WarnHMACUnverified: receive-only accepted an advert whose trailer
	// failed (Result.HMACFailure says why).
	WarnHMACUnverified
	// WarnHMACSkew: a verified trailer's time is more than half the
	// time_window away from our clock (fix NTP before adverts go stale).
	WarnHMACSkew
)

var warnLabels = [...]string{"src_not_link_local", "interval_mismatch", "addr_count", "first_addr_not_link_local", "addr_mismatch",
	"hmac_unsigned", "hmac_unverified", "hmac_clock_skew"}

// Has reports whether all bits of x are set in w.
func (w Warning) Has(x Warning) bool { return w&x == x }

// String lists the set bits' labels joined by "|" ("" when none).
func (w Warning) String() string {
	s := ""
	for i, l := range warnLabels {
		if w&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += l
		}
	}
	return s
}

// RecvMeta is what the socket knows about a received packet.
type RecvMeta struct {
	Family   Family
	Src, Dst netip.Addr
	TTL      int // TTL or hop limit from the control message; -1 unknown (not checked)
	// Time is when the packet arrived, for auth_hmac freshness; zero means
	// time.Now().
	Time time.Time
}

// InstanceParams is the configuration Validate checks an advert against.
type InstanceParams struct {
	Version  Version
	AdverInt time.Duration
	AuthType AuthType // v2 only
	AuthData [8]byte  // v2 only
	// CheckTTL is true in multicast mode; keepalived skips it for unicast.
	CheckTTL             bool
	Owner                bool // priority 255: we own the addresses
	IgnoreAdvertsAsOwner bool // keepalived owner_ignore_adverts
	// StrictLinkLocal drops (rather than only flags) v6 adverts whose
	// source is not link-local.
	StrictLinkLocal bool
	// Addrs are the configured VIPs of this family; when non-nil an advert
	// listing a different set gets WarnAddrMismatch. Order does not matter.
	Addrs []netip.Addr
	// HMAC, when set, is the instance's auth_hmac: adverts may (or, in
	// enforce mode, must) carry a trailer, verified with HMACState.
	HMAC *HMACConfig
	// OldChecksum is old_unicast_checksum's policy (oldchecksum.go).
	OldChecksum OldChecksumPolicy
	// HMACState is the instance's anti-replay memory; it is mutated, so one
	// goroutine validates for an instance at a time. Keep it across reloads.
	HMACState *HMACVerifier
}

// Lookup finds the instance configured for a VRID on the receiving socket.
type Lookup interface {
	LookupVRID(vrid uint8) (*InstanceParams, bool)
}

// Result describes an accepted advert.
type Result struct {
	Checksum ChecksumMode // which form verified
	Warnings Warning
	// HMACVerified: the advert carried a trailer that verified.
	HMACVerified bool
	// HMACFailure is why a receive-only instance would have dropped it.
	HMACFailure DropReason
}

// Validate checks a received VRRP message b against the socket metadata and
// the instance l finds for its VRID, decoding it into out. It returns the
// first failing check, or DropNone with out filled in. The order is:
//
//	family of m (caller error) → ttl (needs the VRID byte and a known instance)
//	→ too_short → version → type → length → checksum (both v3 IPv4 forms)
//	→ unknown_vrid → family (v2 over IPv6) → version_mismatch → auth_type
//	→ auth_ah_unsupported → auth_mismatch → hmac_* (auth_hmac instances:
//	missing, malformed, stale, unknown_key, invalid, replay) → interval_mismatch (v2)
//	→ zero_interval (v3) → owner_received → src_not_link_local (strict v6)
//
// Result.Checksum is set once the checksum has verified (also on later
// drops). out is only written from version_mismatch on. It does not allocate
// when out.Addrs has capacity for the addresses and l does not allocate.
func Validate(b []byte, m RecvMeta, l Lookup, out *Advert) (Result, DropReason) {
	var res Result
	if m.Family.addrLen() == 0 {
		return res, DropFamily // caller error: nothing below can be judged
	}
	if len(b) < 2 {
		return res, DropTooShort
	}
	if out == nil {
		out = new(Advert) // misuse, not worth a panic
	}
	var inst *InstanceParams
	found := false
	if l != nil {
		inst, found = l.LookupVRID(b[1])
	}
	if found && inst == nil {
		found = false
	}
	if found && inst.CheckTTL && m.TTL >= 0 && m.TTL != TTL {
		return res, DropTTL
	}
	var hc *HMACConfig
	if found {
		hc = inst.HMAC
	}
	b, tr := splitTrailer(b, m.Family, hc)
	if r := checkStructure(b, m.Family); r != DropNone {
		return res, r
	}
	v := Version(b[0] >> 4)
	mode, ok := verifyChecksumTrailer(b, tr, v, m)
	if found {
		mode, ok = applyOldChecksum(b, v, m, inst.OldChecksum, mode, ok) // oldchecksum.go
	}
	// v2 over IPv6 has no checksum form; it is dropped as "family" below.
	if !ok && !(v == V2 && m.Family == IPv6) {
		return res, DropChecksum
	}
	if ok {
		res.Checksum = mode
	}
	if !found {
		return res, DropUnknownVRID
	}
	if v == V2 && m.Family == IPv6 {
		return res, DropFamily
	}
	if v != inst.Version {
		return res, DropVersionMismatch
	}
	fill(b, m.Family, out)
	if r := checkAuth(out, inst); r != DropNone {
		return res, r
	}
	if hc != nil {
		if r := checkHMAC(inst, b, tr, m, &res); r != DropNone {
			return res, r
		}
	}
	return checkInstance(out, m, inst, res)
}

// checkAuth applies the v2 authentication rules; v3 has none.
func checkAuth(a *Advert, inst *InstanceParams) DropReason {
	if a.Version != V2 {
		return DropNone
	}
	if a.AuthType != inst.AuthType {
		return DropAuthType
	}
	switch a.AuthType {
	case AuthNone:
		return DropNone
	case AuthPass:
		// All 8 bytes count, padding included (keepalived compares 8 bytes).
		if a.AuthData != inst.AuthData {
			return DropAuthMismatch
		}
		return DropNone
	case AuthAH:
		return DropAuthUnsupported
	}
	return DropAuthType // unknown type configured on both sides
}

// checkInstance runs the interval, owner and link-local checks and collects
// warnings for an authenticated advert.
func checkInstance(a *Advert, m RecvMeta, inst *InstanceParams, res Result) (Result, DropReason) {
	if a.Version == V2 && a.AdverInt != inst.AdverInt {
		return res, DropIntervalMismatch // RFC 3768 section 7.1: MUST discard
	}
	if a.Version == V3 && a.AdverInt == 0 {
		return res, DropZeroInterval
	}
	if a.Version == V3 && a.AdverInt != inst.AdverInt {
		res.Warnings |= WarnIntervalMismatch
	}
	if inst.Owner && inst.IgnoreAdvertsAsOwner {
		return res, DropOwnerReceived
	}
	if m.Family == IPv6 {
		if !m.Src.IsLinkLocalUnicast() {
			if inst.StrictLinkLocal {
				return res, DropNotLinkLocal
			}
			res.Warnings |= WarnNotLinkLocal
		}
		if len(a.Addrs) > 0 && !a.Addrs[0].IsLinkLocalUnicast() {
			res.Warnings |= WarnFirstAddrNotLinkLocal
		}
	}
	if len(a.Addrs) == 0 {
		res.Warnings |= WarnAddrCount
	}
	if inst.Addrs != nil && !sameAddrSet(a.Addrs, inst.Addrs) {
		res.Warnings |= WarnAddrMismatch
	}
	return res, DropNone
}

// sameAddrSet compares two small address lists as sets without allocating.
// Zones are ignored: the wire carries none.
func sameAddrSet(got, want []netip.Addr) bool {
	return containsAll(got, want) && containsAll(want, got)
}

func containsAll(set, items []netip.Addr) bool {
	for _, x := range items {
		found := false
		for _, y := range set {
			if x.WithZone("") == y.WithZone("") {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// verifyChecksumTrailer is VerifyChecksum for a message that may have an
// auth_hmac trailer: keepalived's IPv6 checksum covers the trailer (the
// kernel sums the whole payload), its IPv4 one does not. Both spans are
// accepted for IPv6 so a sender summing the message alone still verifies.
func verifyChecksumTrailer(msg, tr []byte, v Version, m RecvMeta) (ChecksumMode, bool) {
	if tr != nil && m.Family == IPv6 {
		whole := msg[:len(msg)+len(tr)] // tr follows msg in the same buffer
		if mode, ok := VerifyChecksum(whole, v, m.Family, m.Src, m.Dst); ok {
			return mode, ok
		}
	}
	return VerifyChecksum(msg, v, m.Family, m.Src, m.Dst)
}
