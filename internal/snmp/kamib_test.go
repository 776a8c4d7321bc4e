package snmp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// renderKA is render with KEEPALIVED-MIB's prefix shortened to "K.", only
// the rows under the given K.-prefixes.
func renderKA(v *KAView, prefixes ...string) []string {
	var b Builder
	v.add(&b)
	var out []string
	for _, vb := range b.Tree().VarBinds() {
		l := render([]VarBind{vb})[0]
		if s, ok := printable(vb.Value); ok { // as snmpwalk prints a DisplayString
			l = "." + vb.Name.String() + " = " + s
		}
		l = strings.Replace(l, "."+KeepalivedMIB.String()+".", "K.", 1)
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

func printable(v Value) (string, bool) {
	if v.Type != TypeOctetString {
		return "", false
	}
	if len(v.Bytes) == 0 {
		return `""`, true
	}
	for _, c := range v.Bytes {
		if c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	return `STRING: "` + string(v.Bytes) + `"`, true
}

func p(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func a(s string) netip.Addr   { return netip.MustParseAddr(s) }

// The routes and rules of kamibConf's V2 (internal/interop) against
// keepalived 2.2.7's walk of them: gateway, source, interface and MTU only
// when given, protocol 19 (keepalived's 18, plus one), ecmp(2) with its
// nexthops (a weight only when given), blackhole(3); rule direction
// from/to/both with the destination first, 16384 and down for rules
// without a preference.
func TestKARoutesAsKeepalived(t *testing.T) {
	v := &KAView{Instances: []KAInstance{{}, {
		Routes: []KARoute{
			{Dst: p("198.51.100.0/25"), Via: a("192.0.2.1"), IfName: "eth0", IfIndex: 2},
			{Dst: p("198.51.100.128/25"), Src: a("192.0.2.103"), IfName: "eth0", IfIndex: 2, Table: 100, Metric: 7, MTU: 1400, MTULock: true},
			{Dst: p("198.51.100.64/26"), Type: 3},
			{Dst: p("198.51.100.192/26"), Type: 2, Nexthops: []KANexthop{
				{Via: a("192.0.2.1"), IfName: "eth0", IfIndex: 2, Weight: 2}, {Via: a("198.51.100.1"), IfName: "eth1", IfIndex: 3}}},
		},
		Rules: []KARule{
			{From: p("192.0.2.103/32"), Table: 100, Pref: 16384},
			{To: p("198.51.100.0/24"), Table: 101, Pref: 77},
			{From: p("192.0.2.0/24"), To: p("198.51.100.0/24"), FwMark: 0x10, FwMask: 0xff, IIF: "eth0", Table: 102, Pref: 16383},
		},
	}}}
	for i := range v.Instances[1].Routes {
		r := &v.Instances[1].Routes[i]
		r.Scope, r.Protocol, r.Set = 14, 18, true
		if r.Table == 0 {
			r.Table = 254
		}
		if r.Type == 0 {
			r.Type = 1
		}
	}
	for i := range v.Instances[1].Rules {
		v.Instances[1].Rules[i].Set = true
	}
	want := readWalk(t, "testdata/keepalived-2.2.7-kamib-routes.txt")
	got := renderKA(v, "K.2.7.", "K.2.8.", "K.2.11.")
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("route/rule rows differ from keepalived 2.2.7's (-keepalived +govrrp):\n%s", d)
	}
}

// The global scalars keepalived 2.2.7 fills (seen with snmpwalk): without
// smtp_server the server is ipv6(2) with four zero octets, timeout and
// port 0, no emailFrom row; with one, its family, address, timeout and
// port; the emails indexed from 1; the checker's settings fixed.
func TestKAGlobals(t *testing.T) {
	on := true
	got := renderKA(&KAView{Global: KAGlobals{Version: "v", RouterID: "r", EmailFaults: true}}, "K.1.")
	want := []string{
		`.K.1.1.0 = STRING: "v"`, `.K.1.2.0 = STRING: "r"`,
		".K.1.3.1.0 = INTEGER: 2", ".K.1.3.2.0 = Hex-STRING: 00 00 00 00", ".K.1.3.3.0 = Gauge32: 0", ".K.1.3.6.0 = Gauge32: 0",
		".K.1.3.7.0 = INTEGER: 1", ".K.1.3.8.0 = INTEGER: 3", ".K.1.3.9.0 = INTEGER: 3", ".K.1.3.10.0 = INTEGER: 3",
		".K.1.4.0 = INTEGER: 2", ".K.1.5.0 = INTEGER: 1", ".K.1.6.0 = INTEGER: 2", ".K.1.7.0 = INTEGER: 1",
		`.K.1.8.0 = ""`, ".K.1.9.0 = INTEGER: 2", ".K.1.10.0 = INTEGER: 2", ".K.1.11.0 = INTEGER: 2",
	}
	fix := func(ls []string) []string {
		for i := range ls {
			ls[i] = strings.TrimPrefix(ls[i], ".")
		}
		return ls
	}
	if d := cmp.Diff(fix(want), got); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	got = renderKA(&KAView{Global: KAGlobals{SMTPServer: a("192.0.2.25"), SMTPPort: 2525, SMTPTimeout: 7, EmailFrom: "f",
		Emails: []string{"x", "y"}, SMTPAlert: &on, Traps: true}}, "K.1.3.", "K.1.4.")
	want = fix([]string{".K.1.3.1.0 = INTEGER: 1", ".K.1.3.2.0 = Hex-STRING: C0 00 02 19", ".K.1.3.3.0 = Gauge32: 7",
		`.K.1.3.4.0 = STRING: "f"`, `.K.1.3.5.1.2.1 = STRING: "x"`, `.K.1.3.5.1.2.2 = STRING: "y"`, ".K.1.3.6.0 = Gauge32: 2525",
		".K.1.3.7.0 = INTEGER: 2", ".K.1.3.8.0 = INTEGER: 1", ".K.1.3.9.0 = INTEGER: 3", ".K.1.3.10.0 = INTEGER: 3", ".K.1.4.0 = INTEGER: 1"})
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("with smtp_server (-want +got):\n%s", d)
	}
}

// Instance columns keepalived 2.2.7 fills differently by version and mode:
// vrrpInstanceAccept 0 for VRRPv2; the advertisement interval in seconds
// for VRRPv2 and centiseconds for VRRPv3; authentication password(1) only
// for PASS; the multicast group only for a multicast instance; script and
// sync group columns only when set; vrrpAddressBroadcast only for IPv4.
func TestKAInstanceColumns(t *testing.T) {
	v := &KAView{Instances: []KAInstance{
		{Name: "v2", Version: 2, AdvInt: 1, AuthPass: true, Accept: true, Mcast: a("224.0.0.18"), Master: "'/x'",
			Addrs: []KAAddress{{Prefix: p("192.0.2.1/32"), Label: "eth0:1", Advertised: true}}},
		{Name: "v3", Version: 3, AdvInt: 100, Accept: false, SyncGroup: "G",
			Addrs: []KAAddress{{Prefix: p("2001:db8::1/128")}}},
	}}
	got := renderKA(v, "K.2.3.1.15.", "K.2.3.1.12.", "K.2.3.1.18.", "K.2.3.1.21.", "K.2.3.1.22.", "K.2.3.1.27.", "K.2.3.1.34.",
		"K.2.3.1.35.", "K.2.6.1.4.", "K.2.6.1.9.", "K.2.6.1.11.")
	want := []string{
		"K.2.3.1.12.1 = Gauge32: 1", "K.2.3.1.12.2 = Gauge32: 100",
		"K.2.3.1.15.1 = INTEGER: 1", "K.2.3.1.15.2 = INTEGER: 0",
		`K.2.3.1.18.2 = STRING: "G"`,
		"K.2.3.1.21.1 = INTEGER: 1", "K.2.3.1.21.2 = INTEGER: 2",
		`K.2.3.1.22.1 = STRING: "'/x'"`,
		"K.2.3.1.27.1 = INTEGER: 0", "K.2.3.1.27.2 = INTEGER: 2",
		"K.2.3.1.34.1 = INTEGER: 1", "K.2.3.1.35.1 = Hex-STRING: E0 00 00 12",
		"K.2.6.1.4.1.1 = Hex-STRING: 00 00 00 00",
		`K.2.6.1.9.1.1 = STRING: "eth0:1"`,
		"K.2.6.1.11.1.1 = INTEGER: 1", "K.2.6.1.11.2.1 = INTEGER: 2",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// Tracked-object tables are indexed (owner, position) — keepalived 2.2.7
// indexes vrrpTrackedInterfaceTable by position too, not by ifIndex — and
// an owner with no tracks has no rows.
func TestKATrackedTables(t *testing.T) {
	v := &KAView{
		Instances: []KAInstance{{}, {TrackedIfs: []KATrack{{Name: "eth1", Weight: -5}, {Name: "lo"}}}},
		Groups:    []KAGroup{{Name: "G", TrackedScripts: []KATrack{{Name: "chk", Weight: 10, Reverse: true}}}},
	}
	got := renderKA(v, "K.2.4.", "K.2.15.")
	want := []string{
		`K.2.4.1.1.2.1 = STRING: "eth1"`, `K.2.4.1.1.2.2 = STRING: "lo"`,
		"K.2.4.1.2.2.1 = INTEGER: -5", "K.2.4.1.2.2.2 = INTEGER: 0",
		"K.2.4.1.3.2.1 = INTEGER: 2", "K.2.4.1.3.2.2 = INTEGER: 2",
		`K.2.15.1.2.1.1 = STRING: "chk"`, "K.2.15.1.3.1.1 = INTEGER: 10", "K.2.15.1.4.1.1 = INTEGER: 1",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// keepalived 2.2.7's traps name the instance's or group's objects without
// an index, then routerId.0 (seen with snmptrapd).
func TestKATraps(t *testing.T) {
	got := renderTrap(KAInstanceStateTrap("V1", KAFault, KAMaster, "r"))
	want := []string{
		".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2",
		".1.3.6.1.4.1.9586.100.5.2.3.1.2 = Hex-STRING: 56 31",
		".1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 3",
		".1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 2",
		".1.3.6.1.4.1.9586.100.5.1.2.0 = Hex-STRING: 72",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("vrrpInstanceStateChange (-want +got):\n%s", d)
	}
	got = renderTrap(KASyncGroupStateTrap("G", KAMaster, "r"))
	want = []string{
		".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.4.1.9586.100.5.2.10.0.1",
		".1.3.6.1.4.1.9586.100.5.2.1.1.2 = Hex-STRING: 47",
		".1.3.6.1.4.1.9586.100.5.2.1.1.3 = INTEGER: 2",
		".1.3.6.1.4.1.9586.100.5.1.2.0 = Hex-STRING: 72",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("vrrpSyncGroupStateChange (-want +got):\n%s", d)
	}
}

// Drain (the daemon's exit, before Close) returns once a connected master
// has been handed the queued traps, and at once without a session, whatever
// is queued.
func TestAgentDrain(t *testing.T) {
	m := newFakeMaster()
	a := startTestAgent(t, m)
	mc := m.accept(t)
	mc.handshake(9, 2)
	// The master has answered the last Register; the agent counts the
	// session as open once it has read that answer. Drain before that
	// returns at once by design (no session), so wait for it.
	for deadline := time.Now().Add(10 * time.Second); !a.Stats().Connected; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the agent never counted its session as open")
		}
	}
	trap := []VarBind{{Name: snmpTrapOID, Value: ObjectID(KAInstanceTrap)}}
	got := make(chan uint8, 3)
	go func() {
		for range 3 {
			got <- mc.read().Type
		}
	}()
	for range 3 {
		a.Notify(trap)
	}
	a.Drain(10 * time.Second)
	if n := len(a.notify); n != 0 {
		t.Fatalf("Drain returned with %d traps queued", n)
	}
	for range 3 {
		select {
		case typ := <-got:
			if typ != pduNotify {
				t.Fatalf("PDU type %d, want Notify", typ)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a queued trap was not sent")
		}
	}

	idle, err := Start(Config{View: testTree, RetryMax: time.Hour,
		Dial: func(context.Context) (net.Conn, error) { return nil, errors.New("no master") }})
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.Notify(trap)
	done := make(chan struct{})
	go func() { idle.Drain(time.Hour); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Drain waited without a session")
	}
}

// BenchmarkKATree1000 builds KEEPALIVED-MIB for 1,000 instances (two VIPs,
// one eVIP, one tracked script and one route each) in sync groups of two:
// the work of one request PDU when the subagent's tree is stale.
func BenchmarkKATree1000(b *testing.B) {
	v := &KAView{Global: KAGlobals{Version: "govrrp", RouterID: "bench"}}
	for i := range 1000 {
		x := byte(i % 250)
		r := KAInstance{Name: "VI_" + strings.Repeat("x", i%7), VRID: uint8(i%255 + 1), State: KAMaster, Version: 3, AdvInt: 100,
			Interface: "eth0", Mcast: a("224.0.0.18"), VIPsSet: true,
			Addrs: []KAAddress{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, x}), 32), Advertised: true, IfName: "eth0", Scope: 14},
				{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, x}), 32), Advertised: true, IfName: "eth0", Scope: 14},
				{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, x}), 32), IfName: "eth0", Scope: 14}},
			TrackedScripts: []KATrack{{Name: "chk", Weight: 10}},
			Routes:         []KARoute{{Dst: p("198.51.100.0/24"), Via: a("192.0.2.1"), Table: 254, Type: 1, Protocol: 18, Set: true}}}
		v.Instances = append(v.Instances, r)
		if i%2 == 0 {
			v.Groups = append(v.Groups, KAGroup{Name: "G", State: KAMaster, Members: []string{"a", "b"}})
		}
	}
	view := View{KA: v}
	b.ReportAllocs()
	for b.Loop() {
		_ = view.Tree()
	}
}
