package daemon

import (
	"fmt"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/snmp"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

const snmpNodeConf = `global_defs {
    enable_snmp_rfc
    snmp_socket unix:%s
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

// snmpGet reads one object of n's MIB tree as the subagent would serve it.
func snmpGet(n *node, oid string) snmp.Value {
	return n.d.snmpTree().Get(snmp.MustOID(oid)).Value
}

// The MIB rows follow the daemon's snapshots: a backup shows its master's
// address and the adverts it received; when the master stops (priority 0)
// the backup's row turns master with the resignation counted. No snmpd
// runs: the subagent keeps retrying on its own goroutine and neither
// start-up nor the loop waits for it.
func TestSNMPRowsFollowSnapshots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "no-master")
		seg := transport.NewSegment()
		start := func(src string, prio int) *node {
			n := newNode(t, seg, src, fmt.Sprintf(snmpNodeConf, sock, prio), nil)
			n.d.snmp.lookupLink = func(string) (snmpLink, error) { return snmpLink{index: 7, mac: []byte{2, 0, 0, 0, 0, 1}}, nil }
			n.start()
			return n
		}
		a, b := start("192.0.2.11", 150), start("192.0.2.12", 100)
		time.Sleep(5 * time.Second)
		if got := []string{a.state(), b.state()}; got[0] != "MASTER" || got[1] != "BACKUP" {
			t.Fatalf("states %v, want [MASTER BACKUP]", got)
		}
		// ifIndex 7: the index lookupLink gives eth0.
		const ops, stats, v2oper, v2stats = "1.3.6.1.2.1.207.1.1.1.1.", "1.3.6.1.2.1.207.1.2.5.1.", "1.3.6.1.2.1.68.1.3.1.", "1.3.6.1.2.1.68.2.4.1."
		const v3ix, v2ix = ".7.51.1", ".7.51"
		for _, c := range []struct {
			n    *node
			oid  string
			want snmp.Value
		}{
			{a, ops + "6" + v3ix, snmp.Integer(3)},
			{a, ops + "3" + v3ix, snmp.Octets([]byte{192, 0, 2, 11})},
			{a, stats + "1" + v3ix, snmp.Counter32(1)},
			{a, v2oper + "3" + v2ix, snmp.Integer(3)},
			{a, v2oper + "7" + v2ix, snmp.IPAddress([4]byte{})}, // keepalived 2.2.7: 0.0.0.0 while master
			{b, ops + "6" + v3ix, snmp.Integer(2)},
			{b, ops + "3" + v3ix, snmp.Octets([]byte{192, 0, 2, 11})},
			{b, ops + "4" + v3ix, snmp.Octets([]byte{192, 0, 2, 12})},
			{b, stats + "2" + v3ix, snmp.Integer(0)}, // notMaster
			{b, v2oper + "7" + v2ix, snmp.IPAddress([4]byte{192, 0, 2, 11})},
		} {
			if got := snmpGet(c.n, c.oid); got.Type != c.want.Type || got.Int != c.want.Int || string(got.Bytes) != string(c.want.Bytes) {
				t.Errorf("%s: %s = %+v, want %+v", c.n.d.instances[0].src, c.oid, got, c.want)
			}
		}
		rcvd, snap := snmpGet(b, stats+"3"+v3ix), b.d.instances[0].snapshot().AdvertsReceived
		if rcvd.Type != snmp.TypeCounter64 || rcvd.Int < 1 || uint64(rcvd.Int) != snap {
			t.Errorf("backup's vrrpv3StatisticsRcvdAdvertisements = %+v, its snapshot says %d", rcvd, snap)
		}
		if got := snmpGet(b, v2stats+"2"+v2ix); got.Int != rcvd.Int {
			t.Errorf("vrrpStatsAdvertiseRcvd %d, vrrpv3 says %d", got.Int, rcvd.Int)
		}

		a.stop(t)
		time.Sleep(time.Second) // skew time (156/256 s) is over
		for oid, want := range map[string]int64{
			ops + "6" + v3ix:   3, // master
			stats + "1" + v3ix: 1, // MasterTransitions
			stats + "2" + v3ix: int64(snmp.ReasonNoResponse),
			stats + "7" + v3ix: 1, // RcvdPriZeroPackets
		} {
			if got := snmpGet(b, oid); got.Int != want {
				t.Errorf("after the master stopped: %s = %d, want %d", oid, got.Int, want)
			}
		}
		b.stop(t)
		if b.d.snmp.agent != nil {
			t.Error("subagent left running after the daemon stopped")
		}
	})
}

// apply starts the subagent when an RFC MIB is enabled, restarts it when
// snmp_socket or the MIB set changes (a reload), keeps it otherwise, and
// stops it when SNMP is gone; enable_snmp_vrrp alone (KEEPALIVED-MIB)
// starts one too.
func TestSNMPAgentFollowsApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		n := newNode(t, transport.NewSegment(), "192.0.2.11", fmt.Sprintf(snmpNodeConf, filepath.Join(dir, "a"), 100), nil)
		d := n.d
		conf := func(global string) string {
			return "global_defs {\n" + global + "\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress { 192.0.2.100/24 }\n}\n"
		}
		steps := []struct {
			global  string
			running bool
			same    bool // the agent of the step before is kept
		}{
			{"enable_snmp_rfcv3\nsnmp_socket unix:" + filepath.Join(dir, "a"), true, false},
			{"enable_snmp_rfcv3\nsnmp_socket unix:" + filepath.Join(dir, "a"), true, true},
			{"enable_snmp_rfcv3\nsnmp_socket unix:" + filepath.Join(dir, "b"), true, false},
			{"enable_snmp_rfc\nsnmp_socket unix:" + filepath.Join(dir, "b"), true, false},
			{"enable_snmp_vrrp\nsnmp_socket unix:" + filepath.Join(dir, "b"), true, false},
			{"", false, false},
		}
		var prev *snmp.Agent
		for i, s := range steps {
			d.applySNMP(loadConf(t, conf(s.global)))
			got := d.snmp.agent
			if (got != nil) != s.running || (s.running && s.same != (got == prev)) {
				t.Fatalf("step %d (%q): agent %p (before %p), want running=%v same=%v", i, s.global, got, prev, s.running, s.same)
			}
			if st := d.snmp.static.Load(); st.agent != got {
				t.Fatalf("step %d: published agent %p, running %p", i, st.agent, got)
			}
			prev = got
		}
		d.snmpClose()
	})
}

// vrrpv3StatisticsNewMasterReason from internal/fsm's reasons: keepalived
// 2.2.7 reported preempted(2) after preempting a lower-priority master and
// masterNoResponse(3) after the master-down timer (snmpwalk and its
// vrrpv3NewMaster trap).
func TestNewMasterReason(t *testing.T) {
	for reason, want := range map[string]snmp.NewMasterReason{
		"preempting lower-priority master 192.0.2.2 (prio 100 < 150)":                        snmp.ReasonPreempted,
		"master down timer expired (no advert for 3.414s)":                                   snmp.ReasonNoResponse,
		"master down timer expired (master 192.0.2.11 resigned with priority 0, skew 609ms)": snmp.ReasonNoResponse,
		"startup as address owner (priority 255)":                                            snmp.ReasonPriority,
	} {
		if got := newMasterReason(reason); got != want {
			t.Errorf("%q: %d, want %d", reason, got, want)
		}
	}
}

// With use_vmac keepalived 2.2.7's rows keep the base interface's ifIndex
// and show the VMAC's MAC (00:00:5e:00:01:VRID), seen with snmpwalk.
func TestSNMPVMACRow(t *testing.T) {
	in := &instance{ifname: "eth0", cfg: &kaconf.Instance{VRID: 81}, vmac: &vip.VMAC{Name: "vrrp.81", Parent: "eth0", VRID: 81}}
	si := snmpInstOf(in, time.Time{}, &kaconf.GlobalDefs{})
	if si.link != "eth0" || si.macLink != "vrrp.81" {
		t.Fatalf("ifIndex from %q, MAC from %q; want eth0 and vrrp.81", si.link, si.macLink)
	}
	in.vmac = nil
	if si := snmpInstOf(in, time.Time{}, &kaconf.GlobalDefs{}); si.link != "eth0" || si.macLink != "eth0" {
		t.Fatalf("without use_vmac: ifIndex from %q, MAC from %q", si.link, si.macLink)
	}
}
