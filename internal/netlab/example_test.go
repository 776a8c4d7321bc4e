package netlab_test

import (
	"context"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// A typical integration test: two hosts on one segment, keepalived on one,
// govrrp (path from $GOVRRP_BIN) on the other, assertions on netlink state.
func Example() {
	var t *testing.T // inside a test function
	netlab.Require(t, "keepalived", "tcpdump")
	lab := netlab.New(t) // skips when not root; Cleanup tears everything down
	seg := lab.AddSegment("lan", netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/64"))
	a, b := lab.AddHost("a"), lab.AddHost("b")
	if err := a.Connect(seg, "eth0", netip.MustParsePrefix("192.0.2.11/24"), netip.MustParsePrefix("2001:db8::11/64")); err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(seg, "eth0", netip.MustParsePrefix("192.0.2.12/24"), netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	ka, err := a.StartKeepalived("vrrp_instance VI_1 { ... }")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.StartGovrrp("/path/to/bin/govrrp", "vrrp_instance VI_1 { ... }"); err != nil {
		t.Fatal(err)
	}
	vip := netip.MustParseAddr("192.0.2.100")
	if err := a.WaitAddr(context.Background(), "eth0", vip, true, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	_ = ka.Signal(syscall.SIGTERM)
	if err := b.WaitAddr(context.Background(), "eth0", vip, true, 10*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, ka.Log())
	}
}
