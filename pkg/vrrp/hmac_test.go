package vrrp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const hmacDir = "../../testdata/auth-hmac"

// capturedPacket is one IP packet from a pcap file.
type capturedPacket struct {
	at       time.Time
	fam      Family
	src, dst netip.Addr
	ttl      int
	payload  []byte // the VRRP message and its trailer
}

// readPcap is a minimal reader for the captures: classic little-endian pcap,
// Ethernet link type, IPv4 (no options needed, IHL honoured) or IPv6 with
// VRRP as the first next header.
func readPcap(t testing.TB, name string) []capturedPacket {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hmacDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(b[20:]) != 1 {
		t.Fatalf("%s: not a little-endian Ethernet pcap", name)
	}
	var out []capturedPacket
	for p := b[24:]; len(p) > 0; {
		if len(p) < 16 {
			t.Fatalf("%s: truncated record header", name)
		}
		sec, usec, n := binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:]), int(binary.LittleEndian.Uint32(p[8:]))
		if len(p) < 16+n || n < 14 {
			t.Fatalf("%s: truncated record", name)
		}
		frame := p[16 : 16+n]
		p = p[16+n:]
		c := capturedPacket{at: time.Unix(int64(sec), int64(usec)*1000).UTC()}
		ip := frame[14:]
		switch binary.BigEndian.Uint16(frame[12:]) {
		case 0x0800:
			ihl := int(ip[0]&0x0f) * 4
			tot := int(binary.BigEndian.Uint16(ip[2:]))
			if ip[9] != ProtocolNumber || tot > len(ip) {
				t.Fatalf("%s: not a VRRP IPv4 packet", name)
			}
			c.fam, c.ttl = IPv4, int(ip[8])
			c.src, c.dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
			c.payload = ip[ihl:tot]
		case 0x86dd:
			pl := int(binary.BigEndian.Uint16(ip[4:]))
			if ip[6] != ProtocolNumber || 40+pl > len(ip) {
				t.Fatalf("%s: not a VRRP IPv6 packet", name)
			}
			c.fam, c.ttl = IPv6, int(ip[7])
			c.src, c.dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
			c.payload = ip[40 : 40+pl]
		default:
			t.Fatalf("%s: unexpected ethertype", name)
		}
		out = append(out, c)
	}
	return out
}

// confKeys reads the auth_hmac keys and active_key of a capture's config
// with keepalived's comment rule ('!' and '#' start a comment: key 2's
// trailing '!' is not part of it).
func confKeys(t testing.TB, name string) (keys []HMACKey, active uint8) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hmacDir, name))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexAny(line, "!#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "key":
			id, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			secret := []byte(f[2])
			if h, ok := strings.CutPrefix(f[2], "hex:"); ok {
				if secret, err = hex.DecodeString(h); err != nil {
					t.Fatal(err)
				}
			}
			keys = append(keys, HMACKey{ID: uint8(id), Secret: secret})
		case len(f) == 2 && f[0] == "active_key":
			id, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			active = uint8(id)
		}
	}
	return keys, active
}

var captures = []struct {
	name    string
	version Version
	unicast bool
}{
	{"v2-ipv4-mcast", V2, false},
	{"v3-ipv4-mcast", V3, false},
	{"v3-ipv4-mcast-key2", V3, false},
	{"v3-ipv4-unicast", V3, true},
	{"v3-ipv6-mcast", V3, false},
}

func mustHMAC(t testing.TB, keys []HMACKey, active uint8, mode HMACMode, replay AntiReplay, window int) *HMACConfig {
	t.Helper()
	c, err := NewHMACConfig(keys, active, mode, replay, window)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// hmacInstance is what the captures' configs describe, as a validator sees it.
func hmacInstance(version Version, unicast bool, c *HMACConfig) *InstanceParams {
	return &InstanceParams{Version: version, AdverInt: time.Second, CheckTTL: !unicast, HMAC: c, HMACState: NewHMACVerifier()}
}

func metaOf(p capturedPacket, at time.Time) RecvMeta {
	return RecvMeta{Family: p.fam, Src: p.src, Dst: p.dst, TTL: p.ttl, Time: at}
}

// TestHMACCapturesVerify: every advert keepalived 2.4.3 sent verifies with the
// configured keys and a clock pinned to the capture time, in order (so the
// replay check sees each sender's sequence grow).
func TestHMACCapturesVerify(t *testing.T) {
	for _, cp := range captures {
		t.Run(cp.name, func(t *testing.T) {
			keys, active := confKeys(t, cp.name+"-h2.conf")
			inst := hmacInstance(cp.version, cp.unicast, mustHMAC(t, keys, active, HMACEnforce, ReplayTime, 5))
			pkts := readPcap(t, cp.name+".pcap")
			if len(pkts) < 4 {
				t.Fatalf("%d packets, want the capture's 7", len(pkts))
			}
			var a Advert
			for i, p := range pkts {
				if p.payload[len(p.payload)-HMACTrailerLen+1] != active {
					t.Errorf("packet %d: key id %d, config's active_key is %d", i, p.payload[len(p.payload)-27], active)
				}
				res, r := Validate(p.payload, metaOf(p, p.at), single{inst}, &a)
				if r != DropNone || !res.HMACVerified {
					t.Fatalf("packet %d (%v from %v): %v, verified=%v", i, p.at, p.src, r, res.HMACVerified)
				}
				if a.VRID != 51 || res.Warnings.Has(WarnHMACSkew) {
					t.Errorf("packet %d: vrid %d warnings %v", i, a.VRID, res.Warnings)
				}
			}
		})
	}
}

// single is a Lookup for one instance at VRID 51.
type single struct{ p *InstanceParams }

func (s single) LookupVRID(vrid uint8) (*InstanceParams, bool) { return s.p, vrid == 51 }

// TestHMACCapturesRejected: each captured advert fails with the reason that
// names what is wrong.
func TestHMACCapturesRejected(t *testing.T) {
	wrongKey := []HMACKey{{ID: 1, Secret: bytes.Repeat([]byte{0x42}, 32)}, {ID: 2, Secret: bytes.Repeat([]byte{0x43}, 40)}}
	for _, cp := range captures {
		t.Run(cp.name, func(t *testing.T) {
			keys, active := confKeys(t, cp.name+"-h2.conf")
			good := mustHMAC(t, keys, active, HMACEnforce, ReplayTime, 5)
			p := readPcap(t, cp.name+".pcap")[0]
			var a Advert
			check := func(name string, c *HMACConfig, b []byte, m RecvMeta, want DropReason) {
				t.Helper()
				if _, r := Validate(b, m, single{hmacInstance(cp.version, cp.unicast, c)}, &a); r != want {
					t.Errorf("%s: %v, want %v", name, r, want)
				}
			}
			check("wrong key", mustHMAC(t, wrongKey, 1, HMACEnforce, ReplayTime, 5), p.payload, metaOf(p, p.at), DropHMACInvalid)
			onlyOther := []HMACKey{{ID: 9, Secret: keys[0].Secret}}
			check("key id not configured", mustHMAC(t, onlyOther, 9, HMACEnforce, ReplayTime, 5), p.payload, metaOf(p, p.at), DropHMACUnknownKey)
			check("6 s later", good, p.payload, metaOf(p, p.at.Add(6*time.Second)), DropHMACStale)
			check("6 s earlier", good, p.payload, metaOf(p, p.at.Add(-6*time.Second)), DropHMACStale)
			check("5 s later (edge of the window)", good, p.payload, metaOf(p, p.at.Add(5*time.Second)), DropNone)
			check("monotonic ignores the clock", mustHMAC(t, keys, active, HMACEnforce, ReplayMonotonic, 0), p.payload, metaOf(p, p.at.Add(time.Hour)), DropNone)
			other := metaOf(p, p.at)
			other.Src = netip.MustParseAddr("192.0.2.99")
			if p.fam == IPv6 {
				other.Src = netip.MustParseAddr("fe80::99")
			}
			// The source is in the HMAC, not in the checksum of v2 or of
			// what tcpdump would check; either way the advert is refused.
			if _, r := Validate(p.payload, other, single{hmacInstance(cp.version, cp.unicast, good)}, &a); r != DropHMACInvalid && r != DropChecksum {
				t.Errorf("spoofed source: %v", r)
			}
			noTrailer := fixChecksum(p.payload[:len(p.payload)-HMACTrailerLen], cp.version, p)
			check("no trailer, enforce", good, noTrailer, metaOf(p, p.at), DropHMACMissing)
			check("no trailer, no auth_hmac", nil, noTrailer, metaOf(p, p.at), DropNone)
			check("trailer, no auth_hmac", nil, p.payload, metaOf(p, p.at), DropLength)
		})
	}
}

// fixChecksum re-computes the checksum of a (trailer-less) message.
func fixChecksum(msg []byte, v Version, p capturedPacket) []byte {
	b := bytes.Clone(msg)
	b[6], b[7] = 0, 0
	binary.BigEndian.PutUint16(b[6:], checksum(b, v, p.fam, p.src, p.dst, ChecksumPseudoHeader))
	return b
}

// TestHMACCapturesBitFlips: any one bit flipped anywhere in a captured
// advert (message or trailer), or in its source address, is refused.
func TestHMACCapturesBitFlips(t *testing.T) {
	for _, cp := range captures {
		t.Run(cp.name, func(t *testing.T) {
			keys, active := confKeys(t, cp.name+"-h2.conf")
			c := mustHMAC(t, keys, active, HMACEnforce, ReplayTime, 5)
			p := readPcap(t, cp.name+".pcap")[0]
			var a Advert
			for i := range len(p.payload) * 8 {
				b := bytes.Clone(p.payload)
				b[i/8] ^= 1 << (i % 8)
				if _, r := Validate(b, metaOf(p, p.at), single{hmacInstance(cp.version, cp.unicast, c)}, &a); r == DropNone {
					t.Errorf("bit %d of byte %d flipped: accepted", i%8, i/8)
				}
			}
			src := p.src.AsSlice()
			for i := range len(src) * 8 {
				s := bytes.Clone(src)
				s[i/8] ^= 1 << (i % 8)
				m := metaOf(p, p.at)
				m.Src, _ = netip.AddrFromSlice(s)
				if _, r := Validate(p.payload, m, single{hmacInstance(cp.version, cp.unicast, c)}, &a); r == DropNone {
					t.Errorf("source bit %d flipped: accepted", i)
				}
			}
		})
	}
}

// TestHMACCapturesReplay: a second copy of an advert, or an older one after a
// newer, is a replay; each sender has its own sequence.
func TestHMACCapturesReplay(t *testing.T) {
	for _, cp := range captures {
		t.Run(cp.name, func(t *testing.T) {
			keys, active := confKeys(t, cp.name+"-h2.conf")
			inst := hmacInstance(cp.version, cp.unicast, mustHMAC(t, keys, active, HMACEnforce, ReplayTime, 5))
			pkts := readPcap(t, cp.name+".pcap")
			var a Advert
			v := func(p capturedPacket) DropReason {
				_, r := Validate(p.payload, metaOf(p, pkts[len(pkts)-1].at), single{inst}, &a)
				return r
			}
			got := []DropReason{v(pkts[1]), v(pkts[1]), v(pkts[0]), v(pkts[2]), v(pkts[len(pkts)-1]), v(pkts[len(pkts)-1])}
			want := []DropReason{DropNone, DropHMACReplay, DropHMACReplay, DropNone, DropNone, DropHMACReplay}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestHMACSignedIndependent computes the draft's HMAC for govrrp's own
// signed adverts with crypto/hmac, from the draft's description, and checks
// the checksum spans keepalived uses.
func TestHMACSignedIndependent(t *testing.T) {
	key := []byte("an-independent-test-key-of-40-bytes-long")
	c := mustHMAC(t, []HMACKey{{ID: 7, Secret: key}}, 7, HMACEnforce, ReplayTime, 5)
	now := time.Date(2026, 12, 1, 10, 0, 0, 500_000_000, time.UTC)
	for _, tc := range []struct {
		name string
		a    Advert
		o    MarshalOptions
	}{
		{"v2", Advert{Version: V2, VRID: 9, Priority: 200, AdverInt: time.Second, Addrs: addrs("192.0.2.100")}, opt4},
		{"v3v4", Advert{Version: V3, VRID: 10, Priority: 100, AdverInt: time.Second, Addrs: addrs("192.0.2.100", "192.0.2.101")}, opt4},
		{"v3v4 unicast", Advert{Version: V3, VRID: 11, Priority: 100, AdverInt: time.Second, Addrs: addrs("192.0.2.100")},
			MarshalOptions{Family: IPv4, Src: src4, Dst: netip.MustParseAddr("192.0.2.12")}},
		{"v3v6", Advert{Version: V3, VRID: 12, Priority: 100, AdverInt: time.Second, Addrs: addrs("2001:db8::100")}, opt6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s HMACSigner
			b, err := tc.a.AppendMarshalSigned(nil, tc.o, c, &s, now)
			if err != nil {
				t.Fatal(err)
			}
			n := len(b) - 28
			msg, tr := b[:n], b[n:]
			wantHead := []byte{1, 7, 0, 0}
			wantHead = binary.BigEndian.AppendUint32(wantHead, uint32(now.Unix()))
			wantHead = binary.BigEndian.AppendUint16(wantHead, 0x8000) // half a second
			wantHead = append(wantHead, 0, 0)
			if !bytes.Equal(tr[:12], wantHead) {
				t.Fatalf("trailer head %x, want %x", tr[:12], wantHead)
			}
			fam := byte(4)
			if tc.o.Family == IPv6 {
				fam = 6
			}
			pseudo := make([]byte, 20)
			pseudo[0], pseudo[1], pseudo[2] = fam, byte(tc.a.Version), tc.a.VRID
			copy(pseudo[4:], tc.o.Src.AsSlice())
			m := hmac.New(sha256.New, key)
			m.Write(pseudo)
			zeroed := bytes.Clone(msg)
			zeroed[6], zeroed[7] = 0, 0
			m.Write(zeroed)
			m.Write(tr[:12])
			m.Write(make([]byte, 16))
			if want := m.Sum(nil)[:16]; !bytes.Equal(tr[12:], want) {
				t.Errorf("HMAC %x, want %x", tr[12:], want)
			}
			covered := msg
			if tc.o.Family == IPv6 {
				covered = b
			}
			if _, ok := VerifyChecksum(covered, tc.a.Version, tc.o.Family, tc.o.Src, tc.o.Dst); !ok {
				t.Errorf("checksum does not verify over keepalived's span (%d bytes)", len(covered))
			}
		})
	}
}

func TestHMACSignerSequence(t *testing.T) {
	var s HMACSigner
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	got := []uint64{s.next(t0), s.next(t0), s.next(t0.Add(-time.Hour)), s.next(t0.Add(time.Second))}
	base := uint64(uint32(t0.Unix())) << 32
	want := []uint64{base, base + 1, base + 2, base + 1<<32}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sequence never goes back, takes the clock when ahead (-want +got):\n%s", diff)
	}
}

func TestHMACModes(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := Advert{Version: V3, VRID: 51, Priority: 100, AdverInt: time.Second, Addrs: addrs("192.0.2.100")}
	signer := mustHMAC(t, []HMACKey{{ID: 1, Secret: key}}, 1, HMACEnforce, ReplayTime, 5)
	var s HMACSigner
	signed, err := a.AppendMarshalSigned(nil, opt4, signer, &s, now)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(signed)
	bad[len(bad)-1] ^= 1
	unsigned := mustMarshal(t, a, opt4)
	other := []HMACKey{{ID: 1, Secret: bytes.Repeat([]byte{8}, 32)}}
	type out struct {
		Reason   string
		Verified bool
		Warnings string
		Failure  string
	}
	run := func(mode HMACMode, keys []HMACKey, b []byte) out {
		active := uint8(1)
		c := mustHMAC(t, keys, active, mode, ReplayTime, 5)
		var got Advert
		res, r := Validate(b, RecvMeta{Family: IPv4, Src: src4, Dst: MulticastIPv4, TTL: 255, Time: now}, single{hmacInstance(V3, false, c)}, &got)
		return out{r.String(), res.HMACVerified, res.Warnings.String(), res.HMACFailure.String()}
	}
	k := []HMACKey{{ID: 1, Secret: key}}
	got := map[string]out{
		"enforce signed":        run(HMACEnforce, k, signed),
		"enforce unsigned":      run(HMACEnforce, k, unsigned),
		"enforce bad":           run(HMACEnforce, k, bad),
		"permissive signed":     run(HMACPermissive, k, signed),
		"permissive unsigned":   run(HMACPermissive, k, unsigned),
		"permissive bad":        run(HMACPermissive, k, bad),
		"permissive wrong key":  run(HMACPermissive, other, signed),
		"receive-only signed":   run(HMACReceiveOnly, k, signed),
		"receive-only unsigned": run(HMACReceiveOnly, k, unsigned),
		"receive-only bad":      run(HMACReceiveOnly, k, bad),
	}
	want := map[string]out{
		"enforce signed":        {"none", true, "", "none"},
		"enforce unsigned":      {"hmac_missing", false, "hmac_unsigned", "none"},
		"enforce bad":           {"hmac_invalid", false, "", "none"},
		"permissive signed":     {"none", true, "", "none"},
		"permissive unsigned":   {"none", false, "hmac_unsigned", "none"},
		"permissive bad":        {"hmac_invalid", false, "", "none"},
		"permissive wrong key":  {"hmac_invalid", false, "", "none"},
		"receive-only signed":   {"none", true, "", "none"},
		"receive-only unsigned": {"none", false, "hmac_unsigned", "none"},
		"receive-only bad":      {"none", false, "hmac_unverified", "hmac_invalid"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// receive-only sends unsigned.
	ro := mustHMAC(t, k, 1, HMACReceiveOnly, ReplayTime, 5)
	b, err := a.AppendMarshalSigned(nil, opt4, ro, &s, now)
	if err != nil || !bytes.Equal(b, unsigned) {
		t.Errorf("receive-only sent %x (%v), want the unsigned %x", b, err, unsigned)
	}
}

func TestHMACClockSkewWarning(t *testing.T) {
	c := mustHMAC(t, []HMACKey{{ID: 1, Secret: bytes.Repeat([]byte{7}, 32)}}, 1, HMACEnforce, ReplayTime, 5)
	a := Advert{Version: V3, VRID: 51, Priority: 100, AdverInt: time.Second, Addrs: addrs("192.0.2.100")}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		skew time.Duration
		warn bool
	}{{2 * time.Second, false}, {3 * time.Second, true}, {-3 * time.Second, true}} {
		var s HMACSigner
		b, err := a.AppendMarshalSigned(nil, opt4, c, &s, now)
		if err != nil {
			t.Fatal(err)
		}
		var got Advert
		res, r := Validate(b, RecvMeta{Family: IPv4, Src: src4, Dst: MulticastIPv4, TTL: 255, Time: now.Add(tc.skew)}, single{hmacInstance(V3, false, c)}, &got)
		if r != DropNone || res.Warnings.Has(WarnHMACSkew) != tc.warn {
			t.Errorf("skew %v: %v warnings %q, want skew warning %v", tc.skew, r, res.Warnings, tc.warn)
		}
	}
}

func TestHMACMalformed(t *testing.T) {
	c := mustHMAC(t, []HMACKey{{ID: 1, Secret: bytes.Repeat([]byte{7}, 32)}}, 1, HMACEnforce, ReplayTime, 5)
	a := Advert{Version: V3, VRID: 51, Priority: 100, AdverInt: time.Second, Addrs: addrs("192.0.2.100")}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var s HMACSigner
	signed, err := a.AppendMarshalSigned(nil, opt4, c, &s, now)
	if err != nil {
		t.Fatal(err)
	}
	n := len(signed) - HMACTrailerLen
	for _, off := range []int{0, 2, 3} {
		b := bytes.Clone(signed)
		b[n+off] ^= 0x10
		var got Advert
		if _, r := Validate(b, RecvMeta{Family: IPv4, Src: src4, Dst: MulticastIPv4, TTL: 255, Time: now}, single{hmacInstance(V3, false, c)}, &got); r != DropHMACMalformed {
			t.Errorf("trailer byte %d changed: %v, want hmac_malformed", off, r)
		}
	}
}

// TestHMACReplayTableBounded: more senders than slots evict the least
// recently used one; the table never grows.
func TestHMACReplayTableBounded(t *testing.T) {
	v := NewHMACVerifier()
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}) }
	for i := range replaySenders {
		if !v.replayOK(addr(i), 10) {
			t.Fatalf("sender %d refused", i)
		}
	}
	if v.replayOK(addr(5), 10) {
		t.Fatal("replay of sender 5 accepted")
	}
	if !v.replayOK(addr(200), 10) { // evicts sender 0, the least recently used
		t.Fatal("new sender refused")
	}
	if !v.replayOK(addr(0), 10) {
		t.Error("evicted sender 0 starts afresh: want accepted")
	}
	if v.replayOK(addr(5), 10) {
		t.Error("sender 5 must still be remembered")
	}
}

func TestNewHMACConfigErrors(t *testing.T) {
	k := func(id uint8, n int) HMACKey { return HMACKey{ID: id, Secret: bytes.Repeat([]byte{1}, n)} }
	for _, tc := range []struct {
		name   string
		keys   []HMACKey
		active uint8
		mode   HMACMode
		window int
	}{
		{"no key", nil, 1, HMACEnforce, 5},
		{"key too short", []HMACKey{k(1, 31)}, 1, HMACEnforce, 5},
		{"key too long", []HMACKey{k(1, 65)}, 1, HMACEnforce, 5},
		{"key id 0", []HMACKey{k(0, 32)}, 1, HMACEnforce, 5},
		{"duplicate id", []HMACKey{k(1, 32), k(1, 40)}, 1, HMACEnforce, 5},
		{"active not defined", []HMACKey{k(1, 32)}, 2, HMACEnforce, 5},
		{"no active key", []HMACKey{k(1, 32)}, 0, HMACPermissive, 5},
		{"window 0", []HMACKey{k(1, 32)}, 1, HMACEnforce, 0},
		{"window 301", []HMACKey{k(1, 32)}, 1, HMACEnforce, 301},
	} {
		if _, err := NewHMACConfig(tc.keys, tc.active, tc.mode, ReplayTime, tc.window); !errors.Is(err, ErrHMACConfig) {
			t.Errorf("%s: %v, want ErrHMACConfig", tc.name, err)
		}
	}
	if _, err := NewHMACConfig([]HMACKey{k(1, 32)}, 0, HMACReceiveOnly, ReplayTime, 5); err != nil {
		t.Errorf("receive-only without active_key: %v", err)
	}
}

// TestHMACValidateNoAlloc: verifying a signed advert allocates nothing.
func TestHMACValidateNoAlloc(t *testing.T) {
	p := readPcap(t, "v3-ipv4-mcast.pcap")[0]
	keys, active := confKeys(t, "v3-ipv4-mcast-h2.conf")
	inst := hmacInstance(V3, false, mustHMAC(t, keys, active, HMACEnforce, ReplayMonotonic, 0))
	inst.HMACState.replayOK(p.src, 0) // warm the slot
	a := Advert{Addrs: make([]netip.Addr, 0, 4)}
	l := single{inst}
	m := metaOf(p, p.at)
	allocs := testing.AllocsPerRun(100, func() {
		inst.HMACState.senders[0].seq = 0 // let the same packet verify again
		if _, r := Validate(p.payload, m, l, &a); r != DropNone {
			t.Fatal(r)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per verified advert", allocs)
	}
}

func BenchmarkHMACVerify(b *testing.B) {
	p := readPcap(b, "v3-ipv4-mcast.pcap")[0]
	keys, active := confKeys(b, "v3-ipv4-mcast-h2.conf")
	inst := hmacInstance(V3, false, mustHMAC(b, keys, active, HMACEnforce, ReplayMonotonic, 0))
	a := Advert{Addrs: make([]netip.Addr, 0, 4)}
	l := single{inst}
	m := metaOf(p, p.at)
	b.ReportAllocs()
	for b.Loop() {
		inst.HMACState.senders = [replaySenders]replaySlot{}
		if _, r := Validate(p.payload, m, l, &a); r != DropNone {
			b.Fatal(r)
		}
	}
}

func BenchmarkHMACSign(b *testing.B) {
	c := mustHMAC(b, []HMACKey{{ID: 1, Secret: bytes.Repeat([]byte{7}, 32)}}, 1, HMACEnforce, ReplayTime, 5)
	a := Advert{Version: V3, VRID: 51, Priority: 100, AdverInt: time.Second, Addrs: addrs("192.0.2.100")}
	var s HMACSigner
	buf := make([]byte, 0, 128)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = a.AppendMarshalSigned(buf[:0], opt4, c, &s, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHMACVerifyStale: a flood of replayed old captures is refused on
// the clock before any digest is computed.
func BenchmarkHMACVerifyStale(b *testing.B) {
	p := readPcap(b, "v3-ipv4-mcast.pcap")[0]
	keys, active := confKeys(b, "v3-ipv4-mcast-h2.conf")
	inst := hmacInstance(V3, false, mustHMAC(b, keys, active, HMACEnforce, ReplayTime, 5))
	a := Advert{Addrs: make([]netip.Addr, 0, 4)}
	l := single{inst}
	m := metaOf(p, p.at.Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, r := Validate(p.payload, m, l, &a); r != DropHMACStale {
			b.Fatal(r)
		}
	}
}
