package kaconf

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProcessDefs(t *testing.T) {
	ip := func(v int) *int { return &v }
	up := func(v uint32) *uint32 { return &v }
	tests := []struct {
		lines string
		want  ProcessDefs
		warns int // fallback warnings (keepalived 2.2.7 substitutes or ignores)
	}{
		{"vrrp_rt_priority 10\nvrrp_rlimit_rttime 30000", ProcessDefs{RTPriority: 10, RLimitRTTime: 30000}, 0},
		{"vrrp_rt_priority 150", ProcessDefs{RTPriority: 99}, 1}, // keepalived: "greater than the maximum 99", uses 99
		{"vrrp_rt_priority 0", ProcessDefs{}, 1},
		{"vrrp_priority -5", ProcessDefs{Nice: ip(-5)}, 0},
		{"vrrp_priority 25", ProcessDefs{}, 1},
		{"vrrp_cpu_affinity 0 1", ProcessDefs{CPUAffinity: []int{0, 1}}, 0},
		{"vrrp_cpu_affinity 0 x", ProcessDefs{}, 1},
		{"vrrp_no_swap", ProcessDefs{NoSwap: true}, 0},
		{"max_auto_priority", ProcessDefs{MaxAutoPriority: 99}, 0},
		{"max_auto_priority 20\nmin_auto_priority_delay 5000", ProcessDefs{MaxAutoPriority: 20, MinAutoPriorityDelay: 5 * time.Millisecond}, 0},
		{"max_auto_priority -1", ProcessDefs{}, 0},
		{"vrrp_process_name myvrrp\nprocess_name lb", ProcessDefs{VRRPProcessName: "myvrrp", ProcessName: "lb"}, 0},
		{"process_names", ProcessDefs{ProcessNames: true}, 0},
		{"vrrp_process_name a_name_longer_than_15", ProcessDefs{VRRPProcessName: "a_name_longer_t"}, 1}, // the kernel keeps 15 bytes
		{"umask 077", ProcessDefs{Umask: up(0o77)}, 0},
		{"umask 0x12", ProcessDefs{Umask: up(0x12)}, 0},
		{"umask IWGRP|IWOTH", ProcessDefs{Umask: up(0o22)}, 0},
		{"umask IWGRP | IROTH", ProcessDefs{Umask: up(0o24)}, 0},
		{"umask IWGRP|INOPE", ProcessDefs{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.lines, func(t *testing.T) {
			cfg, diags, err := buildSrc(t, "global_defs {\n"+tt.lines+"\n}\n", LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if diff := cmp.Diff(tt.want, cfg.Global.Process); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got := len(diagStrings(diags, SevWarning)); got != tt.warns {
				t.Errorf("%d warnings, want %d: %v", got, tt.warns, diagStrings(diags, SevWarning))
			}
		})
	}
}

// TestProcessComm: govrrp is one process; its name is the VRRP process's.
func TestProcessComm(t *testing.T) {
	for _, tt := range []struct {
		p    ProcessDefs
		want string
	}{
		{ProcessDefs{}, ""},
		{ProcessDefs{ProcessNames: true}, "keepalived_vrrp"},
		{ProcessDefs{ProcessName: "lb1", ProcessNames: true}, "lb1"}, // keepalived's child inherits the parent's name
		{ProcessDefs{ProcessName: "lb1", VRRPProcessName: "lb1_vrrp"}, "lb1_vrrp"},
	} {
		if got := tt.p.Comm(); got != tt.want {
			t.Errorf("%+v.Comm() = %q, want %q", tt.p, got, tt.want)
		}
	}
}
