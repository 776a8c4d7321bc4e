package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// auth_hmac on the wire (keepalived 2.4's signed adverts, which keepalived
// 2.2.7 here does not know: the interop evidence for 2.4 is the captures in
// testdata/auth-hmac, checked by pkg/vrrp's tests). A govrrp pair migrates
// receive-only → permissive → enforce by SIGHUP without a flap; a third host
// then replays a captured signed advert and forges others, and both nodes
// drop and count each by reason while a keeps the VIP.

const hmacHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func hmacKeyBytes() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

// hmacConf is the scenario's config with an auth_hmac block in mode.
func hmacConf(sc scenario, n, peer *node, prio int, mode string) string {
	block := "    auth_hmac {\n        key 1 hex:" + hmacHexKey + "\n        active_key 1\n        time_window 5\n        mode " + mode + "\n    }\n"
	conf := n.confFor(sc, peer, prio)
	return strings.Replace(conf, "    virtual_ipaddress {", block+"    virtual_ipaddress {", 1)
}

// capturedAdverts reads the VRRP payloads from src in a pcap (classic,
// little-endian, Ethernet, IPv4) as tcpdump wrote it.
func capturedAdverts(t testing.TB, path string, src netip.Addr) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("interop: %s is not a little-endian pcap", path)
	}
	var out [][]byte
	for p := b[24:]; len(p) >= 16; {
		n := int(binary.LittleEndian.Uint32(p[8:]))
		if len(p) < 16+n {
			break
		}
		f := p[16 : 16+n]
		p = p[16+n:]
		if len(f) < 34 || binary.BigEndian.Uint16(f[12:]) != 0x0800 || f[23] != 112 {
			continue
		}
		ip := f[14:]
		ihl, tot := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:]))
		if tot > len(ip) || netip.AddrFrom4([4]byte(ip[12:16])) != src {
			continue
		}
		out = append(out, bytes.Clone(ip[ihl:tot]))
	}
	return out
}

// sniffAdverts captures on c for about d and returns src's adverts.
func sniffAdverts(t testing.TB, c *netlab.Host, src netip.Addr, d time.Duration, all ...*node) [][]byte {
	t.Helper()
	capture, err := c.Capture(ifname, "ip proto 112")
	if err != nil {
		fail(t, err.Error(), all...)
	}
	// Bounded poll for the packets themselves, not a fixed sleep.
	var ads [][]byte
	_ = netlab.WaitFor(context.Background(), d, 50*time.Millisecond, func() (bool, error) {
		ads = capturedAdverts(t, capture.Path(), src)
		return len(ads) >= 3, fmt.Errorf("%d adverts captured", len(ads))
	})
	path, err := capture.Stop()
	if err != nil {
		fail(t, err.Error(), all...)
	}
	if ads = capturedAdverts(t, path, src); len(ads) == 0 {
		fail(t, fmt.Sprintf("no advert from %v captured in %v", src, d), all...)
	}
	return ads
}

// verifyOnWire checks captured adverts with pkg/vrrp as a receiver would.
func verifyOnWire(t testing.TB, ads [][]byte, src netip.Addr, signed bool) {
	t.Helper()
	c, err := vrrp.NewHMACConfig([]vrrp.HMACKey{{ID: 1, Secret: hmacKeyBytes()}}, 1, vrrp.HMACEnforce, vrrp.ReplayTime, 5)
	if err != nil {
		t.Fatal(err)
	}
	inst := &vrrp.InstanceParams{Version: vrrp.V3, AdverInt: 100 * time.Millisecond, HMAC: c, HMACState: vrrp.NewHMACVerifier()}
	for i, ad := range ads {
		var a vrrp.Advert
		res, r := vrrp.Validate(ad, vrrp.RecvMeta{Family: vrrp.IPv4, Src: src, Dst: vrrpGroup4, TTL: -1}, oneVRID{inst}, &a)
		switch {
		case signed && (r != vrrp.DropNone || !res.HMACVerified):
			t.Errorf("advert %d on the wire (%d bytes): %v, want a verified signed advert", i, len(ad), r)
		case !signed && (r != vrrp.DropHMACMissing || len(ad) != 12):
			t.Errorf("advert %d on the wire (%d bytes): %v, want an unsigned 12-byte advert", i, len(ad), r)
		}
	}
}

type oneVRID struct{ p *vrrp.InstanceParams }

func (o oneVRID) LookupVRID(id uint8) (*vrrp.InstanceParams, bool) { return o.p, id == vrid }

// signedAdvert signs a v3 advert as src with key (id 1) at when.
func signedAdvert(t testing.TB, key []byte, prio uint8, src netip.Addr, when time.Time) []byte {
	t.Helper()
	c, err := vrrp.NewHMACConfig([]vrrp.HMACKey{{ID: 1, Secret: key}}, 1, vrrp.HMACEnforce, vrrp.ReplayTime, 5)
	if err != nil {
		t.Fatal(err)
	}
	a := vrrp.Advert{Version: vrrp.V3, VRID: vrid, Priority: prio, AdverInt: 100 * time.Millisecond, Addrs: []netip.Addr{vip4}}
	b, err := a.AppendMarshalSigned(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: src, Dst: vrrpGroup4}, c, new(vrrp.HMACSigner), when)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hmacLab is twoHosts plus host c, the attacker, on the same segment.
func hmacLab(t *testing.T) (a, b *node, c *netlab.Host) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test (namespaces, real daemons) skipped in -short mode")
	}
	netlab.Require(t, "ip", "tcpdump")
	lab := netlab.New(t)
	seg := lab.AddSegment("lan", lanV4, lanV6)
	host := func(name string, v4, v6 netip.Prefix) *netlab.Host {
		h := lab.AddHost(name)
		if err := h.Connect(seg, ifname, v4, v6); err != nil {
			t.Fatalf("interop: connect %s: %v", name, err)
		}
		return h
	}
	a = &node{t: t, name: "a", impl: govrrp, host: host("a", addrA4, addrA6), ip4: addrA4.Addr(), ip6: addrA6.Addr()}
	b = &node{t: t, name: "b", impl: govrrp, host: host("b", addrB4, addrB6), ip4: addrB4.Addr(), ip6: addrB6.Addr()}
	return a, b, host("c", netip.MustParsePrefix("192.0.2.13/24"), netip.MustParsePrefix("2001:db8::13/64"))
}

func TestAuthHMACOnTheWire(t *testing.T) {
	t.Parallel()
	sc := scenario{name: "v3-ipv4-mcast-100ms-hmac", version: 3, advert: 100 * time.Millisecond}
	a, b, c := hmacLab(t)
	cAddr := netip.MustParseAddr("192.0.2.13")

	a.start(hmacConf(sc, a, b, prioHigh, "receive-only"), prioHigh)
	if err := waitOwner(startupMargin+sc.masterDown(prioHigh), sampleEvery(sc.advert), vip4, "a", a, b); err != nil {
		fail(t, fmt.Sprintf("a alone never became master: %v", err), a)
	}
	b.start(hmacConf(sc, b, a, prioLow, "receive-only"), prioLow)
	if _, err := holdOwner(5*sc.advert, sampleEvery(sc.advert), vip4, "a", a, b); err != nil {
		fail(t, err.Error(), a, b)
	}
	verifyOnWire(t, sniffAdverts(t, c, a.ip4, 2*time.Second, a, b), a.ip4, false)
	before := transitionsOf(t, a, b)
	watch := watchVIP(a, vip4, 10*time.Millisecond)
	t.Cleanup(func() { watch.stop() })

	// The migration, one mode at a time, both nodes in a tight sweep.
	for _, mode := range []string{"permissive", "enforce"} {
		a.mustReload(t, hmacConf(sc, a, b, prioHigh, mode), a, b)
		b.mustReload(t, hmacConf(sc, b, a, prioLow, mode), a, b)
		if _, err := holdOwner(10*sc.advert, sampleEvery(sc.advert), vip4, "a", a, b); err != nil {
			fail(t, fmt.Sprintf("after reload to %s: %v", mode, err), a, b)
		}
		verifyOnWire(t, sniffAdverts(t, c, a.ip4, 2*time.Second, a, b), a.ip4, true)
	}
	if after := transitionsOf(t, a, b); fmt.Sprint(before) != fmt.Sprint(after) {
		fail(t, fmt.Sprintf("transitions %v → %v: the migration flapped", before, after), a, b)
	}
	st, err := b.status()
	if err != nil || len(st.Drops) != 0 {
		fail(t, fmt.Sprintf("backup drops after the migration: %v (%v), want none", st.Drops, err), a, b)
	}

	// Replay and forgeries from c.
	tx, err := openRawSender(c, ifname)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	captured := sniffAdverts(t, c, a.ip4, 2*time.Second, a, b)
	replayed := captured[0]
	unsigned := advertSpec{version: 3, vrid: vrid, priority: 254, advert: sc.advert, addrs: []netip.Addr{vip4}}.marshal(cAddr, vrrpGroup4)
	flipped := signedAdvert(t, hmacKeyBytes(), 254, cAddr, time.Now())
	flipped[len(flipped)-1] ^= 0x80 // in the HMAC, which the IPv4 checksum does not cover
	kinds := []struct {
		name, reason string
		src          netip.Addr
		pkt          func() []byte
		onA          bool // a counts it (a replay of a's own advert is own_advert at a)
	}{
		{"replayed capture", "hmac_replay", a.ip4, func() []byte { return replayed }, false},
		{"unsigned", "hmac_missing", cAddr, func() []byte { return unsigned }, true},
		{"wrong key", "hmac_invalid", cAddr, func() []byte { return signedAdvert(t, bytes.Repeat([]byte{9}, 32), 254, cAddr, time.Now()) }, true},
		{"bit flipped", "hmac_invalid", cAddr, func() []byte { return flipped }, true},
		{"stale (60 s old, right key)", "hmac_stale", cAddr, func() []byte { return signedAdvert(t, hmacKeyBytes(), 254, cAddr, time.Now().Add(-time.Minute)) }, true},
	}
	for _, k := range kinds {
		ba, _ := a.status()
		bb, _ := b.status()
		for range forgedPerKind {
			if err := tx.send(k.src, vrrpGroup4, 255, k.pkt()); err != nil {
				t.Fatalf("send %s: %v", k.name, err)
			}
		}
		for _, chk := range []struct {
			n      *node
			before instStatus
			want   bool
		}{{a, ba, k.onA}, {b, bb, true}} {
			if !chk.want {
				continue
			}
			var delta map[string]uint64
			err := netlab.WaitFor(context.Background(), 3*time.Second, 20*time.Millisecond, func() (bool, error) {
				now, err := chk.n.status()
				if err != nil {
					return false, err
				}
				delta = dropDelta(chk.before.Drops, now.Drops)
				return delta[k.reason] >= forgedPerKind, fmt.Errorf("%d of %d", delta[k.reason], forgedPerKind)
			})
			if err != nil || delta[k.reason] != forgedPerKind {
				t.Errorf("%s at %s: new drops %v (%v), want %d %s", k.name, chk.n.name, delta, err, forgedPerKind, k.reason)
			} else {
				t.Logf("%-28s at %s → %v", k.name, chk.n.name, delta)
			}
		}
	}
	if _, err := holdOwner(5*sc.advert, sampleEvery(sc.advert), vip4, "a", a, b); err != nil {
		fail(t, "forged adverts moved the VIP: "+err.Error(), a, b)
	}
	if lost := watch.stop(); lost != "" {
		fail(t, "a lost the VIP during the migration or the forgeries: "+lost, a, b)
	}
	if after := transitionsOf(t, a, b); fmt.Sprint(before) != fmt.Sprint(after) {
		fail(t, fmt.Sprintf("transitions %v → %v after the forgeries", before, after), a, b)
	}
	stopBoth(t, sc, a, b)
}

// TestAuthHMACPairs: a signed govrrp pair (enforce) elects and keeps its
// roles over IPv6 multicast and VRRPv2 unicast too, neither node dropping
// the other's adverts; a graceful stop hands over on the signed priority 0.
func TestAuthHMACPairs(t *testing.T) {
	t.Parallel()
	for _, sc := range []scenario{
		{name: "v3-ipv6-mcast-100ms", version: 3, ipv6: true, advert: 100 * time.Millisecond},
		{name: "v2-ipv4-unicast", version: 2, unicast: true, advert: time.Second},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			a, b, _ := hmacLab(t)
			a.start(hmacConf(sc, a, b, prioHigh, "enforce"), prioHigh)
			b.start(hmacConf(sc, b, a, prioLow, "enforce"), prioLow)
			if err := waitOwner(startupMargin+sc.masterDown(prioHigh), sampleEvery(sc.advert), sc.vip(), "a", a, b); err != nil {
				fail(t, err.Error(), a, b)
			}
			if _, err := holdOwner(5*sc.advert, sampleEvery(sc.advert), sc.vip(), "a", a, b); err != nil {
				fail(t, err.Error(), a, b)
			}
			st, err := b.status()
			if err != nil || st.State != "BACKUP" || st.AdvertsReceived == 0 || len(st.Drops) != 0 {
				fail(t, fmt.Sprintf("backup: state %s, received %d, drops %v (%v)", st.State, st.AdvertsReceived, st.Drops, err), a, b)
			}
			d := handover(t, sc, a, b, a, b)
			t.Logf("%s: signed pair elected; handover on the signed priority-0 advert in %v", sc.name, d)
			stopBoth(t, sc, b)
		})
	}
}
