package fsm

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	self   = netip.MustParseAddr("192.0.2.10")
	peerHi = netip.MustParseAddr("192.0.2.12") // higher address than self
	peerLo = netip.MustParseAddr("192.0.2.5")  // lower address than self
)

// mdi100 is Master_Down_Interval for priority 100 with a 1 s interval:
// 3 s + 156/256 s.
const mdi100 = 3*time.Second + 609375*time.Microsecond

// diff is cmp.Diff treating nil and empty action lists alike.
// netip.Addr is compared by value.
func diff(want, got any) string {
	return cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Addr{}))
}

func v3cfg(prio uint8) Config {
	return Config{Version: 3, Priority: prio, AdverInt: time.Second, Preempt: true, PrimaryAddr: self}
}

// run feeds evs to m and returns only the actions of the last one.
func run(m *Machine, evs ...Event) []Action {
	var out []Action
	for _, ev := range evs {
		out = m.Handle(ev, out[:0])
	}
	return out
}

func arm(t TimerKind, after time.Duration, gen uint64) Action {
	return Action{Kind: ActArmTimer, Timer: t, After: after, Gen: gen}
}

func stopT(t TimerKind, gen uint64) Action { return Action{Kind: ActStopTimer, Timer: t, Gen: gen} }

func send(prio uint8) Action { return Action{Kind: ActSendAdvert, Priority: prio} }

func changed(from, to State, reason string) Action {
	return Action{Kind: ActStateChanged, From: from, To: to, Reason: reason}
}

var (
	addVIPs  = Action{Kind: ActAddVIPs}
	rmVIPs   = Action{Kind: ActRemoveVIPs}
	announce = Action{Kind: ActAnnounce}
)

func TestRFC5798_6_1_SkewTimeAndMasterDownInterval(t *testing.T) {
	tests := []struct {
		name     string
		prio     uint8
		mai      time.Duration
		wantSkew time.Duration
		wantMDI  time.Duration
	}{
		{"prio 100, 1s", 100, time.Second, 609375 * time.Microsecond, mdi100},
		{"owner, 1s", 255, time.Second, 3906250 * time.Nanosecond, 3*time.Second + 3906250*time.Nanosecond},
		{"prio 1, 1s", 1, time.Second, 996093750 * time.Nanosecond, 3*time.Second + 996093750*time.Nanosecond},
		// multiply before dividing: 156*10ms/256 keeps the sub-millisecond part
		{"prio 100, 10ms", 100, 10 * time.Millisecond, 6093750 * time.Nanosecond, 30*time.Millisecond + 6093750*time.Nanosecond},
		{"prio 254, 40.95s", 254, 40950 * time.Millisecond, 319921875 * time.Nanosecond, 3*40950*time.Millisecond + 319921875*time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []time.Duration{SkewTime(tt.prio, tt.mai), MasterDownInterval(tt.prio, tt.mai)}
			if d := diff([]time.Duration{tt.wantSkew, tt.wantMDI}, got); d != "" {
				t.Errorf("skew, MDI (-want +got):\n%s", d)
			}
		})
	}
}

func TestRFC3768_6_1_V2SkewInSecondsIndependentOfInterval(t *testing.T) {
	m := New(Config{Version: 2, Priority: 100, AdverInt: 3 * time.Second, Preempt: true, PrimaryAddr: self})
	want := []Action{
		arm(TimerMasterDown, 9*time.Second+609375*time.Microsecond, 1),
		changed(Initialize, Backup, "startup, waiting 9.609s for a master"),
	}
	if d := diff(want, run(m, Startup())); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestRFC5798_6_4_1_StartupOwnerBecomesMasterAtOnce(t *testing.T) {
	for _, wantMaster := range []bool{true} {
		cfg := v3cfg(255)
		cfg.WantMaster = wantMaster
		m := New(cfg)
		want := []Action{
			addVIPs, send(255), announce, arm(TimerAdvert, time.Second, 1),
			changed(Initialize, Master, "startup as address owner (priority 255)"),
		}
		if d := diff(want, run(m, Startup())); d != "" {
			t.Errorf("WantMaster=%v (-want +got):\n%s", wantMaster, d)
		}
		if got := m.MasterAddr(); got != self {
			t.Errorf("MasterAddr = %v, want %v", got, self)
		}
	}
}

func TestRFC5798_6_4_1_StartupNonOwnerWaitsInBackup(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []Action
	}{
		{"v3 prio 100", v3cfg(100), []Action{
			arm(TimerMasterDown, mdi100, 1), changed(Initialize, Backup, "startup, waiting 3.609s for a master"),
		}},
		{"v3 state MASTER without owner still waits", func() Config { c := v3cfg(100); c.WantMaster = true; return c }(), []Action{
			arm(TimerMasterDown, mdi100, 1), changed(Initialize, Backup, "startup, waiting 3.609s for a master"),
		}},
		{"keepalived: owner with state BACKUP waits too", v3cfg(255), []Action{
			arm(TimerMasterDown, 3*time.Second+3906250*time.Nanosecond, 1), changed(Initialize, Backup, "startup, waiting 3.004s for a master"),
		}},
		{"v2 whole seconds: 1.7s -> 1s", Config{Version: 2, Priority: 100, AdverInt: 1700 * time.Millisecond, PrimaryAddr: self}, []Action{
			arm(TimerMasterDown, mdi100, 1), changed(Initialize, Backup, "startup, waiting 3.609s for a master"),
		}},
		{"v3 centiseconds: 15ms -> 10ms", Config{Version: 3, Priority: 100, AdverInt: 15 * time.Millisecond, PrimaryAddr: self}, []Action{
			arm(TimerMasterDown, 36093750*time.Nanosecond, 1), changed(Initialize, Backup, "startup, waiting 36ms for a master"),
		}},
		{"preempt_delay arms its timer", func() Config { c := v3cfg(100); c.PreemptDelay = 5 * time.Second; return c }(), []Action{
			arm(TimerMasterDown, mdi100, 1), arm(TimerPreemptDelay, 5*time.Second, 2),
			changed(Initialize, Backup, "startup, waiting 3.609s for a master"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := diff(tt.want, run(New(tt.cfg), Startup())); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestRFC5798_6_4_2_BackupPriorityZeroArmsSkew(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want time.Duration
	}{
		{"v3 learned 2s", v3cfg(100), 2 * 609375 * time.Microsecond},
		{"v2 seconds", Config{Version: 2, Priority: 100, AdverInt: 2 * time.Second, PrimaryAddr: self}, 609375 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.cfg)
			// first advert teaches v3 MAI = 2s, then the master resigns
			got := run(m, Startup(), Advert(200, 2*time.Second, peerHi), Advert(0, 2*time.Second, peerHi))
			if d := diff([]Action{arm(TimerMasterDown, tt.want, 3)}, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			want := []Action{
				addVIPs, send(100), announce, arm(TimerAdvert, tt.cfg.AdverInt, 4),
				changed(Backup, Master, "master down timer expired (master 192.0.2.12 resigned with priority 0, skew "+fmtDur(tt.want)+")"),
			}
			if d := diff(want, run(m, TimerFired(TimerMasterDown, 3))); d != "" {
				t.Errorf("expiry (-want +got):\n%s", d)
			}
		})
	}
}

func TestRFC5798_6_4_2_BackupAdvertHandling(t *testing.T) {
	tests := []struct {
		name    string
		preempt bool
		prio    uint8
		want    []Action
		master  netip.Addr
	}{
		{"higher priority resets timer", true, 150, []Action{arm(TimerMasterDown, mdi100, 2)}, peerHi},
		{"equal priority resets timer", true, 100, []Action{arm(TimerMasterDown, mdi100, 2)}, peerHi},
		{"lower priority with preempt is ignored", true, 50, nil, netip.Addr{}},
		{"lower priority with nopreempt resets timer", false, 50, []Action{arm(TimerMasterDown, mdi100, 2)}, peerHi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := v3cfg(100)
			cfg.Preempt = tt.preempt
			m := New(cfg)
			if d := diff(tt.want, run(m, Startup(), Advert(tt.prio, time.Second, peerHi))); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if m.MasterAddr() != tt.master {
				t.Errorf("MasterAddr = %v, want %v", m.MasterAddr(), tt.master)
			}
			if m.State() != Backup {
				t.Errorf("state = %v, want BACKUP", m.State())
			}
		})
	}
}

func TestRFC5798_6_4_2_V3BackupLearnsMasterAdverInterval(t *testing.T) {
	tests := []struct {
		name    string
		version uint8
		advInt  time.Duration
		wantMAI time.Duration
		wantArm time.Duration
	}{
		{"v3 learns 2s", 3, 2 * time.Second, 2 * time.Second, 2 * mdi100},
		{"v3 learns 50ms", 3, 50 * time.Millisecond, 50 * time.Millisecond, mdi100 / 20},
		{"v3 ignores zero interval", 3, 0, time.Second, mdi100},
		{"v2 never learns", 2, 2 * time.Second, time.Second, mdi100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(Config{Version: tt.version, Priority: 100, AdverInt: time.Second, Preempt: true, PrimaryAddr: self})
			got := run(m, Startup(), Advert(200, tt.advInt, peerHi))
			if d := diff([]Action{arm(TimerMasterDown, tt.wantArm, 2)}, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if m.MasterAdverInt() != tt.wantMAI {
				t.Errorf("MasterAdverInt = %v, want %v", m.MasterAdverInt(), tt.wantMAI)
			}
		})
	}
}

func TestRFC5798_6_4_2_MasterDownExpiryBecomesMaster(t *testing.T) {
	m := New(v3cfg(100))
	want := []Action{
		addVIPs, send(100), announce, arm(TimerAdvert, time.Second, 2),
		changed(Backup, Master, "master down timer expired (no advert for 3.609s)"),
	}
	if d := diff(want, run(m, Startup(), TimerFired(TimerMasterDown, 1))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if m.MasterAddr() != self || m.MasterAdverInt() != time.Second {
		t.Errorf("MasterAddr, MAI = %v, %v; want %v, 1s", m.MasterAddr(), m.MasterAdverInt(), self)
	}
	// The advert timer then keeps advertising.
	if d := diff([]Action{send(100), arm(TimerAdvert, time.Second, 3)}, run(m, TimerFired(TimerAdvert, 2))); d != "" {
		t.Errorf("tick (-want +got):\n%s", d)
	}
}

// master returns a v3 machine that became Master through master-down expiry;
// its advert timer has generation 2.
func master(cfg Config) *Machine {
	m := New(cfg)
	run(m, Startup(), TimerFired(TimerMasterDown, 1))
	return m
}

func TestRFC5798_6_4_3_MasterAdvertHandling(t *testing.T) {
	readvert := []Action{send(100), arm(TimerAdvert, time.Second, 3)}
	tests := []struct {
		name      string
		ev        Event
		want      []Action
		wantState State
	}{
		{"priority 0: advertise at once", Advert(0, time.Second, peerHi), readvert, Master},
		{"higher priority: yield", Advert(150, 2*time.Second, peerLo), []Action{
			stopT(TimerAdvert, 2), arm(TimerMasterDown, 2*mdi100, 3), rmVIPs,
			changed(Master, Backup, "advert from 192.0.2.5 prio 150 > 100"),
		}, Backup},
		{"equal priority, higher address: yield", Advert(100, time.Second, peerHi), []Action{
			stopT(TimerAdvert, 2), arm(TimerMasterDown, mdi100, 3), rmVIPs,
			changed(Master, Backup, "advert from 192.0.2.12 prio 100 = 100, higher address than 192.0.2.10"),
		}, Backup},
		{"equal priority, lower address: re-advertise", Advert(100, time.Second, peerLo), readvert, Master},
		{"RFC 9568 lower priority: re-advertise at once (and tell notify_master_rx_lower_pri)", Advert(50, time.Second, peerHi),
			append(readvert[:len(readvert):len(readvert)], Action{Kind: ActRxLowerPriority, Priority: 50}), Master},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := master(v3cfg(100))
			if d := diff(tt.want, run(m, tt.ev)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if m.State() != tt.wantState {
				t.Errorf("state = %v, want %v", m.State(), tt.wantState)
			}
		})
	}
}

func TestRFC5798_6_4_3_AddressOwnerStaysMaster(t *testing.T) {
	for _, ev := range []Event{Advert(254, time.Second, peerHi), Advert(255, time.Second, peerHi), Advert(1, time.Second, peerLo)} {
		cfg := v3cfg(255)
		cfg.WantMaster = true // state MASTER: starts as master at once
		m := New(cfg)
		got := run(m, Startup(), ev)
		want := []Action{send(255), arm(TimerAdvert, time.Second, 2)}
		if ev.Priority < 255 {
			want = append(want, Action{Kind: ActRxLowerPriority, Priority: ev.Priority})
		}
		if d := diff(want, got); d != "" {
			t.Errorf("advert prio %d (-want +got):\n%s", ev.Priority, d)
		}
		if m.State() != Master {
			t.Errorf("advert prio %d: state = %v, want MASTER", ev.Priority, m.State())
		}
	}
}

func TestRFC5798_6_4_ShutdownSendsPriorityZeroOnlyFromMaster(t *testing.T) {
	tests := []struct {
		name  string
		setup []Event
		want  []Action
	}{
		{"master", []Event{Startup(), TimerFired(TimerMasterDown, 1)}, []Action{
			send(0), rmVIPs, stopT(TimerAdvert, 2), changed(Master, Initialize, "shutdown"),
		}},
		{"backup", []Event{Startup()}, []Action{
			stopT(TimerMasterDown, 1), changed(Backup, Initialize, "shutdown"),
		}},
		{"fault", []Event{Startup(), FaultSet("eth0 down")}, []Action{
			changed(Fault, Initialize, "shutdown"),
		}},
		{"initialize", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(v3cfg(100))
			run(m, tt.setup...)
			if d := diff(tt.want, run(m, Shutdown())); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if m.State() != Initialize {
				t.Errorf("state = %v, want INIT", m.State())
			}
		})
	}
}

func TestKeepalived_FaultStateMachine(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		evs  []Event
		want []Action
		end  State
	}{
		{"master faults with priority 0", v3cfg(100), []Event{Startup(), TimerFired(TimerMasterDown, 1), FaultSet("eth0 down")}, []Action{
			send(0), rmVIPs, stopT(TimerAdvert, 2), changed(Master, Fault, "fault: eth0 down"),
		}, Fault},
		{"backup faults silently", v3cfg(100), []Event{Startup(), FaultSet("eth0 down")}, []Action{
			stopT(TimerMasterDown, 1), changed(Backup, Fault, "fault: eth0 down"),
		}, Fault},
		{"fault ignores adverts", v3cfg(100), []Event{Startup(), FaultSet("x"), Advert(0, time.Second, peerHi)}, nil, Fault},
		{"fault ignores stale timers", v3cfg(100), []Event{Startup(), FaultSet("x"), TimerFired(TimerMasterDown, 1)}, nil, Fault},
		{"second fault set is quiet", v3cfg(100), []Event{Startup(), FaultSet("x"), FaultSet("y")}, nil, Fault},
		{"cleared -> backup", v3cfg(100), []Event{Startup(), FaultSet("x"), FaultCleared("eth0 up")}, []Action{
			arm(TimerMasterDown, mdi100, 2), changed(Fault, Backup, "fault cleared: eth0 up"),
		}, Backup},
		{"owner cleared -> master", v3cfg(255), []Event{Startup(), FaultSet("x"), FaultCleared("eth0 up")}, []Action{
			addVIPs, send(255), announce, arm(TimerAdvert, time.Second, 2),
			changed(Fault, Master, "fault cleared: eth0 up; address owner"),
		}, Master},
		{"fault before startup", v3cfg(100), []Event{FaultSet("eth0 down"), Startup()}, []Action{
			changed(Initialize, Fault, "fault: eth0 down"),
		}, Fault},
		{"fault set and cleared before startup", v3cfg(100), []Event{FaultSet("x"), FaultCleared("y"), Startup()}, []Action{
			arm(TimerMasterDown, mdi100, 1), changed(Initialize, Backup, "startup, waiting 3.609s for a master"),
		}, Backup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.cfg)
			if d := diff(tt.want, run(m, tt.evs...)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if m.State() != tt.end {
				t.Errorf("state = %v, want %v", m.State(), tt.end)
			}
		})
	}
}

func TestRFC5798_5_2_4_EffectivePriorityClamp(t *testing.T) {
	tests := []struct {
		base  uint8
		delta int
		want  uint8
	}{
		{100, 0, 100},
		{100, 20, 120},
		{100, -30, 70},
		{100, 500, 254},
		{100, -500, 1},
		{254, 1, 254},
		{1, -1, 1},
		{255, -50, 255}, // owner ignores weights
		{0, 0, 1},       // invalid base treated as 1
	}
	for _, tt := range tests {
		m := New(Config{Version: 3, Priority: tt.base, AdverInt: time.Second})
		run(m, PriorityDelta(tt.delta, "w"))
		if got := m.EffectivePriority(); got != tt.want {
			t.Errorf("base %d delta %d: EffectivePriority = %d, want %d", tt.base, tt.delta, got, tt.want)
		}
	}
}

func TestRFC5798_6_4_3_PriorityChangeAdvertisedAtNextTick(t *testing.T) {
	m := master(v3cfg(100))
	if got := run(m, PriorityDelta(-30, "check_nginx failed")); len(got) != 0 {
		t.Errorf("priority change emitted %v, want nothing until the tick", got)
	}
	if d := diff([]Action{send(70), arm(TimerAdvert, time.Second, 3)}, run(m, TimerFired(TimerAdvert, 2))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// A peer at 80 now wins, and the reason says why we were lower.
	want := []Action{
		stopT(TimerAdvert, 3), arm(TimerMasterDown, 3*time.Second+SkewTime(70, time.Second), 4), rmVIPs,
		changed(Master, Backup, "advert from 192.0.2.5 prio 80 > 70; effective priority 70: check_nginx failed"),
	}
	if d := diff(want, run(m, Advert(80, time.Second, peerLo))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestRFC5798_6_4_2_PriorityChangeInBackupMattersAtNextAdvert(t *testing.T) {
	m := New(v3cfg(100))
	run(m, Startup(), Advert(120, time.Second, peerHi)) // accepted
	run(m, PriorityDelta(30, "ping ok"))                // now 130 > 120
	if got := run(m, Advert(120, time.Second, peerHi)); len(got) != 0 {
		t.Errorf("advert after priority rise = %v, want ignored (preempt)", got)
	}
	want := []Action{
		addVIPs, send(130), announce, arm(TimerAdvert, time.Second, 3),
		changed(Backup, Master, "preempting lower-priority master 192.0.2.12 (prio 120 < 130); effective priority 130: ping ok"),
	}
	if d := diff(want, run(m, TimerFired(TimerMasterDown, 2))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestKeepalived_NopreemptHigherBackupDoesNotTakeOver(t *testing.T) {
	cfg := v3cfg(200)
	cfg.Preempt = false
	m := New(cfg)
	run(m, Startup())
	for i := range 5 {
		got := run(m, Advert(50, time.Second, peerLo))
		if d := diff([]Action{arm(TimerMasterDown, MasterDownInterval(200, time.Second), uint64(i+2))}, got); d != "" {
			t.Fatalf("advert %d (-want +got):\n%s", i, d)
		}
	}
	if m.State() != Backup || m.MasterAddr() != peerLo {
		t.Errorf("state, master = %v, %v; want BACKUP, %v", m.State(), m.MasterAddr(), peerLo)
	}
}

func TestKeepalived_PreemptDelayHoldsOffPreemption(t *testing.T) {
	cfg := v3cfg(200)
	cfg.PreemptDelay = 10 * time.Second
	m := New(cfg)
	run(m, Startup()) // gens: master-down 1, preempt-delay 2
	mdi := MasterDownInterval(200, time.Second)
	steps := []struct {
		name string
		ev   Event
		want []Action
	}{
		{"lower advert during hold is accepted", Advert(50, time.Second, peerLo), []Action{arm(TimerMasterDown, mdi, 3)}},
		{"hold ends", TimerFired(TimerPreemptDelay, 2), nil},
		{"lower advert after hold is ignored", Advert(50, time.Second, peerLo), nil},
		{"then master-down preempts", TimerFired(TimerMasterDown, 3), []Action{
			addVIPs, send(200), announce, arm(TimerAdvert, time.Second, 4),
			changed(Backup, Master, "preempting lower-priority master 192.0.2.5 (prio 50 < 200)"),
		}},
	}
	for _, st := range steps {
		if d := diff(st.want, run(m, st.ev)); d != "" {
			t.Fatalf("%s (-want +got):\n%s", st.name, d)
		}
	}
}

func TestKeepalived_PreemptDelayEndsWhenMasterDownFiresFirst(t *testing.T) {
	cfg := v3cfg(200)
	cfg.PreemptDelay = 10 * time.Second
	m := New(cfg)
	want := []Action{
		stopT(TimerPreemptDelay, 2), addVIPs, send(200), announce, arm(TimerAdvert, time.Second, 3),
		changed(Backup, Master, "master down timer expired (no advert for 3.219s)"),
	}
	if d := diff(want, run(m, Startup(), TimerFired(TimerMasterDown, 1))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestRFC5798_6_4_StaleTimerGenerationIgnored(t *testing.T) {
	tests := []struct {
		name string
		evs  []Event
	}{
		{"master-down re-armed by an advert", []Event{Startup(), Advert(150, time.Second, peerHi), TimerFired(TimerMasterDown, 1)}},
		{"advert timer re-armed by a re-advert", []Event{Startup(), TimerFired(TimerMasterDown, 1), Advert(50, time.Second, peerHi), TimerFired(TimerAdvert, 2)}},
		{"advert timer stopped on yield", []Event{Startup(), TimerFired(TimerMasterDown, 1), Advert(150, time.Second, peerHi), TimerFired(TimerAdvert, 2)}},
		{"timer fired twice", []Event{Startup(), TimerFired(TimerMasterDown, 1), TimerFired(TimerMasterDown, 1)}},
		{"generation zero", []Event{Startup(), TimerFired(TimerMasterDown, 0)}},
		{"future generation", []Event{Startup(), TimerFired(TimerMasterDown, 99)}},
		{"unknown timer kind", []Event{Startup(), TimerFired(TimerKind(42), 1)}},
		{"after shutdown", []Event{Startup(), Shutdown(), TimerFired(TimerMasterDown, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(v3cfg(100))
			last := len(tt.evs) - 1
			run(m, tt.evs[:last]...)
			before := m.State()
			if got := run(m, tt.evs[last]); len(got) != 0 {
				t.Errorf("stale expiry = %v, want nothing", got)
			}
			if m.State() != before {
				t.Errorf("state = %v, want unchanged %v", m.State(), before)
			}
		})
	}
}

func TestStaleTimerOnLastEventProducesNothing(t *testing.T) {
	m := New(v3cfg(100))
	run(m, Startup(), Advert(150, time.Second, peerHi)) // master-down now gen 2
	if got := run(m, TimerFired(TimerMasterDown, 1)); len(got) != 0 {
		t.Errorf("stale expiry = %v, want nothing", got)
	}
	if m.State() != Backup || m.TimerGen(TimerMasterDown) != 2 {
		t.Errorf("state, gen = %v, %d; want BACKUP, 2", m.State(), m.TimerGen(TimerMasterDown))
	}
}

func TestBadInputDoesNotPanic(t *testing.T) {
	m := New(Config{Version: 9, Priority: 0, AdverInt: -time.Second, PreemptDelay: -1, DownTimerAdverts: -1})
	want := Config{Version: 2, Priority: 1, AdverInt: time.Second, DownTimerAdverts: 3}
	if d := diff(want, m.Config()); d != "" {
		t.Errorf("normalised config (-want +got):\n%s", d)
	}
	got := run(m, Event{Kind: EventKind(99)}, Advert(7, time.Hour, netip.Addr{}), Startup(), Startup())
	if len(got) != 0 {
		t.Errorf("second Startup = %v, want nothing", got)
	}
	big := New(Config{Version: 3, Priority: 100, AdverInt: time.Hour})
	if got := big.Config().AdverInt; got != v3MaxInt {
		t.Errorf("v3 AdverInt clamp = %v, want %v", got, v3MaxInt)
	}
}

func TestReconfigure(t *testing.T) {
	m := master(v3cfg(100))
	cfg := v3cfg(150)
	cfg.AdverInt = 2 * time.Second
	if d := diff([]Action{send(150), arm(TimerAdvert, 2*time.Second, 3)}, m.Reconfigure(cfg, nil)); d != "" {
		t.Errorf("master (-want +got):\n%s", d)
	}
	hold := v3cfg(100)
	hold.PreemptDelay = time.Minute
	b := New(hold)
	run(b, Startup())
	nopreempt := v3cfg(120)
	nopreempt.Preempt = false
	if d := diff([]Action{stopT(TimerPreemptDelay, 2)}, b.Reconfigure(nopreempt, nil)); d != "" {
		t.Errorf("backup (-want +got):\n%s", d)
	}
	if b.EffectivePriority() != 120 || b.State() != Backup {
		t.Errorf("prio, state = %d, %v; want 120, BACKUP", b.EffectivePriority(), b.State())
	}
}

func TestStringers(t *testing.T) {
	got := []string{
		Initialize.String(), Backup.String(), Master.String(), Fault.String(), State(9).String(),
		TimerAdvert.String(), TimerMasterDown.String(), TimerPreemptDelay.String(),
		EvStartup.String(), EvFaultClear.String(), ActAnnounce.String(), ActStateChanged.String(),
	}
	want := []string{
		"INIT", "BACKUP", "MASTER", "FAULT", "UNKNOWN",
		"advert", "master-down", "preempt-delay",
		"startup", "fault-clear", "announce", "state-changed",
	}
	if d := diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// A preempting backup ignores the lower-priority master's adverts; when its
// timer runs out the reason must name that master, not claim silence.
func TestRFC5798_6_4_2_PreemptionReasonNamesLowerMaster(t *testing.T) {
	lower := netip.MustParseAddr("192.0.2.9")
	m := New(v3cfg(150))
	got := run(m, Startup(), Advert(100, time.Second, lower), TimerFired(TimerMasterDown, 1))
	want := changed(Backup, Master, "preempting lower-priority master 192.0.2.9 (prio 100 < 150)")
	if d := diff(want, got[len(got)-1]); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
