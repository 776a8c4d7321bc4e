package fsm

import (
	"testing"
	"time"
)

// Make before break (ReleaseAfterTakeover): a stopped master resigns with
// priority 0 but keeps its VIPs in Releasing until the new master
// advertises, so the backup's Skew_Time is no outage for clients.

func releasingCfg(prio uint8) Config {
	cfg := v3cfg(prio)
	cfg.ReleaseVIPs = ReleaseAfterTakeover
	return cfg
}

// releasing returns a machine that was Master (advert timer gen 2) and was
// then stopped with ev; its release deadline has generation 3.
func releasing(cfg Config, ev Event) *Machine {
	m := master(cfg)
	run(m, ev)
	return m
}

func TestMakeBeforeBreak_ShutdownKeepsVIPs(t *testing.T) {
	v2 := releasingCfg(100)
	v2.Version = 2
	fast := releasingCfg(200)
	fast.AdverInt = 50 * time.Millisecond
	// 150 ms + (256-200)*50ms/256
	mdiFast := 150*time.Millisecond + 10937500*time.Nanosecond
	tests := []struct {
		name     string
		cfg      Config
		ev       Event
		wantWait time.Duration
	}{
		{"v3 1s: waits Master_Down_Interval", releasingCfg(100), Shutdown(), mdi100},
		{"v2 1s: v2 skew", v2, Shutdown(), mdi100},
		{"v3 50ms", fast, Shutdown(), mdiFast},
		{"budget shorter than the interval bounds the wait", releasingCfg(100), ShutdownWithin(2 * time.Second), 2 * time.Second},
		{"budget longer than the interval does not extend it", releasingCfg(100), ShutdownWithin(10 * time.Second), mdi100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := master(tt.cfg)
			want := []Action{
				send(0), stopT(TimerAdvert, 2), arm(TimerMasterDown, tt.wantWait, 3),
				changed(Master, Releasing, "shutdown: priority 0 sent; keeping the VIPs until a new master advertises (at most "+fmtDur(tt.wantWait)+")"),
			}
			if d := diff(want, run(m, tt.ev)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if m.State() != Releasing {
				t.Errorf("state = %v, want RELEASING", m.State())
			}
		})
	}
}

func TestMakeBeforeBreak_ReleaseEnds(t *testing.T) {
	tests := []struct {
		name string
		stop Event // how the master was stopped
		ev   Event
		want []Action
	}{
		{"the new master's advert", Shutdown(), Advert(100, time.Second, peerHi), []Action{
			stopT(TimerMasterDown, 3), rmVIPs,
			changed(Releasing, Initialize, "new master 192.0.2.12 advertised (prio 100); VIPs released"),
		}},
		{"a lower-priority new master is still the new master", Shutdown(), Advert(50, time.Second, peerLo), []Action{
			stopT(TimerMasterDown, 3), rmVIPs,
			changed(Releasing, Initialize, "new master 192.0.2.5 advertised (prio 50); VIPs released"),
		}},
		{"Master_Down_Interval with none", Shutdown(), TimerFired(TimerMasterDown, 3), []Action{
			rmVIPs, changed(Releasing, Initialize, "no new master advertised within 3.609s; VIPs released"),
		}},
		{"the budget with none", ShutdownWithin(time.Second), TimerFired(TimerMasterDown, 3), []Action{
			rmVIPs, changed(Releasing, Initialize, "stop budget of 1s spent before a new master advertised; VIPs released"),
		}},
		{"ReleaseNow", Shutdown(), ReleaseNow("daemon stop budget spent"), []Action{
			stopT(TimerMasterDown, 3), rmVIPs, changed(Releasing, Initialize, "daemon stop budget spent"),
		}},
		{"a fault: a node that cannot serve lets go", Shutdown(), FaultSet("eth0 down"), []Action{
			stopT(TimerMasterDown, 3), rmVIPs, changed(Releasing, Initialize, "fault while releasing: eth0 down; VIPs released"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := releasing(releasingCfg(100), tt.stop)
			if d := diff(tt.want, run(m, tt.ev)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if m.State() != Initialize {
				t.Errorf("state = %v, want INIT", m.State())
			}
			if g := m.TimerGen(TimerMasterDown); g != 0 {
				t.Errorf("master-down timer still pending (gen %d)", g)
			}
		})
	}
}

func TestMakeBeforeBreak_ReleasingIgnores(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
	}{
		{"priority 0 from another resigning master", Advert(0, time.Second, peerHi)},
		{"our own advert looped back", Advert(100, time.Second, self)},
		{"startup", Startup()},
		{"a second shutdown", Shutdown()},
		{"priority change", PriorityDelta(-50, "chk down")},
		{"fault cleared", FaultCleared("eth0 up")},
		{"stale advert timer", TimerFired(TimerAdvert, 2)},
		{"stale release deadline", TimerFired(TimerMasterDown, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := releasing(releasingCfg(100), Shutdown())
			if d := diff([]Action(nil), run(m, tt.ev)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if m.State() != Releasing || m.TimerGen(TimerMasterDown) != 3 {
				t.Errorf("state, deadline gen = %v, %d; want RELEASING, 3", m.State(), m.TimerGen(TimerMasterDown))
			}
		})
	}
}

// ReleaseNow outside Releasing, and Shutdown of anything but a master, do
// what they always did: the mode only changes a master's stop.
func TestMakeBeforeBreak_OnlyAStoppedMasterReleasesLater(t *testing.T) {
	tests := []struct {
		name  string
		setup []Event
		ev    Event
		want  []Action
	}{
		{"backup shutdown", []Event{Startup()}, Shutdown(), []Action{
			stopT(TimerMasterDown, 1), changed(Backup, Initialize, "shutdown"),
		}},
		{"fault shutdown", []Event{Startup(), FaultSet("eth0 down")}, Shutdown(), []Action{
			changed(Fault, Initialize, "shutdown"),
		}},
		{"master faults: VIPs go at once", []Event{Startup(), TimerFired(TimerMasterDown, 1)}, FaultSet("chk failed"), []Action{
			send(0), rmVIPs, stopT(TimerAdvert, 2), changed(Master, Fault, "fault: chk failed"),
		}},
		{"master yields to a better advert (a track lowered it): VIPs go at once", []Event{Startup(), TimerFired(TimerMasterDown, 1), PriorityDelta(-50, "chk")},
			Advert(100, time.Second, peerHi), []Action{
				stopT(TimerAdvert, 2), arm(TimerMasterDown, 3*time.Second+804687500*time.Nanosecond, 3), rmVIPs,
				changed(Master, Backup, "advert from 192.0.2.12 prio 100 > 50; effective priority 50: chk"),
			}},
		{"ReleaseNow as master", []Event{Startup(), TimerFired(TimerMasterDown, 1)}, ReleaseNow("x"), nil},
		{"ReleaseNow as backup", []Event{Startup()}, ReleaseNow("x"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(releasingCfg(100))
			run(m, tt.setup...)
			if d := diff(tt.want, run(m, tt.ev)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestMakeBeforeBreak_ImmediateModeIsTheRFCs(t *testing.T) {
	cfg := v3cfg(100)
	cfg.ReleaseVIPs = ReleaseImmediate
	m := master(cfg)
	want := []Action{send(0), rmVIPs, stopT(TimerAdvert, 2), changed(Master, Initialize, "shutdown")}
	if d := diff(want, run(m, ShutdownWithin(time.Second))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestReleaseStringers(t *testing.T) {
	got := []string{Releasing.String(), EvRelease.String(), ReleaseImmediate.String(), ReleaseAfterTakeover.String(), ReleaseMode(9).String()}
	want := []string{"RELEASING", "release", "immediate", "after-takeover", "unknown-release-mode"}
	if d := diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
