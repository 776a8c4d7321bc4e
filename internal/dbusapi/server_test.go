package dbusapi

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
)

type calls struct {
	mu  sync.Mutex
	got []string
}

func (c *calls) add(s string) { c.mu.Lock(); c.got = append(c.got, s); c.mu.Unlock() }
func (c *calls) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}
func (c *calls) PrintData() { c.add("PrintData") }
func (c *calls) PrintStats(clear bool) {
	if clear {
		c.add("PrintStatsClear")
		return
	}
	c.add("PrintStats")
}
func (c *calls) Reload()        { c.add("Reload") }
func (c *calls) SendGarp(k Key) { c.add("SendGarp " + string(k.Path())) }

var testInstances = []Instance{
	{Key: Key{Interface: "eth-0.5", VRID: 51}, Name: "VI_1", State: StateBackup},
	{Key: Key{Interface: "eth-0.5", VRID: 52, IPv6: true}, Name: "VI_6", State: StateMaster},
}

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		k    Key
		want dbus.ObjectPath
	}{
		// keepalived 2.2.7: dbh-va -> dbh_va, dbh.m-1 -> dbh_m_1 (observed)
		{Key{Interface: "dbh-va", VRID: 51}, "/org/keepalived/Vrrp1/Instance/dbh_va/51/IPv4"},
		{Key{Interface: "dbh.m-1", VRID: 255, IPv6: true}, "/org/keepalived/Vrrp1/Instance/dbh_m_1/255/IPv6"},
		{Key{Interface: "eth0", VRID: 1}, "/org/keepalived/Vrrp1/Instance/eth0/1/IPv4"},
	} {
		if got := tc.k.Path(); got != tc.want || !got.IsValid() {
			t.Errorf("%+v: path %q (valid %v), want %q", tc.k, got, got.IsValid(), tc.want)
		}
	}
}

// introspected walks the tree from / as busctl tree does: path -> the
// interfaces and their members with signatures.
func introspected(t *testing.T, c *dbus.Conn, name string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	var walk func(p string)
	walk = func(p string) {
		var s string
		if err := c.Object(name, dbus.ObjectPath(p)).Call(introIface+".Introspect", 0).Store(&s); err != nil {
			t.Fatalf("introspect %s: %v", p, err)
		}
		var n struct {
			Interfaces []struct {
				Name    string `xml:"name,attr"`
				Methods []struct {
					Name string `xml:"name,attr"`
					Args []struct {
						Type string `xml:"type,attr"`
						Dir  string `xml:"direction,attr"`
					} `xml:"arg"`
				} `xml:"method"`
				Signals []struct {
					Name string `xml:"name,attr"`
					Args []struct {
						Type string `xml:"type,attr"`
					} `xml:"arg"`
				} `xml:"signal"`
				Props []struct {
					Name   string `xml:"name,attr"`
					Type   string `xml:"type,attr"`
					Access string `xml:"access,attr"`
				} `xml:"property"`
			} `xml:"interface"`
			Children []struct {
				Name string `xml:"name,attr"`
			} `xml:"node"`
		}
		if err := xml.Unmarshal([]byte(s), &n); err != nil {
			t.Fatalf("introspect %s: %v", p, err)
		}
		var members []string
		for _, i := range n.Interfaces {
			for _, m := range i.Methods {
				sig := ""
				for _, a := range m.Args {
					sig += a.Dir + ":" + a.Type + " "
				}
				members = append(members, i.Name+"."+m.Name+"("+sig+")")
			}
			for _, m := range i.Signals {
				sig := ""
				for _, a := range m.Args {
					sig += a.Type
				}
				members = append(members, i.Name+"."+m.Name+" signal "+sig)
			}
			for _, m := range i.Props {
				members = append(members, i.Name+"."+m.Name+" property "+m.Type+" "+m.Access)
			}
		}
		slices.Sort(members)
		out[p] = members
		for _, ch := range n.Children {
			cp := p + "/" + ch.Name
			if p == "/" {
				cp = "/" + ch.Name
			}
			walk(cp)
		}
	}
	walk("/")
	return out
}

func startServer(t *testing.T, addr, name string, h Handler, in []Instance) *Server {
	t.Helper()
	s := Start(Options{Address: addr, ServiceName: name, Handler: h, Log: slog.New(slog.DiscardHandler)}, in)
	t.Cleanup(func() { <-s.Close() })
	return s
}

func TestTreeAndProperties(t *testing.T) {
	addr, _ := privateBus(t, "")
	c := client(t, addr)
	startServer(t, addr, "", &calls{}, testInstances)
	waitFor(t, "the name", func() bool { return hasOwner(c, DefaultServiceName) })

	tr := introspected(t, c, DefaultServiceName)
	var paths []string
	for p := range tr {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	wantPaths := []string{"/", "/org", "/org/keepalived", "/org/keepalived/Vrrp1", "/org/keepalived/Vrrp1/Instance",
		"/org/keepalived/Vrrp1/Instance/eth_0_5", "/org/keepalived/Vrrp1/Instance/eth_0_5/51",
		"/org/keepalived/Vrrp1/Instance/eth_0_5/51/IPv4", "/org/keepalived/Vrrp1/Instance/eth_0_5/52",
		"/org/keepalived/Vrrp1/Instance/eth_0_5/52/IPv6", "/org/keepalived/Vrrp1/Vrrp"}
	if d := cmp.Diff(wantPaths, paths); d != "" {
		t.Errorf("tree (-want +got):\n%s", d)
	}
	inst := tr["/org/keepalived/Vrrp1/Instance/eth_0_5/51/IPv4"]
	for _, m := range []string{"org.keepalived.Vrrp1.Instance.SendGarp()", "org.keepalived.Vrrp1.Instance.VrrpStatusChange signal u",
		"org.keepalived.Vrrp1.Instance.Name property s read", "org.keepalived.Vrrp1.Instance.State property (us) read"} {
		if !slices.Contains(inst, m) {
			t.Errorf("instance object lacks %s: %v", m, inst)
		}
	}
	// keepalived 2.2.7 here is built without --enable-dbus-create-instance.
	for p, members := range tr {
		for _, m := range members {
			if strings.Contains(m, "CreateInstance") || strings.Contains(m, "DestroyInstance") {
				t.Errorf("%s exports %s", p, m)
			}
		}
	}

	o := c.Object(DefaultServiceName, testInstances[1].Key.Path())
	var all map[string]dbus.Variant
	if err := o.Call(propsIface+".GetAll", 0, InstanceIface).Store(&all); err != nil {
		t.Fatal(err)
	}
	// A struct arrives as []any (godbus); busctl shows (s) and (us), as
	// for keepalived.
	got := map[string]any{}
	for k, v := range all {
		got[k] = v.Value()
	}
	want := map[string]any{"Name": []any{"VI_6"}, "State": []any{uint32(2), "Master"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("GetAll (-want +got):\n%s", d)
	}
	// GDBus's errors, as keepalived answers them.
	for _, tc := range []struct {
		call func() error
		want string
	}{
		{func() error { return o.Call(propsIface+".Get", 0, InstanceIface, "Foo").Err }, "No such property “Foo”"},
		{func() error { return o.Call(propsIface+".Set", 0, InstanceIface, "Name", dbus.MakeVariant("x")).Err }, "Property “Name” is not writable"},
		{func() error { return o.Call(propsIface+".GetAll", 0, "").Err }, "No such interface “”"},
	} {
		err := tc.call()
		de, ok := err.(dbus.Error)
		if !ok || de.Name != "org.freedesktop.DBus.Error.InvalidArgs" || len(de.Body) != 1 || de.Body[0] != tc.want {
			t.Errorf("error %v, want InvalidArgs %q", err, tc.want)
		}
	}
}

func TestSignalsInKeepalivedsOrder(t *testing.T) {
	addr, _ := privateBus(t, "")
	c := client(t, addr)
	if err := c.AddMatchSignal(dbus.WithMatchPathNamespace(BasePath)); err != nil {
		t.Fatal(err)
	}
	sigs := make(chan *dbus.Signal, 64)
	c.Signal(sigs)
	const name = "org.example.Other" // dbus_service_name: the paths stay
	s := Start(Options{Address: addr, ServiceName: name, Handler: &calls{}}, testInstances)
	waitFor(t, "the name", func() bool { return hasOwner(c, name) })
	s.StatusChange(testInstances[0].Key, StateMaster)
	s.Set(testInstances[1:]) // a reload removed VI_1
	s.Reloaded()
	s.Stopping()
	waitFor(t, "State STOP while stopping", func() bool {
		var st stateValue
		err := c.Object(name, testInstances[1].Key.Path()).Call(propsIface+".Get", 0, InstanceIface, "State").Store(&st)
		return err == nil && st.Code == StateStop
	})
	<-s.Close()
	var got []string
	deadline := time.After(10 * time.Second)
	for len(got) < 7 {
		select {
		case sg := <-sigs:
			got = append(got, string(sg.Path)+" "+sg.Name+" "+fmtBody(sg.Body))
		case <-deadline:
			t.Fatalf("signals so far: %v", got)
		}
	}
	p1, p6 := string(testInstances[0].Key.Path()), string(testInstances[1].Key.Path())
	want := []string{
		"/org/keepalived/Vrrp1/Vrrp org.keepalived.Vrrp1.Vrrp.VrrpStarted ",
		p1 + " org.keepalived.Vrrp1.Instance.VrrpStatusChange 1",
		p6 + " org.keepalived.Vrrp1.Instance.VrrpStatusChange 2",
		p1 + " org.keepalived.Vrrp1.Instance.VrrpStatusChange 2",
		"/org/keepalived/Vrrp1/Vrrp org.keepalived.Vrrp1.Vrrp.VrrpReloaded ",
		p6 + " org.keepalived.Vrrp1.Instance.VrrpStatusChange 98",
		"/org/keepalived/Vrrp1/Vrrp org.keepalived.Vrrp1.Vrrp.VrrpStopped ",
	}
	if d := cmp.Diff(want, got[:7]); d != "" {
		t.Errorf("signals (-want +got):\n%s", d)
	}
	waitFor(t, "the name released", func() bool { return !hasOwner(c, name) })
}

func fmtBody(b []any) string {
	if len(b) == 0 {
		return ""
	}
	return fmt.Sprint(b[0])
}

func TestMethodsReachTheHandler(t *testing.T) {
	addr, _ := privateBus(t, "")
	c := client(t, addr)
	h := &calls{}
	startServer(t, addr, "", h, testInstances)
	waitFor(t, "the name", func() bool { return hasOwner(c, DefaultServiceName) })
	v := c.Object(DefaultServiceName, VrrpPath)
	for _, m := range []string{"PrintData", "PrintStats", "PrintStatsClear", "ReloadConfig"} {
		if err := v.Call(VrrpIface+"."+m, 0).Err; err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	if err := c.Object(DefaultServiceName, testInstances[0].Key.Path()).Call(InstanceIface+".SendGarp", 0).Err; err != nil {
		t.Fatal(err)
	}
	want := []string{"PrintData", "PrintStats", "PrintStatsClear", "Reload", "SendGarp " + string(testInstances[0].Key.Path())}
	if d := cmp.Diff(want, h.list()); d != "" {
		t.Errorf("handler calls (-want +got):\n%s", d)
	}
	if err := c.Object(DefaultServiceName, testInstances[0].Key.Path()).Call(VrrpIface+".PrintData", 0).Err; err == nil {
		t.Error("PrintData answered on an instance object")
	}
}

// A bus that is absent at start and one that goes away: logged once per
// outage, reconnected with backoff, everything exported again.
func TestReconnects(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "late.sock")
	rec := &logCount{}
	s := Start(Options{Address: "unix:path=" + sock, Handler: &calls{}, Log: slog.New(rec),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, testInstances)
	t.Cleanup(func() { <-s.Close() })
	for range 100 { // the loop's calls never block, bus or not
		s.StatusChange(testInstances[0].Key, StateMaster)
	}
	addr, stop := privateBus(t, sock)
	c := client(t, addr)
	waitFor(t, "the name", func() bool { return hasOwner(c, DefaultServiceName) })
	var st stateValue
	if err := c.Object(DefaultServiceName, testInstances[0].Key.Path()).Call(propsIface+".Get", 0, InstanceIface, "State").Store(&st); err != nil {
		t.Fatal(err)
	}
	if st != (stateValue{StateMaster, "Master"}) {
		t.Errorf("State %+v after the bus came, want the last status", st)
	}
	stop()
	waitFor(t, "the loss noticed", func() bool { return !s.Connected() })
	addr, _ = privateBus(t, sock)
	c = client(t, addr)
	waitFor(t, "the name again", func() bool { return hasOwner(c, DefaultServiceName) })
	if n := rec.warnings(); n != 2 {
		t.Errorf("%d warnings, want 2: one per outage", n)
	}
}

func TestFullQueueDropsSignalsNotTheSet(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	s := &Server{o: Options{Address: "unix:path=" + sock}, ops: make(chan op, 1), closeReq: make(chan struct{}),
		done: make(chan struct{}), entries: map[dbus.ObjectPath]Instance{}, log: slog.New(slog.DiscardHandler)}
	s.want.Store(&[]Instance{})
	s.StatusChange(testInstances[0].Key, StateMaster) // fills the queue
	s.StatusChange(testInstances[0].Key, StateFault)  // dropped
	s.Set(testInstances)                              // kept apart from the queue
	if s.Dropped() != 1 || !s.syncPending.Load() {
		t.Fatalf("dropped %d, sync pending %v; want 1, true", s.Dropped(), s.syncPending.Load())
	}
	s.drain()
	if _, ok := s.entry(testInstances[1].Key.Path()); !ok {
		t.Error("the set given while the queue was full was lost")
	}
}

type logCount struct {
	mu sync.Mutex
	n  int
}

func (l *logCount) Enabled(_ context.Context, lv slog.Level) bool { return true }
func (l *logCount) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
	return nil
}
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCount) WithGroup(string) slog.Handler      { return l }
func (l *logCount) warnings() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// A bus that stops reading (dbus-daemon stopped) never blocks the caller:
// the server's goroutine waits on its socket, the queue fills, and the
// signals beyond it are dropped and counted. Once the bus runs again, Close
// still ends.
func TestStalledBusNeverBlocksTheCaller(t *testing.T) {
	addr, pid, _ := privateBusPid(t, "")
	c := client(t, addr)
	s := startServer(t, addr, "", &calls{}, testInstances)
	waitFor(t, "the name", func() bool { return hasOwner(c, DefaultServiceName) })
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	const n = 50000 // far more than the queue and the socket buffers hold
	for i := range n {
		s.StatusChange(testInstances[0].Key, uint32(i%2)+1)
	}
	if s.Dropped() == 0 {
		t.Errorf("%d signals into a stalled bus and none dropped", n)
	}
	t.Logf("dropped %d of %d while the bus was stopped", s.Dropped(), n)
	syscall.Kill(pid, syscall.SIGCONT)
}
