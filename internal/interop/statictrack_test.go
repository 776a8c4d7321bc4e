package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// track_group on static_ipaddress / static_routes, keepalived beside govrrp
// with the same file. Observed on keepalived 2.2.7 first: the interface of a
// tracked static line going down puts the group's instances in FAULT (their
// VIPs go) and leaves the others alone; up again, they come back and the
// route the kernel flushed with the link is restored.

const staticTrackConf = `global_defs {
    router_id st_%[1]s
}
track_group TG1 {
    group {
        VI_1
    }
}
static_ipaddress {
    198.51.100.77/25 dev eth1 track_group TG1
}
static_routes {
    198.51.100.128/25 via 198.51.100.1 dev eth1 track_group TG1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.101/24
    }
}
`

var (
	sideV4   = netip.MustParsePrefix("198.51.100.0/25")
	sideV6   = netip.MustParsePrefix("2001:db8:5::/64")
	vip4b    = netip.MustParseAddr("192.0.2.101")
	staticIP = netip.MustParseAddr("198.51.100.77")
)

// masterDown is the master-down interval of these instances (3 adverts of
// 1 s plus Skew_Time), the longest any step here waits for by the protocol.
const masterDown = 3*time.Second + time.Second

func TestStaticTrackGroupInterop(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		t.Run(im.short(), func(t *testing.T) { runStaticTrack(t, im) })
	}
}

func runStaticTrack(t *testing.T, im impl) {
	if testing.Short() {
		t.Skip("interop: integration test skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived")
	lab := netlab.New(t)
	lan := lab.AddSegment("lan", lanV4, lanV6)
	side := lab.AddSegment("side", sideV4, sideV6)
	h := lab.AddHost("a")
	if err := h.Connect(lan, ifname, addrA4, addrA6); err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(side, "eth1", netip.MustParsePrefix("198.51.100.11/25"), netip.MustParsePrefix("2001:db8:5::11/64")); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, name: "a", impl: im, host: h, ip4: addrA4.Addr()}
	must := func(err error, what string) {
		t.Helper()
		if err != nil {
			fail(t, fmt.Sprintf("%s (%s): %v", what, im, err), n)
		}
	}
	startMulti(n, fmt.Sprintf(staticTrackConf, im.short()))
	t.Cleanup(func() { _ = n.kill() })
	holds := func(want map[netip.Addr]bool, route bool) func() (bool, error) {
		return func() (bool, error) {
			for a, on := range want {
				has, err := h.HasAddr(addrDev(a), a)
				if err != nil || has != on {
					return false, fmt.Errorf("%v present=%v, want %v (%v)", a, has, on, err)
				}
			}
			has, err := hasRoute(h, "198.51.100.128/25")
			if err != nil || has != route {
				return false, fmt.Errorf("static route present=%v, want %v (%v)", has, route, err)
			}
			return true, nil
		}
	}
	wait := func(timeout time.Duration, cond func() (bool, error)) error {
		return netlab.WaitFor(context.Background(), timeout, 50*time.Millisecond, cond)
	}
	both := map[netip.Addr]bool{vip4: true, vip4b: true, staticIP: true}
	must(wait(startupMargin+masterDown, holds(both, true)), "both masters with the static lines")

	// eth1 down: VI_1 (in TG1) goes to FAULT and drops its VIP; VI_2 keeps
	// its own. The kernel drops the route with the link.
	must(h.SetLinkUp("eth1", false), "eth1 down")
	must(wait(masterDown, holds(map[netip.Addr]bool{vip4: false, vip4b: true}, false)), "VI_1 out, VI_2 kept")
	if im == govrrp {
		sts, err := statusAll(n)
		must(err, "status")
		if len(sts) != 2 || sts[0].State != "FAULT" || !strings.Contains(sts[0].LastReason, "track_group TG1") || sts[1].State != "MASTER" {
			t.Errorf("govrrp: %+v, want VI_1 FAULT naming track_group TG1 and VI_2 MASTER", sts)
		}
	}

	// eth1 up: the route is restored and VI_1 is master again after its
	// master-down interval.
	must(h.SetLinkUp("eth1", true), "eth1 up")
	must(wait(masterDown+time.Second, holds(both, true)), "recovered")

	must(n.signal(syscall.SIGTERM), "stop")
	must(n.waitExit(exitTimeout), "exit")
	must(wait(time.Second, holds(map[netip.Addr]bool{vip4: false, vip4b: false, staticIP: false}, false)), "all removed at stop")
}

func addrDev(a netip.Addr) string {
	if a == staticIP {
		return "eth1"
	}
	return ifname
}

func hasRoute(h *netlab.Host, dst string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := h.Exec(ctx, "ip", "-4", "route", "show", dst)
	if err != nil {
		return false, err
	}
	return strings.Contains(string(b), dst), nil
}

// multiStatus is one instance of `govrrp status --json` with its reason.
type multiStatus struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	LastReason string `json:"reason"`
}

// statusAll is every instance's status (node.status wants exactly one).
func statusAll(n *node) ([]multiStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.host.Exec(ctx, govrrpBin(n.t), "status", "--socket", n.host.GovrrpSocket(), "--json")
	if err != nil {
		return nil, fmt.Errorf("status: %w: %s", err, out)
	}
	var doc struct {
		Instances []multiStatus `json:"instances"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("status: %w: %s", err, out)
	}
	return doc.Instances, nil
}

// startMulti starts n's daemon on a file with several instances, waiting
// for govrrp's control socket like node.start does for one.
func startMulti(n *node, conf string) {
	n.t.Helper()
	var p *netlab.Proc
	var err error
	if n.impl == keepalived {
		p, err = n.host.StartKeepalived(conf)
	} else {
		p, err = n.host.StartGovrrp(govrrpBin(n.t), conf)
	}
	if err != nil {
		n.t.Fatalf("start %s: %v", n.impl, err)
	}
	n.proc = p
	n.procs = append(n.procs, p)
	if n.impl != govrrp {
		return
	}
	err = netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, netlab.Permanent(fmt.Errorf("govrrp exited during start-up"))
		}
		_, err := statusAll(n)
		return err == nil, err
	})
	if err != nil {
		fail(n.t, fmt.Sprintf("govrrp not ready: %v", err), n)
	}
}
