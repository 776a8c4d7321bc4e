package transport

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// lab is two network namespaces joined by a veth pair:
//
//	nsA: va 192.0.2.1/24 2001:db8::1/64  <->  nsB: vb 192.0.2.2/24 2001:db8::2/64
type lab struct {
	nsA, nsB string
}

const (
	labIfA = "va"
	labIfB = "vb"
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces and raw sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2 (ip) to build the lab")
	}
}

func newLab(t testing.TB) *lab {
	t.Helper()
	requireRoot(t)
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	base := "gvD-" + hex.EncodeToString(suffix)
	l := &lab{nsA: base + "-a", nsB: base + "-b"}
	for _, ns := range []string{l.nsA, l.nsB} {
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		ipCmd(t, "netns", "add", ns)
		// No DAD: link-local and test addresses are usable at once.
		for _, key := range []string{"all", "default"} {
			ipCmd(t, "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf."+key+".accept_dad=0")
		}
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, "-n", l.nsA, "link", "add", labIfA, "type", "veth", "peer", "name", labIfB, "netns", l.nsB)
	for _, side := range []struct{ ns, ifname, v4, v6 string }{
		{l.nsA, labIfA, "192.0.2.1/24", "2001:db8::1/64"},
		{l.nsB, labIfB, "192.0.2.2/24", "2001:db8::2/64"},
	} {
		ipCmd(t, "-n", side.ns, "addr", "add", side.v4, "dev", side.ifname)
		ipCmd(t, "-n", side.ns, "addr", "add", side.v6, "dev", side.ifname, "nodad")
		ipCmd(t, "-n", side.ns, "link", "set", side.ifname, "up")
	}
	l.waitReady(t)
	return l
}

// waitReady polls until both ends are up with a non-tentative link-local.
func (l *lab) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 1000 && time.Now().Before(deadline); i++ {
		if l.ready(l.nsA, labIfA) && l.ready(l.nsB, labIfB) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("lab: veth pair did not come up with link-local addresses")
}

func (l *lab) ready(ns, ifname string) bool {
	out, err := exec.Command("ip", "-n", ns, "-j", "addr", "show", "dev", ifname).Output()
	if err != nil {
		return false
	}
	var links []struct {
		Operstate string `json:"operstate"`
		AddrInfo  []struct {
			Scope     string `json:"scope"`
			Family    string `json:"family"`
			Tentative bool   `json:"tentative"`
		} `json:"addr_info"`
	}
	if json.Unmarshal(out, &links) != nil || len(links) != 1 || links[0].Operstate != "UP" {
		return false
	}
	for _, a := range links[0].AddrInfo {
		if a.Family == "inet6" && a.Scope == "link" && !a.Tentative {
			return true
		}
	}
	return false
}

func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// inNS runs fn on a locked OS thread inside the named namespace. Sockets it
// opens stay in that namespace. If the thread cannot be switched back it is
// left locked so the runtime discards it with the goroutine.
func inNS(t testing.TB, name string, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(name)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("restore netns: %w", err)
			return // thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	if err := <-errc; err != nil {
		t.Fatalf("in netns %s: %v", name, err)
	}
}

// listenIn opens a Conn inside ns and closes it at cleanup.
func listenIn(t testing.TB, ns string, cfg Config) Conn {
	t.Helper()
	var c Conn
	inNS(t, ns, func() (err error) {
		c, err = Listen(cfg)
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// ifindexIn returns the index of ifname inside ns.
func ifindexIn(t testing.TB, ns, ifname string) int {
	t.Helper()
	var idx int
	inNS(t, ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		idx = ifi.Index
		return nil
	})
	return idx
}

// multicastPair opens a multicast receiver on labIfB (ipv6 or not), whose
// reads give up after 10 s, and a sender on labIfA.
func (l *lab) multicastPair(t testing.TB, ipv6 bool) (rx, tx Conn) {
	t.Helper()
	rx = listenIn(t, l.nsB, Config{Interface: labIfB, IPv6: ipv6, Multicast: true})
	tx = listenIn(t, l.nsA, Config{Interface: labIfA, IPv6: ipv6})
	if err := rx.(ReadDeadliner).SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return rx, tx
}
