//go:build linux

package vip

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// inA runs fn in namespace A with a VMACs on the thread's own namespace, so
// netlink and /proc/sys both see A.
func (p *vethPair) inA(t *testing.T, fn func(m *VMACs) error) error {
	t.Helper()
	return inNS(p.nsA, func() error { return fn(NewVMACs(nil)) })
}

func readSysctlIn(t *testing.T, p *vethPair, dev, family, key string) string {
	t.Helper()
	var out string
	err := inNS(p.nsA, func() error {
		b, err := os.ReadFile("/proc/sys/net/" + family + "/conf/" + dev + "/" + key)
		out = strings.TrimSpace(string(b))
		return err
	})
	if err != nil {
		t.Fatalf("read sysctl %s %s: %v", dev, key, err)
	}
	return out
}

func ipOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestVMACEnsureIPv4 checks the link keepalived 2.2.7 creates (observed):
// macvlan mode private, 00:00:5e:00:01:VRID, addrgenmode none, up, IPv6 off,
// arp_ignore/accept_local/promote_secondaries on it, arp_ignore/arp_filter
// on the parent.
func TestVMACEnsureIPv4(t *testing.T) {
	p := newVethPair(t, false)
	v := VMAC{Name: "vrrp.51", Parent: "va", VRID: 51}
	var reused bool
	if err := p.inA(t, func(m *VMACs) (err error) { reused, err = m.Ensure(v); return err }); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if reused {
		t.Errorf("Ensure on a fresh namespace reported reuse")
	}
	link, err := p.hA.LinkByName("vrrp.51")
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	mv, ok := link.(*netlink.Macvlan)
	if !ok {
		t.Fatalf("link type %T, want macvlan", link)
	}
	if got := mv.HardwareAddr.String(); got != "00:00:5e:00:01:33" {
		t.Errorf("MAC %s, want 00:00:5e:00:01:33", got)
	}
	if mv.Mode != netlink.MACVLAN_MODE_PRIVATE {
		t.Errorf("mode %v, want private (keepalived 2.2.7)", mv.Mode)
	}
	if mv.Flags&1 == 0 { // net.FlagUp
		t.Errorf("VMAC not up")
	}
	if d := ipOut(t, "-n", p.nameA, "-d", "link", "show", "vrrp.51"); !strings.Contains(d, "addrgenmode none") {
		t.Errorf("addrgenmode not none:\n%s", d)
	}
	for _, c := range []struct{ dev, fam, key, want string }{
		{"vrrp.51", "ipv4", "arp_ignore", "1"},
		{"vrrp.51", "ipv4", "accept_local", "1"},
		{"vrrp.51", "ipv4", "promote_secondaries", "1"},
		{"vrrp.51", "ipv6", "disable_ipv6", "1"},
		{"va", "ipv4", "arp_ignore", "1"},
		{"va", "ipv4", "arp_filter", "1"},
		{"va", "ipv4", "arp_announce", "2"},
	} {
		if got := readSysctlIn(t, p, c.dev, c.fam, c.key); got != c.want {
			t.Errorf("net.%s.conf.%s.%s = %s, want %s", c.fam, c.dev, c.key, got, c.want)
		}
	}
	// A second Ensure (restart after kill -9) finds the same link.
	if err := p.inA(t, func(m *VMACs) (err error) { reused, err = m.Ensure(v); return err }); err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	again, err := p.hA.LinkByName("vrrp.51")
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	if !reused || again.Attrs().Index != link.Attrs().Index {
		t.Errorf("second Ensure: reused=%v index %d→%d, want the same link reused", reused, link.Attrs().Index, again.Attrs().Index)
	}
	if err := p.inA(t, func(m *VMACs) error { return m.Delete("vrrp.51") }); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := p.hA.LinkByName("vrrp.51"); !isNotFound(err) {
		t.Errorf("after Delete: %v, want not found", err)
	}
	if err := p.inA(t, func(m *VMACs) error { return m.Delete("vrrp.51") }); err != nil {
		t.Errorf("Delete of an absent VMAC: %v, want success", err)
	}
}

// TestVMACEnsureIPv6: 00:00:5e:00:02:VRID, no generated link-local, the
// parent's link-local copied nodad and deprecated (keepalived 2.2.7).
func TestVMACEnsureIPv6(t *testing.T) {
	p := newVethPair(t, false)
	v := VMAC{Name: "vmx6", Parent: "va", VRID: 52, IPv6: true}
	if err := p.inA(t, func(m *VMACs) error { _, err := m.Ensure(v); return err }); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	parentLL := ""
	for _, f := range strings.Fields(ipOut(t, "-n", p.nameA, "-6", "-br", "addr", "show", "va")) {
		if strings.HasPrefix(f, "fe80::") {
			parentLL = f
		}
	}
	if parentLL == "" {
		t.Fatalf("parent has no link-local")
	}
	out := ipOut(t, "-n", p.nameA, "-6", "addr", "show", "vmx6")
	if strings.Count(out, "inet6 ") != 1 || !strings.Contains(out, "inet6 "+parentLL) ||
		!strings.Contains(out, "nodad") || !strings.Contains(out, "deprecated") {
		t.Errorf("VMAC addresses: want only %s nodad deprecated, got:\n%s", parentLL, out)
	}
	if d := ipOut(t, "-n", p.nameA, "link", "show", "vmx6"); !strings.Contains(d, "00:00:5e:00:02:34") {
		t.Errorf("MAC not 00:00:5e:00:02:34:\n%s", d)
	}
	// A flap of the parent takes the VMAC down and up: the copied
	// link-local (the adverts' source) must survive it.
	mustIP(t, "-n", p.nameA, "link", "set", "va", "down")
	mustIP(t, "-n", p.nameA, "link", "set", "va", "up")
	if out := ipOut(t, "-n", p.nameA, "-6", "addr", "show", "vmx6"); !strings.Contains(out, "inet6 "+parentLL) {
		t.Errorf("link-local lost after a parent flap:\n%s", out)
	}
}

// TestVMACReplaceAndRefuse: a macvlan of the name with another MAC (an older
// configuration's VRID) is replaced; a non-macvlan is never touched.
func TestVMACReplaceAndRefuse(t *testing.T) {
	p := newVethPair(t, false)
	mustIP(t, "-n", p.nameA, "link", "add", "link", "va", "name", "vm1", "address", "00:00:5e:00:01:07", "type", "macvlan", "mode", "bridge")
	var reused bool
	err := p.inA(t, func(m *VMACs) (err error) {
		reused, err = m.Ensure(VMAC{Name: "vm1", Parent: "va", VRID: 8})
		return err
	})
	if err != nil || reused {
		t.Fatalf("Ensure over a stale macvlan: reused=%v err=%v, want replaced", reused, err)
	}
	if d := ipOut(t, "-n", p.nameA, "-d", "link", "show", "vm1"); !strings.Contains(d, "00:00:5e:00:01:08") || !strings.Contains(d, "mode private") {
		t.Errorf("not replaced:\n%s", d)
	}
	mustIP(t, "-n", p.nameA, "link", "add", "br7", "type", "bridge")
	err = p.inA(t, func(m *VMACs) error { _, err := m.Ensure(VMAC{Name: "br7", Parent: "va", VRID: 7}); return err })
	if !errors.Is(err, ErrNotVMAC) {
		t.Errorf("Ensure over a bridge: %v, want ErrNotVMAC", err)
	}
	if err := p.inA(t, func(m *VMACs) error { return m.Delete("br7") }); !errors.Is(err, ErrNotVMAC) {
		t.Errorf("Delete of a bridge: %v, want ErrNotVMAC", err)
	}
	if _, err := p.hA.LinkByName("br7"); err != nil {
		t.Errorf("bridge gone: %v", err)
	}
	err = p.inA(t, func(m *VMACs) error { _, err := m.Ensure(VMAC{Name: "vm2", Parent: "nope0", VRID: 9}); return err })
	if !errors.Is(err, ErrNoDevice) {
		t.Errorf("Ensure without parent: %v, want ErrNoDevice", err)
	}
}

// TestVMACRPFilter: with all.rp_filter=1 (strict for every link) the first
// IPv4 VMAC raises each link and default to 1 and sets all to 0, the VMAC
// itself 0; the last one's Delete restores the values found (keepalived
// 2.2.7, man keepalived.conf).
func TestVMACRPFilter(t *testing.T) {
	p := newVethPair(t, false)
	set := func(dev, v string) {
		t.Helper()
		mustIP(t, "netns", "exec", p.nameA, "sysctl", "-qw", "net.ipv4.conf."+dev+".rp_filter="+v)
	}
	set("va", "0")
	set("default", "0")
	set("all", "1")
	want := func(when string, vals map[string]string) {
		t.Helper()
		for dev, v := range vals {
			if got := readSysctlIn(t, p, dev, "ipv4", "rp_filter"); got != v {
				t.Errorf("%s: %s.rp_filter = %s, want %s", when, dev, got, v)
			}
		}
	}
	err := p.inA(t, func(m *VMACs) error {
		if _, err := m.Ensure(VMAC{Name: "vm1", Parent: "va", VRID: 1}); err != nil {
			return err
		}
		if _, err := m.Ensure(VMAC{Name: "vm2", Parent: "va", VRID: 2}); err != nil {
			return err
		}
		want("with VMACs", map[string]string{"all": "0", "default": "1", "va": "1", "vm1": "0", "vm2": "0", "lo": "0"})
		if err := m.Delete("vm1"); err != nil {
			return err
		}
		want("one VMAC left", map[string]string{"all": "0", "va": "1"})
		if err := m.Delete("vm2"); err != nil {
			return err
		}
		want("no VMAC left", map[string]string{"all": "1", "default": "0", "va": "0"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVMACNftRules: keepalived's VMAC rules (IGMP/MLD reports out of the
// parent, router solicitations dropped) exist while VMACs do, name the
// current links, and are gone after the last Delete. On the wire an IGMP
// report for a group joined on the VMAC leaves with the parent's MAC, never
// the virtual MAC.
func TestVMACNftRules(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft not installed")
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed")
	}
	p := newVethPair(t, false)
	nftList := func(fam string) string {
		out, _ := exec.Command("ip", "netns", "exec", p.nameA, "nft", "list", "table", fam, vmacTable).CombinedOutput()
		return string(out)
	}
	m := NewVMACs(nil)
	ensure := func(v VMAC) {
		t.Helper()
		if err := inNS(p.nsA, func() error { _, err := m.Ensure(v); return err }); err != nil {
			t.Fatalf("Ensure %s: %v", v.Name, err)
		}
	}
	ensure(VMAC{Name: "vrrp.51", Parent: "va", VRID: 51})
	ensure(VMAC{Name: "vm6", Parent: "va", VRID: 52, IPv6: true})
	if out := nftList("ip"); !strings.Contains(out, `"vrrp.51" : "va"`) || !strings.Contains(out, "dup to ip daddr device oif map @vmac_map drop") {
		t.Errorf("ip table:\n%s", out)
	}
	if out := nftList("ip6"); !strings.Contains(out, `"vm6" : "va"`) || !strings.Contains(out, "nd-router-solicit") {
		t.Errorf("ip6 table:\n%s", out)
	}

	// An IGMP report from a join on the VMAC, captured on the peer.
	cap := exec.Command("ip", "netns", "exec", p.nameB, "tcpdump", "-n", "-e", "-l", "-c", "1", "-i", "vb", "igmp")
	var out strings.Builder
	cap.Stdout = &out
	stderr, _ := cap.StderrPipe()
	if err := cap.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cap.Process.Kill(); _ = cap.Wait() })
	buf := make([]byte, 512)
	for i := 0; i < 50 && !strings.Contains(string(buf), "listening on"); i++ {
		n, _ := stderr.Read(buf)
		buf = buf[:n]
		buf = append(buf, make([]byte, 512-n)...)
	}
	err := inNS(p.nsA, func() error {
		ifi, err := net.InterfaceByName("vrrp.51")
		if err != nil {
			return err
		}
		c, err := net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: net.IPv4(239, 1, 2, 3), Port: 4999})
		if err != nil {
			return err
		}
		return c.Close()
	})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cap.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("no IGMP report seen on the peer")
	}
	line := out.String()
	vaMAC := strings.Fields(ipOut(t, "-n", p.nameA, "-br", "link", "show", "va"))[2]
	if strings.Contains(line, "00:00:5e:00:01:33 >") || !strings.Contains(line, vaMAC+" >") {
		t.Errorf("IGMP report %q: want source %s (the parent), not the virtual MAC", line, vaMAC)
	}

	for _, name := range []string{"vrrp.51", "vm6"} {
		if err := inNS(p.nsA, func() error { return m.Delete(name) }); err != nil {
			t.Fatalf("Delete %s: %v", name, err)
		}
	}
	for _, fam := range []string{"ip", "ip6"} {
		if out := nftList(fam); !strings.Contains(out, "No such file") && strings.Contains(out, "table") {
			t.Errorf("%s table left after the last Delete:\n%s", fam, out)
		}
	}
}
