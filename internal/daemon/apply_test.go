package daemon

import (
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/transport"
)

const reloadBase = `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
%s    }
}
%s`

const reloadVI2 = `vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority %s
    advert_int 1
    virtual_ipaddress {
        192.0.2.102/24
    }
}
`

func reloadConf(extraVIP, vi2Prio string) string {
	vi2 := ""
	if vi2Prio != "" {
		vi2 = strings.Replace(reloadVI2, "%s", vi2Prio, 1)
	}
	return strings.Replace(strings.Replace(reloadBase, "%s", extraVIP, 1), "%s", vi2, 1)
}

// reloadNode rewrites n's file and reloads it over the loop, as SIGHUP and
// `govrrp reload` do.
func reloadNode(t *testing.T, n *node, text string) reloadOutcome {
	t.Helper()
	if err := os.WriteFile(n.confPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	reply := make(chan reloadOutcome, 1)
	n.d.events <- loopEvent{reload: reply}
	return <-reply
}

// A reload applies the file as a diff: a master stays master (no
// transition, no takeover by the backup) while VIPs and instances come and
// go; a removed instance resigns with priority 0; a broken file changes
// nothing.
func TestReloadAppliesDiffWithoutFlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a := startNode(t, seg, "192.0.2.11", reloadConf("", ""))
		bConf := strings.Replace(reloadConf("", "100"), "state MASTER", "state BACKUP", 1)
		b := startNode(t, seg, "192.0.2.12", strings.Replace(bConf, "priority 150", "priority 100", 1))
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("a = %s, want MASTER", a.state())
		}
		before := a.d.instances[0].snapshot().Transitions

		steps := []struct {
			name, conf string
			wait       time.Duration
			want       []string // VIPs on a
		}{
			{"add a VIP", reloadConf("        192.0.2.101/24\n", ""), 0, []string{"192.0.2.100/24", "192.0.2.101/24"}},
			{"remove it", reloadConf("", ""), 0, []string{"192.0.2.100/24"}},
			// a's VI_2 waits its master-down interval (3.2 s) before it preempts.
			{"add VI_2 above b's VI_2", reloadConf("", "200"), 5 * time.Second, []string{"192.0.2.100/24", "192.0.2.102/24"}},
			// The priority-0 advert hands VI_2 to b after its skew time
			// (0.6 s), far inside its 3.6 s master-down interval.
			{"remove VI_2", reloadConf("", ""), time.Second, []string{"192.0.2.100/24"}},
		}
		for _, st := range steps {
			if out := reloadNode(t, a, st.conf); out.err != nil {
				t.Fatalf("%s: %v", st.name, out.err)
			}
			time.Sleep(st.wait)
			synctest.Wait()
			if diff := cmp.Diff(st.want, a.addrs.list()); diff != "" {
				t.Errorf("%s: VIPs on a (-want +got):\n%s", st.name, diff)
			}
			if b.addrs.holds("192.0.2.100/24") || b.state() != "BACKUP" {
				t.Fatalf("%s: b took VI_1 over (b %s)", st.name, b.state())
			}
		}
		// b runs VI_2 at 100: it was backup to a's VI_2 at 200, and took it
		// when a's VI_2 resigned.
		if !b.addrs.holds("192.0.2.102/24") {
			t.Error("b does not hold VI_2's VIP after a removed VI_2")
		}
		if got := a.d.instances[0].snapshot().Transitions; got != before {
			t.Errorf("VI_1 made %d transitions during the reloads, want none", got-before)
		}

		out := reloadNode(t, a, strings.Replace(reloadConf("", ""), "priority 150", "priority banana", 1))
		if out.err == nil || !strings.Contains(out.err.Error(), "keepalived.conf:5:") {
			t.Fatalf("broken file: %v, want an error with FILE:LINE", out.err)
		}
		time.Sleep(5 * time.Second)
		if a.state() != "MASTER" || a.d.instances[0].snapshot().Priority != 150 || len(a.d.instances) != 1 {
			t.Errorf("after a broken reload: a %s prio %d, %d instances; want the old configuration running",
				a.state(), a.d.instances[0].snapshot().Priority, len(a.d.instances))
		}
		a.stop(t)
		b.stop(t)
	})
}
