package daemon

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

const authKey = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// authBlock is an auth_hmac block in mode (keepalived's default when "").
func authBlock(mode string) string {
	b := "version 3\n    auth_hmac {\n        key 1 " + authKey + "\n        active_key 1\n        time_window 5\n"
	if mode != "" {
		b += "        mode " + mode + "\n"
	}
	return b + "    }"
}

func authConf(state string, prio int, mode string) string {
	return fmt.Sprintf(twoNodeConf, state, prio, "0.1", authBlock(mode))
}

// sniff returns the next advert the conn sees from src within a second,
// after what it had already queued.
func sniff(t *testing.T, c *transport.SegmentConn, src netip.Addr) []byte {
	t.Helper()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	for {
		if _, _, err := c.ReadFrom(buf); err != nil {
			break
		}
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		c.SetReadDeadline(deadline)
		n, m, err := c.ReadFrom(buf)
		if err != nil {
			break
		}
		if m.Src == src {
			return bytes.Clone(buf[:n])
		}
	}
	t.Fatalf("no advert from %v within a second", src)
	return nil
}

// signedBy signs a v3 advert as src would with key (id 1) at when.
func signedBy(t *testing.T, key []byte, prio uint8, src netip.Addr, when time.Time) []byte {
	t.Helper()
	c, err := vrrp.NewHMACConfig([]vrrp.HMACKey{{ID: 1, Secret: key}}, 1, vrrp.HMACEnforce, vrrp.ReplayTime, 5)
	if err != nil {
		t.Fatal(err)
	}
	adv := vrrp.Advert{Version: vrrp.V3, VRID: 51, Priority: prio, AdverInt: 100 * time.Millisecond, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	b, err := adv.AppendMarshalSigned(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: src, Dst: vrrp.MulticastIPv4}, c, new(vrrp.HMACSigner), when)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func authTestKey() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

// A signed pair elects and fails over; what goes on the wire carries the
// 28-byte trailer; and a node without auth_hmac cannot take those adverts
// for unsigned ones (it drops them by length, as keepalived does).
func TestHMACSignedPairElects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		wire := seg.Attach(netip.MustParseAddr("192.0.2.77")).(*transport.SegmentConn)
		a := startNode(t, seg, "192.0.2.11", authConf("MASTER", 150, ""))
		b := startNode(t, seg, "192.0.2.12", authConf("BACKUP", 100, ""))
		time.Sleep(time.Second)
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
			t.Fatalf("states %v, want [MASTER BACKUP]", got)
		}
		pkt := sniff(t, wire, netip.MustParseAddr("192.0.2.11"))
		if len(pkt) != 8+4+vrrp.HMACTrailerLen || pkt[len(pkt)-28] != 1 || pkt[len(pkt)-27] != 1 {
			t.Fatalf("advert on the wire: %x, want a message with a key-1 trailer", pkt)
		}
		bs := b.d.instances[0].snapshot()
		if bs.AdvertsReceived == 0 || len(bs.Drops) != 0 || len(bs.Warnings) != 0 {
			t.Fatalf("backup received %d, drops %v, warnings %v", bs.AdvertsReceived, bs.Drops, bs.Warnings)
		}
		a.stop(t)
		time.Sleep(100 * time.Millisecond)
		if b.state() != "MASTER" || !b.addrs.holds("192.0.2.100/24") {
			t.Fatalf("after the signed priority-0 advert b is %s", b.state())
		}
		b.stop(t)
	})
}

// Forged (wrong key, unsigned, bit-flipped), stale and replayed adverts are
// dropped, counted by reason, and never move the master.
func TestHMACForgedAndReplayedDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a := startNode(t, seg, "192.0.2.11", authConf("MASTER", 150, ""))
		b := startNode(t, seg, "192.0.2.12", authConf("BACKUP", 100, ""))
		attackerAddr := netip.MustParseAddr("192.0.2.66")
		attacker := seg.Attach(attackerAddr).(*transport.SegmentConn)
		// The replayer spoofs a's address: it re-sends a's own adverts.
		aAddr := netip.MustParseAddr("192.0.2.11")
		replayer := seg.Attach(aAddr).(*transport.SegmentConn)
		time.Sleep(time.Second)
		captured := sniff(t, replayer, aAddr)
		time.Sleep(500 * time.Millisecond) // a has sent newer adverts since

		unsigned := func() []byte {
			adv := vrrp.Advert{Version: vrrp.V3, VRID: 51, Priority: 254, AdverInt: 100 * time.Millisecond, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
			p, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: attackerAddr, Dst: vrrp.MulticastIPv4})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}()
		flipped := signedBy(t, authTestKey(), 254, attackerAddr, time.Now())
		flipped[len(flipped)-3] ^= 0x04 // in the HMAC: the checksum does not cover the trailer
		forged := []struct {
			name   string
			from   *transport.SegmentConn
			src    netip.Addr
			packet []byte
			reason string
		}{
			{"unsigned", attacker, attackerAddr, unsigned, "hmac_missing"},
			{"wrong key", attacker, attackerAddr, signedBy(t, bytes.Repeat([]byte{9}, 32), 254, attackerAddr, time.Now()), "hmac_invalid"},
			{"bit flipped", attacker, attackerAddr, flipped, "hmac_invalid"},
			{"stale (10 s old, right key)", attacker, attackerAddr, signedBy(t, authTestKey(), 254, attackerAddr, time.Now().Add(-10*time.Second)), "hmac_stale"},
			{"replayed", replayer, aAddr, captured, "hmac_replay"},
		}
		for _, f := range forged {
			for range 10 {
				if err := f.from.WriteTo(f.packet, f.src, vrrp.MulticastIPv4); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		synctest.Wait()
		if a.state() != "MASTER" || b.state() != "BACKUP" || !a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("states a=%s b=%s after forged adverts", a.state(), b.state())
		}
		for _, n := range []*node{a, b} {
			drops := n.d.instances[0].snapshot().Drops
			for _, f := range forged {
				if f.from == replayer && n == a {
					continue // a drops its own address as own_advert first
				}
				if drops[f.reason] < 10 {
					t.Errorf("%s: %d drops under %q, want 10 (drops %v)", f.name, drops[f.reason], f.reason, drops)
				}
			}
		}
		// A genuine signed advert of higher priority (the key holder) does
		// move the master: the drops above were the trailer's doing.
		for range 5 {
			attacker.WriteTo(signedBy(t, authTestKey(), 254, attackerAddr, time.Now()), attackerAddr, vrrp.MulticastIPv4)
			time.Sleep(100 * time.Millisecond)
		}
		if a.state() != "BACKUP" {
			t.Fatalf("a signed priority-254 advert did not make a yield: %s", a.state())
		}
		a.stop(t)
		b.stop(t)
	})
}

// receive-only → permissive → enforce by reload on both nodes: nobody
// changes state, no advert of the pair is dropped, and the backup's
// anti-replay memory of the master survives its reloads.
func TestHMACReloadMigrationWithoutFlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		aAddr := netip.MustParseAddr("192.0.2.11")
		replayer := seg.Attach(aAddr).(*transport.SegmentConn)
		a := startNode(t, seg, "192.0.2.11", authConf("MASTER", 150, "receive-only"))
		b := startNode(t, seg, "192.0.2.12", authConf("BACKUP", 100, "receive-only"))
		time.Sleep(time.Second)
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
			t.Fatalf("states %v", got)
		}
		if pkt := sniff(t, replayer, aAddr); len(pkt) != 12 {
			t.Fatalf("receive-only sent %d bytes, want an unsigned 12-byte advert", len(pkt))
		}
		synctest.Wait() // b has counted that advert too
		before := []uint64{a.d.instances[0].snapshot().Transitions, b.d.instances[0].snapshot().Transitions}
		unsignedSeen := b.d.instances[0].snapshot().Warnings["hmac_unsigned"]
		if unsignedSeen == 0 {
			t.Fatalf("receive-only backup counted no unsigned adverts: %v", b.d.instances[0].snapshot().Warnings)
		}
		var captured []byte
		for _, mode := range []string{"permissive", "enforce"} {
			for _, n := range []*node{a, b} {
				text := authConf("MASTER", 150, mode)
				if n == b {
					text = authConf("BACKUP", 100, mode)
				}
				if out := reloadNode(t, n, text); out.err != nil {
					t.Fatalf("reload to %s: %v", mode, out.err)
				}
			}
			time.Sleep(time.Second)
			if captured == nil {
				captured = sniff(t, replayer, aAddr)
				if len(captured) != 12+vrrp.HMACTrailerLen {
					t.Fatalf("permissive master sent %d bytes, want a signed advert", len(captured))
				}
			}
		}
		bs := b.d.instances[0].snapshot()
		after := []uint64{a.d.instances[0].snapshot().Transitions, bs.Transitions}
		if !cmp.Equal(before, after) || a.state() != "MASTER" || b.state() != "BACKUP" {
			t.Fatalf("transitions %v → %v, states %s/%s: the migration flapped", before, after, a.state(), b.state())
		}
		if len(bs.Drops) != 0 || bs.Warnings["hmac_unsigned"] != unsignedSeen {
			t.Fatalf("backup drops %v, unsigned %d → %d: a signed advert was dropped or one was unsigned", bs.Drops, unsignedSeen, bs.Warnings["hmac_unsigned"])
		}
		// The advert b verified last, replayed right after b reloads (before
		// a sends another): b's anti-replay memory survived the reload.
		captured = sniff(t, replayer, aAddr)
		synctest.Wait() // b has verified it too
		if out := reloadNode(t, b, authConf("BACKUP", 100, "enforce")); out.err != nil {
			t.Fatal(out.err)
		}
		for range 3 {
			replayer.WriteTo(captured, aAddr, vrrp.MulticastIPv4)
		}
		synctest.Wait()
		if got := b.d.instances[0].snapshot().Drops["hmac_replay"]; got != 3 {
			t.Errorf("replay after reloads: %d hmac_replay drops, want 3 (drops %v)", got, b.d.instances[0].snapshot().Drops)
		}
		a.stop(t)
		b.stop(t)
	})
}

// receive-only accepts what enforce would drop, and says why in the
// warnings, so an operator sees what enforce would do before switching.
func TestHMACReceiveOnlyCountsWouldBeDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		b := startNode(t, seg, "192.0.2.12", authConf("BACKUP", 100, "receive-only"))
		src := netip.MustParseAddr("192.0.2.66")
		peer := seg.Attach(src).(*transport.SegmentConn)
		time.Sleep(100 * time.Millisecond)
		for range 10 {
			peer.WriteTo(signedBy(t, bytes.Repeat([]byte{9}, 32), 200, src, time.Now()), src, vrrp.MulticastIPv4)
			time.Sleep(100 * time.Millisecond)
		}
		if got := b.state(); got != "BACKUP" {
			t.Fatalf("b is %s, want BACKUP under the priority-200 peer", got)
		}
		s := b.d.instances[0].snapshot()
		var key string
		for k := range s.Warnings {
			if strings.Contains(k, "receive_only_hmac_invalid") {
				key = k
			}
		}
		if key == "" || s.Warnings[key] != 10 || len(s.Drops) != 0 || s.Master != src.String() {
			t.Fatalf("warnings %v drops %v master %q, want 10 receive_only_hmac_invalid, no drop, the peer as master", s.Warnings, s.Drops, s.Master)
		}
		b.stop(t)
	})
}

// auth_hmac added to and removed from running instances by reload: the
// adverts change form, nobody changes state, nothing is dropped.
func TestHMACTurnedOnAndOffByReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		aAddr := netip.MustParseAddr("192.0.2.11")
		wire := seg.Attach(netip.MustParseAddr("192.0.2.77")).(*transport.SegmentConn)
		plain := func(state string, prio int) string { return fmt.Sprintf(twoNodeConf, state, prio, "0.1", "version 3") }
		a := startNode(t, seg, "192.0.2.11", plain("MASTER", 150))
		b := startNode(t, seg, "192.0.2.12", plain("BACKUP", 100))
		time.Sleep(time.Second)
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
			t.Fatalf("states %v", got)
		}
		before := []uint64{a.d.instances[0].snapshot().Transitions, b.d.instances[0].snapshot().Transitions}
		var sizes []int
		for _, signed := range []bool{true, false} {
			ta, tb := plain("MASTER", 150), plain("BACKUP", 100)
			if signed {
				ta, tb = authConf("MASTER", 150, "permissive"), authConf("BACKUP", 100, "permissive")
			}
			// Backup first when signing starts, master first when it stops:
			// a node without auth_hmac drops signed adverts (length), as
			// keepalived does; the backup sends none.
			order := []struct {
				n    *node
				text string
			}{{b, tb}, {a, ta}}
			if !signed {
				order[0], order[1] = order[1], order[0]
			}
			for _, r := range order {
				if out := reloadNode(t, r.n, r.text); out.err != nil {
					t.Fatal(out.err)
				}
			}
			time.Sleep(time.Second)
			sizes = append(sizes, len(sniff(t, wire, aAddr)))
		}
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
			t.Fatalf("states %v after the reloads", got)
		}
		after := []uint64{a.d.instances[0].snapshot().Transitions, b.d.instances[0].snapshot().Transitions}
		bs := b.d.instances[0].snapshot()
		if !cmp.Equal(before, after) || !cmp.Equal(sizes, []int{12 + vrrp.HMACTrailerLen, 12}) || len(bs.Drops) != 0 {
			t.Fatalf("transitions %v → %v, advert sizes %v (want signed then unsigned), backup drops %v", before, after, sizes, bs.Drops)
		}
		a.stop(t)
		b.stop(t)
	})
}

func TestAuthLabel(t *testing.T) {
	for want, c := range map[string]*kaconf.Instance{
		"none":              {},
		"pass":              {AuthType: "PASS"},
		"hmac-enforce":      {AuthHMAC: &kaconf.AuthHMAC{Mode: "enforce"}},
		"hmac-receive-only": {AuthHMAC: &kaconf.AuthHMAC{Mode: "receive-only"}},
	} {
		if got := authLabel(c); got != want {
			t.Errorf("authLabel(%+v) = %q, want %q", c, got, want)
		}
	}
}
