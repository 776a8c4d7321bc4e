package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/dbusapi"
	"github.com/govrrp/govrrp/internal/transport"
)

// fakeBus records what the loop tells the D-Bus server, in order.
type fakeBus struct {
	mu     *sync.Mutex
	events *[]string
	h      dbusapi.Handler
	done   chan struct{}
}

func (f *fakeBus) rec(format string, a ...any) {
	f.mu.Lock()
	*f.events = append(*f.events, fmt.Sprintf(format, a...))
	f.mu.Unlock()
}

func instancesString(in []dbusapi.Instance) string {
	var s []string
	for _, i := range in {
		s = append(s, fmt.Sprintf("%s=%s:%d", i.Name, i.Key.Path(), i.State))
	}
	return strings.Join(s, " ")
}

func (f *fakeBus) Set(in []dbusapi.Instance)            { f.rec("set %s", instancesString(in)) }
func (f *fakeBus) StatusChange(k dbusapi.Key, s uint32) { f.rec("status %s %d", k.Path(), s) }
func (f *fakeBus) Reloaded()                            { f.rec("reloaded") }
func (f *fakeBus) Stopping()                            { f.rec("stopping") }
func (f *fakeBus) Close() <-chan struct{} {
	f.rec("close")
	return f.done
}

type busLog struct {
	mu     sync.Mutex
	events []string
	last   *fakeBus
}

func (b *busLog) start(name string, h dbusapi.Handler, initial []dbusapi.Instance) dbusSink {
	f := &fakeBus{mu: &b.mu, events: &b.events, h: h, done: make(chan struct{})}
	close(f.done)
	f.rec("start %s %s", name, instancesString(initial))
	b.mu.Lock()
	b.last = f
	b.mu.Unlock()
	return f
}

// take returns and forgets what was recorded.
func (b *busLog) take() []string {
	synctest.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.events)
	b.events = nil
	return out
}

const dbusConf = `global_defs {
    enable_dbus
%s}
vrrp_instance VI_1 {
    state BACKUP
    interface eth-0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
%s`

const dbusVI2 = `vrrp_instance VI_2 {
    state BACKUP
    interface eth-0
    virtual_router_id 52
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.102/24
    }
}
`

const (
	vi1Path = "/org/keepalived/Vrrp1/Instance/eth_0/51/IPv4"
	vi2Path = "/org/keepalived/Vrrp1/Instance/eth_0/52/IPv4"
)

// The loop's side of keepalived's D-Bus interface, in keepalived 2.2.7's
// order (observed with dbus-monitor): the server starts with every
// instance's state; a state change is one VrrpStatusChange; a reload
// signals FAULT (3) for a removed instance, re-exports, then VrrpReloaded;
// a stop signals STOP (98) for all before anything else, then closes.
func TestDBusFollowsTheLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		bus := &busLog{}
		a := newNode(t, seg, "192.0.2.11", fmt.Sprintf(dbusConf, "", dbusVI2), nil)
		a.d.dbus.start = bus.start
		a.start()
		synctest.Wait()
		step := func(name string, want ...string) {
			t.Helper()
			if d := cmp.Diff(want, bus.take()); d != "" {
				t.Errorf("%s (-want +got):\n%s", name, d)
			}
		}
		step("start-up", "start org.keepalived.Vrrp1 VI_1="+vi1Path+":1 VI_2="+vi2Path+":1")

		// SendGarp in BACKUP sends nothing (keepalived: no VIPs set).
		bus.last.h.SendGarp(dbusapi.Key{Interface: "eth-0", VRID: 51})
		synctest.Wait()
		if got := a.garp.log(); len(got) != 0 {
			t.Errorf("SendGarp as BACKUP announced %v", got)
		}

		time.Sleep(5 * time.Second) // master-down interval 3.4 s
		got := bus.take()
		slices.Sort(got) // two instances' timers expire together
		if d := cmp.Diff([]string{"status " + vi1Path + " 2", "status " + vi2Path + " 2"}, got); d != "" {
			t.Errorf("becoming master (-want +got):\n%s", d)
		}
		before := len(a.garp.log())
		bus.last.h.SendGarp(dbusapi.Key{Interface: "eth-0", VRID: 51})
		synctest.Wait()
		if got := a.garp.log()[before:]; len(got) != 1 || !strings.HasSuffix(got[0], "×1") {
			t.Errorf("SendGarp as MASTER: bursts %v, want one of one", got)
		}

		// ReloadConfig takes SIGHUP's path: VI_2 is removed.
		if err := os.WriteFile(a.confPath, []byte(fmt.Sprintf(dbusConf, "", "")), 0o644); err != nil {
			t.Fatal(err)
		}
		bus.last.h.Reload()
		time.Sleep(5 * time.Second) // VI_2's release budget
		step("reload removing VI_2", "status "+vi2Path+" 3", "set VI_1="+vi1Path+":2", "reloaded")

		// dbus_service_name: a new name is a new server.
		if out := reloadNode(t, a, fmt.Sprintf(dbusConf, "    dbus_service_name org.example.Other\n", "")); out.err != nil {
			t.Fatal(out.err)
		}
		step("reload with a new name", "close", "start org.example.Other VI_1="+vi1Path+":2")

		a.cancel()
		<-a.done
		got = bus.take()
		if len(got) < 2 || got[0] != "stopping" || got[len(got)-1] != "close" {
			t.Errorf("stop: %v, want stopping first and close last", got)
		}
		if slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "status") }) {
			t.Errorf("stop: %v: a state signal after STOP", got)
		}
	})
}

// Turning enable_dbus off by a reload closes the server; on again starts one.
func TestDBusOffAndOnByReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		bus := &busLog{}
		off := strings.Replace(fmt.Sprintf(dbusConf, "", ""), "    enable_dbus\n", "", 1)
		a := newNode(t, seg, "192.0.2.11", off, nil)
		a.d.dbus.start = bus.start
		a.start()
		if got := bus.take(); len(got) != 0 {
			t.Fatalf("no enable_dbus, yet %v", got)
		}
		if out := reloadNode(t, a, fmt.Sprintf(dbusConf, "", "")); out.err != nil {
			t.Fatal(out.err)
		}
		if d := cmp.Diff([]string{"start org.keepalived.Vrrp1 VI_1=" + vi1Path + ":1"}, bus.take()); d != "" {
			t.Errorf("on (-want +got):\n%s", d)
		}
		if out := reloadNode(t, a, off); out.err != nil {
			t.Fatal(out.err)
		}
		if d := cmp.Diff([]string{"close"}, bus.take()); d != "" {
			t.Errorf("off (-want +got):\n%s", d)
		}
		a.stop(t)
	})
}

// PrintData, PrintStats and PrintStatsClear write keepalived's dumps, as
// its SIGUSR1/SIGUSR2/STATS_CLEAR do (keepalived 2.2.7 logs "Printing VRRP
// data on DBus request" and writes /tmp/keepalived.data: observed).
func TestDBusPrintMethodsWriteTheDumps(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		bus := &busLog{}
		a := newNode(t, seg, "192.0.2.11", fmt.Sprintf(dbusConf, "", ""), nil)
		a.d.dbus.start = bus.start
		a.start()
		synctest.Wait()
		for _, tc := range []struct {
			call func()
			file string
		}{
			{bus.last.h.PrintData, "keepalived.data"},
			{func() { bus.last.h.PrintStats(false) }, "keepalived.stats"},
		} {
			tc.call()
			synctest.Wait()
			b, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil || !strings.Contains(string(b), "VI_1") {
				t.Errorf("%s: %v, %.80q", tc.file, err, b)
			}
		}
		a.stop(t)
	})
}
