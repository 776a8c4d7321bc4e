package procsched

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/pkg/kaconf"
)

const (
	// DefaultRTTime is keepalived's RLIMIT_RTTIME hard limit (µs) when
	// vrrp_rlimit_rttime is not given; the soft limit is half of it.
	DefaultRTTime = 10000
	// DefaultMinAutoDelay is min_auto_priority_delay's default.
	DefaultMinAutoDelay = time.Second
	// SweepPeriod is how often new threads are given the settings and how
	// often lateness is sampled for the automatic priority.
	SweepPeriod = 100 * time.Millisecond
	// maxCPU is the highest CPU number unix.CPUSet can hold.
	maxCPU = 1023
	// commLen is TASK_COMM_LEN without its NUL.
	commLen = 15
)

// Settings are the process knobs the configuration asks for. The zero
// value asks for nothing: every thread keeps the start-up baseline.
type Settings struct {
	RTPriority   int    // SCHED_RR priority 1..99; 0 = none
	Nice         *int   // -20..19; nil = baseline (ignored with a real-time priority, as keepalived)
	CPUs         []int  // nil = baseline
	NoSwap       bool   // mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT)
	RTTime       uint64 // RLIMIT_RTTIME hard limit in µs when real-time; 0 = DefaultRTTime
	MaxAuto      int    // cap of the automatic priority; 0 = off
	MinAutoDelay time.Duration
	Comm         string  // thread names; "" = baseline
	Umask        *uint32 // nil = baseline
}

// FromConfig maps global_defs' process keywords to Settings.
func FromConfig(p kaconf.ProcessDefs) Settings {
	return Settings{
		RTPriority: p.RTPriority, Nice: p.Nice, CPUs: p.CPUAffinity, NoSwap: p.NoSwap,
		RTTime: p.RLimitRTTime, MaxAuto: p.MaxAutoPriority, MinAutoDelay: p.MinAutoPriorityDelay,
		Comm: p.Comm(), Umask: p.Umask,
	}
}

// ErrSettings wraps every invalid setting.
var ErrSettings = errors.New("procsched: invalid setting")

// validate refuses what the kernel interface cannot express, by keyword.
func (s Settings) validate() error {
	if s.RTPriority < 0 || s.RTPriority > 99 {
		return fmt.Errorf("%w: vrrp_rt_priority %d outside 1..99", ErrSettings, s.RTPriority)
	}
	if s.MaxAuto < 0 || s.MaxAuto > 99 {
		return fmt.Errorf("%w: max_auto_priority %d outside 0..99", ErrSettings, s.MaxAuto)
	}
	if s.Nice != nil && (*s.Nice < -20 || *s.Nice > 19) {
		return fmt.Errorf("%w: vrrp_priority %d outside -20..19", ErrSettings, *s.Nice)
	}
	if s.CPUs != nil && len(s.CPUs) == 0 {
		return fmt.Errorf("%w: vrrp_cpu_affinity without a CPU", ErrSettings)
	}
	for _, c := range s.CPUs {
		if c < 0 || c > maxCPU {
			return fmt.Errorf("%w: vrrp_cpu_affinity CPU %d: govrrp supports CPUs 0..%d", ErrSettings, c, maxCPU)
		}
	}
	if s.RTTime > 1<<32-1 {
		return fmt.Errorf("%w: vrrp_rlimit_rttime %d too large", ErrSettings, s.RTTime)
	}
	if len(s.Comm) > commLen {
		// keepalived truncates silently through prctl; say so instead.
		return fmt.Errorf("%w: process name %q longer than %d bytes (the kernel's comm limit)", ErrSettings, s.Comm, commLen)
	}
	return nil
}

// minAutoDelay is the lateness that raises the automatic priority.
func (s Settings) minAutoDelay() time.Duration {
	if s.MinAutoDelay > 0 {
		return s.MinAutoDelay
	}
	return DefaultMinAutoDelay
}

// rtLimit is RLIMIT_RTTIME while real-time: hard as configured, soft half
// of it (keepalived 2.2.7, observed: 10000 gives 5000/10000).
func (s Settings) rtLimit() unix.Rlimit {
	hard := s.RTTime
	if hard == 0 {
		hard = DefaultRTTime
	}
	return unix.Rlimit{Cur: hard / 2, Max: hard}
}

// threadAttr is what one thread should have.
type threadAttr struct {
	policy uint32 // unix.SCHED_NORMAL or unix.SCHED_RR
	prio   uint32 // real-time priority (0 for SCHED_OTHER)
	nice   int32
	cpus   unix.CPUSet
	comm   string
}

// baseline is the process as New found it: what Settings leave unset.
type baseline struct {
	thread threadAttr
	rttime unix.Rlimit
	umask  int
	// procsFromEnv: GOMAXPROCS was set by the operator, so the CPU set
	// does not resize it.
	procsFromEnv bool
}

// want is the thread state for s at real-time priority rt (rt is
// s.RTPriority, or higher after automatic raises).
func (b baseline) want(s Settings, rt int) threadAttr {
	w := b.thread
	if s.Nice != nil {
		w.nice = int32(*s.Nice)
	}
	if rt > 0 {
		w.policy, w.prio = unix.SCHED_RR, uint32(rt)
		w.nice = 0 // keepalived 2.2.7 (observed): vrrp_priority is not used with a real-time priority
	}
	if s.CPUs != nil {
		w.cpus.Zero()
		for _, c := range s.CPUs {
			w.cpus.Set(c)
		}
	}
	if s.Comm != "" {
		w.comm = s.Comm
	}
	return w
}

// nextAuto is the automatic priority after a wake-up late by late: one
// more, from SCHED_OTHER to SCHED_RR 1, never past the cap.
func nextAuto(cur int, s Settings, late time.Duration) (int, bool) {
	if s.MaxAuto == 0 || late <= s.minAutoDelay() || cur >= s.MaxAuto {
		return cur, false
	}
	return cur + 1, true
}
