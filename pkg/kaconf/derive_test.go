package kaconf

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// derived is the part of an Instance that derivation decides.
type derived struct {
	State        string
	Priority     uint8
	Version      uint8
	Family       uint8
	AdverInt     time.Duration
	Nopreempt    bool
	PreemptDelay time.Duration
	AuthType     string
	Tracks       string
}

func summarize(in *Instance) derived {
	return derived{in.State, in.Priority, in.Version, in.Family, in.AdverInt, in.Nopreempt, in.PreemptDelay, in.AuthType,
		trackSummary(in.TrackScripts) + "|" + trackSummary(in.TrackInterfaces)}
}

// Expected values were recorded from keepalived 2.2.7 (`keepalived -d`).
func TestDerivations(t *testing.T) {
	tests := []struct {
		name  string
		lines string // inside the instance, after interface/vrid
		vips  string
		want  derived
		warns []string
	}{
		{"defaults", "", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "|"}, nil},
		{"MASTER without priority is the owner", "state MASTER", "192.0.2.1",
			derived{State: "MASTER", Priority: 255, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "|"}, nil},
		{"MASTER with priority keeps it", "state MASTER\npriority 100", "192.0.2.1",
			derived{State: "MASTER", Priority: 100, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "|"}, nil},
		{"BACKUP with 255 stays BACKUP", "state BACKUP\npriority 255", "192.0.2.1",
			derived{State: "BACKUP", Priority: 255, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "|"}, nil},
		// keepalived 2.2.7 -d: Wantstate = MASTER (testdata/fallbacks/derive_owner_track).
		{"255 without state starts MASTER", "priority 255", "192.0.2.1",
			derived{State: "MASTER", Priority: 255, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "|"}, nil},
		{"nopreempt cleared for owner", "state MASTER\nnopreempt", "192.0.2.1",
			derived{State: "MASTER", Priority: 255, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "|"},
			[]string{"t.conf:1:1: warning: (VI) nopreempt is incompatible with priority 255; cleared"}},
		{"nopreempt cleared for MASTER", "state MASTER\npriority 100\nnopreempt", "192.0.2.1",
			derived{State: "MASTER", Priority: 100, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "|"},
			[]string{"t.conf:1:1: warning: (VI) nopreempt does not work with initial state MASTER; cleared"}},
		{"nopreempt kept for BACKUP, resets preempt_delay", "nopreempt\npreempt_delay 2", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 2, Family: 4, AdverInt: time.Second, Nopreempt: true, Tracks: "|"},
			[]string{"t.conf:1:1: warning: (VI) preempt_delay is incompatible with nopreempt; cleared"}},
		{"preempt_delay alone", "preempt_delay 2.5", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 2, Family: 4, AdverInt: time.Second, PreemptDelay: 2500 * time.Millisecond, Tracks: "|"}, nil},
		{"v2 advert_int rounds half up", "advert_int 2.5", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 2, Family: 4, AdverInt: 3 * time.Second, Tracks: "|"},
			[]string{"t.conf:1:1: warning: (VI) VRRPv2 advert_int 2.5s rounded to 3s"}},
		{"v2 advert_int minimum 1s", "advert_int 0.4", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "|"},
			[]string{"t.conf:1:1: warning: (VI) VRRPv2 advert_int 400ms rounded to 1s"}},
		{"v3 advert_int to centiseconds", "version 3\nadvert_int 0.125", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 3, Family: 4, AdverInt: 130 * time.Millisecond, Tracks: "|"},
			[]string{"t.conf:1:1: warning: (VI) VRRPv3 advert_int 125ms rounded to 130ms"}},
		{"v3 advert_int exact", "version 3\nadvert_int 0.05", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 3, Family: 4, AdverInt: 50 * time.Millisecond, Tracks: "|"}, nil},
		{"v3 advert_int clamped", "version 3\nadvert_int 41", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 3, Family: 4, AdverInt: 40950 * time.Millisecond, Tracks: "|"},
			[]string{"t.conf:1:1: warning: (VI) VRRPv3 advert_int 41s out of range; set to 40.95s"}},
		{"IPv6 VIP forces v3", "", "2001:db8::1",
			derived{State: "BACKUP", Priority: 100, Version: 3, Family: 6, AdverInt: time.Second, Tracks: "|"}, nil},
		{"IPv6 VIP overrides version 2", "version 2", "2001:db8::1",
			derived{State: "BACKUP", Priority: 100, Version: 3, Family: 6, AdverInt: time.Second, Tracks: "|"},
			[]string{"t.conf:1:1: warning: (VI) IPv6 instances use VRRPv3; version 2 ignored"}},
		{"v3 ignores authentication", "version 3\nauthentication {\nauth_type PASS\nauth_pass x\n}", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 3, Family: 4, AdverInt: time.Second, Tracks: "|"},
			[]string{"t.conf:1:1: warning: (VI) authentication is not used with VRRPv3; ignored"}},
		{"v2 keeps authentication", "authentication {\nauth_type PASS\nauth_pass x\n}", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 2, Family: 4, AdverInt: time.Second, AuthType: "PASS", Tracks: "|"}, nil},
		{"track weights default to the script's", "track_script {\ns_w\ns_w weight 3\ns_0\n}\ntrack_interface {\neth1\n}", "192.0.2.1",
			derived{State: "BACKUP", Priority: 100, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "s_w:-7:rev s_w:3:set s_0:0|eth1:0"}, nil},
		{"owner drops weighted tracks", "priority 255\ntrack_script {\ns_w\ns_0\n}\ntrack_interface {\neth1 weight 5\neth2\n}", "192.0.2.1",
			derived{State: "MASTER", Priority: 255, Version: 2, Family: 4, AdverInt: time.Second, Tracks: "s_0:0|eth2:0"},
			[]string{
				"t.conf:6:1: warning: (VI) ignoring tracked script s_w with weight -7: the address owner's priority cannot change",
				"t.conf:10:1: warning: (VI) ignoring tracked interface eth1 with weight 5: the address owner's priority cannot change",
			}},
	}
	scripts := "vrrp_script s_w {\nscript /bin/true\nweight -7 reverse\n}\nvrrp_script s_0 {\nscript /bin/true\n}\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "vrrp_instance VI {\ninterface eth0\nvirtual_router_id 1\n" + tt.lines + "\nvirtual_ipaddress {\n" + tt.vips + "\n}\n}\n" + scripts
			cfg, ds, err := buildSrc(t, src, LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if diff := cmp.Diff(tt.want, summarize(cfg.Instances[0])); diff != "" {
				t.Errorf("derived (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.warns, diagStrings(ds, SevWarning)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGlobalInheritance(t *testing.T) {
	src := `global_defs {
    vrrp_version 3
    vrrp_garp_master_repeat 2
    vrrp_garp_master_delay 7
    vrrp_garp_master_refresh 30
    vrrp_strict
    vmac_prefix vm
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    use_vmac
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    version 2
    garp_master_repeat 1
    garp_master_delay 0
    strict_mode off
    virtual_ipaddress {
        192.0.2.2
    }
}
`
	cfg, ds, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v %v", err, ds)
	}
	type inh struct {
		Version     uint8
		Repeat      int
		Delay       time.Duration
		Refresh     time.Duration
		LowerRepeat int
		LowerDelay  time.Duration
		Strict      bool
		VMAC        string
	}
	var got []inh
	for _, in := range cfg.Instances {
		got = append(got, inh{in.Version, in.GarpMasterRepeat, in.GarpMasterDelay, in.GarpMasterRefresh,
			in.GarpLowerPrioRepeat, in.GarpLowerPrioDelay, in.StrictMode, in.UseVMAC})
	}
	want := []inh{
		// vrrp_strict: no GARP burst after a lower-priority advert
		// (keepalived 2.2.7 -d, testdata/fallbacks/glob_strict).
		{3, 2, 7 * time.Second, 30 * time.Second, 0, 0, true, "vm.1"},
		{2, 1, 0, 30 * time.Second, 2, 7 * time.Second, false, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOrderFreeReferences(t *testing.T) {
	src := `vrrp_instance VI {
    interface eth0
    virtual_router_id 1
    track_script {
        later
    }
    track_file {
        tf
    }
    track_process {
        tp weight -3
    }
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_script later {
    script /bin/true
    weight 4
}
track_file tf {
    file /run/x
}
vrrp_track_process tp {
    process haproxy
}
`
	cfg, ds, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	wantNotices := []string{
		"t.conf:5:9: notice: (VI) vrrp_script \"later\" is defined after its use; govrrp resolves it, keepalived 2.2 would ignore it",
		"t.conf:8:9: notice: (VI) track_file \"tf\" is defined after its use; govrrp resolves it, keepalived 2.2 would ignore it",
		"t.conf:11:9: notice: (VI) vrrp_track_process \"tp\" is defined after its use; govrrp resolves it, keepalived 2.2 would ignore it",
	}
	if diff := cmp.Diff(wantNotices, diagStrings(ds, SevNotice)); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	in := cfg.Instances[0]
	got := trackSummary(in.TrackScripts) + " " + trackSummary(in.TrackFiles) + " " + trackSummary(in.TrackProcesses)
	if diff := cmp.Diff("later:4 tf:1 tp:-3:set", got); diff != "" {
		t.Errorf("tracks (-want +got):\n%s", diff)
	}
}

func TestUndefinedReferences(t *testing.T) {
	src := `vrrp_instance VI {
    interface eth0
    virtual_router_id 1
    track_script {
        nope
    }
    track_file {
        nofile
    }
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_sync_group G {
    group {
        VI
        ghost
    }
    track_process {
        noproc
    }
}
`
	// keepalived 2.2.7 ignores such entries ("track script nope not found,
	// ignoring..."): warnings, errors only with Strict.
	_, ds, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	want := []string{
		"t.conf:5:9: warning: (VI) vrrp_script \"nope\" is not defined; keepalived 2.2.7 and govrrp ignore the entry (nothing is tracked)",
		"t.conf:8:9: warning: (VI) track_file \"nofile\" is not defined; keepalived 2.2.7 and govrrp ignore the entry (nothing is tracked)",
		"t.conf:17:9: warning: vrrp_sync_group G: instance \"ghost\" does not exist; keepalived 2.2.7 and govrrp ignore the member",
		"t.conf:14:1: warning: vrrp_sync_group G has only 1 instance; a sync group is for several",
		"t.conf:20:9: warning: (G) vrrp_track_process \"noproc\" is not defined; keepalived 2.2.7 and govrrp ignore the entry (nothing is tracked)",
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Recorded with keepalived 2.2.7: "(VI) ignoring tracked script s with
// weights due to SYNC group" (the script is not used), "(VI) ignoring eth1
// tracked interface weight due to SYNC group" (and the weight still moves
// the priority: 150 -> 130 with weight -20 and the link down).
func TestSyncGroupMemberWeights(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		want  string
	}{
		{"weighted script dropped, interface kept", "", "|eth1:2:set"},
		{"sync_group_tracking_weight keeps", "sync_group_tracking_weight", "s:5|eth1:2:set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "vrrp_script s {\nscript /bin/true\nweight 5\n}\n" +
				"vrrp_sync_group G {\ngroup {\nVI\n}\n" + tt.extra + "\n}\n" +
				"vrrp_instance VI {\ninterface eth0\nvirtual_router_id 1\ntrack_script {\ns\n}\ntrack_interface {\neth1 weight 2\n}\nvirtual_ipaddress {\n192.0.2.1\n}\n}\n"
			cfg, _, err := buildSrc(t, src, LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			in := cfg.Instances[0]
			if diff := cmp.Diff(tt.want, trackSummary(in.TrackScripts)+"|"+trackSummary(in.TrackInterfaces)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Recorded with keepalived 2.2.7 -d: sync group members start in BACKUP
// unless every member is an address owner.
func TestSyncGroupInitialState(t *testing.T) {
	tests := []struct {
		name   string
		prioB  string
		states []string
	}{
		{"mixed priorities: all BACKUP", "priority 200", []string{"BACKUP", "BACKUP"}},
		{"all owners keep MASTER", "priority 255", []string{"MASTER", "MASTER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "vrrp_sync_group G {\ngroup {\nA\nB\n}\n}\n" +
				"vrrp_instance A {\nstate MASTER\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n192.0.2.10\n}\n}\n" +
				"vrrp_instance B {\nstate MASTER\ninterface eth0\nvirtual_router_id 2\n" + tt.prioB + "\nvirtual_ipaddress {\n192.0.2.11\n}\n}\n"
			cfg, _, err := buildSrc(t, src, LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			var got []string
			for _, in := range cfg.Instances {
				got = append(got, in.State)
			}
			if diff := cmp.Diff(tt.states, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// keepalived 2.2.7 keeps a member's weighted track_process (150 -> 140 with
// weight -10, no message) and drops a weighted track_file.
func TestSyncGroupMemberProcessAndFileWeights(t *testing.T) {
	src := "vrrp_track_process p {\nprocess nginx\nweight -10\n}\n" +
		"track_file f {\nfile /tmp/f\nweight -10\n}\n" +
		"vrrp_sync_group G {\ngroup {\nVI\n}\n}\n" +
		"vrrp_instance VI {\ninterface eth0\nvirtual_router_id 1\ntrack_process {\np\n}\ntrack_file {\nf\n}\nvirtual_ipaddress {\n192.0.2.1\n}\n}\n"
	cfg, _, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	in := cfg.Instances[0]
	if got := trackSummary(in.TrackProcesses) + "|" + trackSummary(in.TrackFiles); got != "p:-10|" {
		t.Errorf("process|file tracks = %q, want %q", got, "p:-10|")
	}
}
