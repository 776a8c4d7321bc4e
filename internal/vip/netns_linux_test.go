//go:build linux

package vip

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// vethPair is two fresh network namespaces, gvE-<rand>-a and gvE-<rand>-b,
// joined by a veth pair va <-> vb that is up, with 192.0.2.1/24,
// 2001:db8::1/64 on va and 192.0.2.2/24, 2001:db8::2/64 on vb.
type vethPair struct {
	nameA, nameB string
	nsA, nsB     netns.NsHandle
	hA, hB       *netlink.Handle
}

// newVethPair builds the pair and registers its removal on every path.
// dad=false disables DAD on the veths so link-local addresses are usable at
// once (the announcement tests need a bound link-local source).
func newVethPair(t testing.TB, dad bool) *vethPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: builds network namespaces and veth devices")
	}
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("random suffix: %v", err)
	}
	p := &vethPair{
		nameA: "gvE-" + hex.EncodeToString(suffix) + "-a",
		nameB: "gvE-" + hex.EncodeToString(suffix) + "-b",
	}
	for _, name := range []string{p.nameA, p.nameB} {
		mustIP(t, "netns", "add", name)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	}
	mustIP(t, "-n", p.nameA, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", p.nameB)
	p.configure(t, p.nameA, "va", "192.0.2.1/24", "2001:db8::1/64", dad)
	p.configure(t, p.nameB, "vb", "192.0.2.2/24", "2001:db8::2/64", dad)
	p.nsA, p.hA = openNS(t, p.nameA)
	p.nsB, p.hB = openNS(t, p.nameB)
	return p
}

func (p *vethPair) configure(t testing.TB, ns, dev, v4, v6 string, dad bool) {
	t.Helper()
	if !dad {
		mustIP(t, "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf."+dev+".accept_dad=0")
	}
	mustIP(t, "-n", ns, "link", "set", "lo", "up")
	mustIP(t, "-n", ns, "addr", "add", v4, "dev", dev)
	mustIP(t, "-n", ns, "addr", "add", v6, "dev", dev, "nodad")
	mustIP(t, "-n", ns, "link", "set", dev, "up")
}

func openNS(t testing.TB, name string) (netns.NsHandle, *netlink.Handle) {
	t.Helper()
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	t.Cleanup(func() { _ = ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", name, err)
	}
	t.Cleanup(h.Close)
	return ns, h
}

// mustIP runs iproute2 (the "ip" binary) and fails the test on error.
func mustIP(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// inNS runs fn on a dedicated OS thread switched into ns. The thread is
// never switched back: it stays locked and dies with its goroutine, so no
// other goroutine can ever run in the wrong namespace.
func inNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// waitFor polls cond every 10 ms until it returns true or the deadline
// passes; the last error cond reported explains a timeout.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for i := 0; i < 10000 && time.Now().Before(deadline); i++ {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s (last: %v)", timeout, what, last)
}
