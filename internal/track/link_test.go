package track

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/netlab"
)

func TestLinkVerdict(t *testing.T) {
	tests := []struct {
		flags  uint32
		ok     bool
		detail string
	}{
		{unix.IFF_UP | unix.IFF_RUNNING | unix.IFF_LOWER_UP, true, linkUp},
		{unix.IFF_UP | unix.IFF_RUNNING, true, linkUp}, // operstate unknown (e.g. tun without carrier info)
		{unix.IFF_UP, false, linkCarrierDown},
		{unix.IFF_UP | unix.IFF_LOWER_UP, false, linkCarrierDown}, // carrier, but dormant
		{unix.IFF_RUNNING, false, linkAdminDown},
		{0, false, linkAdminDown},
	}
	for _, tt := range tests {
		ok, detail := linkVerdict(tt.flags)
		if ok != tt.ok || detail != tt.detail {
			t.Errorf("linkVerdict(%#x) = %v, %q; want %v, %q", tt.flags, ok, detail, tt.ok, tt.detail)
		}
	}
}

// linkIs matches an interface result.
func linkIs(ok bool, detail string) func(Result) bool {
	return func(r Result) bool {
		return r.Kind == KindInterface && r.Method == linkMethod && r.OK == ok && strings.HasPrefix(r.Detail, detail)
	}
}

// runTrackerIn runs tr with its calling thread inside the host's network
// namespace, as the daemon runs under `ip netns exec`.
func runTrackerIn(tb testing.TB, h *netlab.Host, tr Tracker) *obsSink {
	tb.Helper()
	s := newObsSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Do(func() error { tr.Run(ctx, s.sink); return nil }) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("run in %s: %v", h.Name(), err)
			}
		case <-time.After(obsWait):
			tb.Errorf("tracker did not stop within %v", obsWait)
		}
	})
	return s
}

// inHost runs netlink calls on a thread inside the host's namespace.
func inHost(tb testing.TB, h *netlab.Host, what string, fn func() error) {
	tb.Helper()
	if err := h.Do(fn); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

func addVeth(name, peer string) error {
	return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer})
}

func setUp(name string, up bool) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if up {
		return netlink.LinkSetUp(l)
	}
	return netlink.LinkSetDown(l)
}

func linkDo(name string, fn func(netlink.Link) error) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return fn(l)
}

func TestLinksFollowInterfaces(t *testing.T) {
	lab := netlab.New(t)
	h := lab.AddHost("a")
	inHost(t, h, "veth", func() error {
		if err := addVeth("tk0", "tk0p"); err != nil {
			return err
		}
		if err := setUp("tk0p", true); err != nil {
			return err
		}
		if err := setUp("tk0", true); err != nil {
			return err
		}
		return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "tkbr"}})
	})
	s := runTrackerIn(t, h, NewLinks([]string{"tk0", "nope0", "tk1", "tk0"}))

	s.await(t, "tk0", "up at start", linkIs(true, linkUp))
	s.await(t, "nope0", "missing at start", linkIs(false, linkMissing))
	s.await(t, "tk1", "missing at start", linkIs(false, linkMissing))

	inHost(t, h, "peer down", func() error { return setUp("tk0p", false) })
	s.await(t, "tk0", "carrier down when the veth peer is down", linkIs(false, linkCarrierDown))
	inHost(t, h, "peer up", func() error { return setUp("tk0p", true) })
	s.await(t, "tk0", "up again", linkIs(true, linkUp))

	inHost(t, h, "down", func() error { return setUp("tk0", false) })
	s.await(t, "tk0", "admin down", linkIs(false, linkAdminDown))
	inHost(t, h, "up", func() error { return setUp("tk0", true) })
	s.await(t, "tk0", "up after admin up", linkIs(true, linkUp))

	// Leaving a bridge sends an AF_BRIDGE RTM_DELLINK: not a deletion.
	inHost(t, h, "bridge port", func() error {
		br, err := netlink.LinkByName("tkbr")
		if err != nil {
			return err
		}
		if err := linkDo("tk0", func(l netlink.Link) error { return netlink.LinkSetMaster(l, br) }); err != nil {
			return err
		}
		if err := linkDo("tk0", netlink.LinkSetNoMaster); err != nil {
			return err
		}
		return setUp("tk0", false)
	})
	s.await(t, "tk0", "admin down after leaving the bridge", linkIs(false, linkAdminDown))
	for _, r := range s.history("tk0") {
		if r.Detail == linkMissing {
			t.Fatalf("bridge port removal reported as deletion:\n%s", s.dump("tk0"))
		}
	}

	var oldIndex int
	inHost(t, h, "delete", func() error {
		return linkDo("tk0", func(l netlink.Link) error { oldIndex = l.Attrs().Index; return netlink.LinkDel(l) })
	})
	s.await(t, "tk0", "missing after delete", linkIs(false, linkMissing))
	inHost(t, h, "re-create", func() error { return addVeth("tk0", "tk0p") })
	s.await(t, "tk0", "re-created, admin down", linkIs(false, linkAdminDown))
	inHost(t, h, "re-created up", func() error {
		if err := setUp("tk0p", true); err != nil {
			return err
		}
		return setUp("tk0", true)
	})
	s.await(t, "tk0", "re-created and up", linkIs(true, linkUp))
	inHost(t, h, "new index", func() error {
		return linkDo("tk0", func(l netlink.Link) error {
			if l.Attrs().Index == oldIndex {
				t.Errorf("re-created tk0 kept ifindex %d; the test proves nothing", oldIndex)
			}
			return nil
		})
	})

	// Renames into and away from a tracked name.
	inHost(t, h, "rename in", func() error {
		if err := addVeth("tkx", "tkxp"); err != nil {
			return err
		}
		return linkDo("tkx", func(l netlink.Link) error { return netlink.LinkSetName(l, "tk1") })
	})
	s.await(t, "tk1", "renamed into the name", linkIs(false, linkAdminDown))
	inHost(t, h, "rename away", func() error {
		return linkDo("tk1", func(l netlink.Link) error { return netlink.LinkSetName(l, "tky") })
	})
	s.await(t, "tk1", "renamed away", linkIs(false, linkMissing))

	// Only changes are reported.
	for _, name := range []string{"tk0", "tk1", "nope0"} {
		h := s.history(name)
		for i := 1; i < len(h); i++ {
			if h[i].OK == h[i-1].OK && h[i].Detail == h[i-1].Detail {
				t.Errorf("%s: result %d repeats the one before:\n%s", name, i, s.dump(name))
			}
		}
	}
	if n := len(s.history("nope0")); n != 1 {
		t.Errorf("nope0: %d results, want 1", n)
	}
}

func TestAddrsFollowAddresses(t *testing.T) {
	lab := netlab.New(t)
	h := lab.AddHost("a")
	v4 := netip.MustParseAddr("192.0.2.1")
	v6 := netip.MustParseAddr("2001:db8::1")
	other := netip.MustParseAddr("198.51.100.7")
	inHost(t, h, "veth", func() error {
		if err := addVeth("tk0", "tk0p"); err != nil {
			return err
		}
		// netlab turns DAD off; on for tk0 so "tentative" can be seen.
		if err := os.WriteFile("/proc/sys/net/ipv6/conf/tk0/accept_dad", []byte("1"), 0o644); err != nil {
			return err
		}
		if err := setUp("tk0p", true); err != nil {
			return err
		}
		if err := setUp("tk0", true); err != nil {
			return err
		}
		return linkDo("tk0", func(l netlink.Link) error { return netlink.AddrAdd(l, addr(v4, 24, 0)) })
	})
	s := runTrackerIn(t, h, NewAddrs(map[string][]netip.Addr{"tk0": {v4, v6}, "": {other}, "zz": {v4}}))
	n4, n6, no := AddrResultName(v4), AddrResultName(v6), AddrResultName(other)
	if n4 != "addr:192.0.2.1" || n6 != "addr:2001:db8::1" {
		t.Fatalf("names %q %q", n4, n6)
	}

	s.await(t, n4, "present at start", linkIs(true, "present on tk0"))
	s.await(t, n6, "absent at start", linkIs(false, "absent from tk0"))
	s.await(t, no, "absent at start", linkIs(false, "absent from any interface"))

	inHost(t, h, "add v6", func() error {
		return linkDo("tk0", func(l netlink.Link) error { return netlink.AddrAdd(l, addr(v6, 64, 0)) })
	})
	s.await(t, n6, "tentative during DAD", linkIs(false, "tentative on tk0"))
	s.await(t, n6, "present after DAD", linkIs(true, "present on tk0"))

	inHost(t, h, "add elsewhere", func() error {
		return linkDo("tk0p", func(l netlink.Link) error { return netlink.AddrAdd(l, addr(other, 32, 0)) })
	})
	s.await(t, no, "present anywhere", linkIs(true, "present on any interface"))

	inHost(t, h, "del v4", func() error {
		return linkDo("tk0", func(l netlink.Link) error { return netlink.AddrDel(l, addr(v4, 24, 0)) })
	})
	s.await(t, n4, "absent after delete", linkIs(false, "absent from tk0"))
	inHost(t, h, "delete link", func() error { return linkDo("tk0", netlink.LinkDel) })
	s.await(t, n6, "interface gone", linkIs(false, linkMissing+" tk0"))
	s.await(t, no, "gone with the peer", linkIs(false, "absent from any interface"))
}

func addr(ip netip.Addr, bits, flags int) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(bits, ip.BitLen())}, Flags: flags}
}
