package kaconf

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// netOpts lets cmp compare netip values.
var netOpts = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

// buildSrc parses src as t.conf and builds it. Parser errors fail the test.
func buildSrc(t *testing.T, src string, o LoadOptions) (*Config, []Diagnostic, error) {
	t.Helper()
	f, err := ParseBytes("t.conf", []byte(src), ParseOptions{ConfigID: "test"})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return Build(f.Nodes, o)
}

// diagStrings keeps the diagnostics of severity sev, formatted.
func diagStrings(ds []Diagnostic, sev Severity) []string {
	var out []string
	for _, d := range ds {
		if d.Severity == sev {
			out = append(out, d.String())
		}
	}
	return out
}

// instanceSrc puts line as line 4 (column 5) of a minimal valid instance.
func instanceSrc(line string) string {
	return "vrrp_instance VI {\n" +
		"    interface eth0\n" +
		"    virtual_router_id 1\n" +
		"    " + line + "\n" +
		"    virtual_ipaddress {\n" +
		"        192.0.2.1\n" +
		"    }\n" +
		"}\n"
}

func TestInstanceKeywordValues(t *testing.T) {
	tru := true
	fls := false
	tests := []struct {
		line string
		get  func(*Instance) any
		want any
	}{
		// defaults (line is a comment)
		{"# nothing", func(i *Instance) any { return i.State }, "BACKUP"},
		{"# nothing", func(i *Instance) any { return i.Priority }, uint8(100)},
		{"# nothing", func(i *Instance) any { return i.AdverInt }, time.Second},
		{"# nothing", func(i *Instance) any { return i.Version }, uint8(2)},
		{"# nothing", func(i *Instance) any { return i.Family }, uint8(4)},
		{"# nothing", func(i *Instance) any { return i.GarpMasterRepeat }, 5},
		{"# nothing", func(i *Instance) any { return i.GarpMasterDelay }, 5 * time.Second},
		{"# nothing", func(i *Instance) any { return i.GarpMasterRefresh }, time.Duration(0)},
		{"# nothing", func(i *Instance) any { return i.GarpMasterRefreshRepeat }, 1},
		{"# nothing", func(i *Instance) any { return i.GarpLowerPrioRepeat }, 5},
		{"# nothing", func(i *Instance) any { return i.DownTimerAdverts }, 3},
		{"# nothing", func(i *Instance) any { return i.Accept }, (*bool)(nil)},
		{"# nothing", func(i *Instance) any { return i.Nopreempt }, false},
		// values
		{"state MASTER", func(i *Instance) any { return i.State }, "MASTER"},
		{"priority 150", func(i *Instance) any { return i.Priority }, uint8(150)},
		{"priority 1", func(i *Instance) any { return i.Priority }, uint8(1)},
		{"priority 255", func(i *Instance) any { return i.Priority }, uint8(255)},
		{"virtual_router_id 255", func(i *Instance) any { return i.VRID }, uint8(255)},
		{"advert_int 3", func(i *Instance) any { return i.AdverInt }, 3 * time.Second},
		{"version 3", func(i *Instance) any { return i.Version }, uint8(3)},
		{"nopreempt", func(i *Instance) any { return i.Nopreempt }, true},
		{"nopreempt\n preempt", func(i *Instance) any { return i.Nopreempt }, false}, // keepalived: the later line wins
		{"preempt\n nopreempt", func(i *Instance) any { return i.Nopreempt }, true},
		{"lower_prio_no_advert", func(i *Instance) any { return i.LowerPrioNoAdvert }, true},
		{"lower_prio_no_advert false", func(i *Instance) any { return i.LowerPrioNoAdvert }, false},
		{"higher_prio_send_advert", func(i *Instance) any { return i.HigherPrioSendAdvert }, true},
		{"preempt_delay 4.12", func(i *Instance) any { return i.PreemptDelay }, 4120 * time.Millisecond},
		{"unicast_src_ip 192.0.2.5", func(i *Instance) any { return i.UnicastSrcIP }, netip.MustParseAddr("192.0.2.5")},
		{"mcast_src_ip 192.0.2.6", func(i *Instance) any { return i.McastSrcIP }, netip.MustParseAddr("192.0.2.6")},
		{"mcast_dst_ip 224.0.0.19", func(i *Instance) any { return i.McastDstIP }, netip.MustParseAddr("224.0.0.19")},
		{"garp_master_repeat 2", func(i *Instance) any { return i.GarpMasterRepeat }, 2},
		{"garp_master_delay 10", func(i *Instance) any { return i.GarpMasterDelay }, 10 * time.Second},
		{"garp_master_refresh 60", func(i *Instance) any { return i.GarpMasterRefresh }, time.Minute},
		{"garp_master_refresh_repeat 2", func(i *Instance) any { return i.GarpMasterRefreshRepeat }, 2},
		{"garp_lower_prio_repeat 3", func(i *Instance) any { return i.GarpLowerPrioRepeat }, 3},
		{"garp_lower_prio_delay 7", func(i *Instance) any { return i.GarpLowerPrioDelay }, 7 * time.Second},
		{"down_timer_adverts 5", func(i *Instance) any { return i.DownTimerAdverts }, 5},
		{"notify_master \"/bin/x a b\" root", func(i *Instance) any { return i.NotifyMaster }, "/bin/x a b"},
		{"notify /bin/n", func(i *Instance) any { return i.Notify }, "/bin/n"},
		{"smtp_alert", func(i *Instance) any { return i.SmtpAlert }, true},
		{"smtp_alert off", func(i *Instance) any { return i.SmtpAlert }, false},
		{"accept", func(i *Instance) any { return i.Accept }, &tru},
		{"no_accept", func(i *Instance) any { return i.Accept }, &fls},
		{"strict_mode", func(i *Instance) any { return i.StrictMode }, true},
		{"v3_checksum_as_v2", func(i *Instance) any { return i.V3ChecksumAsV2 }, true},
		{"use_vmac", func(i *Instance) any { return i.UseVMAC }, "vrrp.1"},
		{"use_vmac vm1", func(i *Instance) any { return i.UseVMAC }, "vm1"},
		{"use_vmac\n vmac_xmit_base", func(i *Instance) any { return i.VMACXmitBase }, true},
		{"dont_track_primary", func(i *Instance) any { return i.DontTrackPrimary }, true},
		{"skip_check_adv_addr", func(i *Instance) any { return i.SkipCheckAdvAddr }, true},
		{"unicast_ttl 9\n unicast_peer {\n 192.0.2.9\n }", func(i *Instance) any { return i.UnicastTTL }, 9},
		{"authentication {\n auth_type PASS\n auth_pass secret\n }", func(i *Instance) any { return i.AuthPass }, [8]byte{'s', 'e', 'c', 'r', 'e', 't'}},
		{"authentication {\n auth_type PASS\n auth_pass 123456789\n }", func(i *Instance) any { return string(i.AuthPass[:]) + "|" + i.AuthPassRaw }, "12345678|123456789"},
		{"track_interface {\n eth1 weight -10 reverse\n eth2\n }", func(i *Instance) any { return trackSummary(i.TrackInterfaces) }, "eth1:-10:set:rev eth2:0"},
		{"virtual_routes {\n 198.51.100.0/24 via 192.0.2.254\n }", func(i *Instance) any { return i.VirtualRoutes[0].Words }, []string{"198.51.100.0/24", "via", "192.0.2.254"}},
		{"virtual_rules {\n from 192.0.2.0/24 table 2\n }", func(i *Instance) any { return i.VirtualRules[0].Words }, []string{"from", "192.0.2.0/24", "table", "2"}},
		{"virtual_ipaddress_excluded {\n 2001:db8::9/64\n }", func(i *Instance) any { return i.ExcludedVIPs[0].Prefix }, netip.MustParsePrefix("2001:db8::9/64")},
		{"unicast_peer {\n 192.0.2.7 min_ttl 2 max_ttl 200\n }", func(i *Instance) any {
			p := i.UnicastPeers[0]
			return fmt.Sprint(p.Addr, p.MinTTL, p.MaxTTL)
		}, "192.0.2.7 2 200"},
		{"use_ipvlan", func(i *Instance) any { return i.Other[0].Words }, []string{"use_ipvlan"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cfg, ds, err := buildSrc(t, instanceSrc(tt.line), LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if len(cfg.Instances) != 1 {
				t.Fatalf("got %d instances, diags %v", len(cfg.Instances), ds)
			}
			if diff := cmp.Diff(tt.want, tt.get(cfg.Instances[0]), netOpts); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func trackSummary(rs []TrackRef) string {
	var parts []string
	for _, r := range rs {
		s := fmt.Sprintf("%s:%d", r.Name, r.Weight)
		if r.WeightSet {
			s += ":set"
		}
		if r.Reverse {
			s += ":rev"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestInstanceKeywordErrors(t *testing.T) {
	tests := []struct {
		line string
		want string // the first error, FILE:LINE:COL: error: msg
	}{
		{"virtual_router_id 0", "t.conf:4:23: error: virtual_router_id: 0 outside range [1, 255]"},
		{"virtual_router_id 256", "t.conf:4:23: error: virtual_router_id: 256 outside range [1, 255]"},
		{"virtual_router_id x", "t.conf:4:23: error: virtual_router_id: \"x\" is not an integer"},
		{"priority 0", "t.conf:4:14: error: priority: 0 outside range [1, 255]"},
		{"priority 256", "t.conf:4:14: error: priority: 256 outside range [1, 255]"},
		{"advert_int 0", "t.conf:4:16: error: advert_int: 0 outside range [0.01, 255]"},
		{"advert_int 0.005", "t.conf:4:16: error: advert_int: 0.005 outside range [0.01, 255]"},
		{"advert_int 256", "t.conf:4:16: error: advert_int: 256 outside range [0.01, 255]"},
		{"version 4", "t.conf:4:13: error: version: 4 outside range [2, 3]"},
		{"state master", "t.conf:4:11: error: state: \"master\" is not MASTER or BACKUP"},
		{"preempt_delay 1001", "t.conf:4:19: error: preempt_delay: 1001 outside range [0, 1000]"},
		{"unicast_src_ip 192.0.2", "t.conf:4:20: error: unicast_src_ip: invalid IP address \"192.0.2\""},
		{"garp_master_repeat -1", "t.conf:4:24: error: garp_master_repeat: -1 outside range [0, 4294967295]"},
		{"priority", "t.conf:4:5: error: priority in vrrp_instance: needs at least 1 argument(s)"},
		{"track_interface {\n eth1 weight 254\n }", "t.conf:5:14: error: weight: 254 outside range [-253, 253]"},
		{"track_script {\n chk weight\n }", "t.conf:5:6: error: track_script chk: weight needs a value"},
		{"unicast_peer {\n 192.0.2.7 min_ttl 256\n }", "t.conf:5:20: error: min_ttl: \"256\" outside range [0, 255]"},
		{"authentication {\n auth_type MD5\n }", "t.conf:5:12: error: auth_type: \"MD5\" is not PASS or AH"},
		{"authentication {\n auth_hmac x\n }", "t.conf:5:2: error: keyword \"auth_hmac\" in authentication is not supported by govrrp (it is from a keepalived newer than 2.2.7)"},
		// keepalived 2.4 puts auth_hmac in the instance (authhmac_test.go has the rest).
		{"auth_hmac {\n key 1 hex:00\n }", "t.conf:5:8: error: auth_hmac key: hex key is 1 bytes, want 32..64 (e.g. openssl rand -hex 32)"},
		{"owner_ignore_adverts", "t.conf:4:5: error: keyword \"owner_ignore_adverts\" in vrrp_instance is not supported by govrrp (it is from a keepalived newer than 2.2.7)"},
		{"strict_mode maybe", "t.conf:4:17: error: strict_mode: \"maybe\" is not a boolean (on|off|true|false|yes|no)"},
		{"interface eth0 {\n }", "t.conf:4:5: error: interface in vrrp_instance: does not take a { } block"},
		{"unicast_peer 192.0.2.7", "t.conf:4:5: error: unicast_peer in vrrp_instance: expects a { } block"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, ds, err := buildSrc(t, instanceSrc(tt.line), LoadOptions{Strict: true})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Build error = %v, want ErrInvalid", err)
			}
			checkFirstError(t, ds, err, tt.want)
			checkLenient(t, instanceSrc(tt.line), ds)
		})
	}
}

func TestVIPParsing(t *testing.T) {
	tests := []struct {
		entry string
		want  VIP
	}{
		{"192.0.2.10", VIP{Prefix: netip.MustParsePrefix("192.0.2.10/32")}},
		{"192.0.2.10/24", VIP{Prefix: netip.MustParsePrefix("192.0.2.10/24")}},
		{"192.0.2.10/24 brd 192.0.2.255 dev eth1 scope link label eth1:1", VIP{
			Prefix: netip.MustParsePrefix("192.0.2.10/24"), Broadcast: netip.MustParseAddr("192.0.2.255"),
			Dev: "eth1", Scope: "link", Label: "eth1:1"}},
		{"192.0.2.10 -nodad no_track home preferred_lft forever", VIP{
			Prefix: netip.MustParsePrefix("192.0.2.10/32"), NoDAD: true, NoTrack: true,
			Other: []string{"home", "preferred_lft", "forever"}}},
		{"192.0.2.10 peer 192.0.2.11", VIP{Prefix: netip.MustParsePrefix("192.0.2.10/32"), Peer: netip.MustParseAddr("192.0.2.11")}},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			src := "vrrp_instance VI {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n" + tt.entry + "\n }\n}\n"
			cfg, _, err := buildSrc(t, src, LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got := cfg.Instances[0].VIPs[0]
			tt.want.Pos = Pos{File: "t.conf", Line: 5, Col: 1}
			if diff := cmp.Diff(tt.want, got, netOpts); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestVIPErrors(t *testing.T) {
	tests := []struct{ entry, want string }{
		{"192.0.2.300", "t.conf:5:1: error: address: invalid IP address \"192.0.2.300\""},
		{"192.0.2.1/33", "t.conf:5:1: error: address \"192.0.2.1/33\": prefix length 33 is longer than 32"},
		{"192.0.2.1/x", "t.conf:5:1: error: invalid address/prefix \"192.0.2.1/x\""},
		{"192.0.2.1 scope world", "t.conf:5:17: error: scope: \"world\" is not site|link|host|nowhere|global"},
		{"192.0.2.1 dev", "t.conf:5:11: error: dev: missing value"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			src := "vrrp_instance VI {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n" + tt.entry + "\n }\n}\n"
			_, ds, err := buildSrc(t, src, LoadOptions{Strict: true})
			if err == nil {
				t.Fatal("Build succeeded, want error")
			}
			checkFirstError(t, ds, err, tt.want)
			checkLenient(t, src, ds)
		})
	}
}

func TestGlobalKeywords(t *testing.T) {
	tests := []struct {
		line string
		get  func(*GlobalDefs) any
		want any
	}{
		{"# nothing", func(g *GlobalDefs) any { return g.VRRPVersion }, uint8(2)},
		{"# nothing", func(g *GlobalDefs) any { return g.GarpMasterRepeat }, 5},
		{"# nothing", func(g *GlobalDefs) any { return g.GarpMasterDelay }, 5 * time.Second},
		{"# nothing", func(g *GlobalDefs) any { return g.GarpLowerPrioDelay }, 5 * time.Second},
		{"# nothing", func(g *GlobalDefs) any { return g.McastGroup4.String() }, "224.0.0.18"},
		{"# nothing", func(g *GlobalDefs) any { return g.McastGroup6.String() }, "ff02::12"},
		{"# nothing", func(g *GlobalDefs) any { return g.DefaultInterface }, "eth0"},
		{"router_id node1", func(g *GlobalDefs) any { return g.RouterID }, "node1"},
		{"vrrp_version 3", func(g *GlobalDefs) any { return g.VRRPVersion }, uint8(3)},
		{"vrrp_garp_master_repeat 2", func(g *GlobalDefs) any { return g.GarpMasterRepeat }, 2},
		{"vrrp_garp_master_repeat 2", func(g *GlobalDefs) any { return g.GarpLowerPrioRepeat }, 2},
		{"vrrp_garp_master_delay 1.5", func(g *GlobalDefs) any { return g.GarpMasterDelay }, 1500 * time.Millisecond},
		{"vrrp_garp_master_refresh 60", func(g *GlobalDefs) any { return g.GarpMasterRefresh }, time.Minute},
		{"vrrp_garp_interval 0.001", func(g *GlobalDefs) any { return g.GarpInterval }, time.Millisecond},
		{"vrrp_mcast_group4 224.0.0.19", func(g *GlobalDefs) any { return g.McastGroup4.String() }, "224.0.0.19"},
		{"vrrp_strict", func(g *GlobalDefs) any { return g.Strict }, true},
		{"enable_script_security", func(g *GlobalDefs) any { return g.EnableScriptSecurity }, true},
		{"script_user nobody nogroup", func(g *GlobalDefs) any { return g.ScriptUser + ":" + g.ScriptGroup }, "nobody:nogroup"},
		{"notification_email {\n a@example.com\n b@example.com\n }", func(g *GlobalDefs) any { return g.NotificationEmail }, []string{"a@example.com", "b@example.com"}},
		{"vrrp_notify_fifo /run/f root", func(g *GlobalDefs) any { return g.VRRPNotifyFifo }, "/run/f"},
		{"smtp_alert", func(g *GlobalDefs) any { return *g.SMTPAlert }, true},
		{"vrrp_no_swap", func(g *GlobalDefs) any { return g.Other[0].Words }, []string{"vrrp_no_swap"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cfg, _, err := buildSrc(t, "global_defs {\n    "+tt.line+"\n}\n", LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if diff := cmp.Diff(tt.want, tt.get(&cfg.Global), netOpts); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestGlobalKeywordErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"vrrp_version 1", "t.conf:2:18: error: vrrp_version: 1 outside range [2, 3]"},
		{"vrrp_garp_master_repeat -1", "t.conf:2:29: error: vrrp_garp_master_repeat: -1 outside range [0, 4294967295]"},
		{"vrrp_garp_master_delay x", "t.conf:2:28: error: vrrp_garp_master_delay: \"x\" is not a number"},
		{"vrrp_mcast_group4 192.0.2.1", "t.conf:2:23: error: vrrp_mcast_group4: 192.0.2.1 is not an IPv4 multicast address"},
		{"router_id", "t.conf:2:5: error: router_id in global_defs: needs at least 1 argument(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			src := "global_defs {\n    " + tt.line + "\n}\n"
			_, ds, err := buildSrc(t, src, LoadOptions{Strict: true})
			if err == nil {
				t.Fatal("Build succeeded, want error")
			}
			checkFirstError(t, ds, err, tt.want)
			checkLenient(t, src, ds)
		})
	}
}

func TestTrackedObjectKeywords(t *testing.T) {
	src := `vrrp_script chk {
    script "/bin/check a"
    interval 2
    weight -20 reverse
    rise 3
    fall 4
    user nobody
    init_fail
}
track_file tf {
    file "/run/tf"
    weight -3
    init_file 7 overwrite
}
vrrp_track_process tp {
    process haproxy -f "/etc/h a.cfg"
    param_match partial
    quorum 2
    quorum_max 4
    delay 0.5
    full_command
}
`
	cfg, ds, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v %v", err, ds)
	}
	want := &Config{
		Global: defaultGlobal(),
		Scripts: map[string]*Script{"chk": {Name: "chk", Pos: Pos{"t.conf", 1, 1}, Script: "/bin/check a",
			Interval: 2 * time.Second, Timeout: 2 * time.Second, Weight: -20, Reverse: true, Rise: 3, Fall: 4, User: "nobody", InitFail: true}},
		TrackFiles: map[string]*TrackFile{"tf": {Name: "tf", Pos: Pos{"t.conf", 10, 1}, File: "/run/tf", Weight: -3,
			InitFile: true, InitValue: 7, Overwrite: true}},
		TrackProcesses: map[string]*TrackProcess{"tp": {Name: "tp", Pos: Pos{"t.conf", 15, 1},
			Process: []string{"haproxy", "-f", "/etc/h a.cfg"}, ParamMatch: "partial", Weight: 0, Quorum: 2, QuorumMax: 4,
			ForkDelay: 500 * time.Millisecond, TerminateDelay: 500 * time.Millisecond, FullCommand: true}},
		// Tracking blocks are acted on: nothing is left for NotActedOn.
	}
	want.Global.GarpLowerPrioRepeat, want.Global.GarpLowerPrioDelay = 5, 5*time.Second
	if diff := cmp.Diff(want, cfg, netOpts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestUnknownKeywordSuggestion(t *testing.T) {
	tests := []struct{ src, want string }{
		{instanceSrc("priorty 100"), "t.conf:4:5: warning: unknown keyword \"priorty\" in vrrp_instance (did you mean \"priority\"?); keepalived 2.2.7 and govrrp ignore the line"},
		{instanceSrc("advert_intt 1"), "t.conf:4:5: warning: unknown keyword \"advert_intt\" in vrrp_instance (did you mean \"advert_int\"?); keepalived 2.2.7 and govrrp ignore the line"},
		{instanceSrc("zzz"), "t.conf:4:5: warning: unknown keyword \"zzz\" in vrrp_instance; keepalived 2.2.7 and govrrp ignore the line"},
		{"global_defs {\n router_idd x\n}\n", "t.conf:2:2: warning: unknown keyword \"router_idd\" in global_defs (did you mean \"router_id\"?); keepalived 2.2.7 and govrrp ignore the line"},
		{"vrrp_instanse X {\n}\n", "t.conf:1:1: warning: unknown keyword \"vrrp_instanse\" in top (did you mean \"vrrp_instance\"?); keepalived 2.2.7 and govrrp ignore the line"},
		{instanceSrc("State MASTER"), "t.conf:4:5: warning: unknown keyword \"State\" in vrrp_instance (did you mean \"state\"?); keepalived 2.2.7 and govrrp ignore the line"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, ds, _ := buildSrc(t, tt.src, LoadOptions{})
			if diff := cmp.Diff([]string{tt.want}, diagStrings(ds, SevWarning)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLVSBlocks(t *testing.T) {
	src := "virtual_server 192.0.2.1 80 {\n  real_server 192.0.2.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n" +
		"SSL {\n}\n" + instanceSrc("# x") // bfd_instance is run since issue 10 (bfd.go)
	tests := []struct {
		vrrpOnly bool
		want     []Diagnostic
	}{
		{false, []Diagnostic{
			{Pos: Pos{"t.conf", 1, 1}, Severity: SevError, Msg: "virtual_server: govrrp does not provide LVS/checkers/BFD; run with --vrrp (keepalived -P) to ignore these blocks"},
			{Pos: Pos{"t.conf", 7, 1}, Severity: SevError, Msg: "SSL: govrrp does not provide LVS/checkers/BFD; run with --vrrp (keepalived -P) to ignore these blocks"},
		}},
		{true, []Diagnostic{{Pos: Pos{"t.conf", 1, 1}, Severity: SevNotice, Msg: "virtual_server: LVS/checker blocks are ignored (--vrrp)"}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("vrrpOnly=", tt.vrrpOnly), func(t *testing.T) {
			cfg, ds, err := buildSrc(t, src, LoadOptions{VRRPOnly: tt.vrrpOnly})
			if (err != nil) == tt.vrrpOnly {
				t.Errorf("Build error = %v", err)
			}
			if diff := cmp.Diff(tt.want, ds); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if len(cfg.Instances) != 1 || len(cfg.Skipped) != 2 {
				t.Errorf("got %d instances, %d skipped; want 1, 2", len(cfg.Instances), len(cfg.Skipped))
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"priorty", "priority", 1}, {"kitten", "sitting", 3}, {"abc", "abc", 0},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// checkFirstError: an error starts with want (a fallback's text goes on to
// say what keepalived and govrrp do instead) and err lists it.
func checkFirstError(t *testing.T, ds []Diagnostic, err error, want string) {
	t.Helper()
	errs := diagStrings(ds, SevError)
	for _, e := range errs {
		if strings.HasPrefix(e, want) {
			if !strings.Contains(err.Error(), e) {
				t.Errorf("error text %q does not list %q", err, e)
			}
			return
		}
	}
	t.Fatalf("errors = %q, want one starting with %q", errs, want)
}

// checkLenient: without Strict the file loads exactly when every error of
// the strict load was a fallback, and the fallbacks are warnings.
func checkLenient(t *testing.T, src string, strict []Diagnostic) {
	t.Helper()
	hard := false
	for _, d := range strict {
		hard = hard || (d.Severity == SevError && !d.Fallback)
	}
	_, ds, err := buildSrc(t, src, LoadOptions{})
	if (err != nil) != hard {
		t.Errorf("lenient Build error = %v; strict load had a non-fallback error: %v", err, hard)
	}
	for _, d := range Fallbacks(ds) {
		if d.Severity != SevWarning {
			t.Errorf("lenient fallback %s is not a warning", d)
		}
	}
}
