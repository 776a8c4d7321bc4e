package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
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

		// A priority without its value: keepalived 2.2.7 refuses to start
		// ("missing a parameter"); an invalid value it would replace.
		out := reloadNode(t, a, strings.Replace(reloadConf("", ""), "priority 150", "priority", 1))
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

// `govrrp reload` over the control socket: a good file is applied and what
// changed comes back; a broken one comes back as FILE:LINE:COL errors with
// nothing changed; `status --watch` hears of the change.
func TestReloadOverControlSocket(t *testing.T) {
	seg := transport.NewSegment()
	fast := strings.Replace(reloadConf("", ""), "advert_int 1", "advert_int 0.1", 1)
	fast = strings.Replace(fast, "    state MASTER\n", "    state MASTER\n    version 3\n", 1)
	a := newNode(t, seg, "192.0.2.11", fast, nil)
	st := startWithSocket(t, a)

	updates := make(chan *control.Status, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go control.Watch(ctx, a.socket, time.Second, func(s *control.Status) error { updates <- s; return nil })
	<-updates // the status at once

	withVIP := strings.Replace(fast, "192.0.2.100/24\n", "192.0.2.100/24\n        192.0.2.101/24\n", 1)
	if err := os.WriteFile(a.confPath, []byte(withVIP), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := control.Reload(a.socket, 10*time.Second)
	if err != nil || !slices.Contains(res.Changed, "reconfigured VI_1") {
		t.Fatalf("reload: %+v, %v", res, err)
	}
	seen := false
	for end := time.After(5 * time.Second); !seen; {
		select {
		case s := <-updates:
			seen = len(s.Instances) == 1 && slices.Contains(s.Instances[0].VIPs, "192.0.2.101/24")
		case <-end:
			t.Fatal("watch did not show the added VIP")
		}
	}

	// A priority without its value (keepalived refuses it; an invalid value
	// it would replace with 100, and so does govrrp).
	if err := os.WriteFile(a.confPath, []byte(strings.Replace(fast, "priority 150", "priority", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = control.Reload(a.socket, 10*time.Second)
	if err == nil || len(res.Errors) == 0 || !strings.Contains(res.Errors[0], "keepalived.conf:") {
		t.Fatalf("broken reload: %+v, %v; want FILE:LINE:COL errors", res, err)
	}
	after, err := control.FetchStatus(a.socket, time.Second)
	if err != nil || after.Instances[0].State != "MASTER" || after.Instances[0].Priority != 150 || after.Instances[0].Transitions != st.Instances[0].Transitions {
		t.Errorf("after the broken reload: %+v, %v; want VI_1 MASTER at 150 with no transition", after.Instances, err)
	}
}

// An instance removed by a reload is told as DELETED (notify maps it to
// FAULT unless notify_deleted, as keepalived); a kept one is told nothing.
func TestReloadNotifiesDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		notes := &fakeNotifier{}
		a := startNodeWith(t, seg, "192.0.2.11", reloadConf("", "200"), func(dp *deps) {
			dp.notifier = func(*kaconf.Config, *slog.Logger) (notifier, error) { return notes, nil }
		})
		time.Sleep(5 * time.Second)
		if out := reloadNode(t, a, reloadConf("", "")); out.err != nil {
			t.Fatal(out.err)
		}
		// No backup here: the removed master holds its VIPs for
		// Master_Down_Interval (release.go), then is DELETED.
		time.Sleep(4 * time.Second)
		synctest.Wait()
		want := []string{"VI_1 BACKUP 150", "VI_2 BACKUP 200", "VI_1 MASTER 150", "VI_2 MASTER 200", "VI_2 DELETED 200"}
		got := notes.got()
		slices.Sort(want[:4])
		slices.Sort(got[:min(4, len(got))])
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
		a.stop(t)
	})
}

// At start-up an instance whose socket cannot be opened stops the daemon
// (as before reload existed); only a reload logs it and runs the rest.
func TestStartupFailsWithoutSocket(t *testing.T) {
	seg := transport.NewSegment()
	n := newNode(t, seg, "192.0.2.11", reloadConf("", ""), func(dp *deps) {
		dp.listen = func(transport.Config) (transport.Conn, error) { return nil, errors.New("no raw sockets here") }
	})
	n.start()
	select {
	case err := <-n.done:
		if err == nil || !strings.Contains(err.Error(), "no raw sockets here") {
			t.Fatalf("run = %v, want the socket error", err)
		}
	case <-time.After(10 * time.Second):
		n.cancel()
		t.Fatal("the daemon started without its socket")
	}
}

// startWithSocket starts n with a control socket and waits (bounded) until
// the socket reports its single instance MASTER; the node stops at cleanup.
func startWithSocket(t *testing.T, n *node) *control.Status {
	t.Helper()
	n.socket = filepath.Join(t.TempDir(), "govrrp.sock")
	n.start()
	t.Cleanup(func() { n.cancel(); <-n.done })
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if s, err := control.FetchStatus(n.socket, time.Second); err == nil && len(s.Instances) == 1 && s.Instances[0].State == "MASTER" {
			return s
		}
	}
	t.Fatal("no MASTER status over the socket")
	return nil
}
