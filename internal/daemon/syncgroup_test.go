package daemon

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// syncConf: VI_1 (VRID 51, 192.0.2.100) and VI_2 (VRID 52, 192.0.2.101)
// at priority %d; %s is the sync group block (or nothing); VI_1 tracks
// interface ethA.
const syncConf = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority %[1]d
    advert_int 1
    track_interface {
        ethA
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority %[1]d
    advert_int 1
    virtual_ipaddress {
        192.0.2.101/24
    }
}
%[2]s
`

const syncBlock = `vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    notify "/bin/true"
}`

// groupNotes is fakeNotifier that also records group transitions.
type groupNotes struct {
	*fakeNotifier
	mu     sync.Mutex
	groups []string
}

func (g *groupNotes) GroupTransition(group, state string) {
	g.mu.Lock()
	g.groups = append(g.groups, "GROUP "+group+" "+state)
	g.mu.Unlock()
}

func (g *groupNotes) got() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.groups...)
}

// states is every instance's state, in file order.
func (n *node) states() []string {
	n.state() // drain the loop
	var out []string
	for _, in := range n.d.instances {
		out = append(out, in.name+"="+in.snapshot().State)
	}
	return out
}

func withGroupNotes(ft *fakeTrackers, fn *groupNotes) func(*deps) {
	return func(dp *deps) {
		dp.trackers = ft.factory
		dp.notifier = func(*kaconf.Config, *slog.Logger) (notifier, error) { return fn, nil }
	}
}

// One member's interface down puts the whole group in FAULT: both VIPs
// leave this node and the peer takes both; recovery brings both back.
func TestSyncGroupMemberFaultFaultsAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ftA := newFakeTrackers(link("eth0", true), link("ethA", true))
		notes := &groupNotes{fakeNotifier: &fakeNotifier{}}
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(syncConf, 150, syncBlock), withGroupNotes(ftA, notes))
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(syncConf, 100, ""))
		time.Sleep(6 * time.Second)
		want := []string{"VI_1=MASTER", "VI_2=MASTER"}
		if d := cmp.Diff(want, a.states()); d != "" {
			t.Fatalf("a after election (-want +got):\n%s", d)
		}
		if a.d.instances[0].snapshot().SyncGroup != "G" {
			t.Errorf("status sync group = %q, want G", a.d.instances[0].snapshot().SyncGroup)
		}

		ftA.report(link("ethA", false))
		time.Sleep(time.Second) // b: priority 0 from a, then Skew_Time (< 1 s)
		if d := cmp.Diff([]string{"VI_1=FAULT", "VI_2=FAULT"}, a.states()); d != "" {
			t.Fatalf("a after ethA down (-want +got):\n%s", d)
		}
		if got := a.addrs.list(); len(got) != 0 {
			t.Errorf("a still holds %v", got)
		}
		if d := cmp.Diff([]string{"VI_1=MASTER", "VI_2=MASTER"}, b.states()); d != "" {
			t.Fatalf("b after a's fault (-want +got):\n%s", d)
		}
		reason := a.d.instances[1].snapshot().Reason
		if !strings.Contains(reason, "sync group G: VI_1 in FAULT (track_interface ethA down") {
			t.Errorf("VI_2 reason = %q, want it to name VI_1's fault", reason)
		}

		ftA.report(link("ethA", true))
		time.Sleep(6 * time.Second) // BACKUP, then preempt b after Master_Down_Interval
		if d := cmp.Diff(want, a.states()); d != "" {
			t.Fatalf("a after recovery (-want +got):\n%s", d)
		}
		a.stop(t)
		b.stop(t)
		wantGroup := []string{"GROUP G BACKUP", "GROUP G MASTER", "GROUP G FAULT", "GROUP G BACKUP", "GROUP G MASTER", "GROUP G STOP"}
		if d := cmp.Diff(wantGroup, notes.got()); d != "" {
			t.Errorf("group notifications (-want +got):\n%s", d)
		}
	})
}

// A member that hears a higher-priority master demotes its whole group:
// VI_2 leaves MASTER with VI_1 although nobody better advertises VI_2, and
// stays BACKUP (a group goes MASTER only when every member would).
func TestSyncGroupHigherPeerDemotesAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ftA := newFakeTrackers(link("eth0", true), link("ethA", true))
		notes := &groupNotes{fakeNotifier: &fakeNotifier{}}
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(syncConf, 150, syncBlock), withGroupNotes(ftA, notes))
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(syncConf, 100, ""))
		time.Sleep(6 * time.Second)
		if d := cmp.Diff([]string{"VI_1=MASTER", "VI_2=MASTER"}, a.states()); d != "" {
			t.Fatalf("a after election (-want +got):\n%s", d)
		}
		c := startNode(t, seg, "192.0.2.13", fmt.Sprintf(twoNodeConf, "BACKUP", 200, "1", ""))
		time.Sleep(5 * time.Second) // c preempts VI_1 after its Master_Down_Interval
		if d := cmp.Diff([]string{"VI_1=BACKUP", "VI_2=BACKUP"}, a.states()); d != "" {
			t.Fatalf("a after c took VI_1 (-want +got):\n%s", d)
		}
		if !strings.Contains(a.d.instances[1].snapshot().Reason, "sync group G: VI_1 went BACKUP") {
			t.Errorf("VI_2 reason = %q", a.d.instances[1].snapshot().Reason)
		}
		// Long after VI_2's Master_Down_Interval (b's priority 100 < 150 is
		// ignored for preemption), a still does not take VI_2 alone.
		time.Sleep(10 * time.Second)
		if d := cmp.Diff([]string{"VI_1=BACKUP", "VI_2=BACKUP"}, a.states()); d != "" {
			t.Fatalf("a later (-want +got):\n%s", d)
		}
		if got := a.addrs.list(); len(got) != 0 {
			t.Errorf("a holds %v, want nothing", got)
		}
		if d := cmp.Diff([]string{"VI_1=BACKUP", "VI_2=MASTER"}, b.states()); d != "" {
			t.Errorf("b (-want +got):\n%s", d)
		}
		if c.state() != "MASTER" || !b.addrs.holds("192.0.2.101/24") {
			t.Errorf("c = %s, b VI_2 VIP %v", c.state(), b.addrs.holds("192.0.2.101/24"))
		}

		// c leaves: VI_1 wants MASTER, VI_2 already wants it: both go.
		c.stop(t)
		time.Sleep(5 * time.Second)
		if d := cmp.Diff([]string{"VI_1=MASTER", "VI_2=MASTER"}, a.states()); d != "" {
			t.Fatalf("a after c left (-want +got):\n%s", d)
		}
		a.stop(t)
		b.stop(t)
		wantGroup := []string{"GROUP G BACKUP", "GROUP G MASTER", "GROUP G BACKUP", "GROUP G MASTER", "GROUP G STOP"}
		if d := cmp.Diff(wantGroup, notes.got()); d != "" {
			t.Errorf("group notifications (-want +got):\n%s", d)
		}
	})
}

// A reload adds and removes a group: joining makes one member's fault the
// group's, leaving lifts the group fault from the other member.
func TestSyncGroupReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ftA := newFakeTrackers(link("eth0", true), link("ethA", true))
		notes := &groupNotes{fakeNotifier: &fakeNotifier{}}
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(syncConf, 150, ""), withGroupNotes(ftA, notes))
		time.Sleep(5 * time.Second)
		ftA.report(link("ethA", false))
		time.Sleep(time.Second)
		if d := cmp.Diff([]string{"VI_1=FAULT", "VI_2=MASTER"}, a.states()); d != "" {
			t.Fatalf("without a group (-want +got):\n%s", d)
		}
		if out := reloadNode(t, a, fmt.Sprintf(syncConf, 150, syncBlock)); out.err != nil {
			t.Fatalf("reload: %v", out.err)
		}
		time.Sleep(time.Second)
		if d := cmp.Diff([]string{"VI_1=FAULT", "VI_2=FAULT"}, a.states()); d != "" {
			t.Fatalf("after joining the group (-want +got):\n%s", d)
		}
		if out := reloadNode(t, a, fmt.Sprintf(syncConf, 150, "")); out.err != nil {
			t.Fatalf("reload: %v", out.err)
		}
		time.Sleep(5 * time.Second)
		if d := cmp.Diff([]string{"VI_1=FAULT", "VI_2=MASTER"}, a.states()); d != "" {
			t.Fatalf("after leaving the group (-want +got):\n%s", d)
		}
		if a.d.instances[1].snapshot().SyncGroup != "" {
			t.Errorf("status still shows sync group %q", a.d.instances[1].snapshot().SyncGroup)
		}
		ftA.report(link("ethA", true))
		time.Sleep(5 * time.Second)
		if d := cmp.Diff([]string{"VI_1=MASTER", "VI_2=MASTER"}, a.states()); d != "" {
			t.Fatalf("after recovery (-want +got):\n%s", d)
		}
		a.stop(t)
	})
}

// Group-level tracks apply to every member: weight 0 failing is FAULT for
// all; a weight lowers every member's priority, with or without
// sync_group_tracking_weight (keepalived 2.2.7: 150 -> 90 for both members).
func TestSyncGroupTracks(t *testing.T) {
	block := `vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_interface {
        %s
    }
}`
	for _, tc := range []struct {
		name, extra string
		want        []string
		prio        uint8
	}{
		{"weight 0", "ethB", []string{"VI_1=FAULT", "VI_2=FAULT"}, 150},
		{"weighted", "ethB weight -60", []string{"VI_1=MASTER", "VI_2=MASTER"}, 90},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				ftA := newFakeTrackers(link("eth0", true), link("ethA", true), link("ethB", true))
				a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(syncConf, 150, fmt.Sprintf(block, tc.extra)), withTracking(ftA, nil))
				time.Sleep(5 * time.Second)
				if d := cmp.Diff([]string{"track_interface eth0", "track_interface ethA", "track_interface ethB"}, keyStrings(ftA.needed())); d != "" {
					t.Errorf("tracked objects (-want +got):\n%s", d)
				}
				ftA.report(link("ethB", false))
				time.Sleep(time.Second)
				if d := cmp.Diff(tc.want, a.states()); d != "" {
					t.Fatalf("after ethB down (-want +got):\n%s", d)
				}
				for _, in := range a.d.instances {
					if got := in.snapshot().EffectivePriority; got != tc.prio {
						t.Errorf("%s effective priority %d, want %d", in.name, got, tc.prio)
					}
				}
				a.stop(t)
			})
		})
	}
}

// A group's notify scripts are resolved like an instance's and handed to
// the notifier as a notify.Group (which appends GROUP NAME STATE 0).
func TestSyncGroupNotifyConfig(t *testing.T) {
	cfg := loadConf(t, fmt.Sprintf(syncConf, 150, `vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    notify "/bin/echo generic"
    notify_master /bin/true
}`))
	nc, err := notifyConfig(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(nc.Groups) != 1 || nc.Groups[0].Name != "G" || nc.Groups[0].Generic == nil || nc.Groups[0].Master == nil {
		t.Fatalf("groups = %+v, want G with notify and notify_master", nc.Groups)
	}
	g := nc.Groups[0]
	echo, err := filepath.EvalSymlinks("/bin/echo") // resolved as keepalived resolves it
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{echo, "generic"}, g.Generic.Argv); d != "" {
		t.Errorf("notify argv (-want +got):\n%s", d)
	}
	if g.Backup != nil || g.Fault != nil || g.Stop != nil {
		t.Errorf("unset scripts present: %+v", g)
	}
	// A group with no scripts still gets its FIFO lines: it is listed.
	cfg = loadConf(t, fmt.Sprintf(syncConf, 150, "vrrp_sync_group H {\n group {\n VI_1\n }\n}"))
	if nc, err := notifyConfig(cfg, slog.New(slog.DiscardHandler)); err != nil || len(nc.Groups) != 1 {
		t.Errorf("script-less group: %+v, %v", nc.Groups, err)
	}
}
