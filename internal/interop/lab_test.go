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

// impl is a VRRP implementation a lab node runs.
type impl string

const (
	keepalived impl = "keepalived"
	govrrp     impl = "govrrp"
)

// short names for subtest names: ka, gv.
func (i impl) short() string {
	if i == keepalived {
		return "ka"
	}
	return "gv"
}

// pairing is who runs on host A and host B.
type pairing struct{ a, b impl }

func (p pairing) String() string { return p.a.short() + "-" + p.b.short() }

// pairings: keepalived↔keepalived first, it validates the test bodies.
var pairings = []pairing{
	{keepalived, keepalived},
	{govrrp, keepalived},
	{keepalived, govrrp},
	{govrrp, govrrp},
}

// node is one host of the lab and the daemon it runs.
type node struct {
	t        testing.TB
	name     string
	impl     impl
	host     *netlab.Host
	ip4, ip6 netip.Addr
	prio     int
	proc     *netlab.Proc   // current daemon, nil when stopped
	procs    []*netlab.Proc // every daemon started, for failure logs
	// benchMetrics is the --metrics-listen address of a govrrp started
	// by a scale bench (startScaleMetrics); empty otherwise.
	benchMetrics string
}

// twoHosts builds the lab: hosts a (.11) and b (.12) on one
// segment, eth0 with v4 and v6 addresses.
func twoHosts(t testing.TB, ia, ib impl) (*netlab.Lab, *node, *node) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test (namespaces, real daemons) skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived", "tcpdump")
	lab := netlab.New(t)
	seg := lab.AddSegment("lan", lanV4, lanV6)
	mk := func(name string, im impl, v4, v6 netip.Prefix) *node {
		h := lab.AddHost(name)
		if err := h.Connect(seg, ifname, v4, v6); err != nil {
			t.Fatalf("interop: connect %s: %v", name, err)
		}
		return &node{t: t, name: name, impl: im, host: h, ip4: v4.Addr(), ip6: v6.Addr()}
	}
	return lab, mk("a", ia, addrA4, addrA6), mk("b", ib, addrB4, addrB6)
}

// confFor renders the scenario config for n with priority prio.
func (n *node) confFor(sc scenario, peer *node, prio int) string {
	return sc.conf(nodeConf{routerID: "iop_" + n.name, priority: prio, self: n.ip4, peer: peer.ip4})
}

// start runs the node's daemon with conf (keepalived.conf text).
func (n *node) start(conf string, prio int) {
	n.t.Helper()
	var p *netlab.Proc
	var err error
	switch n.impl {
	case keepalived:
		p, err = n.host.StartKeepalived(conf)
	case govrrp:
		p, err = n.host.StartGovrrp(govrrpBin(n.t), conf)
	default:
		err = fmt.Errorf("interop: unknown implementation %q", n.impl)
	}
	if err != nil {
		n.t.Fatalf("interop: start %s on %s: %v", n.impl, n.name, err)
	}
	n.proc, n.prio = p, prio
	n.procs = append(n.procs, p)
	if n.impl == govrrp {
		n.waitReady()
	}
}

// waitReady waits until govrrp answers on its control socket, so that
// status-based checks never race its start-up.
func (n *node) waitReady() {
	n.t.Helper()
	err := netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		if n.proc.Exited() {
			return false, netlab.Permanent(fmt.Errorf("govrrp on %s exited during start-up", n.name))
		}
		_, err := n.status()
		return err == nil, err
	})
	if err != nil {
		fail(n.t, fmt.Sprintf("interop: govrrp on %s not ready: %v", n.name, err), n)
	}
}

// signal delivers sig to the running daemon.
func (n *node) signal(sig syscall.Signal) error {
	if n.proc == nil {
		return fmt.Errorf("interop: %s: no daemon running", n.name)
	}
	return n.proc.Signal(sig)
}

// waitExit waits for the daemon to end after a signal and wants exit 0
// (SIGTERM is a graceful stop for both implementations).
func (n *node) waitExit(timeout time.Duration) error {
	if n.proc == nil {
		return nil
	}
	code, err := n.proc.Wait(timeout)
	if err != nil {
		return fmt.Errorf("interop: %s (%s): %w", n.name, n.impl, err)
	}
	n.proc = nil
	if code != 0 {
		return fmt.Errorf("interop: %s (%s) exited %d after SIGTERM, want 0", n.name, n.impl, code)
	}
	return nil
}

// kill SIGKILLs the daemon (a crash: no priority-0 advert, no cleanup).
func (n *node) kill() error {
	if n.proc == nil {
		return nil
	}
	err := n.proc.Kill()
	n.proc = nil
	return err
}

// hasVIP reports whether addr is on the node's eth0.
func (n *node) hasVIP(addr netip.Addr) (bool, error) {
	return n.host.HasAddr(ifname, addr)
}

// logs is the tail of every daemon log of the node, for failure messages.
func (n *node) logs() string {
	var b strings.Builder
	for i, p := range n.procs {
		fmt.Fprintf(&b, "\n--- %s %s run %d (%s) ---\n%s", n.name, n.impl, i+1, p.LogPath(), tailLines(p.Log(), 40))
	}
	return b.String()
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// fail ends the test with msg plus the logs of every node given.
func fail(t testing.TB, msg string, nodes ...*node) {
	t.Helper()
	var b strings.Builder
	b.WriteString(msg)
	for _, n := range nodes {
		b.WriteString(n.logs())
	}
	t.Fatal(b.String())
}

// instStatus is one instance of `govrrp status --json`.
type instStatus struct {
	Name              string            `json:"name"`
	Interface         string            `json:"interface"`
	VRID              int               `json:"vrid"`
	Version           int               `json:"version"`
	State             string            `json:"state"`
	Priority          int               `json:"priority"`
	EffectivePriority int               `json:"effective_priority"`
	Master            string            `json:"master"`
	VIPs              []string          `json:"vips"`
	AdvertsSent       uint64            `json:"adverts_sent"`
	AdvertsReceived   uint64            `json:"adverts_received"`
	Drops             map[string]uint64 `json:"drops"`
	Transitions       uint64            `json:"transitions"`
}

// status runs `govrrp status --socket S --json` (black box, like an operator)
// and returns the one instance of our scenarios. Drops counted by the
// instance's shared socket (adverts for a VRID the node does not run) are
// added to the instance's drops: in these one-instance labs they are its.
func (n *node) status() (instStatus, error) {
	if n.impl != govrrp {
		return instStatus{}, fmt.Errorf("interop: %s runs %s, no govrrp status", n.name, n.impl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.host.Exec(ctx, govrrpBin(n.t), "status", "--socket", n.host.GovrrpSocket(), "--json")
	if err != nil {
		return instStatus{}, fmt.Errorf("interop: status of %s: %w: %s", n.name, err, out)
	}
	var doc struct {
		Instances []instStatus `json:"instances"`
		Sockets   []struct {
			Drops map[string]uint64 `json:"drops"`
		} `json:"sockets"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return instStatus{}, fmt.Errorf("interop: status of %s: %w: %s", n.name, err, out)
	}
	if len(doc.Instances) != 1 {
		return instStatus{}, fmt.Errorf("interop: status of %s: %d instances, want 1: %s", n.name, len(doc.Instances), out)
	}
	st := doc.Instances[0]
	for _, sock := range doc.Sockets {
		for reason, n := range sock.Drops {
			if st.Drops == nil {
				st.Drops = map[string]uint64{}
			}
			st.Drops[reason] += n
		}
	}
	return st, nil
}

// transitions is the govrrp transition count, -1 for keepalived nodes.
func (n *node) transitions() (int64, error) {
	if n.impl != govrrp {
		return -1, nil
	}
	st, err := n.status()
	if err != nil {
		return 0, err
	}
	return int64(st.Transitions), nil
}

// vipOwners reports which of the nodes hold addr, e.g. "a" or "a,b" or "".
func vipOwners(addr netip.Addr, nodes ...*node) (string, error) {
	var who []string
	for _, n := range nodes {
		has, err := n.hasVIP(addr)
		if err != nil {
			return "", err
		}
		if has {
			who = append(who, n.name)
		}
	}
	return strings.Join(who, ","), nil
}

// waitOwner polls until exactly owner ("" = nobody) holds addr.
func waitOwner(timeout, every time.Duration, addr netip.Addr, owner string, nodes ...*node) error {
	return netlab.WaitFor(context.Background(), timeout, every, func() (bool, error) {
		got, err := vipOwners(addr, nodes...)
		if err != nil {
			return false, err
		}
		if got == owner {
			return true, nil
		}
		return false, fmt.Errorf("VIP %s held by %q, want %q", addr, got, owner)
	})
}

// holdOwner samples for window that exactly owner holds addr the whole
// time; the first deviation is returned with when it happened.
func holdOwner(window, every time.Duration, addr netip.Addr, owner string, nodes ...*node) (samples int, err error) {
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	maxSamples := int(window/every) + 2 // time rules; this only bounds the loop
	for samples < maxSamples {
		got, err := vipOwners(addr, nodes...)
		if err != nil {
			return samples, err
		}
		samples++
		if got != owner {
			return samples, fmt.Errorf("after %v of the settle window VIP %s held by %q, want %q",
				time.Since(start).Round(time.Millisecond), addr, got, owner)
		}
		if time.Since(start) >= window {
			return samples, nil
		}
		<-tick.C
	}
	return samples, nil
}

// sampleEvery picks a sampling period: a tenth of the advert interval, at
// least 5 ms.
func sampleEvery(advert time.Duration) time.Duration {
	return max(advert/10, 5*time.Millisecond)
}
