package interop

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

// kamibConf is the file both sides run for KEEPALIVED-MIB: a sync group of a
// VRRPv3 IPv4 and a VRRPv3 IPv6 instance, a tracked interface and a tracked
// script, VIPs and eVIPs of both families, and a VRRPv2 IPv4 instance with
// PASS outside the group.
func kamibConf(socket string) string {
	return fmt.Sprintf(`global_defs {
  router_id kamib
  enable_snmp_vrrp
  enable_traps
  snmp_socket unix:%[1]s
  notification_email {
    ops@example.org
    noc@example.org
  }
  notification_email_from vrrp@example.org
  smtp_server 192.0.2.25 2525
  smtp_connect_timeout 7
}
vrrp_script chk {
  script "/bin/true"
  interval 1
  weight 10
}
vrrp_script bad {
  script "/bin/false"
  interval 1
  rise 2
  fall 3
}
vrrp_track_file tf {
  file %[2]s/track
  weight 1
}
vrrp_track_process tp {
  process nosuchproc
  weight 0
}
vrrp_sync_group G {
  group {
    V4
    V6
  }
  notify_master "/bin/true group"
  track_interface {
    eth1
    lo
  }
  track_script {
    chk
  }
  track_file {
    tf weight 2
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
vrrp_instance V2 {
  state BACKUP
  interface eth0
  virtual_router_id 53
  priority 150
  advert_int 1
  version 2
  smtp_alert
  notify_master "/bin/true master"
  notify_backup /bin/true
  notify "/bin/true any"
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    192.0.2.103
  }
  track_file {
    tf
  }
  track_interface {
    eth1 weight -5
    lo
  }
  track_script {
    chk weight 3
  }
  virtual_routes {
    198.51.100.0/25 via 192.0.2.1 dev eth0
    src 192.0.2.103 198.51.100.128/25 dev eth0 table 100 metric 7 mtu lock 1400
    blackhole 198.51.100.64/26
    198.51.100.192/26 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 198.51.100.1 dev eth1
  }
  virtual_rules {
    from 192.0.2.103 table 100
    to 198.51.100.0/24 priority 77 table 101
    from 192.0.2.0/24 to 198.51.100.0/24 fwmark 0x10/0xff iif eth0 table 102
  }
}
vrrp_instance V4 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  version 3
  track_interface {
    eth0 weight 5
  }
  track_script {
    chk
  }
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101
  }
  virtual_ipaddress_excluded {
    198.51.100.7/32
    2001:db8:1::7/64
  }
}
vrrp_instance F {
  state MASTER
  interface eth0
  virtual_router_id 54
  priority 120
  version 3
  track_script {
    bad
  }
  track_process {
    tp
  }
  virtual_ipaddress {
    192.0.2.104/24 brd 192.0.2.255 label eth0:f
  }
}
vrrp_instance B {
  state BACKUP
  interface eth0
  virtual_router_id 55
  priority 100
  version 3
  virtual_ipaddress {
    192.0.2.105
  }
  virtual_routes {
    198.51.100.240/28 via 192.0.2.1
  }
}
vrrp_instance U {
  state BACKUP
  interface eth0
  virtual_router_id 56
  priority 100
  version 2
  unicast_src_ip 192.0.2.21
  unicast_peer {
    192.0.2.22
  }
  virtual_ipaddress {
    192.0.2.106
  }
}
`, socket, filepath.Dir(socket))
}

const kamibOID = "1.3.6.1.4.1.9586.100.5"

// kamibPeerConf is the master that keeps instance B in BACKUP.
const kamibPeerConf = `vrrp_instance P55 {
  state MASTER
  interface eth0
  virtual_router_id 55
  priority 200
  version 3
  virtual_ipaddress {
    192.0.2.105
  }
}
`

// kamibWalk is KEEPALIVED-MIB's global and VRRP branches as snmpwalk prints
// them, with the side's ifIndex, MAC and link-local address masked.
func (s *snmpSide) kamibWalk() []string {
	s.t.Helper()
	_, mac, ll := s.ifaceFacts()
	ifis := s.kamibIfIndexes()
	var rows []string
	for _, oid := range []string{kamibOID + ".1", kamibOID + ".2"} {
		out, err := s.h.Exec(context.Background(), "env", "MIBS=", "snmpwalk", "-v2c", "-c", "public", "-On", "-t", "2", "-r", "1", "127.0.0.1:16100", oid)
		if err != nil {
			s.t.Fatalf("%s: %v\n%s", s.impl, err, out)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			l = strings.TrimSpace(ticks.ReplaceAllString(l, "Timeticks: T"))
			l = strings.ReplaceAll(l, mac, "MAC")
			l = strings.ReplaceAll(l, ll, "LINKLOCAL")
			l = strings.Replace(l, "."+kamibOID+".", "K.", 1)
			l = maskKAMIBIfIndex(l, ifis)
			l = strings.ReplaceAll(l, s.dir, "DIR")
			if strings.HasPrefix(l, "K.1.1.0 = ") {
				l = "K.1.1.0 = VERSION" // govrrp serves its own (README)
			}
			rows = append(rows, l)
		}
	}
	return rows
}

// TestSNMPKeepalivedMIB runs keepalived 2.2.7 and govrrp with kamibConf
// (enable_snmp_vrrp, enable_traps), each under its own snmpd and
// snmptrapd, with a keepalived peer that keeps instance B in BACKUP, and
// compares `snmpwalk -On` of KEEPALIVED-MIB's global (.1) and VRRP (.2)
// branches row by row once every other instance is MASTER (F is FAULT: its
// script fails), then the kinds of trap received.
//
// Observed on keepalived 2.2.7 (by hand, then here): instances, groups,
// scripts, files and processes are numbered in file order; tracked objects,
// addresses, routes and rules by position (vrrpTrackedInterfaceTable too,
// though its MIB index is ifIndex); `keepalived -t` drops an instance's own
// interface and a sync member's weighted scripts from its tracks, and they
// have no rows; a vrrp_track_file defined after the group that tracks it is
// "not found, ignoring" (so the file defines it first: govrrp resolves in
// any order); a group's tracked file shows the file's weight, not the
// group's; vrrpAddressAdvertising is advertised(1) only for the first
// instance's VIPs (split off below, govrrp's checked on its own); the
// traps name their objects without an index. The version scalar differs
// by design (README).
func TestSNMPKeepalivedMIB(t *testing.T) {
	t.Parallel()
	requireSNMP(t)
	start := time.Now()
	lab := netlab.New(t)
	sides := map[impl]*snmpSide{}
	for _, im := range []impl{keepalived, govrrp} {
		seg := lab.AddSegment("kmib"+im.short(), lanV4, lanV6)
		seg1 := lab.AddSegment("kmic"+im.short(), mustPrefix("198.51.100.0/24"), mustPrefix("2001:db8:5::/64"))
		h := lab.AddHost("k" + im.short())
		if err := h.Connect(seg, ifname, mustPrefix("192.0.2.21/24"), mustPrefix("2001:db8::21/64")); err != nil {
			t.Fatal(err)
		}
		peer := lab.AddHost("l" + im.short())
		if err := peer.Connect(seg, ifname, mustPrefix("192.0.2.22/24"), mustPrefix("2001:db8::22/64")); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.StartKeepalived(kamibPeerConf); err != nil {
			t.Fatal(err)
		}
		if err := h.Connect(seg1, "eth1", mustPrefix("198.51.100.21/24"), mustPrefix("2001:db8:5::21/64")); err != nil {
			t.Fatal(err)
		}
		_, err := exec.LookPath("snmptrapd")
		s := &snmpSide{t: t, impl: im, h: h, dir: snmpDir(t), traps: err == nil}
		// vrrp_track_file tf reads 5: weight 1 on V2, 2 on the group.
		if err := os.WriteFile(filepath.Join(s.dir, "track"), []byte("5\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s.startSnmpd()
		sides[im] = s
	}
	// govrrp with immediate release: the stop below need not wait for a
	// new master (none comes); the traps are the same.
	startSNMPDaemons(t, sides, kamibConf, "--release-vips", "immediate")
	ka, gv := sides[keepalived], sides[govrrp]
	for _, s := range sides {
		s.waitKAMIBMaster(4)
	}
	want, got := ka.kamibWalk(), gv.kamibWalk()
	// vrrpAddressAdvertising: keepalived 2.2.7 shows advertised(1) only for
	// the first instance's VIPs (seen with V4 first and with V6 first);
	// govrrp shows every VIP advertised(1) and every eVIP notAdvertised(2).
	want, kaAdv := splitKAMIBAdvertising(want)
	got, gvAdv := splitKAMIBAdvertising(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("KEEPALIVED-MIB differs (-keepalived +govrrp):\n%s", d)
	}
	if len(want) < 150 {
		t.Errorf("keepalived served %d rows, fewer than the file fills:\n%s", len(want), strings.Join(want, "\n"))
	}
	wantKA := []string{"K.2.6.1.11.2.1 = INTEGER: 2", "K.2.6.1.11.3.1 = INTEGER: 2", "K.2.6.1.11.3.2 = INTEGER: 2", "K.2.6.1.11.3.3 = INTEGER: 2", "K.2.6.1.11.3.4 = INTEGER: 2", "K.2.6.1.11.4.1 = INTEGER: 2", "K.2.6.1.11.5.1 = INTEGER: 2", "K.2.6.1.11.6.1 = INTEGER: 2"}
	if d := cmp.Diff(wantKA, kaAdv); d != "" {
		t.Logf("keepalived's vrrpAddressAdvertising is no longer as observed (-observed +now):\n%s", d)
	}
	wantGV := []string{"K.2.6.1.11.2.1 = INTEGER: 1", "K.2.6.1.11.3.1 = INTEGER: 1", "K.2.6.1.11.3.2 = INTEGER: 1", "K.2.6.1.11.3.3 = INTEGER: 2", "K.2.6.1.11.3.4 = INTEGER: 2", "K.2.6.1.11.4.1 = INTEGER: 1", "K.2.6.1.11.5.1 = INTEGER: 1", "K.2.6.1.11.6.1 = INTEGER: 1"}
	if d := cmp.Diff(wantGV, gvAdv); d != "" {
		t.Errorf("govrrp's vrrpAddressAdvertising (-want +got):\n%s", d)
	}
	if ka.traps {
		for _, s := range sides {
			s.waitTraps(len(kamibTraps))
		}
		wantTraps := slices.Clone(kamibTraps)
		slices.Sort(wantTraps)
		if d := cmp.Diff(wantTraps, ka.trapKinds()); d != "" {
			t.Errorf("keepalived's traps are not the kinds observed by hand (-want +got):\n%s", d)
		}
		if d := cmp.Diff(ka.trapKinds(), gv.trapKinds()); d != "" {
			t.Errorf("traps differ (-keepalived +govrrp):\n%s", d)
		}
	}
	if ka.traps && !t.Failed() {
		// At stop keepalived 2.2.7 sends shutdown(5) for every instance
		// and the group (seen with snmptrapd).
		for _, s := range sides {
			if err := s.proc.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range sides {
			if _, err := s.proc.Wait(exitTimeout); err != nil {
				t.Fatalf("%s did not stop: %v", s.impl, err)
			}
		}
		wantTraps := slices.Concat(kamibTraps, kamibStopTraps())
		slices.Sort(wantTraps)
		for _, s := range sides {
			s.waitTraps(len(wantTraps))
		}
		if d := cmp.Diff(wantTraps, ka.trapKinds()); d != "" {
			t.Errorf("keepalived's traps with its stop are not the kinds observed by hand (-want +got):\n%s", d)
		}
		if d := cmp.Diff(ka.trapKinds(), gv.trapKinds()); d != "" {
			t.Errorf("traps with the stop differ (-keepalived +govrrp):\n%s", d)
		}
	}
	t.Logf("rows compared: %d; duration %v", len(want), time.Since(start).Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("traps:\n%s", strings.Join(ka.trapKinds(), "\n"))
		t.Logf("keepalived rows:\n%s", strings.Join(want, "\n"))
	}
	if t.Failed() {
		for _, s := range sides {
			t.Logf("%s log:\n%s", s.impl, tailLines(s.proc.Log(), 30))
		}
	}
}

// kamibTraps are the kinds of KEEPALIVED-MIB trap keepalived 2.2.7 sent
// for the file (seen with snmptrapd): vrrpInstanceStateChange (name, state,
// initial state, routerId, the instance objects named without an index)
// on entering BACKUP and MASTER, and FAULT for F; vrrpSyncGroupStateChange
// for G entering BACKUP and MASTER.
var kamibTraps = []string{
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "B" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "U" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "U" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 2 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.1 .1.3.6.1.4.1.9586.100.5.2.1.1.2 = STRING: "G" .1.3.6.1.4.1.9586.100.5.2.1.1.3 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.1 .1.3.6.1.4.1.9586.100.5.2.1.1.2 = STRING: "G" .1.3.6.1.4.1.9586.100.5.2.1.1.3 = INTEGER: 2 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "F" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 3 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 2 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "V2" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "V2" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 2 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "V4" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "V4" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 2 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "V6" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
	`OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2 .1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: "V6" .1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 2 .1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 1 .1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "kamib"`,
}

// kamibStopTraps are vrrpInstanceStateChange shutdown(5) for each
// instance (F started as MASTER) and vrrpSyncGroupStateChange shutdown(5)
// for G.
func kamibStopTraps() []string {
	const k = ".1.3.6.1.4.1.9586.100.5."
	out := []string{`OID: ` + k + `2.10.0.1 ` + k + `2.1.1.2 = STRING: "G" ` + k + `2.1.1.3 = INTEGER: 5 ` + k + `1.2.0 = STRING: "kamib"`}
	for _, in := range []string{"B", "F", "U", "V2", "V4", "V6"} {
		initial := "1"
		if in == "F" {
			initial = "2"
		}
		out = append(out, `OID: `+k+`2.10.0.2 `+k+`2.3.1.2 = STRING: "`+in+`" `+k+`2.3.1.4 = INTEGER: 5 `+k+`2.3.1.5 = INTEGER: `+initial+` `+k+`1.2.0 = STRING: "kamib"`)
	}
	return out
}

// splitKAMIBAdvertising takes vrrpAddressAdvertising's rows of every
// instance but the first out of rows.
func splitKAMIBAdvertising(rows []string) (rest, adv []string) {
	for _, l := range rows {
		if strings.HasPrefix(l, "K.2.6.1.11.") && !strings.HasPrefix(l, "K.2.6.1.11.1.") {
			adv = append(adv, l)
			continue
		}
		rest = append(rest, l)
	}
	return rest, adv
}

// waitKAMIBMaster polls vrrpInstanceState until n rows are master(2).
func (s *snmpSide) waitKAMIBMaster(n int) {
	var last string
	err := netlab.WaitFor(context.Background(), startupMargin+5*time.Second, 100*time.Millisecond, func() (bool, error) {
		out, _ := s.h.Exec(context.Background(), "env", "MIBS=", "snmpwalk", "-v2c", "-c", "public", "-On", "-t", "1", "-r", "0", "127.0.0.1:16100", kamibOID+".2.3.1.4")
		last = string(out)
		return strings.Count(last, "INTEGER: 2") == n, fmt.Errorf("%s: want %d instances master(2) in vrrpInstanceState, walk says:\n%s", s.impl, n, last)
	})
	if err != nil {
		s.t.Fatalf("%v\n%s", err, tailLines(s.proc.Log(), 30))
	}
}

// maskKAMIBIfIndex replaces the sides' ifIndexes (name -> index) where
// KEEPALIVED-MIB holds one: vrrpAddressIfIndex's and vrrpRouteIfIndex's
// values (the tracked interface tables are indexed by position, not
// ifIndex, in keepalived 2.2.7).
func maskKAMIBIfIndex(l string, ifis map[string]string) string {
	for name, ifi := range ifis {
		for _, col := range []string{"K.2.6.1.7.", "K.2.7.1.11.", "K.2.11.1.4."} {
			if strings.HasPrefix(l, col) && strings.HasSuffix(l, "INTEGER: "+ifi) {
				l = strings.TrimSuffix(l, ifi) + "IF-" + name
			}
		}
	}
	return l
}

// kamibIfIndexes are the side's ifIndexes of the interfaces the file uses.
func (s *snmpSide) kamibIfIndexes() map[string]string {
	s.t.Helper()
	out := map[string]string{}
	if err := s.h.Do(func() error {
		for _, n := range []string{"lo", ifname, "eth1"} {
			ifi, err := net.InterfaceByName(n)
			if err != nil {
				return err
			}
			out[n] = fmt.Sprint(ifi.Index)
		}
		return nil
	}); err != nil {
		s.t.Fatal(err)
	}
	return out
}
