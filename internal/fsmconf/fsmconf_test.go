package fsmconf

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

func TestFor(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.11")
	in := &kaconf.Instance{
		Version: 3, Priority: 150, AdverInt: 100 * time.Millisecond, Nopreempt: true,
		PreemptDelay: 2 * time.Second, State: "MASTER", DownTimerAdverts: 2,
		LowerPrioNoAdvert: true, HigherPrioSendAdvert: true,
	}
	want := fsm.Config{
		Version: 3, Priority: 150, AdverInt: 100 * time.Millisecond, Preempt: false,
		PreemptDelay: 2 * time.Second, PrimaryAddr: src, WantMaster: true, DownTimerAdverts: 2,
		LowerPrioNoAdvert: true, HigherPrioSendAdvert: true,
	}
	if d := cmp.Diff(want, For(in, src), cmpopts.EquateComparable(netip.Addr{})); d != "" {
		t.Errorf("For (-want +got):\n%s", d)
	}
	if got := For(&kaconf.Instance{State: "BACKUP"}, src); !got.Preempt || got.WantMaster {
		t.Errorf("BACKUP without nopreempt: Preempt %v WantMaster %v, want true false", got.Preempt, got.WantMaster)
	}
}
