package kaconf

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var routeCmp = []cmp.Option{netOpts, cmpopts.IgnoreFields(Route{}, "Pos"), cmpopts.IgnoreFields(Rule{}, "Pos"), cmpopts.EquateEmpty()}

func TestTypedRoutes(t *testing.T) {
	a := netip.MustParseAddr
	p := netip.MustParsePrefix
	tests := []struct {
		line string
		want Route
	}{
		{"198.51.100.0/24 via 192.0.2.254 dev eth0", Route{Dst: p("198.51.100.0/24"), Via: a("192.0.2.254"), Dev: "eth0"}},
		{"src 192.0.2.100 to 198.51.100.64/26 via 192.0.2.254 dev eth0 table 100 metric 5",
			Route{Dst: p("198.51.100.64/26"), Src: a("192.0.2.100"), Via: a("192.0.2.254"), Dev: "eth0", Table: 100, Metric: 5}},
		{"blackhole 198.51.100.128/25", Route{Type: "blackhole", Dst: p("198.51.100.128/25")}},
		{"unreachable 198.51.100.7", Route{Type: "unreachable", Dst: p("198.51.100.7/32")}},
		{"0.0.0.0/0 gw 192.0.2.1 table 100", Route{Dst: p("0.0.0.0/0"), Via: a("192.0.2.1"), Table: 100}},
		{"default via 2001:db8::1 dev eth0", Route{Dst: p("::/0"), Via: a("2001:db8::1"), Dev: "eth0"}},
		{"inet6 default dev eth0", Route{Dst: p("::/0"), Dev: "eth0"}},
		{"198.51.100.0/24 dev eth0 scope link proto 99 mtu lock 1400 no_track table main",
			Route{Dst: p("198.51.100.0/24"), Dev: "eth0", Scope: "link", Protocol: 99, MTU: 1400, MTULock: true, NoTrack: true, Table: 254}},
		{"198.51.100.9/24 dev eth0", Route{Dst: p("198.51.100.0/24"), Dev: "eth0"}}, // masked, as the kernel would
		{"198.51.100.0/24 via 192.0.2.1 or 192.0.2.2 dev eth0", Route{Dst: p("198.51.100.0/24"), Dev: "eth0",
			Nexthops: []Nexthop{{Via: a("192.0.2.1"), Dev: "eth0"}, {Via: a("192.0.2.2"), Dev: "eth0"}}}},
		{"198.51.100.0/24 nexthop via 192.0.2.1 dev eth0 weight 1 nexthop via 192.0.2.2 dev eth1 onlink weight 2",
			Route{Dst: p("198.51.100.0/24"), Nexthops: []Nexthop{{Via: a("192.0.2.1"), Dev: "eth0", Weight: 1}, {Via: a("192.0.2.2"), Dev: "eth1", Weight: 2, OnLink: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cfg, ds, err := buildSrc(t, instanceSrc("virtual_routes {\n"+tt.line+"\n}"), LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got := cfg.Instances[0].VirtualRouteSpecs
			if len(got) != 1 {
				t.Fatalf("got %d routes, diags %v", len(got), ds)
			}
			if diff := cmp.Diff(tt.want, got[0], routeCmp...); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Invalid words are what keepalived 2.2.7 logs and runs without (the route
// skipped; keepalived -t on each line), so warnings naming FILE:LINE:COL, and
// errors under --strict; a missing parameter keepalived refuses to run.
func TestTypedRouteFallbacks(t *testing.T) {
	tests := []struct {
		line, want string
		kept       bool // the route is installed anyway (with the fallback)
	}{
		{"198.51.100.0/24 via 192.0.2.x dev eth0", `t.conf:5:21: warning: via: invalid address "192.0.2.x"; keepalived 2.2.7 and govrrp skip the route`, false},
		{"198.51.100.0/33 dev eth0", `t.conf:5:1: warning: prefix length 33 of 198.51.100.0 is too long; keepalived 2.2.7 and govrrp use /32`, true},
		{"198.51.100.0/24 via 2001:db8::1 dev eth0", `t.conf:5:1: warning: route: 2001:db8::1 is not of the family of 198.51.100.0/24; keepalived 2.2.7 and govrrp skip the route`, false},
		{"198.51.100.0/24 scope galaxy", `t.conf:5:23: warning: scope: "galaxy" is not global, site, link, host or nowhere; keepalived 2.2.7 and govrrp skip the route`, false},
		{"198.51.100.0/24 dev eth0 bogus", `t.conf:5:26: warning: route: unknown option "bogus"; keepalived 2.2.7 and govrrp skip the route`, false},
		{"dev eth0", `t.conf:5:1: warning: route: no destination; keepalived 2.2.7 and govrrp skip the route`, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			src := instanceSrc("virtual_routes {\n" + tt.line + "\n}")
			cfg, ds, err := buildSrc(t, src, LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got := strings.Join(diagStrings(ds, SevWarning), "\n"); !strings.Contains(got, tt.want) {
				t.Errorf("warnings %q, want one %q", got, tt.want)
			}
			if got := len(cfg.Instances[0].VirtualRouteSpecs) == 1; got != tt.kept {
				t.Errorf("route kept = %v, want %v", got, tt.kept)
			}
			if _, _, err := buildSrc(t, src, LoadOptions{Strict: true}); err == nil {
				t.Errorf("--strict accepted it")
			}
		})
	}
	_, ds, err := buildSrc(t, instanceSrc("virtual_routes {\n198.51.100.0/24 metric\n}"), LoadOptions{})
	if want := "t.conf:5:17: error: metric: missing value"; err == nil || !strings.Contains(strings.Join(diagStrings(ds, SevError), "\n"), want) {
		t.Errorf("missing parameter: err %v, diags %v; want %q", err, ds, want)
	}
}

func TestTypedRules(t *testing.T) {
	p := netip.MustParsePrefix
	src := "static_rules {\n from 192.0.2.0/24 table 1 preference 30\n to 198.51.100.0/24 lookup 2\n from all fwmark 0x10/0xff iif eth0 table main priority 7\n from 2001:db8::/64 table 3\n to 192.0.2.x table 4\n}\n" + instanceSrc("virtual_rules {\n to 198.51.100.0/24 table 9 no_track\n}")
	cfg, ds, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v %v", err, ds)
	}
	want := []Rule{
		{From: p("192.0.2.0/24"), Table: 1, Pref: 30},
		{To: p("198.51.100.0/24"), Table: 2, Pref: 16384},
		{FwMark: 0x10, FwMask: 0xff, IIF: "eth0", Table: 254, Pref: 7},
		{From: p("2001:db8::/64"), Family6: true, Table: 3, Pref: 16383},
		// "to 192.0.2.x" is dropped, as keepalived does (checkRules).
	}
	if diff := cmp.Diff(want, cfg.StaticRuleSpecs, routeCmp...); diff != "" {
		t.Errorf("static_rules (-want +got):\n%s", diff)
	}
	// The counter runs on across blocks, in file order.
	wantV := []Rule{{To: p("198.51.100.0/24"), Table: 9, Pref: 16382, NoTrack: true}}
	if diff := cmp.Diff(wantV, cfg.Instances[0].VirtualRuleSpecs, routeCmp...); diff != "" {
		t.Errorf("virtual_rules (-want +got):\n%s", diff)
	}
}

// Options keepalived knows and govrrp does not install are listed by name
// and position in NotActedOn, so `govrrp run` refuses them.
func TestRouteOptionsNotActedOn(t *testing.T) {
	src := "static_routes {\n 198.51.100.0/24 dev eth0 tos 0x04 append\n local 198.51.100.1 dev eth0\n}\nstatic_rules {\n from 192.0.2.0/24 table 1 goto 40 preference 5\n}\n" +
		"static_ipaddress {\n 198.51.100.9/32 dev eth0 home\n 198.51.100.10/32 dev eth0 preferred_lft forever\n 198.51.100.11/32 dev eth0 preferred_lft 30\n}\n"
	cfg, ds, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v %v", err, ds)
	}
	var got []string
	for _, u := range cfg.NotActedOn {
		if strings.HasPrefix(u.Block, "static_") {
			got = append(got, u.Pos.String()+" "+u.Block+": "+u.Name)
		}
	}
	want := []string{
		"t.conf:2:27 static_routes: route option tos",
		"t.conf:2:36 static_routes: route option append",
		"t.conf:3:2 static_routes: route option local",
		"t.conf:6:28 static_rules: rule option goto",
		"t.conf:9:2 static_ipaddress: address option home",
		// preferred_lft forever is what govrrp installs anyway.
		"t.conf:11:2 static_ipaddress: address option preferred_lft 30",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("not acted on (-want +got):\n%s", diff)
	}
}

// A VIP's own use_vmac is acted on (VIP.UseVMAC: a VMAC on its dev, daemon
// vmac_addr.go), for virtual_ipaddress and virtual_ipaddress_excluded alike;
// on a static_ipaddress (no instance, so no virtual MAC) it is refused by name.
func TestVIPUseVMAC(t *testing.T) {
	src := "static_ipaddress {\n 198.51.100.9/24 dev eth1 use_vmac\n}\n" +
		"global_defs {\n vmac_addr_prefix vx\n}\n" +
		"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n use_vmac_addr\n" +
		" virtual_ipaddress {\n  192.0.2.100/24 dev eth0 use_vmac\n  192.0.2.101/24 dev eth1\n }\n" +
		" virtual_ipaddress_excluded {\n  198.51.100.100/24 dev eth1 use_vmac\n }\n}\n"
	cfg, ds, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v %v", err, ds)
	}
	var got []string
	for _, u := range cfg.NotActedOn {
		got = append(got, u.Pos.String()+" "+u.Name)
	}
	if diff := cmp.Diff([]string{"t.conf:2:2 address option use_vmac"}, got); diff != "" {
		t.Errorf("not acted on (-want +got):\n%s", diff)
	}
	in := cfg.Instances[0]
	flags := []bool{in.VIPs[0].UseVMAC, in.VIPs[1].UseVMAC, in.ExcludedVIPs[0].UseVMAC, in.UseVMACAddr}
	if diff := cmp.Diff([]bool{true, false, true, true}, flags); diff != "" {
		t.Errorf("VIP use_vmac, eVIP use_vmac, use_vmac_addr (-want +got):\n%s", diff)
	}
	var redundant []string
	for _, d := range diagStrings(ds, SevWarning) {
		if strings.Contains(d, "use_vmac_addr specified and use_vmac specified") {
			redundant = append(redundant, d)
		}
	}
	wantRedundant := []string{
		"t.conf:13:3: warning: (VI_1) use_vmac_addr specified and use_vmac specified for VIP/eVIP 192.0.2.100/24 (as keepalived 2.2.7 logs)",
		"t.conf:17:3: warning: (VI_1) use_vmac_addr specified and use_vmac specified for VIP/eVIP 198.51.100.100/24 (as keepalived 2.2.7 logs)",
	}
	if diff := cmp.Diff(wantRedundant, redundant); diff != "" {
		t.Errorf("redundant use_vmac warnings (-want +got):\n%s", diff)
	}
	if cfg.Global.VmacAddrPrefix != "vx" || len(in.VIPs[0].Other) != 0 {
		t.Errorf("vmac_addr_prefix %q, VIP other options %q; want vx and none", cfg.Global.VmacAddrPrefix, in.VIPs[0].Other)
	}
}

// Table and protocol names iproute2 knows without its files are read; any
// other name (from rt_tables / rt_protos, which govrrp does not read) is
// refused by name at its position.
func TestRouteNamesFromIproute2Files(t *testing.T) {
	src := "static_routes {\n 198.51.100.0/24 dev eth0 table main proto bird\n 198.51.100.128/25 dev eth0 table mine proto mypro\n}\n"
	cfg, ds, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v %v", err, ds)
	}
	if len(cfg.StaticRouteSpecs) == 0 || cfg.StaticRouteSpecs[0].Table != 254 || cfg.StaticRouteSpecs[0].Protocol != 12 {
		t.Fatalf("first route: %+v; want table 254 (main), protocol 12 (bird)", cfg.StaticRouteSpecs)
	}
	var got []string
	for _, u := range cfg.NotActedOn {
		got = append(got, u.Pos.String()+" "+u.Name)
	}
	want := []string{`t.conf:3:35 table name "mine" (from rt_tables)`, `t.conf:3:46 protocol name "mypro" (from rt_protos)`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("not acted on (-want +got):\n%s", d)
	}
}
