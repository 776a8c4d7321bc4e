package interop

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/netlab"
)

// This file is scenario 6: a host forges adverts at a govrrp master. The
// packets are built here by hand, independent of pkg/vrrp, so the test is
// a second opinion on the wire format.

var vrrpGroup4 = netip.MustParseAddr("224.0.0.18")

// advertSpec is a VRRP advert before serialisation (IPv4 only here).
type advertSpec struct {
	version  int
	vrid     int
	priority int
	advert   time.Duration
	addrs    []netip.Addr
	authPass string // v2: auth type 1 with these 8 bytes (truncated/padded)
}

// marshal builds the VRRP message with a correct checksum for src→dst.
func (a advertSpec) marshal(src, dst netip.Addr) []byte {
	b := make([]byte, 8, 8+4*len(a.addrs)+8)
	b[0] = byte(a.version<<4 | 1)
	b[1], b[2], b[3] = byte(a.vrid), byte(a.priority), byte(len(a.addrs))
	if a.version == 2 {
		if a.authPass != "" {
			b[4] = 1
		}
		b[5] = byte(a.advert / time.Second)
	} else {
		binary.BigEndian.PutUint16(b[4:], uint16(a.advert/(10*time.Millisecond))&0x0fff)
	}
	for _, ip := range a.addrs {
		b = append(b, ip.AsSlice()...)
	}
	if a.version == 2 {
		var auth [8]byte
		copy(auth[:], a.authPass) // keepalived: only the first 8 characters count
		b = append(b, auth[:]...)
	}
	fixChecksum(b, a.version, src, dst)
	return b
}

// fixChecksum (re)computes bytes 6-7: v2 over the message, v3 IPv4 with the
// pseudo-header (keepalived's and govrrp's default).
func fixChecksum(b []byte, version int, src, dst netip.Addr) {
	if len(b) < 8 {
		return
	}
	b[6], b[7] = 0, 0
	var sum uint32
	if version == 3 {
		s, d := src.As4(), dst.As4()
		pseudo := append(append(s[:], d[:]...), 0, 112, byte(len(b)>>8), byte(len(b)))
		sum = onesSum(sum, pseudo)
	}
	sum = onesSum(sum, b)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[6:], ^uint16(sum))
}

func onesSum(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

// rawSender writes whole IPv4 packets (IP_HDRINCL) out of one interface of
// a lab host. The socket is opened inside the namespace and stays bound to
// it, so sends may happen from any goroutine.
type rawSender struct{ fd int }

func openRawSender(h *netlab.Host, ifname string) (*rawSender, error) {
	var fd int
	err := h.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		if err != nil {
			return fmt.Errorf("interop: raw socket: %w", err)
		}
		if err := unix.BindToDevice(fd, ifname); err != nil {
			unix.Close(fd)
			return fmt.Errorf("interop: bind raw socket to %s: %w", ifname, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rawSender{fd: fd}, nil
}

func (r *rawSender) Close() error { return unix.Close(r.fd) }

// send writes payload as IP protocol 112 from src to dst with ttl. Only lab
// addresses and the link-local VRRP group are allowed as destinations.
func (r *rawSender) send(src, dst netip.Addr, ttl int, payload []byte) error {
	if !lanV4.Contains(dst) && dst != vrrpGroup4 {
		return fmt.Errorf("interop: refusing to send to %s outside the lab", dst)
	}
	pkt := make([]byte, 20+len(payload))
	pkt[0], pkt[1] = 0x45, 0xc0 // IPv4, IHL 5; DSCP CS6 like VRRP speakers
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	pkt[8], pkt[9] = byte(ttl), 112 // id, frag and checksum: the kernel fills them
	s, d := src.As4(), dst.As4()
	copy(pkt[12:], s[:])
	copy(pkt[16:], d[:])
	copy(pkt[20:], payload)
	sa := &unix.SockaddrInet4{Addr: d}
	if err := unix.Sendto(r.fd, pkt, 0, sa); err != nil {
		return fmt.Errorf("interop: sendto %s: %w", dst, err)
	}
	return nil
}

// forgeKind is one kind of bad advert and the drop reason govrrp must count.
type forgeKind struct {
	name    string
	version int // 0: both versions
	ttl     int
	reason  string // pkg/vrrp DropReason label; "" = any reason
	mutate  func(b []byte, rng *rand.Rand) []byte
}

// forgeKinds lists the bad adverts for a version. Mutations recompute the
// checksum so that only the intended defect is wrong.
func forgeKinds(version int, src, dst netip.Addr) []forgeKind {
	re := func(b []byte) []byte { fixChecksum(b, version, src, dst); return b }
	kinds := []forgeKind{
		{name: "ttl64", ttl: 64, reason: "ttl", mutate: func(b []byte, _ *rand.Rand) []byte { return b }},
		{name: "bad-checksum", ttl: 255, reason: "checksum", mutate: func(b []byte, _ *rand.Rand) []byte {
			b[6] ^= 0x5a
			return b
		}},
		{name: "truncated", ttl: 255, reason: "too_short", mutate: func(b []byte, _ *rand.Rand) []byte { return b[:6] }},
		{name: "wrong-version", ttl: 255, reason: "version", mutate: func(b []byte, _ *rand.Rand) []byte {
			b[0] = 4<<4 | 1
			return re(b)
		}},
		{name: "wrong-type", ttl: 255, reason: "type", mutate: func(b []byte, _ *rand.Rand) []byte {
			b[0] = byte(version<<4 | 2)
			return re(b)
		}},
		{name: "lying-count", ttl: 255, reason: "length", mutate: func(b []byte, _ *rand.Rand) []byte {
			b[3] = 3 // one address present
			return re(b)
		}},
		{name: "zero-interval", version: 3, ttl: 255, reason: "zero_interval", mutate: func(b []byte, _ *rand.Rand) []byte {
			b[4], b[5] = 0, 0
			return re(b)
		}},
		{name: "unknown-vrid", ttl: 255, reason: "unknown_vrid", mutate: func(b []byte, _ *rand.Rand) []byte {
			b[1] = vrid + 1
			return re(b)
		}},
		{name: "random-bytes", ttl: 255, mutate: func(b []byte, rng *rand.Rand) []byte {
			r := make([]byte, 8+rng.IntN(40))
			for i := range r {
				r[i] = byte(rng.Uint32())
			}
			r[1], r[2] = vrid, 254 // reach our instance, claim 254
			return r
		}},
		{name: "wrong-password", version: 2, ttl: 255, reason: "auth_mismatch", mutate: func(b []byte, _ *rand.Rand) []byte {
			copy(b[len(b)-8:], "wrongpw!")
			return re(b)
		}},
	}
	var out []forgeKind
	for _, k := range kinds {
		if k.version == 0 || k.version == version {
			out = append(out, k)
		}
	}
	return out
}

const forgedPerKind = 25

func TestForgedAdverts(t *testing.T) {
	t.Parallel()
	cases := []scenario{
		{name: "v3-ipv4", version: 3, advert: time.Second},
		{name: "v2-ipv4-pass", version: 2, advert: time.Second, authPass: "longpassword42"},
	}
	// keepalived as the target validates the forged packets themselves: it
	// must ignore the bad ones and yield to the good stream too.
	for _, sc := range cases {
		for _, im := range []impl{keepalived, govrrp} {
			t.Run(sc.name+"/"+im.short(), func(t *testing.T) {
				t.Parallel()
				runForge(t, sc, im)
			})
		}
	}
}

// runForge: a (govrrp, prio 150) is master; b forges bad adverts claiming
// priority 254. a must keep the VIP and count each under its reason; then a
// well-formed priority-200 stream makes it yield.
// For a keepalived target the counters are not checked (it has no status
// JSON) and zero-interval is skipped: keepalived 2.2.7 accepts it.
func runForge(t *testing.T, sc scenario, im impl) {
	_, a, b := twoHosts(t, im, govrrp)
	a.start(a.confFor(sc, b, prioHigh), prioHigh)
	if err := waitOwner(startupMargin+sc.masterDown(prioHigh), sampleEvery(sc.advert), vip4, "a", a, b); err != nil {
		fail(t, fmt.Sprintf("govrrp alone never became master: %v", err), a)
	}
	tx, err := openRawSender(b.host, ifname)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()

	src := b.ip4
	base := advertSpec{version: sc.version, vrid: vrid, priority: 254, advert: sc.advert,
		addrs: []netip.Addr{vip4}, authPass: sc.authPass}
	watch := watchVIP(a, vip4, 10*time.Millisecond)
	t.Cleanup(func() { watch.stop() }) // also on early failure; stop is idempotent
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: failures reproduce
	for _, k := range forgeKinds(sc.version, src, vrrpGroup4) {
		if im == keepalived && k.reason == "zero_interval" {
			continue
		}
		checkForgedKind(t, a, tx, k, base, src, rng)
	}
	// One more interval of sampling: a late reaction must not slip by.
	if _, err := holdOwner(sc.advert, 10*time.Millisecond, vip4, "a", a); err != nil {
		fail(t, "master lost the VIP after forged adverts: "+err.Error(), a)
	}
	if lost := watch.stop(); lost != "" {
		fail(t, "master lost the VIP to forged adverts: "+lost, a)
	}

	yieldToStream(t, sc, a, tx, base, src)
	stopBoth(t, sc, a)
}

// checkForgedKind sends forgedPerKind packets of one kind and wants exactly
// that many more drops under the kind's reason.
func checkForgedKind(t *testing.T, a *node, tx *rawSender, k forgeKind, base advertSpec, src netip.Addr, rng *rand.Rand) {
	t.Helper()
	var before instStatus
	if a.impl == govrrp {
		var err error
		if before, err = a.status(); err != nil {
			fail(t, err.Error(), a)
		}
	}
	for i := 0; i < forgedPerKind; i++ {
		pkt := k.mutate(base.marshal(src, vrrpGroup4), rng)
		if err := tx.send(src, vrrpGroup4, k.ttl, pkt); err != nil {
			t.Fatalf("forge %s: %v", k.name, err)
		}
	}
	if a.impl != govrrp {
		return
	}
	var delta map[string]uint64
	err := netlab.WaitFor(context.Background(), 3*time.Second, 20*time.Millisecond, func() (bool, error) {
		now, err := a.status()
		if err != nil {
			return false, err
		}
		delta = dropDelta(before.Drops, now.Drops)
		total := uint64(0)
		for _, v := range delta {
			total += v
		}
		return total >= forgedPerKind, fmt.Errorf("%d of %d %s drops counted so far: %v", total, forgedPerKind, k.name, delta)
	})
	if k.reason == "" {
		t.Logf("forged %-14s → drops %v", k.name, delta)
		if err != nil {
			t.Errorf("forged %s: %v", k.name, err)
		}
		return
	}
	want := map[string]uint64{k.reason: forgedPerKind}
	got := map[string]uint64{k.reason: delta[k.reason]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forged %s: drop counters (-want +got):\n%s\nall new drops: %v (wait: %v)", k.name, diff, delta, err)
		return
	}
	t.Logf("forged %-14s → drops %v", k.name, delta)
}

// dropDelta is after−before per reason, zero entries left out.
func dropDelta(before, after map[string]uint64) map[string]uint64 {
	d := map[string]uint64{}
	for k, v := range after {
		if v > before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}

// yieldToStream sends a well-formed priority-200 advert every interval for
// up to 5 intervals and wants the master to drop the VIP while it runs.
func yieldToStream(t *testing.T, sc scenario, a *node, tx *rawSender, base advertSpec, src netip.Addr) {
	t.Helper()
	good := base
	good.priority = 200
	pkt := good.marshal(src, vrrpGroup4)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent int
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(sc.advert)
		defer tick.Stop()
		for sent < 5 {
			if sendErr = tx.send(src, vrrpGroup4, 255, pkt); sendErr != nil {
				return
			}
			sent++
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	err := waitOwner(3*sc.advert+time.Second, sampleEvery(sc.advert), vip4, "", a)
	var st instStatus
	var stErr error
	if err == nil && a.impl == govrrp {
		st, stErr = a.status()
	}
	cancel()
	wg.Wait()
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	if err != nil {
		fail(t, fmt.Sprintf("a priority-200 advert stream (%d sent) did not make the master yield: %v", sent, err), a)
	}
	if a.impl == govrrp && (stErr != nil || st.State != "BACKUP") {
		fail(t, fmt.Sprintf("after yielding: state %q (err %v), want BACKUP", st.State, stErr), a)
	}
	t.Logf("yielded to priority 200 after %d adverts; master per status: %q", sent, st.Master)
}

// vipWatch samples in the background that a node keeps a VIP.
type vipWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	lost   string
}

func watchVIP(n *node, addr netip.Addr, every time.Duration) *vipWatch {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	w := &vipWatch{cancel: cancel, done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(w.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; i < int(2*time.Minute/every); i++ {
			if has, err := n.hasVIP(addr); err != nil || !has {
				w.lost = fmt.Sprintf("VIP missing after %v (err %v)", time.Since(start).Round(time.Millisecond), err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// stop ends the watch and says what went wrong ("" = VIP held throughout).
func (w *vipWatch) stop() string {
	w.cancel()
	<-w.done
	return w.lost
}
