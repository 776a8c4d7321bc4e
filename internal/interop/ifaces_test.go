package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// Interface handling keywords (internal/daemon/ifaces_*.go), every pairing
// with keepalived 2.2.7 beside govrrp on the same configuration:
//   - interface_up_down_delays: a's tracked eth1 loses carrier; a goes
//     FAULT (and b takes over) only once the down delay has passed — a
//     lower bound from the configuration — and a flap shorter than the
//     delay moves nothing;
//   - linkbeat_interfaces: a's own eth0 is polled; a carrier cut is seen
//     by polling within a poll interval and a goes FAULT.
//
// VRRPv3 at 1 s: keepalived resets a delay not below 2 x advert_int, so the
// delay must stay under 2 s.
var ifSc = scenario{name: "v3-ipv4-1s", version: 3, advert: time.Second}

const (
	ifDownDelay = 1500 * time.Millisecond
	ifUpDelay   = 500 * time.Millisecond
	// ifPollEvery: keepalived and govrrp poll linkbeat interfaces once a second.
	ifPollEvery = time.Second
)

// ifConf is ifSc's config for n with top-level defs and instance lines.
func (n *node) ifConf(peer *node, prio int, defs string, inst []string) string {
	base := n.confFor(ifSc, peer, prio)
	i := strings.Index(base, "vrrp_instance")
	head, body := base[:i], strings.TrimSuffix(base[i:], "}\n")
	var b strings.Builder
	b.WriteString(head + defs + "\n" + body)
	for _, l := range inst {
		for _, line := range strings.Split(l, "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// startIfPair starts a (prio 150, with defs and inst) and b (plain, 100)
// and waits for a to be the only master.
func startIfPair(t *testing.T, tl *trackLab, defs string, inst []string) {
	t.Helper()
	a, b := tl.a, tl.b
	a.startTracked(t, a.ifConf(b, prioHigh, defs, inst), prioHigh)
	b.startTracked(t, b.ifConf(a, prioLow, "", nil), prioLow)
	converge(t, ifSc, a, b, a, b)
}

var ifDelayDefs = fmt.Sprintf("interface_up_down_delays {\n    %s %.3f %.3f\n}\n", wanIf, ifDownDelay.Seconds(), ifUpDelay.Seconds())

// TestIfaceUpDownDelay: a tracks eth1 (weight 0: FAULT); eth1's carrier
// loss takes a's VIP away no earlier than the down delay, and a flap
// shorter than the delay leaves the VIP on a throughout.
func TestIfaceUpDownDelay(t *testing.T) {
	t.Parallel()
	track := fmt.Sprintf("track_interface {\n    %s\n}", wanIf)
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			t.Run("delayed", func(t *testing.T) {
				t.Parallel()
				tl := newTrackLab(t, p, true)
				startIfPair(t, tl, ifDelayDefs, []string{track})
				a, b := tl.a, tl.b
				tc := carrierCase(a, tl.wan, wanIf)
				tc.breakIt(t)
				start := time.Now()
				tA := waitVIP(t, a, false, start, ifDownDelay+faultBound+slack, "a in FAULT after eth1's down delay", a, b)
				notBefore(t, tA, ifDownDelay, "a dropped its VIP (down delay)", a, b)
				waitOnly(t, "b", start, tA+ifSc.masterDown(prioLow)+slack, "b takes over", a, b)
				t.Logf("%s: carrier cut, a's VIP gone after %v (down delay %v)", p, tA.Round(time.Millisecond), ifDownDelay)
				tc.repair(t)
				start = time.Now()
				took := waitOnly(t, "a", start, ifUpDelay+ifSc.masterDown(prioHigh)+slack, "a back after eth1's up delay", a, b)
				notBefore(t, took, ifUpDelay, "a took the VIP back (up delay)", a, b)
				t.Logf("%s: carrier back, a master again after %v (up delay %v + master-down)", p, took.Round(time.Millisecond), ifUpDelay)
				stopBoth(t, ifSc, a, b)
			})
			t.Run("flap", func(t *testing.T) {
				t.Parallel()
				tl := newTrackLab(t, p, true)
				startIfPair(t, tl, ifDelayDefs, []string{track})
				a, b := tl.a, tl.b
				tc := carrierCase(a, tl.wan, wanIf)
				start := time.Now()
				tc.breakIt(t)
				tc.repair(t)
				flap := time.Since(start)
				if flap >= ifDownDelay {
					t.Fatalf("the flap lasted %v, not shorter than the %v delay: the test proves nothing [%s]", flap, ifDownDelay, loadAvg())
				}
				if _, err := holdOwner(2*ifDownDelay, sampleEvery(ifSc.advert), vip4, "a", a, b); err != nil {
					fail(t, fmt.Sprintf("a %v flap under a %v down delay moved the VIP: %v", flap.Round(time.Millisecond), ifDownDelay, err), a, b)
				}
				if a.impl == govrrp {
					a.expect(t, want{state: "MASTER", eff: prioHigh}, a, b)
				}
				t.Logf("%s: %v flap, VIP stayed on a for %v", p, flap.Round(time.Millisecond), 2*ifDownDelay)
				stopBoth(t, ifSc, a, b)
			})
		})
	}
}

// TestLinkbeatPolling: a polls its own eth0 (linkbeat_interfaces); cutting
// eth0's carrier is seen by polling and a drops its VIP (FAULT) within a
// poll interval; govrrp's status says the interface is polled.
func TestLinkbeatPolling(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			tl := newTrackLab(t, p, false)
			startIfPair(t, tl, fmt.Sprintf("linkbeat_interfaces {\n    %s\n}\n", ifname), nil)
			a, b := tl.a, tl.b
			if a.impl == govrrp {
				checkPolled(t, a, true, b)
			}
			tc := carrierCase(a, tl.lan, ifname)
			tc.breakIt(t)
			start := time.Now()
			tA := waitVIP(t, a, false, start, ifPollEvery+faultBound+slack, "a's eth0 carrier cut seen by polling", a, b)
			if a.impl == govrrp {
				a.expect(t, want{state: "FAULT"}, a, b)
				checkPolled(t, a, false, b)
			}
			t.Logf("%s: carrier cut, a's VIP gone after %v (poll interval %v)", p, tA.Round(time.Millisecond), ifPollEvery)
			tc.repair(t)
			waitOnly(t, "a", time.Now(), ifPollEvery+2*ifSc.masterDown(prioLow)+slack, "a master again after carrier back", a, b)
			stopBoth(t, ifSc, a, b)
		})
	}
}

// checkPolled asserts govrrp's status shows eth0 tracked by linkbeat
// polling, with the given ok.
func checkPolled(t *testing.T, n *node, ok bool, all ...*node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.host.Exec(ctx, govrrpBin(t), "status", "--socket", n.host.GovrrpSocket(), "--json")
	if err != nil {
		fail(t, fmt.Sprintf("status of %s: %v: %s", n.name, err, out), all...)
	}
	var doc struct {
		Instances []struct {
			Tracks []struct {
				Name   string `json:"name"`
				OK     bool   `json:"ok"`
				Method string `json:"method"`
			} `json:"tracks"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Instances) != 1 {
		fail(t, fmt.Sprintf("status of %s: %v: %s", n.name, err, out), all...)
	}
	for _, tr := range doc.Instances[0].Tracks {
		if tr.Name == ifname && tr.OK == ok && strings.HasPrefix(tr.Method, "linkbeat") {
			return
		}
	}
	fail(t, fmt.Sprintf("%s status: want %s polled by linkbeat with ok=%v: %s", n.name, ifname, ok, out), all...)
}

// netnsConf is a lone master on eth0 of the namespace ns, VRRPv3 at 100 ms.
func netnsConf(ns string) string {
	return fmt.Sprintf(`net_namespace %s
vrrp_instance VI_NS {
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 150
    version 3
    advert_int 0.1
    virtual_ipaddress {
        %s/24
    }
}
`, ns, vip4)
}

// TestNetNamespace: keepalived and govrrp, each started from the root
// namespace with `net_namespace <host a's namespace>`, run in that
// namespace: the VIP appears on a's eth0, the process's network namespace
// is a's, and the root namespace never gets the VIP. govrrp's defaults
// would move its pid file and socket under /run/govrrp/NAME/ (as keepalived
// uses /run/keepalived/NAME/); the test passes explicit lab paths.
func TestNetNamespace(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		t.Run(string(im), func(t *testing.T) {
			t.Parallel()
			if testing.Short() {
				t.Skip("interop: integration test skipped in -short mode")
			}
			netlab.Require(t, "ip", "keepalived")
			lab := netlab.New(t)
			lan := lab.AddSegment("lan", lanV4, lanV6)
			h := lab.AddHost("a")
			if err := h.Connect(lan, ifname, addrA4, addrA6); err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(lab.Dir(), "netns.conf")
			writeFile(t, conf, netnsConf(h.Name()), 0o644)
			var argv []string
			switch im {
			case keepalived:
				argv = []string{"/usr/sbin/keepalived", "-n", "-l", "-D", "-P", "-f", conf,
					"-p", filepath.Join(lab.Dir(), "k.pid"), "-r", filepath.Join(lab.Dir(), "kv.pid")}
			default:
				argv = []string{govrrpBin(t), "run", "-f", conf, "--socket", filepath.Join(lab.Dir(), "g.sock"),
					"--pid-file", filepath.Join(lab.Dir(), "g.pid")}
			}
			cmd := exec.Command(argv[0], argv[1:]...) // in the root namespace on purpose
			logf, err := os.Create(filepath.Join(lab.Dir(), string(im)+".log"))
			if err != nil {
				t.Fatal(err)
			}
			defer logf.Close()
			cmd.Stdout, cmd.Stderr = logf, logf
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			stopped := false
			stop := func() {
				if stopped {
					return
				}
				stopped = true
				syscall.Kill(pid, syscall.SIGTERM)
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case <-done:
				case <-time.After(exitTimeout):
					syscall.Kill(-pid, syscall.SIGKILL)
					<-done
				}
			}
			defer stop()
			logs := func() string { b, _ := os.ReadFile(logf.Name()); return tailLines(string(b), 30) }

			if err := h.WaitAddr(context.Background(), ifname, vip4, true, startupMargin); err != nil {
				t.Fatalf("%s with net_namespace %s: VIP not on a's %s: %v\n%s", im, h.Name(), ifname, err, logs())
			}
			nsOf := func(path string) string { s, _ := os.Readlink(path); return s }
			want := nsOf(filepath.Join("/run/netns", h.Name()))
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join("/run/netns", h.Name()), &st); err == nil {
				want = fmt.Sprintf("net:[%d]", st.Ino)
			}
			if got := nsOf(fmt.Sprintf("/proc/%d/ns/net", pid)); got != want {
				t.Errorf("%s runs in %s, want a's namespace %s", im, got, want)
			}
			if root, err := rootHasAddr(vip4); err != nil || root {
				t.Errorf("root namespace holds the VIP %v (err %v)", root, err)
			}
			t.Logf("%s: net_namespace %s: VIP on a's %s, process in %s", im, h.Name(), ifname, want)
			stop()
			if err := h.WaitAddr(context.Background(), ifname, vip4, false, exitTimeout); err != nil {
				t.Errorf("VIP left on a after stop: %v\n%s", err, logs())
			}
		})
	}
}

// rootHasAddr reports whether any interface of the test's own (root)
// namespace holds addr.
func rootHasAddr(addr netip.Addr) (bool, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return false, err
	}
	for _, i := range ifs {
		as, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == addr {
				return true, nil
			}
		}
	}
	return false, nil
}

// dynConf is a lone master on eth1 (not there at start) under
// dynamic_interfaces, VRRPv3 at 100 ms, VIP in the wan range.
const dynConf = `global_defs {
    dynamic_interfaces
}
vrrp_instance VI_DYN {
    state MASTER
    interface eth1
    virtual_router_id 62
    priority 150
    version 3
    advert_int 0.1
    virtual_ipaddress {
        198.51.100.100/24
    }
}
`

var dynVIP = netip.MustParseAddr("198.51.100.100")

// TestDynamicInterfaces: with dynamic_interfaces an instance on an
// interface that does not exist yet starts (FAULT, no VIP) instead of
// refusing the file; creating the interface brings it up to MASTER with
// the VIP within its master-down interval; deleting it leaves the daemon
// running (govrrp: FAULT). keepalived 2.2.7 and govrrp alike.
func TestDynamicInterfaces(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		t.Run(string(im), func(t *testing.T) {
			t.Parallel()
			tl := newTrackLab(t, pairing{a: im, b: keepalived}, false)
			a := tl.a
			a.start(dynConf, prioHigh)
			err := netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
				if a.proc.Exited() {
					return false, netlab.Permanent(fmt.Errorf("%s exited with eth1 missing", im))
				}
				return im == govrrp || strings.Contains(a.proc.Log(), "will use if created"), nil
			})
			if err != nil {
				fail(t, err.Error(), a)
			}
			if im == govrrp {
				a.expect(t, want{state: "FAULT", why: "eth1"}, a)
			}
			sc := scenario{advert: 100 * time.Millisecond}
			wan := tl.lab.AddSegment("wan", wanV4, netip.Prefix{})
			created := time.Now()
			if err := a.host.Connect(wan, wanIf, addrA2, netip.Prefix{}); err != nil {
				t.Fatal(err)
			}
			if err := a.host.WaitAddr(context.Background(), wanIf, dynVIP, true, sc.masterDown(prioHigh)+faultBound+slack); err != nil {
				fail(t, fmt.Sprintf("eth1 created: VIP not on it: %v", err), a)
			}
			t.Logf("%s: eth1 created, VIP on it after %v (master-down %v)", im, time.Since(created).Round(time.Millisecond), sc.masterDown(prioHigh))
			if im == govrrp {
				a.expect(t, want{state: "MASTER"}, a)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if out, err := a.host.Exec(ctx, "ip", "link", "del", wanIf); err != nil {
				t.Fatalf("delete eth1: %v: %s", err, out)
			}
			if im == govrrp {
				err := netlab.WaitFor(context.Background(), faultBound+slack, 20*time.Millisecond, func() (bool, error) {
					st, err := a.fullStatus()
					return err == nil && st.State == "FAULT", nil
				})
				if err != nil {
					fail(t, "eth1 deleted: govrrp not FAULT: "+err.Error(), a)
				}
			}
			if a.proc.Exited() {
				fail(t, "daemon exited after eth1 was deleted", a)
			}
			stopBoth(t, sc, a)
		})
	}
}
