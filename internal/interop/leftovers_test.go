package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// Issue 10's leftovers on the wire, keepalived 2.2.7 beside govrrp.

// vipIfaceConf: VI_1 on eth0 with a VIP on eth1 (tracked, as keepalived
// tracks every VIP's interface) and one on eth1 marked no_track.
const vipIfaceConf = `global_defs {
    router_id vt_%[1]s
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
        198.51.100.100/25 dev eth1
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.101/24
        198.51.100.101/25 dev eth1 no_track
    }
}
`

// TestVIPInterfaceTrackInterop: eth1, the interface of VI_1's second VIP,
// going down puts VI_1 in FAULT (its VIPs go) and leaves VI_2, whose eth1
// VIP says no_track, MASTER; eth1 up again, VI_1 is master again after its
// master-down interval. Seen first on keepalived 2.2.7 ("Netlink reports
// eth1 down", "(VI_1) Entering FAULT STATE"); the same file for both.
func TestVIPInterfaceTrackInterop(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		t.Run(im.short(), func(t *testing.T) {
			t.Parallel()
			runVIPIfaceTrack(t, im)
		})
	}
}

func runVIPIfaceTrack(t *testing.T, im impl) {
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
	startMulti(n, fmt.Sprintf(vipIfaceConf, im.short()))
	t.Cleanup(func() { _ = n.kill() })
	side1, side2 := netip.MustParseAddr("198.51.100.100"), netip.MustParseAddr("198.51.100.101")
	holds := func(want map[netip.Addr]string) func() (bool, error) {
		return func() (bool, error) {
			for a, dev := range want {
				has, err := h.HasAddr(strings.TrimPrefix(dev, "-"), a)
				if on := !strings.HasPrefix(dev, "-"); err != nil || has != on {
					return false, fmt.Errorf("%v present=%v, want %v (%v)", a, has, on, err)
				}
			}
			return true, nil
		}
	}
	wait := func(timeout time.Duration, cond func() (bool, error)) error {
		return netlab.WaitFor(context.Background(), timeout, 50*time.Millisecond, cond)
	}
	all := map[netip.Addr]string{vip4: ifname, side1: "eth1", vip4b: ifname}
	must(wait(startupMargin+masterDown, holds(all)), "both masters")

	must(h.SetLinkUp("eth1", false), "eth1 down")
	// VI_2's eth1 VIP stays configured on the downed link; only VI_1 goes.
	must(wait(masterDown, holds(map[netip.Addr]string{vip4: "-" + ifname, vip4b: ifname, side2: "eth1"})), "VI_1 out, VI_2 kept")
	if im == govrrp {
		sts, err := statusAll(n)
		must(err, "status")
		if len(sts) != 2 || sts[0].State != "FAULT" || !strings.Contains(sts[0].LastReason, "virtual_ipaddress 198.51.100.100/25") || sts[1].State != "MASTER" {
			t.Errorf("govrrp: %+v, want VI_1 FAULT naming its eth1 VIP and VI_2 MASTER", sts)
		}
	}
	must(h.SetLinkUp("eth1", true), "eth1 up")
	must(wait(masterDown+time.Second, holds(all)), "recovered")
	must(n.signal(syscall.SIGTERM), "stop")
	must(n.waitExit(exitTimeout), "exit")
}

// TestStatusInNetNamespace: govrrp started from the root namespace with
// net_namespace NAME and default paths listens on
// /run/govrrp/NAME/govrrp.sock (as keepalived's files go under
// /run/keepalived/NAME/); `ip netns exec NAME govrrp status`, without
// --socket, finds it there.
func TestStatusInNetNamespace(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("interop: integration test skipped in -short mode")
	}
	netlab.Require(t, "ip")
	lab := netlab.New(t)
	lan := lab.AddSegment("lan", lanV4, lanV6)
	h := lab.AddHost("a")
	if err := h.Connect(lan, ifname, addrA4, addrA6); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join("/run/govrrp", h.Name()) // the lab's unique name
	t.Cleanup(func() { os.RemoveAll(runDir) })
	conf := filepath.Join(lab.Dir(), "netns.conf")
	writeFile(t, conf, netnsConf(h.Name()), 0o644)
	cmd := exec.Command(govrrpBin(t), "run", "-f", conf) // root namespace, default socket and pid file
	logf, err := os.Create(filepath.Join(lab.Dir(), "govrrp.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(exitTimeout):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
	}()
	logs := func() string { b, _ := os.ReadFile(logf.Name()); return tailLines(string(b), 30) }
	if err := h.WaitAddr(context.Background(), ifname, vip4, true, startupMargin); err != nil {
		t.Fatalf("VIP not on a's %s: %v\n%s", ifname, err, logs())
	}
	var out []byte
	err = netlab.WaitFor(context.Background(), startupMargin, 50*time.Millisecond, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		out, err = h.Exec(ctx, govrrpBin(t), "status", "--json")
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("ip netns exec %s govrrp status: %v\n%s\n%s", h.Name(), err, out, logs())
	}
	var st struct {
		Instances []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(out, &st); err != nil || len(st.Instances) != 1 || st.Instances[0].Name != "VI_NS" {
		t.Fatalf("status in %s = %s (%v), want the one instance VI_NS", h.Name(), out, err)
	}
	if _, err := os.Stat(filepath.Join(runDir, "govrrp.sock")); err != nil {
		t.Errorf("no socket at %s: %v", runDir, err)
	}
}

// addrVMACPacing: two VIPs on eth1 and two on eth1 with their own
// use_vmac (so on vrrp.51@eth1), vrrp_garp_interval 100 ms.
var addrVMACPacing = garpPacingCase{
	name: "vip_use_vmac_on_parent_budget_100ms",
	conf: `global_defs {
    router_id garp_a
    vrrp_garp_interval 0.1
}
vrrp_instance V4 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 1
    garp_master_repeat 2
    garp_master_delay 0
    virtual_ipaddress {
        192.0.2.100/24
        198.51.100.100/24 dev eth1
        198.51.100.101/24 dev eth1
        198.51.100.102/24 dev eth1 use_vmac
        198.51.100.103/24 dev eth1 use_vmac
    }
}
`,
	wait: func(evs []announceEv) bool {
		return countAddr(evs, "198.51.100.102") >= 1 && countAddr(evs, "198.51.100.103") >= 1 && countAddr(evs, "198.51.100.100") >= 2
	},
	check: func(t *testing.T, evs []announceEv) string {
		return minGapAtLeast(pick(evs, "eth1", false), 100*time.Millisecond, "GARPs on eth1, its own and its VMAC's together")
	},
	report: func(evs []announceEv) string {
		return fmt.Sprintf("GARPs on eth1 %d (VMAC's %d), min gap %v", count(evs, "eth1", false),
			countAddr(evs, "198.51.100.102")+countAddr(evs, "198.51.100.103"), minGap(pick(evs, "eth1", false)))
	},
}

// TestAddrVMACPacingOnTheWire: the GARPs a VIP's VMAC sends count on its
// parent's vrrp_garp_interval budget: on eth1's wire every two GARPs, the
// parent's and the VMAC's alike, are at least the interval apart
// (keepalived 2.2.7 does so; seen first with a 1 s interval). keepalived's
// numbers are logged beside govrrp's.
func TestAddrVMACPacingOnTheWire(t *testing.T) {
	t.Parallel()
	gc := addrVMACPacing
	var mu sync.Mutex
	reports := map[impl]string{}
	t.Run("impls", func(t *testing.T) {
		for _, im := range []impl{keepalived, govrrp} {
			t.Run(im.short(), func(t *testing.T) {
				t.Parallel()
				evs, dut := runGarpCase(t, im, gc)
				mu.Lock()
				reports[im] = gc.report(evs)
				mu.Unlock()
				if msg := gc.check(t, evs); msg != "" {
					fail(t, fmt.Sprintf("%s %s: %s\n%s", im, gc.name, strings.TrimPrefix(msg, "; "), timeline(evs)), dut)
				}
				stopBoth(t, scenario{}, dut)
			})
		}
	})
	t.Logf("%s\n  keepalived: %s\n  govrrp:     %s", gc.name, reports[keepalived], reports[govrrp])
}
