package interop

import (
	"bufio"
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

// TestDBusSideBySide runs keepalived 2.2.7 and govrrp with the same
// keepalived.conf (enable_dbus, an IPv4 and an IPv6 instance), each on its
// own segment with a keepalived peer at priority 200 and against its own
// private system bus, and compares what a D-Bus client sees, field by field:
// the introspected tree, Name/State in BACKUP, the VrrpStatusChange of the
// failover when the peer stops, State in MASTER, and the signals of the stop;
// and, captured on the peer's host, the announcements the client receives
// of the takeover and of SendGarp (count, sender MAC and address).
//
// Observed on keepalived 2.2.7 (busctl/dbus-monitor, recorded by hand and
// checked here): paths /org/keepalived/Vrrp1/Instance/<ifname, [^A-Za-z0-9_]
// -> _>/<vrid>/<IPv4|IPv6>, a use_vmac instance under its base interface;
// Name is sent as "(s)" (its introspection says "s"); State "(us)" with
// "Backup"/"Master"/"Fault"; VrrpStarted, then one VrrpStatusChange per
// instance, then RequestName; at stop VrrpStatusChange 98 for each instance,
// VrrpStopped, ReleaseName; a reload signals 3 for a removed instance, then
// VrrpReloaded; SendGarp sends one GARP per VIP, and nothing when BACKUP.
func TestDBusSideBySide(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("interop: integration test skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived")
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("dbus-daemon not installed (make test installs dbus)")
	}
	start := time.Now()
	lab := netlab.New(t)
	sides := map[impl]*dbusSide{}
	for _, im := range []impl{keepalived, govrrp} {
		seg := lab.AddSegment("lan"+im.short(), lanV4, lanV6)
		dut, peer := lab.AddHost("d"+im.short()), lab.AddHost("p"+im.short())
		for _, h := range []struct {
			h      *netlab.Host
			v4, v6 string
		}{{dut, "192.0.2.11/24", "2001:db8::11/64"}, {peer, "192.0.2.12/24", "2001:db8::12/64"}} {
			if err := h.h.Connect(seg, ifname, mustPrefix(h.v4), mustPrefix(h.v6)); err != nil {
				t.Fatal(err)
			}
		}
		sides[im] = &dbusSide{t: t, impl: im, dut: dut, peer: peer, bus: privateSystemBus(t)}
	}
	// Peers first, masters at 200: the DUTs come up BACKUP and stay there.
	for _, s := range sides {
		p, err := s.peer.StartKeepalived(dbusConf(200, "MASTER", false))
		if err != nil {
			t.Fatal(err)
		}
		s.peerProc = p
	}
	for _, s := range sides {
		if err := s.peer.WaitAddr(context.Background(), ifname, vip4, true, startupMargin); err != nil {
			t.Fatalf("%s peer: %v", s.impl, err)
		}
	}
	for _, s := range sides {
		s.listen()
		s.startDUT(dbusConf(100, "BACKUP", true))
	}
	for _, s := range sides {
		s.waitName()
	}
	ka, gv := sides[keepalived], sides[govrrp]
	compare := func(what string, f func(*dbusSide) any) {
		t.Helper()
		if d := cmp.Diff(f(ka), f(gv)); d != "" {
			t.Errorf("%s differs (-keepalived +govrrp):\n%s", what, d)
		}
	}
	compare("introspected tree", (*dbusSide).tree)
	compare("properties in BACKUP", func(s *dbusSide) any { return s.props() })
	want := map[string]string{"Name": "[VI_4]", "State": "[1 Backup]"}
	if d := cmp.Diff(want, ka.props()[dbusPath4]); d != "" {
		t.Errorf("keepalived's own BACKUP properties are not what was observed by hand (-want +got):\n%s", d)
	}

	// The client's side of the announcements: each peer captures from
	// before the failover on (its keepalived stops; the host stays).
	for _, s := range sides {
		s.startAnnounceCapture()
	}
	// Failover: the peers stop (priority 0); both DUTs become master.
	for _, s := range sides {
		if err := s.peerProc.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sides {
		s.waitSignals(dbusPath4+" VrrpStatusChange [2]", dbusPath6+" VrrpStatusChange [2]")
	}
	compare("properties in MASTER", func(s *dbusSide) any { return s.props() })
	compare("signals up to the failover, per object", (*dbusSide).signalsByPath)

	// SendGarp on each instance, once the takeover's announcements are in
	// (garp_master_repeat 5 per VIP; garp_master_delay 0: no second burst):
	// what the client sees next is SendGarp's burst alone.
	for _, s := range sides {
		s.waitAnnouncements(2 * 5)
	}
	before := map[impl]int{}
	for im, s := range sides {
		before[im] = len(s.announcements())
	}
	compare("SendGarp's reply", func(s *dbusSide) any {
		var errs []string
		for _, p := range []dbus.ObjectPath{dbusPath4, dbusPath6} {
			errs = append(errs, fmt.Sprint(s.conn.Object("org.keepalived.Vrrp1", p).Call("org.keepalived.Vrrp1.Instance.SendGarp", 0).Err))
		}
		return errs
	})
	for im, s := range sides {
		s.waitAnnouncements(before[im] + len(dbusSendGarpBurst[im]))
		s.stopAnnounceCapture()
	}
	// Two instances' bursts race: compared as multisets.
	compare("the takeover's announcements seen by the client, NA source aside", func(s *dbusSide) any {
		return sortedStrings(maskNASource(s.announcements()[:before[s.impl]]))
	})
	compare("SendGarp's announcements seen by the client, NA source aside", func(s *dbusSide) any {
		return sortedStrings(maskNASource(s.announcements()[before[s.impl]:]))
	})
	for im, s := range sides {
		if d := cmp.Diff(sortedStrings(dbusSendGarpBurst[im]), sortedStrings(s.announcements()[before[im]:])); d != "" {
			t.Errorf("%s: SendGarp's announcements (-want +got):\n%s", im, d)
		}
	}
	// ReloadConfig with VI_6 gone: FAULT (3) on its object, the object
	// withdrawn, then VrrpReloaded.
	for _, s := range sides {
		if err := os.WriteFile(s.confFile, []byte(dbusConfOnly4(100, "BACKUP")), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.conn.Object("org.keepalived.Vrrp1", dbusVrrp).Call("org.keepalived.Vrrp1.Vrrp.ReloadConfig", 0).Err; err != nil {
			t.Fatalf("%s: ReloadConfig: %v", s.impl, err)
		}
	}
	for _, s := range sides {
		s.waitSignals(dbusVrrp+" VrrpReloaded []", dbusPath6+" VrrpStatusChange [3]")
	}
	compare("introspected tree after the reload", (*dbusSide).tree)
	compare("signals up to the reload, per object", (*dbusSide).signalsByPath)

	// Stop: STOP (98) for each instance, then VrrpStopped.
	for _, s := range sides {
		if err := s.dutProc.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sides {
		s.waitSignals(dbusVrrp + " VrrpStopped []")
		if _, err := s.dutProc.Wait(10 * time.Second); err != nil {
			t.Errorf("%s: %v", s.impl, err)
		}
	}
	// Two instances' timers race: the order across objects is not
	// meaningful, the order on each object and VrrpStarted first /
	// VrrpStopped last are.
	compare("all signals, per object", (*dbusSide).signalsByPath)
	compare("last signal", func(s *dbusSide) any {
		l := s.signalList().([]string)
		return l[len(l)-1]
	})
	if l := gv.signalList().([]string); l[0] != dbusVrrp+" VrrpStarted []" {
		t.Errorf("govrrp's first signal is %q, want VrrpStarted", l[0])
	}
	t.Logf("keepalived's signals: %v", ka.signalList())
	t.Logf("govrrp's signals: %v", gv.signalList())
	t.Logf("duration %v", time.Since(start).Round(time.Millisecond))
	if t.Failed() {
		for _, s := range sides {
			t.Logf("%s log:\n%s", s.impl, tailLines(s.dutProc.Log(), 40))
		}
	}
}

// dbusSendGarpBurst is SendGarp on each instance as the client saw it
// (tcpdump -e on the peer): one announcement per VIP from the DUT's own
// MAC, as keepalived 2.2.7 sends it (observed; the takeover sends
// garp_master_repeat of each). The NA's source differs: keepalived 2.2.7
// sends it from the VIP itself, govrrp from its link-local address
// (internal/vip; RFC 4861 7.2.6 allows any address of the interface).
var dbusSendGarpBurst = map[impl][]string{
	keepalived: {"GARP 192.0.2.100 from DUT", "NA 2001:db8::100 src 2001:db8::100 from DUT"},
	govrrp:     {"GARP 192.0.2.100 from DUT", "NA 2001:db8::100 src LINKLOCAL from DUT"},
}

var reNASource = regexp.MustCompile(` src \S+ `)

// maskNASource drops the NA source from announcements' lines.
func maskNASource(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = reNASource.ReplaceAllString(s, " ")
	}
	return out
}

func sortedStrings(l []string) []string {
	l = slices.Clone(l)
	slices.Sort(l)
	return l
}

const (
	dbusVrrp  = "/org/keepalived/Vrrp1/Vrrp"
	dbusPath4 = "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4"
	dbusPath6 = "/org/keepalived/Vrrp1/Instance/eth0/52/IPv6"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// dbusConf is the file both DUTs run (dbus true) and the peers' (false).
func dbusConf(prio int, state string, dbus bool) string {
	g := ""
	if dbus {
		g = "  enable_dbus\n"
	}
	inst := func(name string, vrid int, vip string) string {
		return fmt.Sprintf(`vrrp_instance %s {
  state %s
  interface eth0
  virtual_router_id %d
  priority %d
  advert_int 1
  garp_master_delay 0
  virtual_ipaddress { %s }
}
`, name, state, vrid, prio, vip)
	}
	return "global_defs {\n" + g + "}\n" + inst("VI_4", 51, "192.0.2.100/24") + inst("VI_6", 52, "2001:db8::100/64")
}

// dbusConfOnly4 is dbusConf after a reload that removed VI_6.
func dbusConfOnly4(prio int, state string) string {
	c := dbusConf(prio, state, true)
	return c[:strings.Index(c, "vrrp_instance VI_6")]
}

// dbusSide is one implementation under test with its bus and peer.
type dbusSide struct {
	t        *testing.T
	impl     impl
	dut      *netlab.Host
	peer     *netlab.Host
	bus      string
	conn     *dbus.Conn
	peerProc *netlab.Proc
	dutProc  *netlab.Proc
	confFile string

	mu   sync.Mutex
	sigs []string

	capture *netlab.Capture // on the peer: GARPs and NAs (announcements)
}

// startAnnounceCapture captures GARPs and unsolicited NAs on the peer.
func (s *dbusSide) startAnnounceCapture() {
	c, err := s.peer.Capture(ifname, "arp or (icmp6 and ip6[40] == 136)")
	if err != nil {
		s.t.Fatal(err)
	}
	s.capture = c
}

func (s *dbusSide) stopAnnounceCapture() {
	if _, err := s.capture.Stop(); err != nil {
		s.t.Fatalf("%s: capture: %v", s.impl, err)
	}
}

var (
	reDbusGARP = regexp.MustCompile(`^\d+\.\d+ ([0-9a-f:]{17}) > ff:ff:ff:ff:ff:ff, ethertype ARP .*: Request who-has (\S+) (?:\(\S+\) )?tell (\S+),`)
	reDbusNA   = regexp.MustCompile(`^\d+\.\d+ ([0-9a-f:]{17}) > \S+, ethertype IPv6 .*: (\S+) > ff02::1: ICMP6, neighbor advertisement, tgt is (\S+),`)
)

// announcements is what the peer has captured so far, in order: "GARP
// <ip> from <MAC>" for an ARP request whose sender and target are the
// same address, "NA <target> src <source address> from <MAC>" for an
// unsolicited NA (a link-local source reads LINKLOCAL); the DUT's own MAC
// reads DUT. Anything else (an ARP request that is not gratuitous) is
// shown in full, so it cannot pass unnoticed.
func (s *dbusSide) announcements() []string {
	s.t.Helper()
	text, err := netlab.ReadPcap(s.capture.Path(), "-e", "-tt")
	if err != nil && text == "" {
		s.t.Fatalf("%s: %v", s.impl, err)
	}
	mac := s.dutMAC()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		switch m, n := reDbusGARP.FindStringSubmatch(l), reDbusNA.FindStringSubmatch(l); {
		case m != nil && m[2] == m[3]:
			out = append(out, "GARP "+m[2]+" from "+strings.ReplaceAll(m[1], mac, "DUT"))
		case n != nil:
			src := n[2]
			if strings.HasPrefix(src, "fe80:") {
				src = "LINKLOCAL"
			}
			out = append(out, "NA "+n[3]+" src "+src+" from "+strings.ReplaceAll(n[1], mac, "DUT"))
		case l != "":
			out = append(out, "other: "+l)
		}
	}
	return out
}

// waitAnnouncements waits until the peer has captured at least n.
func (s *dbusSide) waitAnnouncements(n int) {
	s.t.Helper()
	var got []string
	err := netlab.WaitFor(context.Background(), 10*time.Second, 20*time.Millisecond, func() (bool, error) {
		got = s.announcements()
		return len(got) >= n, fmt.Errorf("%s: the peer captured %d announcements, want %d: %q", s.impl, len(got), n, got)
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// dutMAC is the DUT's eth0 address as tcpdump prints it.
func (s *dbusSide) dutMAC() string {
	var mac string
	if err := s.dut.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err == nil {
			mac = ifi.HardwareAddr.String()
		}
		return err
	}); err != nil {
		s.t.Fatalf("%s: %v", s.impl, err)
	}
	return mac
}

// privateSystemBus runs a dbus-daemon of the test's own (everything allowed)
// on a unix socket; killed at the end of the test.
func privateSystemBus(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gvdbus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "bus.sock")
	conf := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=` + sock + `</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy>
</busconfig>`
	cf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+cf, "--nofork", "--print-address=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	return strings.TrimSpace(line)
}

// listen subscribes to everything under /org/keepalived/Vrrp1 before the
// DUT starts, so VrrpStarted and the first states are seen.
func (s *dbusSide) listen() {
	c, err := dbus.Connect(s.bus)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	if err := c.AddMatchSignal(dbus.WithMatchPathNamespace("/org/keepalived/Vrrp1")); err != nil {
		s.t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 64)
	c.Signal(ch)
	go func() {
		for sg := range ch {
			name := sg.Name[strings.LastIndexByte(sg.Name, '.')+1:]
			s.mu.Lock()
			s.sigs = append(s.sigs, fmt.Sprintf("%s %s %v", sg.Path, name, sg.Body))
			s.mu.Unlock()
		}
	}()
	s.conn = c
}

func (s *dbusSide) startDUT(conf string) {
	file := filepath.Join(s.t.TempDir(), "keepalived.conf")
	s.confFile = file
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		s.t.Fatal(err)
	}
	env := "DBUS_SYSTEM_BUS_ADDRESS=" + s.bus
	var argv []string
	if s.impl == keepalived {
		p1, p2, p3 := s.dut.KeepalivedPidFiles()
		argv = []string{"env", env, "keepalived", "-n", "-l", "-D", "-P", "-f", file, "-p", p1, "-r", p2, "-c", p3}
	} else {
		argv = []string{"env", env, govrrpBin(s.t), "run", "-f", file, "--socket", s.dut.GovrrpSocket(), "--pid-file", s.dut.GovrrpPidFile()}
	}
	p, err := s.dut.Start(string(s.impl), argv...)
	if err != nil {
		s.t.Fatal(err)
	}
	s.dutProc = p
}

func (s *dbusSide) waitName() {
	err := netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		var ok bool
		err := s.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.keepalived.Vrrp1").Store(&ok)
		return err == nil && ok, fmt.Errorf("%s: org.keepalived.Vrrp1 not owned (%v)", s.impl, err)
	})
	if err != nil {
		s.t.Fatalf("%v\n%s", err, tailLines(s.dutProc.Log(), 30))
	}
}

func (s *dbusSide) signalList() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sigs)
}

// signalsByPath is each object's signals in order. keepalived 2.2.7's
// start-up races its GDBus thread (seen across runs: an instance's
// VrrpStatusChange before VrrpStarted, the first one twice, or 0 (Init)
// before 1): repeats in a row and a leading Init are folded, so what is
// compared is the sequence of states a client learns.
func (s *dbusSide) signalsByPath() any {
	out := map[string][]string{}
	for _, sg := range s.signalList().([]string) {
		p, rest, _ := strings.Cut(sg, " ")
		l := out[p]
		if (len(l) > 0 && l[len(l)-1] == rest) || (len(l) == 0 && rest == "VrrpStatusChange [0]") {
			continue
		}
		out[p] = append(l, rest)
	}
	return out
}

// waitSignals waits until every one of want has been seen.
func (s *dbusSide) waitSignals(want ...string) {
	err := netlab.WaitFor(context.Background(), 10*time.Second, 20*time.Millisecond, func() (bool, error) {
		got := s.signalList().([]string)
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false, fmt.Errorf("%s: no %q in %v", s.impl, w, got)
			}
		}
		return true, nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// tree is path -> interfaces and members with their signatures.
func (s *dbusSide) tree() any {
	out := map[string][]string{}
	var walk func(p string)
	walk = func(p string) {
		var x string
		if err := s.conn.Object("org.keepalived.Vrrp1", dbus.ObjectPath(p)).Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&x); err != nil {
			s.t.Fatalf("%s: introspect %s: %v", s.impl, p, err)
		}
		var n introNode
		if err := xml.Unmarshal([]byte(x), &n); err != nil {
			s.t.Fatalf("%s: introspect %s: %v", s.impl, p, err)
		}
		out[p] = n.members()
		for _, c := range n.Children {
			walk(strings.TrimSuffix(p, "/") + "/" + c.Name)
		}
	}
	walk("/")
	return out
}

// props is GetAll of each instance object, values as fmt prints them.
func (s *dbusSide) props() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, p := range []string{dbusPath4, dbusPath6} {
		var all map[string]dbus.Variant
		if err := s.conn.Object("org.keepalived.Vrrp1", dbus.ObjectPath(p)).Call("org.freedesktop.DBus.Properties.GetAll", 0, "org.keepalived.Vrrp1.Instance").Store(&all); err != nil {
			s.t.Fatalf("%s: GetAll %s: %v", s.impl, p, err)
		}
		m := map[string]string{}
		for k, v := range all {
			m[k] = fmt.Sprint(v.Value())
		}
		out[p] = m
	}
	return out
}

type introNode struct {
	Interfaces []struct {
		Name    string `xml:"name,attr"`
		Methods []struct {
			Name string     `xml:"name,attr"`
			Args []introArg `xml:"arg"`
		} `xml:"method"`
		Signals []struct {
			Name string     `xml:"name,attr"`
			Args []introArg `xml:"arg"`
		} `xml:"signal"`
		Props []struct {
			Name   string `xml:"name,attr"`
			Type   string `xml:"type,attr"`
			Access string `xml:"access,attr"`
		} `xml:"property"`
	} `xml:"interface"`
	Children []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}

type introArg struct {
	Name string `xml:"name,attr"`
	Type string `xml:"type,attr"`
	Dir  string `xml:"direction,attr"`
}

func (n introNode) members() []string {
	var out []string
	for _, i := range n.Interfaces {
		for _, m := range i.Methods {
			out = append(out, fmt.Sprintf("%s.%s method %v", i.Name, m.Name, m.Args))
		}
		for _, m := range i.Signals {
			out = append(out, fmt.Sprintf("%s.%s signal %v", i.Name, m.Name, m.Args))
		}
		for _, m := range i.Props {
			out = append(out, fmt.Sprintf("%s.%s property %s %s", i.Name, m.Name, m.Type, m.Access))
		}
	}
	slices.Sort(out)
	return out
}
