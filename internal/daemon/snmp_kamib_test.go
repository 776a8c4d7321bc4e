package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/snmp"
	"github.com/govrrp/govrrp/internal/transport"
)

// kamibNodeConf: a sync group of two instances and one outside it, with
// enable_snmp_vrrp and enable_traps; the socket has no master (the agent
// keeps retrying on its own goroutine).
const kamibNodeConf = `global_defs {
    router_id %[1]s
    enable_snmp_vrrp
    enable_traps
    snmp_socket unix:%[2]s
}
vrrp_sync_group G {
    group {
        A
        B
    }
}
vrrp_instance C {
    interface eth0
    virtual_router_id 53
    priority %[3]d
    version 2
    virtual_ipaddress {
        192.0.2.103
    }
}
vrrp_instance A {
    interface eth0
    virtual_router_id 51
    priority %[3]d
    version 3
    virtual_ipaddress {
        192.0.2.101/24
    }
    virtual_ipaddress_excluded {
        198.51.100.1
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 52
    priority %[3]d
    version 3
    virtual_ipaddress {
        192.0.2.102
    }
}
`

type trapLog struct {
	mu    sync.Mutex
	traps []string
}

func (l *trapLog) add(vbs []snmp.VarBind) {
	s := ""
	for _, vb := range vbs[1:] { // after snmpTrapOID
		if vb.Value.Type == snmp.TypeOctetString {
			s += string(vb.Value.Bytes) + " "
		} else {
			s += fmt.Sprint(vb.Value.Int) + " "
		}
	}
	l.mu.Lock()
	l.traps = append(l.traps, vbs[0].Value.OID.String()+" "+s)
	l.mu.Unlock()
}

func (l *trapLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.traps
	l.traps = nil
	return out
}

// KEEPALIVED-MIB follows the daemon: instances indexed in file order, the
// group's state from its members', VIPs and eVIPs set only while master;
// the traps are vrrpInstanceStateChange per transition (BACKUP at start
// too) and vrrpSyncGroupStateChange when the group's state changes, as
// keepalived 2.2.7 sends them (seen with snmptrapd).
func TestKAMIBFollowsSnapshots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "no-master")
		seg := transport.NewSegment()
		logs := map[string]*trapLog{}
		start := func(name, src string, prio int) *node {
			n := newNode(t, seg, src, fmt.Sprintf(kamibNodeConf, name, sock, prio), nil)
			n.d.snmp.lookupLink = func(string) (snmpLink, error) { return snmpLink{index: 7}, nil }
			logs[name] = &trapLog{}
			n.d.snmp.kaNotify = logs[name].add
			n.start()
			return n
		}
		a, b := start("a", "192.0.2.11", 150), start("b", "192.0.2.12", 100)
		time.Sleep(5 * time.Second)
		if got := slices.Concat(a.states(), b.states()); !slices.Equal(got, []string{"C=MASTER", "A=MASTER", "B=MASTER", "C=BACKUP", "A=BACKUP", "B=BACKUP"}) {
			t.Fatalf("states %v", got)
		}
		const inst, addr, grp = "1.3.6.1.4.1.9586.100.5.2.3.1.", "1.3.6.1.4.1.9586.100.5.2.6.1.", "1.3.6.1.4.1.9586.100.5.2.1.1."
		type row struct {
			oid  string
			want snmp.Value
		}
		check := func(n *node, who string, rows []row) {
			t.Helper()
			for _, r := range rows {
				if got := snmpGet(n, r.oid); got.Type != r.want.Type || got.Int != r.want.Int || string(got.Bytes) != string(r.want.Bytes) {
					t.Errorf("%s: %s = %+v, want %+v", who, r.oid, got, r.want)
				}
			}
		}
		check(a, "master", []row{
			{inst + "2.1", snmp.String("C")}, // file order, not the group's
			{inst + "2.2", snmp.String("A")},
			{inst + "4.2", snmp.Integer(int64(snmp.KAMaster))},
			{inst + "9.2", snmp.Integer(1)},  // allSet
			{inst + "12.1", snmp.Gauge32(1)}, // VRRPv2: seconds
			{inst + "12.2", snmp.Gauge32(100)},
			{inst + "27.1", snmp.Integer(0)}, // accept: 0 for VRRPv2
			{inst + "27.2", snmp.Integer(1)},
			{inst + "18.2", snmp.String("G")},
			{addr + "10.2.1", snmp.Integer(1)}, // set
			{addr + "10.2.2", snmp.Integer(1)}, // the eVIP too
			{addr + "11.2.2", snmp.Integer(2)}, // eVIP: notAdvertised
			{addr + "5.2.1", snmp.Gauge32(24)},
			{addr + "7.2.1", snmp.Integer(7)},
			{grp + "3.1", snmp.Integer(int64(snmp.KAMaster))},
			{"1.3.6.1.4.1.9586.100.5.2.2.1.2.1.2", snmp.String("B")},
			{"1.3.6.1.4.1.9586.100.5.1.2.0", snmp.String("a")},
		})
		check(b, "backup", []row{
			{inst + "4.2", snmp.Integer(int64(snmp.KABackup))},
			{inst + "9.2", snmp.Integer(2)},
			{addr + "10.2.1", snmp.Integer(2)}, // unset
			{grp + "3.1", snmp.Integer(int64(snmp.KABackup))},
		})
		const ist, gst = "1.3.6.1.4.1.9586.100.5.2.10.0.2 ", "1.3.6.1.4.1.9586.100.5.2.10.0.1 "
		wantB := []string{ist + "C 1 1 b ", ist + "A 1 1 b ", gst + "G 1 b ", ist + "B 1 1 b "}
		if d := cmp.Diff(wantB, logs["b"].take()); d != "" {
			t.Errorf("backup's traps (-want +got):\n%s", d)
		}
		if got := logs["a"].take(); !slices.Contains(got, gst+"G 2 a ") || !slices.Contains(got, ist+"A 2 1 a ") {
			t.Errorf("master's traps %q lack the group's and A's MASTER", got)
		}

		a.stop(t)
		// keepalived 2.2.7 at stop: shutdown(5) for each instance and the
		// group, once.
		stopped := logs["a"].take()
		for _, w := range []string{ist + "C 5 1 a ", ist + "A 5 1 a ", ist + "B 5 1 a ", gst + "G 5 a "} {
			if n := slices.Index(stopped, w); n < 0 || slices.Contains(stopped[n+1:], w) {
				t.Errorf("stopped master's traps %q: want %q once", stopped, w)
			}
		}
		time.Sleep(time.Second) // skew time is over
		check(b, "new master", []row{
			{inst + "4.1", snmp.Integer(int64(snmp.KAMaster))},
			{grp + "3.1", snmp.Integer(int64(snmp.KAMaster))},
			{addr + "10.3.1", snmp.Integer(1)},
		})
		got := logs["b"].take()
		if n := slices.Index(got, gst+"G 2 b "); n < 0 || slices.Contains(got[n+1:], gst+"G 2 b ") {
			t.Errorf("new master's traps %q: want the group's MASTER once", got)
		}
		b.stop(t)
	})
}

// kaScript prints a notify command as keepalived 2.2.7's
// vrrpInstanceScript* columns do: every word single-quoted, the program's
// path resolved through symlinks ("/bin/true x" reads "'/usr/bin/true' 'x'").
func TestKAScript(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.WriteFile(real, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		filepath.Join(dir, "link") + ` master "two words"`: "'" + real + "' 'master' 'two words'",
		filepath.Join(dir, "real"):                         "'" + real + "'",
		"":                                                 "",
	} {
		if got := kaScript(in); got != want {
			t.Errorf("kaScript(%q) = %q, want %q", in, got, want)
		}
	}
}

// A sync group is FAULT if any member is, MASTER only if all are.
func TestKAGroupState(t *testing.T) {
	m, b, f, i := snmp.KAMaster, snmp.KABackup, snmp.KAFault, snmp.KAInit
	for _, c := range []struct {
		in   []snmp.KAState
		want snmp.KAState
	}{
		{[]snmp.KAState{m, m}, m},
		{[]snmp.KAState{m, b}, b},
		{[]snmp.KAState{m, f}, f},
		{[]snmp.KAState{b, f, m}, f},
		{[]snmp.KAState{i, m}, i},
		{nil, i},
		{[]snmp.KAState{snmp.KAShutdown, m}, snmp.KAShutdown}, // stopping
		{[]snmp.KAState{snmp.KAShutdown, f}, snmp.KAShutdown},
	} {
		if got := groupState(c.in); got != c.want {
			t.Errorf("groupState(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}
