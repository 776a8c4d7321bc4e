package fsm

import (
	"testing"
	"time"
)

// keepalived's lower_prio_no_advert, higher_prio_send_advert and
// down_timer_adverts (man 5 keepalived.conf, vrrp_instance).

func TestKeepalived_LowerPrioNoAdvert(t *testing.T) {
	rxLower := Action{Kind: ActRxLowerPriority, Priority: 50}
	tests := []struct {
		name    string
		noAdv   bool
		ev      Event
		want    []Action
		comment string
	}{
		{"default: re-advertise at once", false, Advert(50, time.Second, peerHi),
			[]Action{send(100), arm(TimerAdvert, time.Second, 3), rxLower}, "RFC 9568 / keepalived default: advert, then GARPs"},
		{"lower_prio_no_advert: discard, advert timer runs on", true, Advert(50, time.Second, peerHi),
			[]Action{rxLower}, "RFC 5798 6.4.3"},
		{"lower_prio_no_advert does not change priority 0 handling", true, Advert(0, time.Second, peerHi),
			[]Action{send(100), arm(TimerAdvert, time.Second, 3)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := v3cfg(100)
			cfg.LowerPrioNoAdvert = tt.noAdv
			m := master(cfg)
			if d := diff(tt.want, run(m, tt.ev)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if m.State() != Master {
				t.Errorf("state = %v, want Master", m.State())
			}
			// The advert timer armed on becoming master (gen 2) is still the
			// pending one when nothing was re-sent.
			if tt.noAdv && tt.ev.Priority != 0 && m.TimerGen(TimerAdvert) != 2 {
				t.Errorf("advert timer gen = %d, want 2 (not re-armed)", m.TimerGen(TimerAdvert))
			}
		})
	}
}

func TestKeepalived_HigherPrioSendAdvert(t *testing.T) {
	yield := func(sendFirst bool) []Action {
		var out []Action
		if sendFirst {
			out = append(out, send(100))
		}
		return append(out, stopT(TimerAdvert, 2), arm(TimerMasterDown, mdi100, 3), rmVIPs,
			changed(Master, Backup, "advert from 192.0.2.5 prio 150 > 100"))
	}
	for _, on := range []bool{false, true} {
		cfg := v3cfg(100)
		cfg.HigherPrioSendAdvert = on
		m := master(cfg)
		if d := diff(yield(on), run(m, Advert(150, time.Second, peerLo))); d != "" {
			t.Errorf("higher_prio_send_advert=%v (-want +got):\n%s", on, d)
		}
		// Equal priority from a higher address yields the same way.
		m = master(cfg)
		got := run(m, Advert(100, time.Second, peerHi))
		if sent := len(got) > 0 && got[0].Kind == ActSendAdvert; sent != on {
			t.Errorf("higher_prio_send_advert=%v, equal priority higher address: advert first = %v (%v)", on, sent, got)
		}
	}
}

func TestKeepalived_DownTimerAdverts(t *testing.T) {
	skew := SkewTime(100, time.Second) // v3, 1 s
	tests := []struct {
		adverts int
		want    time.Duration
	}{
		{0, 3*time.Second + skew}, // unset: the RFC's 3
		{1, time.Second + skew},
		{3, 3*time.Second + skew},
		{10, 10*time.Second + skew},
		{100, 100*time.Second + skew},
		{500, 100*time.Second + skew}, // clamped to keepalived's range
		{-4, 3*time.Second + skew},
	}
	for _, tt := range tests {
		cfg := v3cfg(100)
		cfg.DownTimerAdverts = tt.adverts
		m := New(cfg)
		// Startup, an advert from the master, and entering Backup again
		// after a fault all use the same interval.
		got := []Action{run(m, Startup())[0], run(m, Advert(200, time.Second, peerHi))[0]}
		run(m, FaultSet("x"))
		got = append(got, run(m, FaultCleared("y"))[0])
		want := []Action{arm(TimerMasterDown, tt.want, 1), arm(TimerMasterDown, tt.want, 2), arm(TimerMasterDown, tt.want, 3)}
		if d := diff(want, got); d != "" {
			t.Errorf("down_timer_adverts %d (-want +got):\n%s", tt.adverts, d)
		}
	}
	// The skew of a priority-0 advert is not multiplied.
	cfg := v3cfg(100)
	cfg.DownTimerAdverts = 10
	m := New(cfg)
	run(m, Startup())
	if d := diff([]Action{arm(TimerMasterDown, skew, 2)}, run(m, Advert(0, time.Second, peerHi))); d != "" {
		t.Errorf("priority 0 with down_timer_adverts 10 (-want +got):\n%s", d)
	}
}
