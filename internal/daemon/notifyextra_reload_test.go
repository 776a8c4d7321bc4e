package daemon

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
)

// TestReloadPriorityLines: a reload gives every kept instance whose tracks
// move its priority one INSTANCE "VI_1" BACKUP_PRIORITY <effective> line,
// even while MASTER (keepalived 2.2.7, observed on the FIFO: MASTER at 100
// with track_file +5 -> "BACKUP_PRIORITY 105" after each SIGHUP; nothing
// once the tracks add 0; internal/interop/notifyextra_test.go shows it on
// the wire). A reload that changes nothing of the tracks writes no other
// priority line.
func TestReloadPriorityLines(t *testing.T) {
	conf := "global_defs {\n    vrrp_notify_priority_changes\n}\n" + fmt.Sprintf(trackedConf, "MASTER", 100, 5) +
		strings.Replace(fmt.Sprintf(twoNodeConf, "MASTER", 100, "1", ""), "virtual_router_id 51", "virtual_router_id 52", 1)
	conf = strings.Replace(conf, "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 52", "vrrp_instance VI_2 {\n    state MASTER\n    interface eth0\n    virtual_router_id 52", 1)
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		ft := newFakeTrackers(link("eth0", true), script("chk_apache", true, "exit 0"))
		notes := &fakeNotifier{}
		a := startNodeWith(t, seg, "192.0.2.11", conf, withTracking(ft, notes))
		time.Sleep(5 * time.Second)
		if d := cmp.Diff([]string{"VI_1=MASTER", "VI_2=MASTER"}, a.states()); d != "" {
			t.Fatalf("after election (-want +got):\n%s", d)
		}
		priorityLines := func() []string {
			var out []string
			for _, l := range notes.got() {
				if strings.Contains(l, "_PRIORITY") {
					out = append(out, l)
				}
			}
			notes.mu.Lock()
			notes.lines = nil
			notes.mu.Unlock()
			return out
		}
		priorityLines()
		reload := func() {
			a.d.events <- loopEvent{do: func() { a.d.reload("test") }}
			a.states()
		}
		reload()
		if d := cmp.Diff([]string{"VI_1 BACKUP_PRIORITY 105"}, priorityLines()); d != "" {
			t.Errorf("reload with chk_apache +5 (-keepalived +govrrp):\n%s", d)
		}
		if got := a.states(); !cmp.Equal(got, []string{"VI_1=MASTER", "VI_2=MASTER"}) {
			t.Errorf("after reload %v, want both still MASTER", got)
		}
		ft.report(script("chk_apache", false, "exit 1"))
		ft.report(script("chk_apache", false, "exit 1"))
		a.states()
		priorityLines()
		reload()
		if got := priorityLines(); len(got) != 0 {
			t.Errorf("reload with the tracks adding 0 wrote %q, want nothing", got)
		}
		a.stop(t)
	})
}
