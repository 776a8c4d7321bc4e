package fsm

import (
	"testing"
	"time"
)

// backupWithMaster returns a Backup that has accepted a master's advert.
func backupWithMaster() (*Machine, Event) {
	m := New(v3cfg(100))
	ev := Advert(150, time.Second, peerHi)
	run(m, Startup(), ev)
	return m, ev
}

func BenchmarkBackupAdvert(b *testing.B) {
	m, ev := backupWithMaster()
	out := make([]Action, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		out = m.Handle(ev, out[:0])
	}
	if len(out) != 1 || out[0].Kind != ActArmTimer {
		b.Fatalf("actions = %v, want one master-down re-arm", out)
	}
}

func BenchmarkMasterAdvertTick(b *testing.B) {
	m := master(v3cfg(100))
	out := make([]Action, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		out = m.Handle(TimerFired(TimerAdvert, m.TimerGen(TimerAdvert)), out[:0])
	}
	if len(out) != 2 {
		b.Fatalf("actions = %v, want send + re-arm", out)
	}
}

// TestPerAdvertAllocationFree pins the 0 allocs/op of the benchmarks in a
// deterministic test (allocation counts, not time).
func TestPerAdvertAllocationFree(t *testing.T) {
	tests := []struct {
		name  string
		setup func() (*Machine, func() Event)
	}{
		{"backup accepts advert", func() (*Machine, func() Event) {
			m, ev := backupWithMaster()
			return m, func() Event { return ev }
		}},
		{"backup ignores lower advert", func() (*Machine, func() Event) {
			m := New(v3cfg(100))
			run(m, Startup())
			return m, func() Event { return Advert(50, time.Second, peerLo) }
		}},
		{"master re-advertises to lower", func() (*Machine, func() Event) {
			m := master(v3cfg(100))
			return m, func() Event { return Advert(50, time.Second, peerLo) }
		}},
		{"master advert tick", func() (*Machine, func() Event) {
			m := master(v3cfg(100))
			return m, func() Event { return TimerFired(TimerAdvert, m.TimerGen(TimerAdvert)) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, next := tt.setup()
			out := make([]Action, 0, 8)
			allocs := testing.AllocsPerRun(100, func() { out = m.Handle(next(), out[:0]) })
			if allocs != 0 {
				t.Errorf("allocs per event = %v, want 0", allocs)
			}
		})
	}
}
