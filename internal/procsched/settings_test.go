package procsched

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/pkg/kaconf"
)

func intp(v int) *int { return &v }

func cpus(ids ...int) unix.CPUSet {
	var s unix.CPUSet
	for _, c := range ids {
		s.Set(c)
	}
	return s
}

func TestWant(t *testing.T) {
	base := baseline{thread: threadAttr{policy: unix.SCHED_NORMAL, nice: 2, cpus: cpus(0, 1), comm: "govrrp"}}
	tests := []struct {
		name string
		s    Settings
		rt   int
		want threadAttr
	}{
		{"nothing set keeps the baseline", Settings{}, 0, base.thread},
		{"nice", Settings{Nice: intp(-5)}, 0, threadAttr{policy: unix.SCHED_NORMAL, nice: -5, cpus: cpus(0, 1), comm: "govrrp"}},
		// keepalived 2.2.7 (observed): vrrp_priority -5 with vrrp_rt_priority 10 leaves nice 0.
		{"real-time drops nice", Settings{RTPriority: 10, Nice: intp(-5)}, 10, threadAttr{policy: unix.SCHED_RR, prio: 10, cpus: cpus(0, 1), comm: "govrrp"}},
		{"raised priority", Settings{RTPriority: 10, MaxAuto: 20}, 12, threadAttr{policy: unix.SCHED_RR, prio: 12, nice: 0, cpus: cpus(0, 1), comm: "govrrp"}},
		{"affinity and name", Settings{CPUs: []int{1}, Comm: "myvrrp"}, 0, threadAttr{policy: unix.SCHED_NORMAL, nice: 2, cpus: cpus(1), comm: "myvrrp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := base.want(tt.s, tt.rt)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(threadAttr{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestNextAuto: one step per late wake-up, from SCHED_OTHER (0) to 1, up to
// max_auto_priority, only when later than min_auto_priority_delay
// (keepalived 2.2.7, observed: "Set realtime priority 1", then 2; from
// vrrp_rt_priority 10: 11).
func TestNextAuto(t *testing.T) {
	tests := []struct {
		name   string
		cur    int
		s      Settings
		late   time.Duration
		want   int
		raised bool
	}{
		{"off by default", 0, Settings{}, time.Hour, 0, false},
		{"first raise switches to RR 1", 0, Settings{MaxAuto: 20}, 1500 * time.Millisecond, 1, true},
		{"default delay is 1 s", 0, Settings{MaxAuto: 20}, time.Second, 0, false},
		{"from vrrp_rt_priority", 10, Settings{RTPriority: 10, MaxAuto: 20, MinAutoDelay: 100 * time.Millisecond}, 101 * time.Millisecond, 11, true},
		{"not late enough", 10, Settings{RTPriority: 10, MaxAuto: 20, MinAutoDelay: 100 * time.Millisecond}, 100 * time.Millisecond, 10, false},
		{"capped", 20, Settings{MaxAuto: 20, MinAutoDelay: time.Microsecond}, time.Second, 20, false},
		{"cap below the configured priority", 30, Settings{RTPriority: 30, MaxAuto: 20}, time.Hour, 30, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, raised := nextAuto(tt.cur, tt.s, tt.late)
			if got != tt.want || raised != tt.raised {
				t.Errorf("nextAuto(%d, %v) = %d, %v; want %d, %v", tt.cur, tt.late, got, raised, tt.want, tt.raised)
			}
		})
	}
}

// TestRTLimit: keepalived 2.2.7 (observed in /proc/PID/limits): default
// 5000/10000 µs, vrrp_rlimit_rttime 30000 gives 15000/30000.
func TestRTLimit(t *testing.T) {
	for _, tt := range []struct {
		in        uint64
		cur, hard uint64
	}{{0, 5000, 10000}, {30000, 15000, 30000}, {2, 1, 2}} {
		got := Settings{RTTime: tt.in}.rtLimit()
		if got.Cur != tt.cur || got.Max != tt.hard {
			t.Errorf("rtLimit(%d) = %d/%d, want %d/%d", tt.in, got.Cur, got.Max, tt.cur, tt.hard)
		}
	}
}

func TestValidateRefusesByName(t *testing.T) {
	for _, tt := range []struct {
		s    Settings
		want string
	}{
		{Settings{CPUs: []int{2048}}, "vrrp_cpu_affinity"},
		{Settings{RTPriority: 100}, "vrrp_rt_priority"},
		{Settings{Nice: intp(20)}, "vrrp_priority"},
		{Settings{MaxAuto: 100}, "max_auto_priority"},
		{Settings{Comm: "a-name-longer-than-15"}, "process name"},
	} {
		err := tt.s.validate()
		if !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("validate(%+v) = %v, want an ErrSettings naming %s", tt.s, err, tt.want)
		}
	}
	if err := (Settings{RTPriority: 99, CPUs: []int{0, 1023}, Comm: "fifteen-bytes-x"}).validate(); err != nil {
		t.Errorf("valid settings refused: %v", err)
	}
}

func TestFromConfig(t *testing.T) {
	u := uint32(0o27)
	p := kaconf.ProcessDefs{RTPriority: 5, Nice: intp(3), CPUAffinity: []int{1}, NoSwap: true, RLimitRTTime: 20000,
		MaxAutoPriority: 9, MinAutoPriorityDelay: time.Millisecond, ProcessName: "lb", Umask: &u}
	want := Settings{RTPriority: 5, Nice: intp(3), CPUs: []int{1}, NoSwap: true, RTTime: 20000, MaxAuto: 9,
		MinAutoDelay: time.Millisecond, Comm: "lb", Umask: &u}
	if diff := cmp.Diff(want, FromConfig(p)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
