package daemon

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// masterView is the part of a snapshot keepalived's dumps print beside the
// traffic counters.
type masterView struct {
	State                          string
	BecameMaster, ReleasedMaster   uint64
	PrioZeroSent, PrioZeroReceived uint64
	MasterPriority                 uint8
	MasterAdverInt                 time.Duration
}

func masterViewOf(s control.Instance) masterView {
	return masterView{s.State, s.BecameMaster, s.ReleasedMaster, s.PriorityZeroSent, s.PriorityZeroReceived,
		s.MasterPriority, s.MasterAdverInt}
}

// view is the node's instance as the loop has it now.
func (n *node) view() masterView {
	n.state() // let the loop drain what is queued
	return masterViewOf(n.d.instances[0].snapshot())
}

func checkView(t *testing.T, what string, got, want masterView) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// Election, graceful stop (priority 0) and preemption, counted on both
// nodes: transitions into and out of MASTER, priority-0 adverts sent and
// received, and the master's priority and interval each node shows.
func TestMasterCountersAcrossFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const adver = 100 * time.Millisecond
		conf := func(state string, prio int) string {
			return fmt.Sprintf(twoNodeConf, state, prio, "0.1", "version 3")
		}
		seg := transport.NewSegment()
		a := startNode(t, seg, "192.0.2.11", conf("MASTER", 150))
		b := startNode(t, seg, "192.0.2.12", conf("BACKUP", 100))
		time.Sleep(5 * adver)
		checkView(t, "a after the election", a.view(), masterView{State: "MASTER", BecameMaster: 1, MasterPriority: 150, MasterAdverInt: adver})
		checkView(t, "b after the election", b.view(), masterView{State: "BACKUP", MasterPriority: 150, MasterAdverInt: adver})

		a.stop(t) // priority 0, VIPs down
		checkView(t, "a after its stop", masterViewOf(a.d.instances[0].snapshot()),
			masterView{State: "INIT", BecameMaster: 1, ReleasedMaster: 1, PrioZeroSent: 1, MasterPriority: 150, MasterAdverInt: adver})
		time.Sleep(adver) // b's skew time is 61 ms
		checkView(t, "b after a's stop", b.view(),
			masterView{State: "MASTER", BecameMaster: 1, PrioZeroReceived: 1, MasterPriority: 100, MasterAdverInt: adver})

		a = startNode(t, seg, "192.0.2.11", conf("MASTER", 150))
		time.Sleep(5 * adver)
		checkView(t, "a back", a.view(), masterView{State: "MASTER", BecameMaster: 1, MasterPriority: 150, MasterAdverInt: adver})
		checkView(t, "b preempted", b.view(),
			masterView{State: "BACKUP", BecameMaster: 1, ReleasedMaster: 1, PrioZeroReceived: 1, MasterPriority: 150, MasterAdverInt: adver})
		if s := b.d.instances[0].snapshot(); s.Transitions != 3 || s.AdvertsSent == 0 || s.PriorityZeroSent != 0 {
			t.Errorf("b: %d transitions, %d adverts sent, %d with priority 0; want 3 (startup, master, backup), some, none",
				s.Transitions, s.AdvertsSent, s.PriorityZeroSent)
		}
		a.stop(t)
		b.stop(t)
	})
}

// A master that goes to FAULT sends priority 0 and releases mastership;
// the backup hears the priority 0 and takes over.
func TestFaultCountsPriorityZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers()
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", ""), withTracking(ft, nil))
		ft.report(link("eth0", true))
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", ""))
		time.Sleep(5 * time.Second)
		ft.report(link("eth0", false))
		checkView(t, "a in FAULT", a.view(),
			masterView{State: "FAULT", BecameMaster: 1, ReleasedMaster: 1, PrioZeroSent: 1, MasterPriority: 150, MasterAdverInt: time.Second})
		time.Sleep(time.Second)
		checkView(t, "b after a's fault", b.view(),
			masterView{State: "MASTER", BecameMaster: 1, PrioZeroReceived: 1, MasterPriority: 100, MasterAdverInt: time.Second})
		a.stop(t)
		b.stop(t)
	})
}

// A backup shows the priority and the interval of the adverts it accepts
// from the master; a lower-priority advert it ignores in order to preempt,
// and a priority-0 one, change neither. Priority 0 counts when accepted
// (BACKUP or MASTER), never when dropped.
func TestMasterPriorityFromAcceptedAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "0.1", "version 3"))
		src, dst := netip.MustParseAddr("192.0.2.11"), vrrp.MulticastIPv4
		master := seg.Attach(src).(*transport.SegmentConn)
		send := func(prio uint8, ttl int) {
			t.Helper()
			adv := vrrp.Advert{Version: vrrp.V3, VRID: 51, Priority: prio, AdverInt: 200 * time.Millisecond,
				Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
			p, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: src, Dst: dst})
			if err != nil {
				t.Fatal(err)
			}
			if err := master.WriteWithTTL(p, src, dst, ttl); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		for range 5 {
			send(150, 255)
			time.Sleep(100 * time.Millisecond)
		}
		// v3: the backup learns the master's 200 ms (a mismatch only warns).
		checkView(t, "backup of a 150 master", b.view(), masterView{State: "BACKUP", MasterPriority: 150, MasterAdverInt: 200 * time.Millisecond})
		send(120, 255)
		checkView(t, "master at 120", b.view(), masterView{State: "BACKUP", MasterPriority: 120, MasterAdverInt: 200 * time.Millisecond})
		send(50, 255) // lower than ours: ignored, to preempt
		checkView(t, "ignored 50", b.view(), masterView{State: "BACKUP", MasterPriority: 120, MasterAdverInt: 200 * time.Millisecond})
		send(0, 64) // dropped (TTL): not counted
		send(0, 255)
		checkView(t, "master resigned", b.view(),
			masterView{State: "BACKUP", PrioZeroReceived: 1, MasterPriority: 120, MasterAdverInt: 200 * time.Millisecond})
		time.Sleep(200 * time.Millisecond) // skew: 122 ms of the learned interval
		checkView(t, "took over", b.view(),
			masterView{State: "MASTER", BecameMaster: 1, PrioZeroReceived: 1, MasterPriority: 100, MasterAdverInt: 100 * time.Millisecond})
		send(50, 255)
		send(0, 255) // accepted as MASTER too: counted
		send(0, 64)
		checkView(t, "master hearing lower", b.view(),
			masterView{State: "MASTER", BecameMaster: 1, PrioZeroReceived: 2, MasterPriority: 100, MasterAdverInt: 100 * time.Millisecond})
		if s := b.d.instances[0].snapshot(); s.Drops["ttl"] != 2 {
			t.Errorf("ttl drops = %d, want the 2 priority-0 adverts with TTL 64", s.Drops["ttl"])
		}
		b.stop(t)
	})
}

// The new fields reach `govrrp status --json` over the control socket, the
// interval as master_adver_int_ms; nothing that was there goes away.
func TestCountersOverControlSocket(t *testing.T) {
	seg := transport.NewSegment()
	a := newNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "0.1", "version 3"), nil)
	st := startWithSocket(t, a)
	checkView(t, "over the socket", masterViewOf(st.Instances[0]),
		masterView{State: "MASTER", BecameMaster: 1, MasterPriority: 150, MasterAdverInt: 100 * time.Millisecond})
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"VI_1"`, `"adverts_sent":`, `"transitions":`, `"became_master":1`, `"released_master":0`,
		`"priority_zero_sent":0`, `"priority_zero_received":0`, `"master_priority":150`, `"master_adver_int_ms":100`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status JSON has no %s: %s", want, b)
		}
	}
	var back control.Status
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(*st, back); d != "" {
		t.Errorf("JSON round trip (-sent +decoded):\n%s", d)
	}
}
