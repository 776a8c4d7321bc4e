package interop

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

// TestSNMPSideBySide runs keepalived 2.2.7 and govrrp with the same
// keepalived.conf (enable_snmp_rfc: VRRPV3-MIB and VRRP-MIB; enable_traps;
// snmp_socket a private AgentX socket), each on its own segment with a
// keepalived peer whose adverts it must drop (VRRPv2 for its VRRPv3
// instance: version errors; a wrong auth_pass for its VRRPv2 one), each
// under its own snmpd (AgentX master, SNMP on 127.0.0.1 of its namespace,
// traps to an snmptrapd beside it), and compares `snmpwalk -v2c -On` of both
// MIBs row by row once every instance is MASTER (counters as zero/non-zero:
// how many adverts arrived is timing), and the kinds of traps received.
// Then the govrrp side's snmpd restarts and govrrp's subagent must
// reconnect and serve the same rows again.
//
// Observed on keepalived 2.2.7 (snmpwalk by hand): every instance, v2 ones
// included, is a vrrpv3OperationsTable row indexed ifIndex.VRID.addrtype;
// the associated address index has no length octet; vrrpv3OperationsUpTime
// counts from the instance's start (0 in FAULT), vrrpOperVirtualRouterUpTime
// is that start since the daemon's; vrrpOperMasterIpAddr is 0.0.0.0 while
// master; vrrpNotificationCntl is disabled(2) without enable_traps; FAULT is
// initialize(1). With enable_traps: vrrpTrapNewMaster (VRRPv2 instances)
// then vrrpv3NewMaster on becoming master; vrrpv3ProtoError
// (ProtoErrReason) per advert dropped for its version, TTL or checksum;
// vrrpTrapAuthFailure (source, authFailure(3)) per VRRPv2 advert failing
// auth_pass. keepalived shows only its first VRRPv2 instance in
// vrrpOperTable and vrrpRouterStatsTable (getnext skips to the next column),
// so the file has one VRRPv2 instance; govrrp shows every one (README).
func TestSNMPSideBySide(t *testing.T) {
	t.Parallel()
	requireSNMP(t)
	traps := true
	if _, err := exec.LookPath("snmptrapd"); err != nil {
		traps = false
		t.Log("snmptrapd not installed: traps not compared (make test installs snmptrapd)")
	}
	start := time.Now()
	lab := netlab.New(t)
	sides := map[impl]*snmpSide{}
	for _, im := range []impl{keepalived, govrrp} {
		seg := lab.AddSegment("snmp"+im.short(), lanV4, lanV6)
		h, peer := lab.AddHost("s"+im.short()), lab.AddHost("q"+im.short())
		if err := h.Connect(seg, ifname, mustPrefix("192.0.2.21/24"), mustPrefix("2001:db8::21/64")); err != nil {
			t.Fatal(err)
		}
		if err := peer.Connect(seg, ifname, mustPrefix("192.0.2.22/24"), mustPrefix("2001:db8::22/64")); err != nil {
			t.Fatal(err)
		}
		s := &snmpSide{t: t, impl: im, h: h, dir: snmpDir(t), traps: traps}
		if _, err := peer.StartKeepalived(snmpPeerConf); err != nil {
			t.Fatal(err)
		}
		s.startSnmpd()
		sides[im] = s
	}
	startSNMPDaemons(t, sides, snmpConf)
	for _, s := range sides {
		s.waitMaster(3)
	}
	ka, gv := sides[keepalived], sides[govrrp]
	// Both have dropped a peer advert of each kind: the error counters and
	// ProtoErrReason are set on both before the walk.
	for _, s := range sides {
		s.waitWalk("1.3.6.1.2.1.68.2.4.1.4", "Counter32: [1-9]") // vrrpStatsAuthFailures
		s.waitWalk("1.3.6.1.2.1.207.1.2.5.1.6", "INTEGER: 2")    // ProtoErrReason versionError
	}
	want, got := ka.walk(), gv.walk()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("MIBs differ (-keepalived +govrrp):\n%s", d)
	}
	if len(want) < 100 {
		t.Errorf("keepalived served %d rows, fewer than the file's three instances fill:\n%s", len(want), strings.Join(want, "\n"))
	}
	if traps {
		wantTraps := []string{
			"OID: .1.3.6.1.2.1.207.0.1 .1.3.6.1.2.1.207.1.1.1.1.3.IF.51.1 = Hex-STRING: C0 00 02 15 .1.3.6.1.2.1.207.1.2.5.1.2.IF.51.1 = INTEGER: 3",
			"OID: .1.3.6.1.2.1.207.0.1 .1.3.6.1.2.1.207.1.1.1.1.3.IF.52.2 = Hex-STRING: LINKLOCAL .1.3.6.1.2.1.207.1.2.5.1.2.IF.52.2 = INTEGER: 3",
			"OID: .1.3.6.1.2.1.207.0.1 .1.3.6.1.2.1.207.1.1.1.1.3.IF.53.1 = Hex-STRING: C0 00 02 15 .1.3.6.1.2.1.207.1.2.5.1.2.IF.53.1 = INTEGER: 3",
			"OID: .1.3.6.1.2.1.207.0.2 .1.3.6.1.2.1.207.1.2.5.1.6.IF.51.1 = INTEGER: 2",
			"OID: .1.3.6.1.2.1.68.0.1 .1.3.6.1.2.1.68.1.3.1.7.IF.53 = IpAddress: 192.0.2.21",
			"OID: .1.3.6.1.2.1.68.0.2 .1.3.6.1.2.1.68.1.5.IF.53 = IpAddress: 192.0.2.22 .1.3.6.1.2.1.68.1.6.IF.53 = INTEGER: 3",
		}
		for _, s := range sides {
			s.waitTraps(len(wantTraps))
		}
		if d := cmp.Diff(wantTraps, ka.trapKinds()); d != "" {
			t.Errorf("keepalived's traps are not the kinds observed by hand (-want +got):\n%s", d)
		}
		if d := cmp.Diff(ka.trapKinds(), gv.trapKinds()); d != "" {
			t.Errorf("traps differ (-keepalived +govrrp):\n%s", d)
		}
	}

	// snmpd restarts: the subagent opens a new session and registers again.
	gv.stopSnmpd()
	gv.startSnmpd()
	gv.waitSnmpd()
	gv.waitMaster(3)
	if d := cmp.Diff(want, gv.walk()); d != "" {
		t.Errorf("after snmpd restarted, govrrp's MIBs differ (-keepalived +govrrp):\n%s", d)
	}
	t.Logf("rows compared: %d; duration %v", len(want), time.Since(start).Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("keepalived rows:\n%s", strings.Join(want, "\n"))
	}
	if t.Failed() {
		for _, s := range sides {
			t.Logf("%s log:\n%s", s.impl, tailLines(s.proc.Log(), 30))
			t.Logf("%s snmpd log:\n%s", s.impl, tailLines(s.snmpd.Log(), 20))
		}
	}
}

// snmpDir is a short private directory: a unix socket path must stay under
// 108 bytes, which t.TempDir() under a long test name may not.
func snmpDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "govrrp-snmp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// snmpConf is the file both sides run: a VRRPv3 IPv4 instance with two
// VIPs, a VRRPv2 one with PASS and a 2 s interval, a VRRPv3 IPv6 one.
func snmpConf(socket string) string {
	return fmt.Sprintf(`global_defs {
  router_id snmp
  enable_snmp_rfc
  enable_traps
  snmp_socket unix:%s
}
vrrp_instance V4 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  version 3
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101
  }
}
vrrp_instance V2 {
  state BACKUP
  interface eth0
  virtual_router_id 53
  priority 150
  advert_int 1
  version 2
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    192.0.2.103
  }
}
vrrp_instance V6 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority 90
  version 3
  virtual_ipaddress {
    2001:db8::100
  }
}
`, socket)
}

type snmpSide struct {
	t     *testing.T
	impl  impl
	h     *netlab.Host
	dir   string
	traps bool // an snmptrapd receives snmpd's traps
	snmpd *netlab.Proc
	trapd *netlab.Proc
	proc  *netlab.Proc
}

// snmpPeerConf is the peer both sides drop adverts from: VRRPv2 on VRID 51
// (the DUT runs VRRPv3 there) and a wrong auth_pass on VRID 53.
const snmpPeerConf = `vrrp_instance P51 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 200
  advert_int 1
  version 2
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance P53 {
  state BACKUP
  interface eth0
  virtual_router_id 53
  priority 200
  advert_int 1
  version 2
  authentication {
    auth_type PASS
    auth_pass wrong
  }
  virtual_ipaddress {
    192.0.2.103
  }
}
`

func (s *snmpSide) socket() string { return filepath.Join(s.dir, "agentx") }

// requireSNMP skips the test without root's tools: keepalived, snmpd as
// the AgentX master, snmpwalk as the manager.
func requireSNMP(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: integration test skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived")
	for _, cmd := range []string{"snmpd", "snmpwalk"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("%s not installed (make test installs snmpd and snmp)", cmd)
		}
	}
}

// startSNMPDaemons waits for each side's snmpd (a subagent connects at its
// start) and starts the side's daemon with conf(its AgentX socket); govrrp
// also gets gvFlags.
func startSNMPDaemons(t *testing.T, sides map[impl]*snmpSide, conf func(socket string) string, gvFlags ...string) {
	t.Helper()
	for _, s := range sides {
		s.waitSnmpd()
		if s.impl == keepalived {
			s.proc = must(s.h.StartKeepalived(conf(s.socket())))
		} else {
			s.proc = must(s.h.StartGovrrp(govrrpBin(t), conf(s.socket()), gvFlags...))
		}
	}
}

// startSnmpd runs snmpd as AgentX master on the private socket, SNMP on
// 127.0.0.1:16100 of the namespace only, no MIB files loaded.
func (s *snmpSide) startSnmpd() {
	conf := filepath.Join(s.dir, "snmpd.conf")
	body := fmt.Sprintf("master agentx\nagentXSocket unix:%s\nagentaddress udp:127.0.0.1:16100\nrocommunity public 127.0.0.1\n", s.socket())
	if s.traps {
		body += "trap2sink 127.0.0.1:16200 public\n"
		if s.trapd == nil {
			s.startTrapd()
		}
	}
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		s.t.Fatal(err)
	}
	p, err := s.h.Start("snmpd", "env", "MIBS=", "SNMP_PERSISTENT_DIR="+s.dir, "snmpd", "-f", "-Lo", "-C", "-c", conf, "-p", filepath.Join(s.dir, "snmpd.pid"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.snmpd = p
}

func (s *snmpSide) stopSnmpd() {
	if err := s.snmpd.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.snmpd.Wait(10 * time.Second); err != nil {
		s.t.Fatalf("snmpd did not stop: %v", err)
	}
}

// waitSnmpd waits for the AgentX socket (subagents connect to it).
func (s *snmpSide) waitSnmpd() {
	err := netlab.WaitFor(context.Background(), 10*time.Second, 20*time.Millisecond, func() (bool, error) {
		c, err := net.Dial("unix", s.socket())
		if err == nil {
			c.Close()
		}
		return err == nil, fmt.Errorf("%s: snmpd's AgentX socket: %v", s.impl, err)
	})
	if err != nil {
		s.t.Fatalf("%v\n%s", err, tailLines(s.snmpd.Log(), 20))
	}
}

var (
	ticks    = regexp.MustCompile(`Timeticks: \(\d+\).*`)
	counters = regexp.MustCompile(`(Counter32|Counter64): [1-9]\d*$`) // how many: timing; zero or not: behaviour
)

// walk is both MIBs as snmpwalk prints them, Timeticks masked (uptimes
// differ by when each daemon started), MAC, link-local address and
// ifIndex replaced by placeholders (each side has its own interface).
func (s *snmpSide) walk() []string {
	s.t.Helper()
	ifi, mac, ll := s.ifaceFacts()
	var rows []string
	for _, oid := range []string{"1.3.6.1.2.1.207", "1.3.6.1.2.1.68"} {
		out, err := s.h.Exec(context.Background(), "env", "MIBS=", "snmpwalk", "-v2c", "-c", "public", "-On", "-t", "2", "-r", "1", "127.0.0.1:16100", oid)
		if err != nil {
			s.t.Fatalf("%s: %v\n%s", s.impl, err, out)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			l = strings.TrimSpace(ticks.ReplaceAllString(l, "Timeticks: T"))
			l = counters.ReplaceAllString(l, "$1: N")
			l = strings.ReplaceAll(l, mac, "MAC")
			l = strings.ReplaceAll(l, ll, "LINKLOCAL")
			l = strings.Replace(l, ".1.3.6.1.2.1.207.1.1.1.1.", "v3ops.", 1)
			l = strings.Replace(l, ".1.3.6.1.2.1.207.1.1.2.1.", "v3addr.", 1)
			l = strings.Replace(l, ".1.3.6.1.2.1.207.1.2.5.1.", "v3stats.", 1)
			l = strings.Replace(l, ".1.3.6.1.2.1.68.1.3.1.", "v2oper.", 1)
			l = strings.Replace(l, ".1.3.6.1.2.1.68.1.4.1.", "v2addr.", 1)
			l = strings.Replace(l, ".1.3.6.1.2.1.68.2.4.1.", "v2stats.", 1)
			// COLUMN.IFINDEX.rest: the ifIndex follows the column.
			if i := strings.IndexByte(l, '.'); i > 0 && !strings.HasPrefix(l, ".") {
				rest := l[i+1:]
				if j := strings.IndexByte(rest, '.'); j > 0 && strings.HasPrefix(rest[j+1:], ifi+".") {
					l = l[:i+1] + rest[:j+1] + "IF" + rest[j+1+len(ifi):]
				}
			}
			rows = append(rows, l)
		}
	}
	slices.Sort(rows)
	return rows
}

// ifaceFacts: eth0's ifIndex, MAC as snmpwalk prints it, and link-local
// address likewise.
func (s *snmpSide) ifaceFacts() (ifindex, mac, linkLocal string) {
	s.t.Helper()
	var ifi *net.Interface
	var addrs []net.Addr
	if err := s.h.Do(func() error {
		var err error
		if ifi, err = net.InterfaceByName(ifname); err != nil {
			return err
		}
		addrs, err = ifi.Addrs()
		return err
	}); err != nil {
		s.t.Fatal(err)
	}
	hexs := func(b []byte) string {
		var parts []string
		for _, x := range b {
			parts = append(parts, fmt.Sprintf("%02X", x))
		}
		return strings.Join(parts, " ")
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsLinkLocalUnicast() && ipn.IP.To4() == nil {
			linkLocal = hexs(ipn.IP.To16())
		}
	}
	if linkLocal == "" {
		s.t.Fatalf("%s: no link-local address on %s", s.impl, ifname)
	}
	return fmt.Sprint(ifi.Index), hexs(ifi.HardwareAddr), linkLocal
}

// waitMaster polls vrrpv3OperationsStatus until n rows are master(3),
// bounded by the master-down interval plus start-up.
func (s *snmpSide) waitMaster(n int) {
	var last string
	err := netlab.WaitFor(context.Background(), startupMargin+5*time.Second, 100*time.Millisecond, func() (bool, error) {
		out, _ := s.h.Exec(context.Background(), "env", "MIBS=", "snmpwalk", "-v2c", "-c", "public", "-On", "-t", "1", "-r", "0", "127.0.0.1:16100", "1.3.6.1.2.1.207.1.1.1.1.6")
		last = string(out)
		return strings.Count(last, "INTEGER: 3") == n, fmt.Errorf("%s: want %d instances master(3) in vrrpv3OperationsStatus, walk says:\n%s", s.impl, n, last)
	})
	if err != nil {
		s.t.Fatalf("%v\n%s", err, tailLines(s.proc.Log(), 30))
	}
}

// startTrapd runs snmptrapd on 127.0.0.1:16200 of the namespace, printing
// every trap (numeric OIDs) to its log.
func (s *snmpSide) startTrapd() {
	conf := filepath.Join(s.dir, "snmptrapd.conf")
	if err := os.WriteFile(conf, []byte("disableAuthorization yes\n"), 0o600); err != nil {
		s.t.Fatal(err)
	}
	p, err := s.h.Start("snmptrapd", "env", "MIBS=", "SNMP_PERSISTENT_DIR="+s.dir, "snmptrapd", "-f", "-Lo", "-C", "-c", conf, "-On",
		"-p", filepath.Join(s.dir, "snmptrapd.pid"), "udp:127.0.0.1:16200")
	if err != nil {
		s.t.Fatal(err)
	}
	s.trapd = p
}

var trapUptime = regexp.MustCompile(`^\.1\.3\.6\.1\.2\.1\.1\.3\.0 = Timeticks: \(\d+\) [0-9:.]+\s+\.1\.3\.6\.1\.6\.3\.1\.1\.4\.1\.0 = `)

// trapKinds is every distinct trap snmptrapd printed, without sysUpTime,
// ifIndex and link-local address replaced as in walk; snmpd's own
// coldStart is left out.
func (s *snmpSide) trapKinds() []string {
	ifi, _, ll := s.ifaceFacts()
	seen := map[string]bool{}
	for _, l := range strings.Split(s.trapd.Log(), "\n") {
		if !trapUptime.MatchString(l) {
			continue
		}
		l = trapUptime.ReplaceAllString(l, "")
		l = strings.Join(strings.Fields(strings.ReplaceAll(l, ll, "LINKLOCAL")), " ")
		if strings.HasPrefix(l, "OID: .1.3.6.1.6.3.1.1.5.") {
			continue // snmpd's coldStart/warmStart
		}
		l = ifIndexInTrap(l, ifi)
		seen[l] = true
	}
	var out []string
	for l := range seen {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// ifIndexInTrap replaces ".COLUMN.IFINDEX." after each VRRP MIB column
// name by ".COLUMN.IF.".
func ifIndexInTrap(l, ifi string) string {
	for _, col := range []string{".1.3.6.1.2.1.207.1.1.1.1.3.", ".1.3.6.1.2.1.207.1.2.5.1.2.", ".1.3.6.1.2.1.207.1.2.5.1.6.",
		".1.3.6.1.2.1.68.1.3.1.7.", ".1.3.6.1.2.1.68.1.5.", ".1.3.6.1.2.1.68.1.6."} {
		l = strings.ReplaceAll(l, col+ifi+".", col+"IF.")
	}
	return l
}

// waitTraps waits until snmptrapd printed n distinct kinds of trap.
func (s *snmpSide) waitTraps(n int) {
	err := netlab.WaitFor(context.Background(), 10*time.Second, 100*time.Millisecond, func() (bool, error) {
		k := s.trapKinds()
		return len(k) >= n, fmt.Errorf("%s: %d kinds of trap, want %d:\n%s", s.impl, len(k), n, strings.Join(k, "\n"))
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// waitWalk waits until a walk of oid has a row matching re.
func (s *snmpSide) waitWalk(oid, re string) {
	rx := regexp.MustCompile(re)
	var last string
	err := netlab.WaitFor(context.Background(), 10*time.Second, 100*time.Millisecond, func() (bool, error) {
		out, _ := s.h.Exec(context.Background(), "env", "MIBS=", "snmpwalk", "-v2c", "-c", "public", "-On", "-t", "1", "-r", "0", "127.0.0.1:16100", oid)
		last = string(out)
		return rx.MatchString(last), fmt.Errorf("%s: no %q under %s:\n%s", s.impl, re, oid, last)
	})
	if err != nil {
		s.t.Fatal(err)
	}
}
