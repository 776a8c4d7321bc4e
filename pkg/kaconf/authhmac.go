package kaconf

import (
	"bytes"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
)

// auth_hmac { } (keepalived 2.4, draft-cassen-vrrp-auth-hmac-00): signed
// adverts. Every invalid value is an error, never a fallback: a file that
// asks for authentication must not run with less.

// AuthHMAC is an instance's auth_hmac block.
type AuthHMAC struct {
	Pos  Pos
	Keys []HMACKey
	// ActiveKey is the id adverts are signed with; 0 when not given (allowed
	// only with mode receive-only, which sends unsigned).
	ActiveKey uint8
	// AntiReplay is "time" (default) or "monotonic".
	AntiReplay string
	// TimeWindow is the freshness window in seconds, 1..300; 0 when not
	// given: WindowFor computes keepalived's default.
	TimeWindow int
	// Mode is "enforce" (default), "permissive" or "receive-only" (govrrp's
	// own: verify and count, send unsigned, accept all).
	Mode string

	badKeys int // key lines refused: their ids are not judged again
}

// HMACKey is one key line. Secret is the key material: never printed, and
// left out of the JSON the configuration prints as (config check --json,
// keepalived -d).
type HMACKey struct {
	ID     uint8
	Secret []byte `json:"-"`
	Pos    Pos
	Source string // "hex", "ascii" or "file:PATH", for messages
}

// HMAC key sizes keepalived 2.4 accepts.
const (
	hmacKeyMin = 32
	hmacKeyMax = 64
)

// WindowFor is the time_window in effect: the configured one, else
// keepalived's default max(3 × advert_int, 5) seconds.
func (a *AuthHMAC) WindowFor(adverIntSeconds float64) int {
	if a.TimeWindow > 0 {
		return a.TimeWindow
	}
	w := int(3*adverIntSeconds + 0.999999)
	if w < 5 {
		w = 5
	}
	if w > 300 {
		w = 300
	}
	return w
}

type kwH = keyword[*AuthHMAC]

var authHMACTable = newTable("auth_hmac", func(*AuthHMAC, Raw) {}, []kwH{
	{name: "key", args: "<1..255> hex:HEX|ASCII|file:PATH", min: 2, max: 2, status: Supported,
		doc: "a key of 32..64 bytes: hex, an ASCII string, or a file holding either",
		fn:  func(c *ctx, n *Node, a *AuthHMAC) { c.hmacKey(n, a) }},
	{name: "active_key", args: "<1..255>", min: 1, max: 1, status: Supported, doc: "the key id adverts are signed with",
		fn: func(c *ctx, n *Node, a *AuthHMAC) {
			if v, ok := c.hmacInt(n, 1, 255); ok {
				a.ActiveKey = uint8(v)
			}
		}},
	{name: "anti_replay", args: "time|monotonic", min: 1, max: 1, status: Supported, doc: "freshness by synced clocks (default) or growth only",
		fn: func(c *ctx, n *Node, a *AuthHMAC) {
			switch v := n.Args[0].Text; v {
			case "time", "monotonic":
				a.AntiReplay = v
			default:
				c.errf(n.Args[0].Pos, "auth_hmac anti_replay: %q is not time or monotonic", v)
			}
		}},
	{name: "time_window", args: "<1..300>", min: 1, max: 1, status: Supported, doc: "freshness window, seconds (default max(3 x advert_int, 5))",
		fn: func(c *ctx, n *Node, a *AuthHMAC) {
			if v, ok := c.hmacInt(n, 1, 300); ok {
				a.TimeWindow = v
			}
		}},
	{name: "mode", args: "enforce|permissive|receive-only", min: 1, max: 1, status: Supported,
		doc: "enforce (default), permissive (accept unsigned), receive-only (govrrp: verify and count, send unsigned)",
		fn: func(c *ctx, n *Node, a *AuthHMAC) {
			switch v := n.Args[0].Text; v {
			case "enforce", "permissive":
				a.Mode = v
			case "receive-only":
				a.Mode = v
				c.noticef(n.Args[0].Pos, "auth_hmac mode receive-only is govrrp's own (keepalived 2.4 knows enforce and permissive)")
			default:
				c.errf(n.Args[0].Pos, "auth_hmac mode: %q is not enforce, permissive or receive-only", v)
			}
		}},
})

// authHMACBlock reads an auth_hmac block into the instance and checks it as
// a whole (keys, active_key, no legacy authentication beside it).
func (c *ctx) authHMACBlock(n *Node, in *Instance) {
	if in.AuthHMAC != nil {
		c.errf(n.Pos(), "auth_hmac: second block in instance %s (first at %v)", in.Name, in.AuthHMAC.Pos)
		return
	}
	a := &AuthHMAC{Pos: n.Pos(), AntiReplay: "time", Mode: "enforce"}
	dispatch(c, authHMACTable, n.Children, a)
	in.AuthHMAC = a
	if len(a.Keys) == 0 && a.badKeys == 0 {
		c.errf(n.Pos(), "auth_hmac: no key defined (add \"key ID hex:...\")")
	}
	switch {
	case a.ActiveKey == 0 && a.Mode != "receive-only":
		c.errf(n.Pos(), "auth_hmac: active_key is required (the key id adverts are signed with)")
	case a.ActiveKey != 0 && a.key(a.ActiveKey) == nil && a.badKeys == 0 && len(a.Keys) > 0:
		c.errf(n.Pos(), "auth_hmac: active_key %d is not a defined key", a.ActiveKey)
	}
	if a.TimeWindow != 0 && a.AntiReplay == "monotonic" {
		c.warnf(n.Pos(), "auth_hmac: time_window has no effect with anti_replay monotonic")
	}
	c.hmacVersusLegacy(in)
}

// hmacVersusLegacy refuses auth_hmac beside authentication's auth_type:
// keepalived 2.4 silently drops the legacy block; govrrp says so instead of
// guessing which one was meant. Both blocks' handlers call it; only the
// later one sees both, so it reports once.
func (c *ctx) hmacVersusLegacy(in *Instance) {
	if in.AuthHMAC != nil && in.AuthType != "" {
		c.errf(in.AuthHMAC.Pos, "auth_hmac and authentication { auth_type %s } cannot be used together in instance %s: remove the authentication block", in.AuthType, in.Name)
	}
}

func (a *AuthHMAC) key(id uint8) *HMACKey {
	for i := range a.Keys {
		if a.Keys[i].ID == id {
			return &a.Keys[i]
		}
	}
	return nil
}

// hmacInt reads the node's one integer argument; always an error when bad.
func (c *ctx) hmacInt(n *Node, lo, hi int) (int, bool) {
	t := n.Args[0]
	v, err := strconv.Atoi(t.Text)
	if err != nil || v < lo || v > hi {
		c.errf(t.Pos, "auth_hmac %s: %q is not an integer in [%d, %d]", n.Keyword.Text, t.Text, lo, hi)
		return 0, false
	}
	return v, true
}

// hmacKey reads "key ID VALUE".
func (c *ctx) hmacKey(n *Node, a *AuthHMAC) {
	id, ok := c.hmacInt(n, 1, 255)
	if !ok {
		a.badKeys++
		return
	}
	if prev := a.key(uint8(id)); prev != nil {
		c.errf(n.Pos(), "auth_hmac key %d: defined twice (first at %v)", id, prev.Pos)
		return
	}
	t := n.Args[1]
	k := HMACKey{ID: uint8(id), Pos: n.Pos()}
	var secret []byte
	if path, isFile := strings.CutPrefix(t.Text, "file:"); isFile {
		k.Source = t.Text
		secret, ok = c.hmacKeyFile(t, path)
	} else {
		secret, k.Source, ok = c.hmacKeyValue(t, t.Text, "")
	}
	if !ok {
		a.badKeys++
		return
	}
	k.Secret = secret
	a.Keys = append(a.Keys, k)
}

// hmacKeyValue decodes "hex:..." or an ASCII key and checks its length. The
// key itself never appears in a message.
func (c *ctx) hmacKeyValue(t Token, v, from string) ([]byte, string, bool) {
	kind := "ascii"
	b := []byte(v)
	if h, isHex := strings.CutPrefix(v, "hex:"); isHex {
		kind = "hex"
		var err error
		if b, err = hex.DecodeString(h); err != nil {
			c.errf(t.Pos, "auth_hmac key%s: invalid hex (%d hex digits; want an even number of 0-9a-f)", from, len(h))
			return nil, kind, false
		}
	}
	if len(b) < hmacKeyMin || len(b) > hmacKeyMax {
		c.errf(t.Pos, "auth_hmac key%s: %s key is %d bytes, want %d..%d (e.g. openssl rand -hex 32)", from, kind, len(b), hmacKeyMin, hmacKeyMax)
		return nil, kind, false
	}
	return b, kind, true
}

// hmacKeyFile reads a key file: one "hex:..." line or a raw ASCII key,
// surrounding white space ignored. keepalived warns when others can read it.
func (c *ctx) hmacKeyFile(t Token, path string) ([]byte, bool) {
	if path == "" {
		c.errf(t.Pos, "auth_hmac key: file: needs a path")
		return nil, false
	}
	st, err := os.Stat(path)
	if err != nil {
		c.errf(t.Pos, "auth_hmac key file %s: %v", path, err)
		return nil, false
	}
	if !st.Mode().IsRegular() {
		c.errf(t.Pos, "auth_hmac key file %s: not a regular file", path)
		return nil, false
	}
	if st.Mode().Perm()&0o077 != 0 {
		c.warnf(t.Pos, "auth_hmac key file %s is readable by group or others (mode %04o): make it 0600", path, st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		c.errf(t.Pos, "auth_hmac key file %s: %v", path, err)
		return nil, false
	}
	b, _, ok := c.hmacKeyValue(t, strings.TrimSpace(string(raw)), " in "+path)
	return b, ok
}

// hmacMismatch compares two nodes' auth_hmac for config check's cluster
// view, as seen from here: "" when each node's adverts verify at the other.
// An error when a node drops the other's adverts (both become master); a
// warning when only receive-only (which accepts everything) notices.
func hmacMismatch(here, there *Instance) (Severity, string) {
	a, b := here.AuthHMAC, there.AuthHMAC
	if a == nil && b == nil {
		return 0, ""
	}
	if a == nil || b == nil {
		signer, msg := a, "set here but not in"
		if a == nil {
			signer, msg = b, "not set here but set in"
		}
		if !signer.signs() {
			return SevWarning, msg
		}
		// A node without auth_hmac drops signed adverts (length).
		return SevError, msg
	}
	if id, ok := verifies(a, b); !ok {
		return receiverSeverity(b), "key " + strconv.Itoa(int(id)) + " this node signs with is missing or different in"
	}
	if id, ok := verifies(b, a); !ok {
		return receiverSeverity(a), "key " + strconv.Itoa(int(id)) + " is missing or different here but signs adverts in"
	}
	return 0, ""
}

func (a *AuthHMAC) signs() bool { return a.Mode != "receive-only" && a.ActiveKey != 0 }

// verifies reports whether to holds from's signing key, the same bytes.
func verifies(from, to *AuthHMAC) (uint8, bool) {
	if !from.signs() {
		return 0, true // sends unsigned
	}
	k, other := from.key(from.ActiveKey), to.key(from.ActiveKey)
	if k == nil {
		return 0, true // reported by the node's own check
	}
	return k.ID, other != nil && bytes.Equal(k.Secret, other.Secret)
}

// receiverSeverity is how bad an unverifiable trailer is at a receiver.
func receiverSeverity(receiver *AuthHMAC) Severity {
	if receiver.Mode == "receive-only" {
		return SevWarning
	}
	return SevError
}

// HMACDeafness says why to's daemon drops from's adverts by the auth_hmac
// rules ("" when it accepts them): a node without auth_hmac drops signed
// adverts (their length is wrong for it); enforce drops unsigned adverts;
// enforce and permissive drop a signature made with a key they lack or hold
// with other bytes; receive-only accepts everything. The what-if simulator
// reads it to find nodes that cannot hear each other.
func HMACDeafness(from, to *Instance) string {
	a, b := from.AuthHMAC, to.AuthHMAC
	signs := a != nil && a.signs()
	switch {
	case a == nil && b == nil:
		return ""
	case b == nil:
		if signs {
			return "(" + to.Name + ") has no auth_hmac and drops the signed adverts of (" + from.Name + ")"
		}
		return ""
	case b.Mode == "receive-only":
		return ""
	case !signs:
		if b.Mode == "enforce" {
			return "(" + to.Name + ") auth_hmac mode enforce drops the unsigned adverts of (" + from.Name + ")"
		}
		return ""
	}
	if id, ok := verifies(a, b); !ok {
		return "(" + to.Name + ") auth_hmac lacks key " + strconv.Itoa(int(id)) + " that (" + from.Name + ") signs with, or holds other bytes for it"
	}
	return ""
}
