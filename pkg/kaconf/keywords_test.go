package kaconf

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The brief fixes what the daemon acts on; the registry must say exactly that.
func TestSupportedKeywords(t *testing.T) {
	want := []string{
		"auth_hmac.active_key", "auth_hmac.anti_replay", "auth_hmac.key", "auth_hmac.mode", "auth_hmac.time_window",
		"authentication.auth_pass", "authentication.auth_type", "global_defs.default_interface", "global_defs.enable_script_security", "global_defs.fifo_write_vrrp_states_on_reload",
		"global_defs.log_unknown_vrids", "global_defs.nftables", "global_defs.nftables_counters", "global_defs.nftables_priority",
		"global_defs.notify_fifo", "global_defs.notify_fifo_script", "global_defs.router_id", "global_defs.script_user", "global_defs.vmac_prefix", "global_defs.vrrp_check_unicast_src",
		"global_defs.vrrp_down_timer_adverts", "global_defs.vrrp_garp_lower_prio_delay", "global_defs.vrrp_garp_lower_prio_repeat", "global_defs.vrrp_garp_master_delay", "global_defs.vrrp_garp_master_refresh",
		"global_defs.vrrp_garp_master_refresh_repeat", "global_defs.vrrp_garp_master_repeat", "global_defs.vrrp_higher_prio_send_advert", "global_defs.vrrp_iptables",
		"global_defs.vrrp_lower_prio_no_advert", "global_defs.data_use_instance", "global_defs.vrrp_mcast_group4", "global_defs.vrrp_mcast_group6", "global_defs.vrrp_notify_fifo", "global_defs.vrrp_notify_fifo_script", "global_defs.vrrp_notify_priority_changes", "global_defs.vrrp_rx_bufs_multiplier", "global_defs.vrrp_rx_bufs_policy", "global_defs.vrrp_skip_check_adv_addr", "global_defs.vrrp_startup_delay", "global_defs.vrrp_strict",
		"global_defs.vrrp_version", "top.global_defs", "top.static_ipaddress", "top.static_routes", "top.static_rules", "top.track_file", "top.track_group", "top.vrrp_instance", "top.vrrp_script",
		"top.vrrp_sync_group", "top.vrrp_track_file", "top.vrrp_track_process", "track_file.file", "track_file.init_file", "track_file.weight",
		"vrrp_instance.accept", "vrrp_instance.advert_int", "vrrp_instance.auth_hmac", "vrrp_instance.authentication", "vrrp_instance.check_unicast_src", "vrrp_instance.debug", "vrrp_instance.dont_track_primary",
		"vrrp_instance.down_timer_adverts", "vrrp_instance.garp_lower_prio_delay", "vrrp_instance.garp_lower_prio_repeat", "vrrp_instance.garp_master_delay", "vrrp_instance.garp_master_refresh", "vrrp_instance.garp_master_refresh_repeat",
		"vrrp_instance.garp_master_repeat", "vrrp_instance.higher_prio_send_advert", "vrrp_instance.interface", "vrrp_instance.kernel_rx_buf_size", "vrrp_instance.lower_prio_no_advert", "vrrp_instance.mcast_dst_ip", "vrrp_instance.mcast_src_ip", "vrrp_instance.native_ipv6", "vrrp_instance.no_accept",
		"vrrp_instance.no_virtual_ipaddress", "vrrp_instance.nopreempt", "vrrp_instance.notify", "vrrp_instance.notify_backup", "vrrp_instance.notify_deleted", "vrrp_instance.notify_fault",
		"vrrp_instance.notify_master", "vrrp_instance.notify_master_rx_lower_pri", "vrrp_instance.notify_priority_changes",
		"vrrp_instance.notify_stop", "vrrp_instance.old_unicast_checksum", "vrrp_instance.preempt", "vrrp_instance.preempt_delay", "vrrp_instance.priority", "vrrp_instance.promote_secondaries", "vrrp_instance.skip_check_adv_addr", "vrrp_instance.state", "vrrp_instance.strict_mode",
		"vrrp_instance.track_file", "vrrp_instance.track_interface", "vrrp_instance.track_process",
		"vrrp_instance.track_script", "vrrp_instance.track_src_ip", "vrrp_instance.unicast_fault_no_peer", "vrrp_instance.unicast_peer", "vrrp_instance.unicast_src_ip", "vrrp_instance.unicast_ttl", "vrrp_instance.use_vmac",
		"vrrp_instance.v3_checksum_as_v2", "vrrp_instance.version", "vrrp_instance.virtual_ipaddress", "vrrp_instance.virtual_ipaddress_excluded",
		"vrrp_instance.virtual_router_id", "vrrp_instance.virtual_routes", "vrrp_instance.virtual_rules", "vrrp_instance.vmac_xmit_base", "vrrp_script.fall", "vrrp_script.init_fail", "vrrp_script.interval",
		"vrrp_script.rise", "vrrp_script.script", "vrrp_script.timeout", "vrrp_script.user", "vrrp_script.weight",
		"vrrp_sync_group.global_tracking", "vrrp_sync_group.group", "vrrp_sync_group.notify", "vrrp_sync_group.notify_backup", "vrrp_sync_group.notify_deleted",
		"vrrp_sync_group.notify_fault", "vrrp_sync_group.notify_master", "vrrp_sync_group.notify_priority_changes", "vrrp_sync_group.notify_stop",
		"vrrp_sync_group.sync_group_tracking_weight", "vrrp_sync_group.track_file", "vrrp_sync_group.track_interface",
		"vrrp_sync_group.track_process", "vrrp_sync_group.track_script",
		"vrrp_track_process.delay", "vrrp_track_process.fork_delay", "vrrp_track_process.full_command",
		"vrrp_track_process.param_match", "vrrp_track_process.process", "vrrp_track_process.quorum",
		"vrrp_track_process.quorum_max", "vrrp_track_process.terminate_delay", "vrrp_track_process.weight",
		// mail alerts and start/stop scripts (internal/mail, daemon/mail.go, daemon/lifecyclescripts.go)
		"global_defs.no_email_faults", "global_defs.notification_email", "global_defs.notification_email_from",
		"global_defs.shutdown_script", "global_defs.shutdown_script_timeout", "global_defs.smtp_alert", "global_defs.smtp_alert_vrrp",
		"global_defs.smtp_connect_timeout", "global_defs.smtp_helo_name", "global_defs.smtp_server",
		"global_defs.startup_script", "global_defs.startup_script_timeout", "vrrp_instance.smtp_alert", "vrrp_sync_group.smtp_alert",
		// process knobs (internal/procsched)
		"global_defs.max_auto_priority", "global_defs.min_auto_priority_delay", "global_defs.process_name", "global_defs.process_names",
		"global_defs.umask", "global_defs.vrrp_cpu_affinity", "global_defs.vrrp_no_swap", "global_defs.vrrp_priority",
		"global_defs.vrrp_process_name", "global_defs.vrrp_rlimit_rttime", "global_defs.vrrp_rt_priority",
		// GARP/NA pacing, vrrp_min_garp, garp_extra_if (vip/pacer.go, daemon/garpextra.go)
		"top.garp_group", "garp_group.garp_interval", "garp_group.gna_interval", "garp_group.interface", "garp_group.interfaces",
		"global_defs.vrrp_garp_interval", "global_defs.vrrp_gna_interval", "global_defs.vrrp_min_garp",
		"global_defs.vrrp_garp_extra_if", "vrrp_instance.garp_extra_if",
		// interface handling (daemon/ifaces_*.go, track/linkpoll.go)
		"top.interface_up_down_delays", "top.linkbeat_interfaces", "top.linkbeat_use_polling", "top.net_namespace", "vrrp_instance.linkbeat_use_polling", "global_defs.dynamic_interfaces",
		// netlink buffers (daemon/netlinkbufs.go, vip/netlinkbuf.go, track/netlinkbuf.go)
		"global_defs.vrrp_netlink_cmd_rcv_bufs", "global_defs.vrrp_netlink_cmd_rcv_bufs_force",
		"global_defs.vrrp_netlink_monitor_rcv_bufs", "global_defs.vrrp_netlink_monitor_rcv_bufs_force",
		// disable_local_igmp (daemon/igmp.go), nftables_ifindex (firewall), process connector buffer (track/process.go)
		"global_defs.disable_local_igmp", "global_defs.nftables_ifindex",
		"global_defs.process_monitor_rcv_bufs", "global_defs.process_monitor_rcv_bufs_force",
		// reload and configuration handling, pid files (kaconf/include.go, random.go, reloadcfg.go; daemon/reloadsched.go, configsave.go; cmd/govrrp/pidfile.go)
		"global_defs.config_save_dir", "global_defs.include_check", "global_defs.random_seed", "global_defs.reload_check_config",
		"global_defs.reload_file", "global_defs.reload_repeat", "global_defs.reload_time_file", "top.instance", "top.use_pid_dir",
		// VMACs of VIPs (daemon/vmac_addr.go)
		"global_defs.vmac_addr_prefix", "vrrp_instance.use_vmac_addr",
		// SNMP: VRRPV3-MIB and VRRP-MIB over AgentX (internal/snmp, daemon/snmp.go)
		"global_defs.enable_snmp_rfc", "global_defs.enable_snmp_vrrp", "global_defs.enable_snmp_keepalived", "global_defs.enable_snmp_rfcv2", "global_defs.enable_snmp_rfcv3", "global_defs.enable_traps", "global_defs.snmp_socket",
		// keepalived's D-Bus interface (internal/dbusapi, daemon/dbus.go)
		"global_defs.dbus_service_name", "global_defs.enable_dbus",
		// BFD sessions (internal/bfd) and track_bfd (kaconf/bfd.go, daemon/bfd.go)
		"top.bfd_instance", "bfd_instance.checker", "bfd_instance.hoplimit", "bfd_instance.idle_tx", "bfd_instance.max_hops",
		"bfd_instance.min_rx", "bfd_instance.min_tx", "bfd_instance.multiplier", "bfd_instance.neighbor_ip", "bfd_instance.neighbour_ip",
		"bfd_instance.passive", "bfd_instance.source_ip", "bfd_instance.ttl", "bfd_instance.vrrp", "bfd_instance.weight",
		"vrrp_instance.track_bfd", "vrrp_sync_group.track_bfd",
	}
	sort.Strings(want) // rows are added by several features; keep the list readable
	var got []string
	for _, k := range Keywords() {
		if k.Status == Supported {
			got = append(got, k.Block+"."+k.Name)
		}
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRegistryWellFormed(t *testing.T) {
	seen := map[string]bool{}
	var dups, undocumented []string
	for _, k := range Keywords() {
		key := k.Block + "." + k.Name
		if seen[key] {
			dups = append(dups, key)
		}
		seen[key] = true
		if k.Doc == "" {
			undocumented = append(undocumented, key)
		}
	}
	if diff := cmp.Diff([]string(nil), dups); diff != "" {
		t.Errorf("duplicate keywords (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), undocumented); diff != "" {
		t.Errorf("keywords without doc (-want +got):\n%s", diff)
	}
}

func TestMarkdownTable(t *testing.T) {
	md := MarkdownTable()
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	if diff := cmp.Diff(len(Keywords())+2, len(lines)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	tests := []string{
		"| Block | Keyword | Arguments | Status | Notes |",
		"| vrrp_instance | `priority` | <1..255> | Supported | priority (default 100; 255 with state MASTER when omitted) |",
		"| vrrp_instance | `state` | MASTER\\|BACKUP | Supported | initial state (default BACKUP) |",
		"| top | `virtual_server` | ... { } | Rejected | LVS virtual server: govrrp does not provide LVS (run with --vrrp) |",
	}
	for _, want := range tests {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("table lacks row %q", want)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"priority", "preempt_delay", "state", "advert_int"}
	tests := []struct{ word, want string }{
		{"priorty", "priority"},
		{"prioirty", "priority"},
		{"stat", "state"},
		{"advertint", "advert_int"},
		{"xyz", ""},
		{"s", ""},
		{strings.Repeat("p", 200), ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.word, names); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

// Keywords keepalived 2.2.7 reports as unknown (seen with keepalived -t)
// are ignored with a warning on their line, never refused as not acted on.
func TestUnknownIn227Ignored(t *testing.T) {
	for _, kw := range []string{"vrrp_garp_lower_prio_no_advert", "vrrp_garp_extra_if_vmac all 10"} {
		cfg, ds, err := buildSrc(t, "global_defs {\n    "+kw+"\n}\n"+instanceSrc("priority 100"), LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", kw, err)
		}
		if !hasDiagText(ds, "warning", "2", "keepalived 2.2.7 does not know this keyword") {
			t.Errorf("%s: no warning on line 2:\n%s", kw, diagLines(ds))
		}
		for _, u := range cfg.NotActedOn {
			t.Errorf("%s: %s listed as not acted on", kw, u.Name)
		}
	}
}

// Settings of keepalived's checker and BFD processes are checked as
// keepalived checks them, reported as notices, and never listed as not
// acted on: govrrp replaces only the VRRP process, which ignores them too.
func TestOtherProcessKeywordsIgnored(t *testing.T) {
	src := "global_defs {\n    lvs_flush\n    checker_priority 5\n    bfd_rt_priority 200\n}\n" + instanceSrc("lvs_sync_daemon_interface eth0")
	cfg, diags, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.NotActedOn) != 0 {
		t.Errorf("NotActedOn = %v, want none", cfg.NotActedOn)
	}
	var notices, rtWarn int
	for _, d := range diags {
		if d.Severity == SevNotice && strings.Contains(d.Msg, "govrrp does not replace") {
			notices++
		}
		if d.Pos.Line == 4 && d.Severity == SevWarning {
			rtWarn++ // bfd_rt_priority 200 is out of keepalived's range
		}
	}
	if notices != 4 {
		t.Errorf("%d notices naming the other process, want 4:\n%v", notices, diags)
	}
	if rtWarn == 0 {
		t.Errorf("bfd_rt_priority 200 not checked:\n%v", diags)
	}
	for _, k := range Keywords() {
		if k.Status == Ignored && k.Name == "lvs_flush" {
			return
		}
	}
	t.Error("lvs_flush is not listed as Ignored")
}

// Definitions come back in the order the files define them: file name,
// then line, then column (SNMP's table numbering and the keepalived dumps
// rely on it).
func TestInFileOrder(t *testing.T) {
	m := map[string]*Script{
		"c": {Name: "c", Pos: Pos{File: "b.conf", Line: 1, Col: 1}},
		"a": {Name: "a", Pos: Pos{File: "a.conf", Line: 9, Col: 1}},
		"b": {Name: "b", Pos: Pos{File: "a.conf", Line: 9, Col: 5}},
		"d": {Name: "d", Pos: Pos{File: "a.conf", Line: 2, Col: 7}},
	}
	var got []string
	for _, s := range InFileOrder(m, func(s *Script) Pos { return s.Pos }) {
		got = append(got, s.Name)
	}
	if want := []string{"d", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}
