package interop

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// use_vmac lab: a (prio 150) and b (prio 100) run the instance with
// use_vmac; client c pings the VIP. VRID 51: virtual MAC 00:00:5e:00:01:33,
// VMAC name vrrp.51 (keepalived's default, vmac_prefix "vrrp").
const (
	vmacName   = "vrrp.51"
	vmacMAC    = "00:00:5e:00:01:33"
	vmacAdvert = 100 * time.Millisecond
)

var addrC4 = netip.MustParsePrefix("192.0.2.50/24")

// vmacConf is keepalived.conf text both implementations read.
func vmacConf(router string, prio int) string {
	return fmt.Sprintf(`global_defs {
    router_id %s
}
vrrp_instance VI_VMAC {
    state BACKUP
    interface %s
    virtual_router_id %d
    version 3
    priority %d
    advert_int %.1f
    use_vmac
    virtual_ipaddress {
        %s/24
    }
}
`, router, ifname, vrid, prio, vmacAdvert.Seconds(), vip4)
}

// vmacLab builds a, b and the client c on one segment.
func vmacLab(t *testing.T, ia, ib impl) (a, b *node, c *netlab.Host) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived", "tcpdump", "ping")
	lab := netlab.New(t)
	seg := lab.AddSegment("lan", lanV4, lanV6)
	mk := func(name string, im impl, v4, v6 netip.Prefix) *node {
		h := lab.AddHost(name)
		if err := h.Connect(seg, ifname, v4, v6); err != nil {
			t.Fatalf("interop: connect %s: %v", name, err)
		}
		return &node{t: t, name: name, impl: im, host: h, ip4: v4.Addr(), ip6: v6.Addr()}
	}
	a, b = mk("a", ia, addrA4, addrA6), mk("b", ib, addrB4, addrB6)
	c = lab.AddHost("c")
	if err := c.Connect(seg, ifname, addrC4, netip.MustParsePrefix("2001:db8::50/64")); err != nil {
		t.Fatalf("interop: connect c: %v", err)
	}
	return a, b, c
}

// linkExists reports whether the host has a link named name.
func linkExists(h *netlab.Host, name string) bool {
	_, err := h.Exec(context.Background(), "ip", "link", "show", "dev", name)
	return err == nil
}

// waitVMACOwner waits until owner holds the VIP on its VMAC and the other
// node does not.
func waitVMACOwner(t testing.TB, timeout time.Duration, owner, other *node) time.Duration {
	t.Helper()
	start := time.Now()
	err := netlab.WaitFor(context.Background(), timeout, 10*time.Millisecond, func() (bool, error) {
		on, err := owner.host.HasAddr(vmacName, vip4)
		if err != nil || !on {
			return false, fmt.Errorf("%s does not hold %s on %s (%v)", owner.name, vip4, vmacName, err)
		}
		if other.proc != nil {
			if dup, _ := other.host.HasAddr(vmacName, vip4); dup {
				return false, fmt.Errorf("%s also holds %s", other.name, vip4)
			}
		}
		return true, nil
	})
	if err != nil {
		fail(t, "interop: vmac: "+err.Error(), owner, other)
	}
	return time.Since(start)
}

// clientNeigh pings the VIP from c (deadline-bounded) and returns the MAC
// c's neighbour table holds for it.
func clientNeigh(t testing.TB, c *netlab.Host, nodes ...*node) string {
	t.Helper()
	var mac string
	err := netlab.WaitFor(context.Background(), 5*time.Second, 50*time.Millisecond, func() (bool, error) {
		if out, err := c.Exec(context.Background(), "ping", "-n", "-c", "1", "-W", "1", vip4.String()); err != nil {
			return false, fmt.Errorf("ping %s: %v: %s", vip4, err, out)
		}
		out, err := c.Exec(context.Background(), "ip", "neigh", "show", vip4.String(), "dev", ifname)
		if err != nil {
			return false, err
		}
		f := strings.Fields(string(out))
		if i := slices.Index(f, "lladdr"); i >= 0 && i+1 < len(f) {
			mac = f[i+1]
			return true, nil
		}
		return false, fmt.Errorf("no lladdr for %s in %q", vip4, out)
	})
	if err != nil {
		fail(t, "interop: vmac: client: "+err.Error(), nodes...)
	}
	return mac
}

// checkNeigh pings the VIP from c and wants the virtual MAC in c's entry
// for it while a govrrp node is master. keepalived 2.2.7 as master lets the
// entry move to its base MAC (its ARP request for the client carries the VIP
// from the base: arp_announce 0, see internal/vip/vmac.go); that is logged.
func checkNeigh(t testing.TB, c *netlab.Host, master *node, when string, nodes ...*node) {
	t.Helper()
	mac := clientNeigh(t, c, nodes...)
	switch {
	case mac == vmacMAC:
	case master.impl == keepalived:
		t.Logf("%s: client's entry for the VIP is %s with keepalived master %s (keepalived 2.2.7 leaves arp_announce 0)", when, mac, master.name)
	default:
		fail(t, fmt.Sprintf("interop: vmac: %s: client's neighbour entry for the VIP is %s, want %s", when, mac, vmacMAC), nodes...)
	}
}

// TestVMACFailover: with use_vmac on both nodes, the client's neighbour
// entry for the VIP is the virtual MAC before and after the master crashes
// (kill -9: master-down interval) and after a graceful stop (priority 0),
// adverts leave with the virtual MAC as source, and every VMAC is gone
// after a graceful stop. Pairings with keepalived 2.2.7 as the peer; the
// failover times are logged beside keepalived↔keepalived.
func TestVMACFailover(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	results := map[string][]time.Duration{}
	t.Run("runs", func(t *testing.T) {
		for _, p := range pairings {
			t.Run(p.String(), func(t *testing.T) {
				t.Parallel()
				crash, stop := vmacFailover(t, p)
				mu.Lock()
				results["kill-9 "+p.a.short()+"→"+p.b.short()] = []time.Duration{crash}
				results["sigterm "+p.a.short()+"→"+p.b.short()] = []time.Duration{stop}
				mu.Unlock()
			})
		}
	})
	t.Logf("use_vmac failover, v3 IPv4 %v adverts (master a prio 150 → backup b prio 100):\n%s", vmacAdvert, handoverTable(results))
}

// vmacFailover runs one pairing and returns the crash and graceful
// failover times (a's signal to the VIP on b's VMAC).
func vmacFailover(t *testing.T, p pairing) (crash, stop time.Duration) {
	a, b, c := vmacLab(t, p.a, p.b)
	capt, err := c.Capture(ifname, "ip proto 112")
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	a.start(vmacConf("vm_a", prioHigh), prioHigh)
	b.start(vmacConf("vm_b", prioLow), prioLow)
	sc := scenario{version: 3, advert: vmacAdvert}
	bound := startupMargin + sc.masterDown(prioLow)
	waitVMACOwner(t, bound, a, b)
	for _, n := range []*node{a, b} {
		if !linkExists(n.host, vmacName) {
			fail(t, fmt.Sprintf("interop: vmac: %s (%s) has no %s while running", n.name, n.impl, vmacName), a, b)
		}
	}
	checkNeigh(t, c, a, "before failover", a, b)

	// Crash: b takes over after its master-down interval.
	t0 := time.Now()
	if err := a.kill(); err != nil {
		t.Fatalf("kill a: %v", err)
	}
	waitVMACOwner(t, bound, b, a)
	crash = time.Since(t0)
	checkNeigh(t, c, b, "after kill -9 of a", a, b)
	// a restarts over the VMAC its killed run left, and preempts.
	if !linkExists(a.host, vmacName) {
		t.Logf("%s (%s) removed its VMAC although killed", a.name, a.impl)
	}
	a.start(vmacConf("vm_a", prioHigh), prioHigh)
	waitVMACOwner(t, bound, a, b)

	// Graceful stop: priority 0, b takes over after Skew_Time.
	t0 = time.Now()
	if err := a.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM a: %v", err)
	}
	waitVMACOwner(t, bound, b, a)
	stop = time.Since(t0)
	if err := a.waitExit(bound); err != nil {
		fail(t, err.Error(), a, b)
	}
	checkNeigh(t, c, b, "after SIGTERM of a", a, b)
	if linkExists(a.host, vmacName) {
		fail(t, fmt.Sprintf("interop: vmac: %s left behind by %s after SIGTERM", vmacName, a.impl), a, b)
	}
	if err := b.signal(syscall.SIGTERM); err == nil {
		if err := b.waitExit(bound); err != nil {
			fail(t, err.Error(), a, b)
		}
	}
	if linkExists(b.host, vmacName) {
		fail(t, fmt.Sprintf("interop: vmac: %s left behind by %s after SIGTERM", vmacName, b.impl), a, b)
	}
	checkAdvertMACs(t, capt, a, b)
	return crash, stop
}

// checkAdvertMACs: every advert the client saw left a VMAC (virtual MAC as
// the Ethernet source), from both nodes.
func checkAdvertMACs(t testing.TB, capt *netlab.Capture, nodes ...*node) {
	t.Helper()
	path, err := capt.Stop()
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	text, err := netlab.ReadPcap(path, "-e")
	if err != nil {
		t.Fatalf("read capture: %v", err)
	}
	senders := map[netip.Addr]bool{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if f[1] != vmacMAC {
			fail(t, fmt.Sprintf("interop: vmac: advert with Ethernet source %s, want %s: %s", f[1], vmacMAC, line), nodes...)
		}
		for _, n := range nodes {
			if strings.Contains(line, " "+n.ip4.String()+" > ") {
				senders[n.ip4] = true
			}
		}
	}
	for _, n := range nodes {
		if !senders[n.ip4] {
			fail(t, fmt.Sprintf("interop: vmac: no advert from %s (%s) captured", n.name, n.impl), nodes...)
		}
	}
}

// vmacConfV is vmacConf for VRRP version v with advert interval adv.
func vmacConfV(router string, prio, v int, adv time.Duration) string {
	s := vmacConf(router, prio)
	s = strings.Replace(s, "version 3", fmt.Sprintf("version %d", v), 1)
	return strings.Replace(s, fmt.Sprintf("advert_int %.1f", vmacAdvert.Seconds()), fmt.Sprintf("advert_int %g", adv.Seconds()), 1)
}

// TestVMACFRR: FRR vrrpd (which only works with a VMAC) as the peer of a
// govrrp use_vmac instance, VRRPv2 at 1 s and v3 at 100 ms. govrrp (prio
// 150) preempts FRR (100); govrrp at prio 50 stays backup under FRR's
// adverts; FRR takes over on kill -9 (master-down) and on SIGTERM
// (priority 0); no VMAC is left on the govrrp host after the stop.
func TestVMACFRR(t *testing.T) {
	t.Parallel()
	netlab.Require(t, "/usr/lib/frr/vrrpd", "/usr/lib/frr/zebra", "vtysh")
	var mu sync.Mutex
	results := map[string][]time.Duration{}
	t.Run("runs", func(t *testing.T) {
		for _, v := range []struct {
			version int
			adv     time.Duration
		}{{2, time.Second}, {3, vmacAdvert}} {
			name := fmt.Sprintf("v%d-%v", v.version, v.adv)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				crash, stop := vmacFRR(t, v.version, v.adv)
				mu.Lock()
				results["kill-9 gv→frr "+name] = []time.Duration{crash}
				results["sigterm gv→frr "+name] = []time.Duration{stop}
				mu.Unlock()
			})
		}
	})
	t.Logf("use_vmac govrrp (prio 150) → FRR vrrpd (prio 100):\n%s", handoverTable(results))
}

func vmacFRR(t *testing.T, version int, adv time.Duration) (crash, stop time.Duration) {
	a, b, c := vmacLab(t, govrrp, govrrp)
	b.impl = "frr"
	sc := scenario{version: version, advert: adv}
	bound := startupMargin + sc.masterDown(prioLow)
	frr, err := b.host.StartFRRVRRP(netlab.FRRRouter{Interface: ifname, VRID: vrid, Version: version,
		Priority: prioLow, Advert: adv, VIPs: []netip.Prefix{netip.PrefixFrom(vip4, 24)}})
	if err != nil {
		t.Fatalf("start FRR: %v", err)
	}
	b.procs = append(b.procs, frr.Zebra, frr.VRRPD)
	frrMaster := func(want bool) time.Duration {
		t.Helper()
		start := time.Now()
		err := netlab.WaitFor(context.Background(), bound, 10*time.Millisecond, func() (bool, error) {
			if frr.VRRPD.Exited() {
				return false, netlab.Permanent(fmt.Errorf("vrrpd exited"))
			}
			m, err := frr.Master()
			return m == want, fmt.Errorf("FRR master=%v, want %v (%v)", m, want, err)
		})
		if err != nil {
			fail(t, "interop: vmac frr: "+err.Error(), a, b)
		}
		return time.Since(start)
	}
	// FRR alone becomes master; govrrp at prio 50 stays backup under it.
	frrMaster(true)
	a.start(vmacConfV("vm_a", 50, version, adv), 50)
	if err := holdNoVMACVIP(a, frr, 2*sc.masterDown(50), sampleEvery(adv)); err != nil {
		fail(t, "interop: vmac frr: govrrp at prio 50 under FRR: "+err.Error(), a, b)
	}
	if st, err := a.status(); err != nil || st.State != "BACKUP" || st.AdvertsReceived == 0 {
		fail(t, fmt.Sprintf("interop: vmac frr: govrrp under FRR: %+v %v, want BACKUP with adverts received", st, err), a, b)
	}
	if err := a.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := a.waitExit(bound); err != nil {
		fail(t, err.Error(), a, b)
	}
	// govrrp at 150 preempts.
	a.start(vmacConfV("vm_a", prioHigh, version, adv), prioHigh)
	b.proc = nil // waitVMACOwner: b is not a govrrp node
	waitVMACOwner(t, bound, a, b)
	frrMaster(false)
	if mac := clientNeigh(t, c, a, b); mac != vmacMAC {
		fail(t, fmt.Sprintf("interop: vmac frr: client's entry %s, want %s", mac, vmacMAC), a, b)
	}
	t0 := time.Now()
	if err := a.kill(); err != nil {
		t.Fatal(err)
	}
	frrMaster(true)
	crash = time.Since(t0)
	if mac := clientNeigh(t, c, a, b); mac != vmacMAC {
		t.Logf("after kill -9: client's entry for the VIP is %s with FRR master (FRR's base answers ARP for it)", mac)
	}
	a.start(vmacConfV("vm_a", prioHigh, version, adv), prioHigh)
	waitVMACOwner(t, bound, a, b)
	frrMaster(false)
	t0 = time.Now()
	if err := a.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	frrMaster(true)
	stop = time.Since(t0)
	if err := a.waitExit(bound); err != nil {
		fail(t, err.Error(), a, b)
	}
	if linkExists(a.host, vmacName) {
		fail(t, "interop: vmac frr: "+vmacName+" left behind after SIGTERM", a, b)
	}
	if err := frr.Stop(5 * time.Second); err != nil {
		t.Errorf("stop FRR: %v", err)
	}
	return crash, stop
}

// holdNoVMACVIP samples for window that n's VMAC exists without the VIP
// and FRR stays master.
func holdNoVMACVIP(n *node, frr *netlab.FRR, window, every time.Duration) error {
	start := time.Now()
	for i := 0; i < int(window/every)+2 && time.Since(start) < window; i++ {
		has, err := n.host.HasAddr(vmacName, vip4)
		if err != nil || has {
			return fmt.Errorf("after %v: VIP on %s's %s: %v (%v)", time.Since(start), n.name, vmacName, has, err)
		}
		if m, err := frr.Master(); err != nil || !m {
			return fmt.Errorf("after %v: FRR no longer master (%v)", time.Since(start), err)
		}
		time.Sleep(every)
	}
	return nil
}

// vmacPair is a two-instance file: VI_VMAC (IPv4, VRID 51, use_vmac name4)
// and, when with6, VI_V6 (IPv6, VRID 52, use_vmac vmx52).
func vmacPair(name4 string, with6 bool) string {
	s := vmacConf("vm_a", prioHigh)
	if name4 != "" {
		s = strings.Replace(s, "use_vmac\n", "use_vmac "+name4+"\n", 1)
	}
	if with6 {
		s += fmt.Sprintf(`vrrp_instance VI_V6 {
    state BACKUP
    interface %s
    virtual_router_id 52
    version 3
    priority %d
    advert_int 0.1
    use_vmac vmx52
    virtual_ipaddress {
        %s/64
    }
}
`, ifname, prioHigh, vip6)
	}
	return s
}

// ifindexOf is the link's index, 0 when absent.
func ifindexOf(h *netlab.Host, name string) int {
	out, err := h.Exec(context.Background(), "cat", "/sys/class/net/"+name+"/ifindex")
	if err != nil {
		return 0
	}
	var i int
	_, _ = fmt.Sscan(string(out), &i)
	return i
}

// macvlans lists the host's macvlan links.
func macvlans(t testing.TB, h *netlab.Host) []string {
	out, err := h.Exec(context.Background(), "ip", "-o", "link", "show", "type", "macvlan")
	if err != nil {
		t.Fatalf("ip link: %v: %s", err, out)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			names = append(names, strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0])
		}
	}
	return names
}

// TestVMACLifecycle (govrrp alone): an IPv6 VMAC carries adverts and its
// VIP; a reload removing an instance removes its VMAC and leaves the kept
// one's alone; renaming a VMAC replaces it; after kill -9 the VMAC stays,
// and the restart reuses that same link; SIGTERM leaves no macvlan and no
// govrrp_vmac nftables table.
func TestVMACLifecycle(t *testing.T) {
	t.Parallel()
	a, _, _ := vmacLab(t, govrrp, govrrp)
	bound := startupMargin + scenario{version: 3, advert: vmacAdvert}.masterDown(prioHigh)
	waitLinks := func(want ...string) {
		t.Helper()
		err := netlab.WaitFor(context.Background(), bound, 10*time.Millisecond, func() (bool, error) {
			got := macvlans(t, a.host)
			slices.Sort(got)
			return slices.Equal(got, want), fmt.Errorf("macvlans %v, want %v", got, want)
		})
		if err != nil {
			fail(t, "interop: vmac lifecycle: "+err.Error(), a)
		}
	}
	a.startMulti(vmacPair("", true), prioHigh)
	waitLinks("vmx52", vmacName)
	err := netlab.WaitFor(context.Background(), bound, 10*time.Millisecond, func() (bool, error) {
		on6, err6 := a.host.HasAddr("vmx52", vip6)
		on4, err4 := a.host.HasAddr(vmacName, vip4)
		return on6 && on4, fmt.Errorf("VIPs on VMACs: v6 %v (%v), v4 %v (%v)", on6, err6, on4, err4)
	})
	if err != nil {
		fail(t, "interop: vmac lifecycle: "+err.Error(), a)
	}
	if st, _, err := a.statusAll(); err != nil || st["VI_V6"].AdvertsSent == 0 || strings.Contains(a.proc.Log(), "advert not sent") {
		fail(t, fmt.Sprintf("interop: vmac lifecycle: IPv6 VMAC adverts: %+v %v", st["VI_V6"], err), a)
	}
	kept := ifindexOf(a.host, vmacName)

	a.mustReload(t, vmacPair("", false), a)
	waitLinks(vmacName)
	if got := ifindexOf(a.host, vmacName); got != kept {
		fail(t, fmt.Sprintf("interop: vmac lifecycle: reload recreated the kept VMAC (ifindex %d → %d)", kept, got), a)
	}
	a.mustReload(t, vmacPair("vmnew", false), a)
	waitLinks("vmnew")
	before := ifindexOf(a.host, "vmnew")

	if err := a.kill(); err != nil {
		t.Fatal(err)
	}
	waitLinks("vmnew") // SIGKILL: no cleanup; the next start reuses it
	a.startMulti(vmacPair("vmnew", false), prioHigh)
	waitLinks("vmnew")
	if got := ifindexOf(a.host, "vmnew"); got != before || !strings.Contains(a.proc.Log(), "reusing VMAC") {
		fail(t, fmt.Sprintf("interop: vmac lifecycle: restart after kill -9 did not reuse the VMAC (ifindex %d → %d)", before, got), a)
	}
	if out, err := a.host.Exec(context.Background(), "nft", "list", "tables"); err != nil || !strings.Contains(string(out), "govrrp_vmac") {
		fail(t, fmt.Sprintf("interop: vmac lifecycle: no govrrp_vmac nftables table while VMACs exist: %v %s", err, out), a)
	}
	if err := a.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := a.waitExit(bound); err != nil {
		fail(t, err.Error(), a)
	}
	waitLinks()
	if out, _ := a.host.Exec(context.Background(), "nft", "list", "tables"); strings.Contains(string(out), "govrrp_vmac") {
		fail(t, "interop: vmac lifecycle: govrrp_vmac table left after SIGTERM:\n"+string(out), a)
	}
}

// vmac6Conf is the IPv6 use_vmac instance (VRID 52, virtual MAC
// 00:00:5e:00:02:34, VMAC vm6).
func vmac6Conf(router string, prio int) string {
	return fmt.Sprintf(`global_defs {
    router_id %s
}
vrrp_instance VI_VMAC6 {
    state BACKUP
    interface %s
    virtual_router_id 52
    version 3
    priority %d
    advert_int %.1f
    use_vmac vm6
    virtual_ipaddress {
        %s/64
    }
}
`, router, ifname, prio, vmacAdvert.Seconds(), vip6)
}

// TestVMACIPv6: IPv6 use_vmac against keepalived 2.2.7 both ways: the
// master holds the VIP on its VMAC, the client's neighbour entry for the
// VIP is 00:00:5e:00:02:34 while govrrp is master, and the backup takes
// over on kill -9 within its master-down interval.
func TestVMACIPv6(t *testing.T) {
	t.Parallel()
	for _, p := range []pairing{{govrrp, keepalived}, {keepalived, govrrp}} {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			a, b, c := vmacLab(t, p.a, p.b)
			sc := scenario{version: 3, ipv6: true, advert: vmacAdvert}
			bound := startupMargin + sc.masterDown(prioLow)
			a.start(vmac6Conf("vm_a", prioHigh), prioHigh)
			b.start(vmac6Conf("vm_b", prioLow), prioLow)
			owner := func(n, other *node) {
				t.Helper()
				err := netlab.WaitFor(context.Background(), bound, 10*time.Millisecond, func() (bool, error) {
					on, err := n.host.HasAddr("vm6", vip6)
					dup := false
					if other.proc != nil {
						dup, _ = other.host.HasAddr("vm6", vip6)
					}
					return on && !dup, fmt.Errorf("%s holds %s on vm6: %v (%v), %s too: %v", n.name, vip6, on, err, other.name, dup)
				})
				if err != nil {
					fail(t, "interop: vmac6: "+err.Error(), a, b)
				}
			}
			neigh := func(master *node) {
				t.Helper()
				var mac string
				err := netlab.WaitFor(context.Background(), 5*time.Second, 50*time.Millisecond, func() (bool, error) {
					if out, err := c.Exec(context.Background(), "ping", "-6", "-n", "-c", "1", "-W", "1", vip6.String()); err != nil {
						return false, fmt.Errorf("ping: %v: %s", err, out)
					}
					out, err := c.Exec(context.Background(), "ip", "-6", "neigh", "show", vip6.String(), "dev", ifname)
					f := strings.Fields(string(out))
					if i := slices.Index(f, "lladdr"); err == nil && i >= 0 && i+1 < len(f) {
						mac = f[i+1]
						return true, nil
					}
					return false, fmt.Errorf("no lladdr in %q (%v)", out, err)
				})
				if err != nil {
					fail(t, "interop: vmac6: client: "+err.Error(), a, b)
				}
				if mac != "00:00:5e:00:02:34" {
					if master.impl == keepalived {
						t.Logf("client's entry for %s is %s with keepalived master", vip6, mac)
						return
					}
					fail(t, fmt.Sprintf("interop: vmac6: client's entry for %s is %s, want 00:00:5e:00:02:34", vip6, mac), a, b)
				}
			}
			owner(a, b)
			neigh(a)
			if err := a.kill(); err != nil {
				t.Fatal(err)
			}
			owner(b, a)
			neigh(b)
			if err := b.signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := b.waitExit(bound); err != nil {
				fail(t, err.Error(), a, b)
			}
			if linkExists(b.host, "vm6") {
				fail(t, "interop: vmac6: vm6 left after SIGTERM of "+string(b.impl), a, b)
			}
		})
	}
}
