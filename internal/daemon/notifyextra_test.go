package daemon

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// stateLines is groupNotes that also records fifo_write_vrrp_states_on_reload
// lines.
type stateLines struct {
	*groupNotes
	mu    sync.Mutex
	lines []string
}

func (s *stateLines) GroupStateLine(group, state string) {
	s.mu.Lock()
	s.lines = append(s.lines, "GROUP "+group+" "+state+" 0")
	s.mu.Unlock()
}

func (s *stateLines) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.lines
	s.lines = nil
	return out
}

// TestFifoWriteStatesOnReload: with the global keyword each reload writes
// every sync group's state (and nothing for instances); without it a
// reload writes nothing; start-up never does (keepalived 2.2.7, observed).
func TestFifoWriteStatesOnReload(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				global := ""
				if on {
					global = "global_defs {\n    fifo_write_vrrp_states_on_reload\n}\n"
				}
				conf := global + fmt.Sprintf(syncConf, 150, syncBlock)
				seg := transport.NewSegment()
				notes := &stateLines{groupNotes: &groupNotes{fakeNotifier: &fakeNotifier{}}}
				ft := newFakeTrackers(link("eth0", true), link("ethA", true))
				a := startNodeWith(t, seg, "192.0.2.11", conf, func(dp *deps) {
					dp.trackers = ft.factory
					dp.notifier = func(*kaconf.Config, *slog.Logger) (notifier, error) { return notes, nil }
				})
				time.Sleep(5 * time.Second)
				if d := cmp.Diff([]string{"VI_1=MASTER", "VI_2=MASTER"}, a.states()); d != "" {
					t.Fatalf("after election (-want +got):\n%s", d)
				}
				if got := notes.take(); len(got) != 0 {
					t.Errorf("start-up wrote %q, want nothing", got)
				}
				for i := range 2 {
					a.d.events <- loopEvent{do: func() { a.d.reload("test") }}
					a.states()
					var want []string
					if on {
						want = []string{"GROUP G MASTER 0"}
					}
					if d := cmp.Diff(want, notes.take()); d != "" {
						t.Errorf("reload %d wrote (-want +got):\n%s", i+1, d)
					}
				}
				a.stop(t)
			})
		})
	}
}

// TestGroupNotifyPriorityChanges: a sync group's notify_priority_changes
// gives its members priority lines on the FIFOs (keepalived 2.2.7 writes
// INSTANCE "VI_1" MASTER_PRIORITY 105 for a member); a sync group without it
// leaves them off, and instances outside the group are not affected.
func TestGroupNotifyPriorityChanges(t *testing.T) {
	for _, tc := range []struct {
		block string
		want  map[string]bool
	}{
		{"vrrp_sync_group G {\n group {\n VI_1\n }\n notify_priority_changes true\n}", map[string]bool{"VI_1": true, "VI_2": false}},
		{"vrrp_sync_group G {\n group {\n VI_1\n }\n}", map[string]bool{"VI_1": false, "VI_2": false}},
	} {
		cfg := loadConf(t, fmt.Sprintf(syncConf, 150, tc.block))
		nc, err := notifyConfig(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{"VI_1": false, "VI_2": false}
		for _, in := range nc.Instances {
			got[in.Name] = in.PriorityChanges
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s: priority changes (-want +got):\n%s", tc.block, d)
		}
	}
	// The notifier is rebuilt when only the group's flag changes.
	a := notifyFingerprint(loadConf(t, fmt.Sprintf(syncConf, 150, "vrrp_sync_group G {\n group {\n VI_1\n }\n}")))
	b := notifyFingerprint(loadConf(t, fmt.Sprintf(syncConf, 150, "vrrp_sync_group G {\n group {\n VI_1\n }\n notify_priority_changes true\n}")))
	if cmp.Equal(a, b) {
		t.Error("notify fingerprint ignores the group's notify_priority_changes")
	}
}
