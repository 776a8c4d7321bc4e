package bfd

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// nsIO is the real UDP transport with every socket created inside a lab
// host's namespace (a socket keeps the namespace it was born in, so the
// readers may run on any thread).
type nsIO struct {
	h *netlab.Host
	u *udpIO
}

func (n nsIO) listen(v4 bool, deliver func(rxPacket)) error {
	return n.h.Do(func() error { return n.u.listen(v4, deliver) })
}

func (n nsIO) open(c Config) (sessionConn, error) {
	var sc sessionConn
	err := n.h.Do(func() error {
		var err error
		sc, err = n.u.open(c)
		return err
	})
	return sc, err
}

func (n nsIO) close() { n.u.close() }

// wireLab is a segment with host g (govrrp's engine, .1 / ::1) and host p
// (the peer daemon, .2 / ::2).
func wireLab(t *testing.T) (lab *netlab.Lab, g, p *netlab.Host) {
	lab = netlab.New(t)
	seg := lab.AddSegment("lan", netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/64"))
	g, p = lab.AddHost("g"), lab.AddHost("p")
	for i, h := range []*netlab.Host{g, p} {
		v4 := netip.MustParsePrefix(fmt.Sprintf("192.0.2.%d/24", i+1))
		v6 := netip.MustParsePrefix(fmt.Sprintf("2001:db8::%d/64", i+1))
		if err := h.Connect(seg, "eth0", v4, v6); err != nil {
			t.Fatal(err)
		}
	}
	return lab, g, p
}

func wireManager(t *testing.T, g *netlab.Host, evs *events) *Manager {
	m := newManager(Options{Sink: evs.sink}, nsIO{h: g, u: newUDPIO(slog.Default())})
	t.Cleanup(m.Close)
	return m
}

// waitEvent polls evs (wall clock, deadline-bounded) for an event
// matching ok, returning it.
func waitEvent(t *testing.T, evs *events, timeout time.Duration, what string, ok func(Event) bool) Event {
	t.Helper()
	var got Event
	err := netlab.WaitFor(context.Background(), timeout, 10*time.Millisecond, func() (bool, error) {
		for _, e := range evs.all() {
			if ok(e) {
				got = e
				return true, nil
			}
		}
		return false, fmt.Errorf("events so far %+v", evs.all())
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return got
}

func isUp(name string) func(Event) bool {
	return func(e Event) bool { return e.Name == name && e.Up }
}

func isDown(name string) func(Event) bool {
	return func(e Event) bool { return e.Name == name && !e.Up }
}

// waitRate waits for a session's Poll sequences to settle at tx/detect.
func waitRate(t *testing.T, m *Manager, name string, tx, detect time.Duration) {
	t.Helper()
	err := netlab.WaitFor(context.Background(), 5*time.Second, 10*time.Millisecond, func() (bool, error) {
		st := statusOf(m, name)
		return st.State == Up && !st.Polling && st.TxInterval == tx && st.DetectTime == detect,
			fmt.Errorf("%s: %v polling %v tx %v detect %v", name, st.State, st.Polling, st.TxInterval, st.DetectTime)
	})
	if err != nil {
		t.Fatal(err)
	}
	st := statusOf(m, name)
	t.Logf("%s: Up, tx %v detect %v, rx %d tx %d packets, drops %v", name, st.TxInterval, st.DetectTime,
		st.RxPackets, st.TxPackets, st.Dropped)
}

func statusOf(m *Manager, name string) SessionStatus {
	for _, s := range m.Snapshot() {
		if s.Name == name {
			return s
		}
	}
	return SessionStatus{}
}

// TestWireFRR: govrrp's engine against FRR 8.4's bfdd, one IPv4 and one
// IPv6 single-hop session at 100 ms x 3. Both reach Up; SIGKILL of bfdd
// (nothing sent) takes both Down with diag 1 after the detection time.
//
// FRR's bfdd drops single-hop packets whose TTL / hop limit is not 255
// (RFC 5881 5), so the IPv6 session sends hop limit 255 (keepalived's
// default 64 would not come Up against it).
func TestWireFRR(t *testing.T) {
	t.Parallel()
	netlab.Require(t, "/usr/lib/frr/bfdd", "/usr/lib/frr/zebra", "vtysh")
	lab, g, p := wireLab(t)
	dir := filepath.Join(lab.Dir(), "p-frr")
	if err := os.Chmod(lab.Dir(), 0o711); err != nil { // bfdd runs as user frr
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	conf := "hostname p\n!\nbfd\n" +
		" peer 192.0.2.1 local-address 192.0.2.2\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n !\n" +
		" peer 2001:db8::1 local-address 2001:db8::2\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n !\n!\n"
	bconf, zconf := filepath.Join(dir, "bfdd.conf"), filepath.Join(dir, "zebra.conf")
	for f, c := range map[string]string{bconf: conf, zconf: "hostname p\n"} {
		if err := os.WriteFile(f, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	zsock := filepath.Join(dir, "zserv.api")
	common := func(bin, conf, pid string) []string {
		return []string{bin, "-f", conf, "-i", filepath.Join(dir, pid), "-z", zsock, "--vty_socket", dir, "--log", "stdout"}
	}
	if _, err := p.Start("zebra", common("/usr/lib/frr/zebra", zconf, "zebra.pid")...); err != nil {
		t.Fatal(err)
	}
	if err := netlab.WaitFor(context.Background(), 10*time.Second, 20*time.Millisecond, func() (bool, error) {
		_, err := os.Stat(zsock)
		return err == nil, err
	}); err != nil {
		t.Fatal(err)
	}
	bfdd, err := p.Start("bfdd", common("/usr/lib/frr/bfdd", bconf, "bfdd.pid")...)
	if err != nil {
		t.Fatal(err)
	}

	evs := &events{}
	m := wireManager(t, g, evs)
	ms := 100 * time.Millisecond
	cfgs := []Config{
		normalize(Config{Name: "v4", Neighbor: netip.MustParseAddr("192.0.2.2"), Source: netip.MustParseAddr("192.0.2.1"),
			MinRx: ms, MinTx: ms, Multiplier: 3}),
		normalize(Config{Name: "v6", Neighbor: netip.MustParseAddr("2001:db8::2"), Source: netip.MustParseAddr("2001:db8::1"),
			MinRx: ms, MinTx: ms, Multiplier: 3, HopLimit: 255}),
	}
	if err := m.Apply(cfgs); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"v4", "v6"} {
		waitEvent(t, evs, 10*time.Second, n+" Up against bfdd", isUp(n))
	}
	err = netlab.WaitFor(context.Background(), 10*time.Second, 50*time.Millisecond, func() (bool, error) {
		out, err := p.Exec(context.Background(), "vtysh", "--vty_socket", dir, "-c", "show bfd peers json")
		if err != nil {
			return false, fmt.Errorf("%v: %s", err, out)
		}
		var peers []struct {
			Peer   string `json:"peer"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(out, &peers); err != nil {
			return false, fmt.Errorf("show bfd peers json: %v: %s", err, out)
		}
		up := 0
		for _, pe := range peers {
			if pe.Status == "up" {
				up++
			}
		}
		return up == 2, fmt.Errorf("bfdd peers %s", out)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"v4", "v6"} {
		waitRate(t, m, n, ms, 3*ms)
	}
	killed := time.Now()
	if err := bfdd.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"v4", "v6"} {
		e := waitEvent(t, evs, 5*time.Second, n+" Down after bfdd's death", isDown(n))
		if e.Diag != DiagTimeExpired {
			t.Errorf("%s: Down with diag %d, want 1 (bfdd killed: silence)", n, e.Diag)
		}
		t.Logf("%s Down %v after SIGKILL (detection time 300 ms)", n, e.At.Sub(killed).Round(time.Millisecond))
	}
}

// TestWireKeepalived: govrrp's engine against keepalived 2.2.7's BFD
// process (a keepalived.conf with only bfd_instance blocks), IPv4 and
// IPv6 (keepalived's default hop limit 64 on both sides), 100 ms x 3.
// Up; a reload raising min_tx polls and keeps Up; govrrp's Close sends
// AdminDown, which keepalived logs as the neighbour signalling down; then
// a new engine comes Up and keepalived's SIGTERM takes it Down with diag 1:
// keepalived 2.2.7 sends no AdminDown when it stops (seen on the wire
// between two keepalived: the peer expires with remote diag 0).
func TestWireKeepalived(t *testing.T) {
	t.Parallel()
	netlab.Require(t, "keepalived")
	lab, g, p := wireLab(t)
	conf := "bfd_instance kb {\n neighbor_ip 192.0.2.1\n source_ip 192.0.2.2\n min_rx 100\n min_tx 100\n multiplier 3\n}\n" +
		"bfd_instance k6 {\n neighbor_ip 2001:db8::1\n source_ip 2001:db8::2\n min_rx 100\n min_tx 100\n multiplier 3\n}\n"
	file := filepath.Join(lab.Dir(), "p-keepalived.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	pid := func(s string) string { return filepath.Join(lab.Dir(), "p-ka-"+s+".pid") }
	ka, err := p.Start("keepalived", "keepalived", "-n", "-l", "-D", "-G", "-f", file,
		"-p", pid("main"), "-r", pid("vrrp"), "-c", pid("check"), "-b", pid("bfd"))
	if err != nil {
		t.Fatal(err)
	}
	ms := 100 * time.Millisecond
	c := normalize(Config{Name: "kb", Neighbor: netip.MustParseAddr("192.0.2.2"), Source: netip.MustParseAddr("192.0.2.1"),
		MinRx: ms, MinTx: ms, Multiplier: 3})

	// keepalived's defaults on both sides: hop limit 64, max_hops 0.
	c6 := normalize(Config{Name: "k6", Neighbor: netip.MustParseAddr("2001:db8::2"), Source: netip.MustParseAddr("2001:db8::1"),
		MinRx: ms, MinTx: ms, Multiplier: 3})

	evs := &events{}
	m := wireManager(t, g, evs)
	if err := m.Apply([]Config{c, c6}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, evs, 10*time.Second, "Up against keepalived", isUp("kb"))
	waitEvent(t, evs, 10*time.Second, "IPv6 Up against keepalived", isUp("k6"))
	waitRate(t, m, "k6", ms, 3*ms)

	c2 := c
	c2.MinTx = 200 * time.Millisecond
	if err := m.Apply([]Config{c2}); err != nil {
		t.Fatal(err)
	}
	err = netlab.WaitFor(context.Background(), 5*time.Second, 10*time.Millisecond, func() (bool, error) {
		st := statusOf(m, "kb")
		return !st.Polling && st.TxInterval == 200*time.Millisecond, fmt.Errorf("status %+v", st)
	})
	if err != nil {
		t.Fatalf("poll to 200 ms: %v", err)
	}
	if len(evs.all()) != 2 {
		t.Fatalf("the rate change left Up: %+v", evs.all())
	}

	m.Close()
	err = netlab.WaitFor(context.Background(), 5*time.Second, 20*time.Millisecond, func() (bool, error) {
		return strings.Contains(ka.Log(), "Remote diagnostic - Administratively Down"), nil
	})
	if err != nil {
		t.Fatalf("keepalived did not see AdminDown: %v\n%s", err, ka.Log())
	}

	evs2 := &events{}
	m2 := wireManager(t, g, evs2)
	if err := m2.Apply([]Config{c}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, evs2, 10*time.Second, "Up again", isUp("kb"))
	waitRate(t, m2, "kb", ms, 3*ms)
	stopped := time.Now()
	if err := ka.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, evs2, 5*time.Second, "Down after keepalived stops", isDown("kb"))
	if e.Diag != DiagTimeExpired {
		t.Fatalf("Down with diag %d; keepalived 2.2.7 sends nothing at stop, so want 1", e.Diag)
	}
	t.Logf("Down %v after SIGTERM (detection 300 ms); drops %v", e.At.Sub(stopped).Round(time.Millisecond),
		statusOf(m2, "kb").Dropped)
}
