package track

// Tests of the systemctl is-active prober against a real dbus-daemon and the
// systemd stand-in in unitbus_test.go. This machine (like CI's) has no
// systemd as PID 1, so systemd itself is never asked; where the real
// /usr/bin/systemctl is installed it is run too: once as it is (it cannot
// reach systemd, which is what the exec fallback meets here), and, as root,
// in a mount namespace against the stand-in, to check that the stand-in and
// the prober answer as systemctl does.

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
)

func TestParseSystemctlIsActive(t *testing.T) {
	tests := []struct {
		argv  string
		units []string
		quiet bool
		ok    bool
	}{
		{"/usr/bin/systemctl is-active apache2", []string{"apache2.service"}, false, true},
		{"systemctl is-active apache2.service", []string{"apache2.service"}, false, true},
		{"/bin/systemctl is-active --quiet apache2", []string{"apache2.service"}, true, true},
		{"systemctl --quiet is-active apache2", []string{"apache2.service"}, true, true},
		{"systemctl -q is-active haproxy nginx", []string{"haproxy.service", "nginx.service"}, true, true},
		{"systemctl is-active -qq nginx", []string{"nginx.service"}, true, true},
		{"systemctl --system is-active nginx", []string{"nginx.service"}, false, true},
		{"systemctl is-active -- nginx", []string{"nginx.service"}, false, true},
		{"systemctl is-active docker.socket", []string{"docker.socket"}, false, true},
		{"systemctl is-active var-lib.mount home.automount x.timer y.target z.path a.slice b.scope c.swap d.device",
			[]string{"var-lib.mount", "home.automount", "x.timer", "y.target", "z.path", "a.slice", "b.scope", "c.swap", "d.device"}, false, true},
		{"systemctl is-active getty@tty1", []string{"getty@tty1.service"}, false, true},
		{"systemctl is-active openvpn@site.service", []string{"openvpn@site.service"}, false, true},
		{"systemctl is-active foo.bar", []string{"foo.bar.service"}, false, true},
		{"systemctl is-active -", []string{"-.service"}, false, true},
		{"systemctl is-active apache2 apache2", []string{"apache2.service", "apache2.service"}, false, true},
		// Left to the real systemctl.
		{"systemctl is-active", nil, false, false},
		{"systemctl is-enabled apache2", nil, false, false},
		{"systemctl status apache2", nil, false, false},
		{"systemctl --user is-active pipewire", nil, false, false},
		{"systemctl -H host is-active apache2", nil, false, false},
		{"systemctl --machine=c1 is-active apache2", nil, false, false},
		{"systemctl is-active -a apache2", nil, false, false},
		{"systemctl is-active 'apache*'", nil, false, false},
		{"systemctl is-active ap?che2", nil, false, false},
		{"systemctl is-active [ab]pache", nil, false, false},
		{"systemctl is-active /home", nil, false, false},
		{"systemctl is-active getty@", nil, false, false},
		{"systemctl is-active getty@.service", nil, false, false},
		{"systemctl is-active @foo", nil, false, false},
		{"systemctl is-active foo!bar", nil, false, false},
		{"/usr/bin/pgrep apache2", nil, false, false},
		{"/usr/bin/mysystemctl is-active apache2", nil, false, false},
	}
	for _, tt := range tests {
		argv := strings.Fields(strings.ReplaceAll(tt.argv, "'", ""))
		units, quiet, ok := ParseSystemctlIsActive(argv)
		if diff := cmp.Diff(tt.units, units); diff != "" || quiet != tt.quiet || ok != tt.ok {
			t.Errorf("%s: quiet %v ok %v, want %v %v; units (-want +got):\n%s", tt.argv, quiet, ok, tt.quiet, tt.ok, diff)
		}
	}
	long := strings.Repeat("a", 248)
	if _, _, ok := ParseSystemctlIsActive([]string{"systemctl", "is-active", long}); ok {
		t.Errorf("a %d-byte unit name was accepted; systemd's limit is 255", len(long)+len(".service"))
	}
	if _, _, ok := ParseSystemctlIsActive(nil); ok {
		t.Error("empty argv accepted")
	}
}

func TestUnitObjectPath(t *testing.T) {
	tests := map[string]dbus.ObjectPath{
		"apache2.service":    "/org/freedesktop/systemd1/unit/apache2_2eservice",
		"getty@tty1.service": "/org/freedesktop/systemd1/unit/getty_40tty1_2eservice",
		"-.mount":            "/org/freedesktop/systemd1/unit/_2d_2emount",
		"dev-sda1.device":    "/org/freedesktop/systemd1/unit/dev_2dsda1_2edevice",
		"":                   "/org/freedesktop/systemd1/unit/_",
	}
	for name, want := range tests {
		got := unitObjectPath(name)
		if got != want {
			t.Errorf("unitObjectPath(%q) = %s, want %s", name, got, want)
		}
		if !got.IsValid() {
			t.Errorf("unitObjectPath(%q) = %s is not a valid object path", name, got)
		}
		if back, ok := unitTestNameFromPath(got); !ok || back != name {
			t.Errorf("path %s names %q, %v; want %q", got, back, ok, name)
		}
	}
}

// newTestUnitProber starts a prober on its own connection to bus; it is
// closed at cleanup, before the connection and the bus.
func newTestUnitProber(tb testing.TB, bus *unitBus, units ...string) *UnitProber {
	tb.Helper()
	return newTestUnitProberOn(tb, bus.dial(tb), units...)
}

// newTestUnitProberOn starts a prober on conn, closed at cleanup.
func newTestUnitProberOn(tb testing.TB, conn *dbus.Conn, units ...string) *UnitProber {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := NewUnitProber(ctx, conn, units)
	if err != nil {
		cancel()
		tb.Fatalf("NewUnitProber(%v): %v", units, err)
	}
	tb.Cleanup(func() {
		p.Close()
		cancel()
	})
	return p
}

// waitStatus polls p, deadline-bounded, until it reports want.
func waitStatus(tb testing.TB, p *UnitProber, want int) Outcome {
	tb.Helper()
	return waitOutcome(tb, p, func(o Outcome) bool { return o.Status == want }, "status "+strconv.Itoa(want))
}

// waitOutcome polls p, deadline-bounded, until its outcome satisfies ok.
func waitOutcome(tb testing.TB, p *UnitProber, ok func(Outcome) bool, what string) Outcome {
	tb.Helper()
	deadline := time.NewTimer(unitTestWait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		o := p.Probe(context.Background())
		if ok(o) {
			return o
		}
		select {
		case <-p.Changed():
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("outcome stayed %d (%s), want %s", o.Status, o.Detail, what)
		}
	}
}

// waitChanged waits, bounded, for Changed to fire.
func waitChanged(tb testing.TB, p *UnitProber) {
	tb.Helper()
	select {
	case <-p.Changed():
	case <-time.After(unitTestWait):
		tb.Fatalf("Changed did not fire in %v", unitTestWait)
	}
}

// drainChanged empties Changed.
func drainChanged(p *UnitProber) {
	select {
	case <-p.Changed():
	default:
	}
}

// wantOutcome checks one Probe.
func wantOutcome(tb testing.TB, p *UnitProber, want Outcome) {
	tb.Helper()
	if diff := cmp.Diff(want, p.Probe(context.Background())); diff != "" {
		tb.Errorf("Probe (-want +got):\n%s", diff)
	}
}

func TestUnitProberFollowsActiveState(t *testing.T) {
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{}, map[string]string{"apache2.service": "active"})
	p := newTestUnitProber(t, bus, "apache2.service")
	if p.Method() != "dbus" {
		t.Errorf("Method = %q, want dbus", p.Method())
	}
	if f.subscribes.Load() == 0 {
		t.Error("the prober did not call Manager.Subscribe")
	}
	wantOutcome(t, p, Outcome{Status: 0, Detail: "apache2.service is active"})

	gets := f.gets.Load()
	for range 100 {
		p.Probe(context.Background())
	}
	if n := f.gets.Load() - gets; n != 0 {
		t.Errorf("100 probes of a cached state made %d Properties.Get calls, want 0", n)
	}

	steps := []struct {
		state  string
		status int
	}{
		{"deactivating", 3}, {"inactive", 3}, {"activating", 3}, {"active", 0},
		{"reloading", 0}, {"active", 0}, {"failed", 3}, {"refreshing", 0}, {"maintenance", 3},
	}
	for _, s := range steps {
		drainChanged(p)
		f.set(t, "apache2.service", s.state)
		waitChanged(t, p)
		o := waitStatus(t, p, s.status)
		if want := "apache2.service is " + s.state; o.Detail != want {
			t.Errorf("after %s: detail %q, want %q", s.state, o.Detail, want)
		}
	}
	if n := f.gets.Load() - gets; n != 0 {
		t.Errorf("following %d changes made %d Properties.Get calls, want 0 (signals carry the state)", len(steps), n)
	}
}

func TestUnitProberUnknownUnit(t *testing.T) {
	tests := []struct {
		version string
		status  int
	}{
		// systemctl before 253 prints "inactive" and exits 3; from 253 on
		// it exits 4 when no listed unit exists.
		{"252.39-1~deb12u2", 3},
		{"253", 4},
		{"v256.7", 4},
		{"", 4},
	}
	for _, tt := range tests {
		t.Run("systemd "+tt.version, func(t *testing.T) {
			bus := startUnitBus(t)
			startFakeSystemd(t, bus, fakeSystemdOptions{Version: tt.version}, nil)
			p := newTestUnitProber(t, bus, "nosuch.service")
			wantOutcome(t, p, Outcome{Status: tt.status, Detail: "nosuch.service is inactive (no such unit)"})
		})
	}
}

func TestUnitProberMultipleUnits(t *testing.T) {
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{}, map[string]string{
		"haproxy.service": "inactive", "nginx.service": "failed",
	})
	p := newTestUnitProber(t, bus, "haproxy.service", "nginx.service", "haproxy.service", "nosuch.service")
	if diff := cmp.Diff([]string{"haproxy.service", "nginx.service", "nosuch.service"}, p.Units()); diff != "" {
		t.Errorf("Units (-want +got):\n%s", diff)
	}
	// Not every unit is missing, so 3, not 4.
	wantOutcome(t, p, Outcome{Status: 3,
		Detail: "haproxy.service is inactive, nginx.service is failed, nosuch.service is inactive (no such unit)"})
	f.set(t, "nginx.service", "active")
	o := waitStatus(t, p, 0)
	if want := "haproxy.service is inactive, nginx.service is active, nosuch.service is inactive (no such unit)"; o.Detail != want {
		t.Errorf("detail %q, want %q", o.Detail, want)
	}
	f.set(t, "haproxy.service", "active")
	f.set(t, "nginx.service", "inactive")
	waitStatus(t, p, 0)
	f.set(t, "haproxy.service", "failed")
	waitStatus(t, p, 3)
	f.set(t, "nosuch.service", "active") // started after all: loaded now
	waitStatus(t, p, 0)
}

func TestUnitProberAlias(t *testing.T) {
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{}, map[string]string{"ssh.service": "active"})
	f.mu.Lock()
	f.aliases["sshd.service"] = "ssh.service"
	f.mu.Unlock()
	p := newTestUnitProber(t, bus, "sshd")
	wantOutcome(t, p, Outcome{Status: 0, Detail: "sshd.service is active"})
	// systemd signals from the unit's own path, not from the alias's.
	f.set(t, "ssh.service", "failed")
	waitStatus(t, p, 3)
}

func TestUnitProberChangedCoalesces(t *testing.T) {
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{}, map[string]string{"apache2.service": "active"})
	p := newTestUnitProber(t, bus, "apache2.service")
	drainChanged(p)
	for _, s := range []string{"inactive", "active", "failed", "active", "inactive"} {
		f.set(t, "apache2.service", s)
	}
	waitChanged(t, p)
	last := func(o Outcome) bool { return o.Status == 3 && o.Detail == "apache2.service is inactive" }
	waitOutcome(t, p, last, "the last state")
	if n := len(p.Changed()); n > 1 {
		t.Errorf("%d notifications pending, want at most 1", n)
	}
}

// TestUnitProberApplySignals checks the signal logic alone: what changes the
// cache, what fires Changed, and that older messages never undo newer ones.
func TestUnitProberApplySignals(t *testing.T) {
	path := unitObjectPath("apache2.service")
	p := &UnitProber{units: []*unitState{{name: "apache2.service", path: path, active: "active", load: "loaded", seq: 10, valid: true}}}
	changed := func(seq dbus.Sequence, p dbus.ObjectPath, props map[string]dbus.Variant, inval []string) *dbus.Signal {
		return &dbus.Signal{Name: dbusPropsChanged, Path: p, Sequence: seq, Body: []any{systemdUnitIface, props, inval}}
	}
	state := func(s string) map[string]dbus.Variant {
		return map[string]dbus.Variant{"ActiveState": dbus.MakeVariant(s), "SubState": dbus.MakeVariant("x")}
	}
	owner := func(seq dbus.Sequence, newOwner string) *dbus.Signal {
		return &dbus.Signal{Name: "org.freedesktop.DBus.NameOwnerChanged", Sequence: seq, Body: []any{systemdBusName, ":1.1", newOwner}}
	}
	reloading := func(seq dbus.Sequence, active bool) *dbus.Signal {
		return &dbus.Signal{Name: systemdManagerIface + ".Reloading", Path: systemdManagerPath, Sequence: seq, Body: []any{active}}
	}
	steps := []struct {
		what   string
		sig    *dbus.Signal
		fire   bool
		active string
		valid  bool
	}{
		{"same state (SubState only)", changed(11, path, state("active"), nil), false, "active", true},
		{"older message", changed(9, path, state("failed"), nil), false, "active", true},
		{"other unit", changed(12, unitObjectPath("nginx.service"), state("failed"), nil), false, "active", true},
		{"other interface", &dbus.Signal{Name: dbusPropsChanged, Path: path, Sequence: 13,
			Body: []any{"org.freedesktop.systemd1.Service", state("failed"), []string{}}}, false, "active", true},
		{"no ActiveState", changed(14, path, map[string]dbus.Variant{"SubState": dbus.MakeVariant("y")}, nil), false, "active", true},
		{"change", changed(15, path, state("failed"), nil), true, "failed", true},
		{"invalidated", changed(16, path, map[string]dbus.Variant{}, []string{"ActiveState"}), true, "failed", false},
		{"value after invalidation", changed(17, path, state("active"), nil), true, "active", true},
		{"malformed", &dbus.Signal{Name: dbusPropsChanged, Path: path, Sequence: 18, Body: []any{"x"}}, false, "active", true},
		{"reload started", reloading(19, true), false, "active", true},
		{"reload finished", reloading(20, false), true, "active", false},
		{"other name's owner", &dbus.Signal{Name: "org.freedesktop.DBus.NameOwnerChanged", Sequence: 21,
			Body: []any{"org.example", "", ":1.9"}}, false, "active", false},
		{"systemd left", owner(22, ""), true, "active", false},
		{"value older than the invalidation", changed(21, path, state("failed"), nil), false, "active", false},
		{"unrelated signal", &dbus.Signal{Name: "org.example.Foo", Sequence: 23}, false, "active", false},
	}
	for _, s := range steps {
		fire := p.apply(s.sig)
		u := p.units[0]
		if fire != s.fire || u.active != s.active || u.valid != s.valid {
			t.Errorf("%s: fire %v active %q valid %v, want %v %q %v", s.what, fire, u.active, u.valid, s.fire, s.active, s.valid)
		}
	}
	if !p.resolve || !p.subscribe || p.systemdErr == "" {
		t.Errorf("after systemd left: resolve %v subscribe %v err %q", p.resolve, p.subscribe, p.systemdErr)
	}
}

func TestUnitProberInvalidatedState(t *testing.T) {
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{}, map[string]string{"apache2.service": "active"})
	p := newTestUnitProber(t, bus, "apache2.service")
	gets := f.gets.Load()
	drainChanged(p)
	f.setQuietly(t, "apache2.service", "failed")
	waitChanged(t, p)
	wantOutcome(t, p, Outcome{Status: 3, Detail: "apache2.service is failed"})
	if f.gets.Load() == gets {
		t.Error("an invalidated state was not read again")
	}
}

func TestUnitProberDaemonReload(t *testing.T) {
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{Version: "256"}, nil)
	p := newTestUnitProber(t, bus, "apache2")
	wantOutcome(t, p, Outcome{Status: 4, Detail: "apache2.service is inactive (no such unit)"})
	// A unit file appears and systemd is reloaded: the unit is now known.
	drainChanged(p)
	f.reload(t, func(units map[string]*fakeUnit, _ map[string]string) {
		units["apache2.service"] = &fakeUnit{active: "inactive", sub: "dead", load: "loaded"}
	})
	waitChanged(t, p)
	wantOutcome(t, p, Outcome{Status: 3, Detail: "apache2.service is inactive"})
	// A reload that makes the name an alias of another unit: its signals
	// now come from that unit's path.
	f.reload(t, func(units map[string]*fakeUnit, aliases map[string]string) {
		delete(units, "apache2.service")
		units["httpd.service"] = &fakeUnit{active: "inactive", sub: "dead", load: "loaded"}
		aliases["apache2.service"] = "httpd.service"
	})
	waitStatus(t, p, 3)
	f.set(t, "httpd.service", "active")
	waitStatus(t, p, 0)
}

func TestUnitProberSystemdRestart(t *testing.T) {
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{}, map[string]string{"apache2.service": "active"})
	p := newTestUnitProber(t, bus, "apache2.service")
	waitStatus(t, p, 0)

	drainChanged(p)
	f.conn.Close() // systemd leaves the bus (re-exec, crash)
	waitChanged(t, p)
	o := waitStatus(t, p, -1)
	if !strings.Contains(o.Detail, "systemd left the system bus") {
		t.Errorf("detail %q, want it to say systemd left", o.Detail)
	}

	g := restartFakeSystemd(t, bus, f)
	o = waitStatus(t, p, 0)
	if o.Detail != "apache2.service is active" {
		t.Errorf("after the restart: detail %q", o.Detail)
	}
	if g.subscribes.Load() == 0 {
		t.Error("the prober did not subscribe again to the restarted systemd")
	}
	g.set(t, "apache2.service", "failed")
	waitStatus(t, p, 3)
}

func TestUnitProberBusDeath(t *testing.T) {
	bus := startUnitBus(t)
	startFakeSystemd(t, bus, fakeSystemdOptions{}, map[string]string{"apache2.service": "active"})
	p := newTestUnitProber(t, bus, "apache2.service")
	waitStatus(t, p, 0)
	drainChanged(p)
	bus.kill()
	waitChanged(t, p)
	o := waitStatus(t, p, -1)
	if o.Detail != "lost connection to the system bus" {
		t.Errorf("detail %q", o.Detail)
	}
}

func TestUnitProberWithoutSubscribe(t *testing.T) {
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{NoSubscribe: true}, map[string]string{"apache2.service": "inactive"})
	p := newTestUnitProber(t, bus, "apache2.service")
	wantOutcome(t, p, Outcome{Status: 3, Detail: "apache2.service is inactive"})
	f.set(t, "apache2.service", "active")
	waitStatus(t, p, 0)
}

func TestUnitProberSharedConnection(t *testing.T) {
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{}, map[string]string{
		"apache2.service": "active", "nginx.service": "inactive",
	})
	conn := bus.dial(t)
	a := newTestUnitProberOn(t, conn, "apache2.service")
	b := newTestUnitProberOn(t, conn, "nginx.service")
	waitStatus(t, a, 0)
	waitStatus(t, b, 3)
	drainChanged(a)
	f.set(t, "nginx.service", "active")
	waitStatus(t, b, 0)
	select {
	case <-a.Changed():
		t.Error("a change of nginx fired the apache2 prober")
	default:
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if o := a.Probe(context.Background()); o.Status != -1 {
		t.Errorf("closed prober: %+v", o)
	}
	f.set(t, "nginx.service", "failed")
	waitStatus(t, b, 3)
}

func TestUnitProberErrors(t *testing.T) {
	bus := startUnitBus(t)
	conn := bus.dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), unitTestWait)
	defer cancel()
	if _, err := NewUnitProber(ctx, conn, nil); err == nil {
		t.Error("no units: no error")
	}
	if _, err := NewUnitProber(ctx, conn, []string{"apache*"}); err == nil {
		t.Error("a glob: no error")
	}
	// No systemd on the bus.
	if _, err := NewUnitProber(ctx, conn, []string{"apache2"}); err == nil {
		t.Error("no systemd: no error")
	}
}

func TestChooseProber(t *testing.T) {
	bus := startUnitBus(t)
	fallbacks := 0
	fallback := func() Prober {
		fallbacks++
		return unitExecProber{argv: []string{"/bin/sh", "-c", "exit 0"}}
	}
	deadSock := filepath.Join(t.TempDir(), "no-bus-here")
	systemd := func() (*dbus.Conn, error) { return bus.dial(t), nil }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	check := func(argv string, busFn func() (*dbus.Conn, error), method, reason string) Prober {
		t.Helper()
		before := fallbacks
		p, why := ChooseProber(ctx, strings.Fields(argv), busFn, fallback)
		if p.Method() != method || !strings.Contains(why, reason) || (reason == "" && why != "") {
			t.Errorf("%s: method %q reason %q, want %q and a reason with %q", argv, p.Method(), why, method, reason)
		}
		if (method == "exec") != (fallbacks == before+1) {
			t.Errorf("%s: fallback called %d times", argv, fallbacks-before)
		}
		return p
	}

	check("/usr/local/bin/check_haproxy.sh", systemd, "exec", "")
	check("/usr/bin/systemctl --user is-active pipewire", systemd, "exec", `option "--user"`)
	check("/usr/bin/systemctl is-active apache*", systemd, "exec", "pattern")

	// DBUS_SYSTEM_BUS_ADDRESS names a socket nobody listens on.
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+deadSock)
	check("/usr/bin/systemctl is-active apache2", SystemBus, "exec", "no system bus: ")
	check("/usr/bin/systemctl is-active apache2", systemd, "exec", "systemd is not on the system bus; running systemctl")

	startFakeSystemd(t, bus, fakeSystemdOptions{}, map[string]string{"apache2.service": "active"})
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.addr)
	p := check("/usr/bin/systemctl is-active --quiet apache2", SystemBus, "dbus", "answered from systemd over D-Bus: apache2.service")
	if o := p.Probe(ctx); o.Status != 0 {
		t.Errorf("chosen prober: %+v", o)
	}

	// The bus goes away (dbus-daemon restarted): the check runs the command
	// from then on instead of failing while systemd is fine.
	before := fallbacks
	bus.kill()
	up := p.(*unitOrExec).unit
	waitChanged(t, up)
	o := p.Probe(ctx)
	if p.Method() != "exec" || fallbacks != before+1 || o != (Outcome{Status: 0, Detail: "exit 0"}) {
		t.Errorf("after losing the bus: method %q, fallbacks %d, outcome %+v; want the command run", p.Method(), fallbacks-before, o)
	}
	up.Close()
	up.conn.Close()
}

// systemctlBinary is the real systemctl, or the test is skipped.
func systemctlBinary(tb testing.TB) string {
	tb.Helper()
	const path = "/usr/bin/systemctl"
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("%s not installed (Debian package systemd)", path)
	}
	return path
}

// systemdRunning reports whether systemd is PID 1 here (sd_booted's test).
func systemdRunning() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}

// systemctlVersion is the first line of systemctl --version.
func systemctlVersion(tb testing.TB, bin string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), unitTestWait)
	defer cancel()
	out, err := unitRun(ctx, []string{bin, "--version"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	first, _, _ := strings.Cut(out.stdout, "\n")
	return first
}

// unitRecording is a recorded run of a command (testdata/unit/*.txt).
type unitRecording struct {
	version, argv, stdout, stderr string
	exit                          string
}

// readUnitRecording parses a recording: "key: value" lines; stdout and
// stderr lines accumulate.
func readUnitRecording(tb testing.TB, path string) unitRecording {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var r unitRecording
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		val = strings.TrimPrefix(val, " ")
		switch key {
		case "version":
			r.version = val
		case "argv":
			r.argv = val
		case "exit":
			r.exit = val
		case "stdout":
			r.stdout += val + "\n"
		case "stderr":
			r.stderr += val + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	r.stdout = strings.TrimSuffix(r.stdout, "\n")
	return r
}

// TestSystemctlWithoutSystemd runs the real systemctl where systemd is not
// running, as the exec fallback does on such a machine: it cannot operate and
// exits 1 (not 3), which is what a tracked script then sees.
func TestSystemctlWithoutSystemd(t *testing.T) {
	bin := systemctlBinary(t)
	if systemdRunning() {
		t.Skip("systemd is running here")
	}
	rec := readUnitRecording(t, filepath.Join("testdata", "unit", "systemctl-is-active-no-systemd.txt"))
	ctx, cancel := context.WithTimeout(context.Background(), unitTestWait)
	defer cancel()
	got, err := unitRun(ctx, strings.Fields(rec.argv), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := (unitExecProber{argv: strings.Fields(rec.argv)}).Probe(ctx); o.Status != 1 {
		t.Errorf("exec fallback: %+v, want status 1", o)
	}
	if v := systemctlVersion(t, bin); v != rec.version {
		t.Logf("systemctl is %q, recorded %q: checking the status only", v, rec.version)
		if got.status == 0 {
			t.Errorf("systemctl is-active without systemd exited 0")
		}
		return
	}
	want := unitRecording{version: rec.version, argv: rec.argv, exit: rec.exit, stdout: rec.stdout, stderr: rec.stderr}
	gotRec := unitRecording{version: rec.version, argv: rec.argv, exit: strconv.Itoa(got.status), stdout: strings.TrimSuffix(got.stdout, "\n"), stderr: got.stderr}
	if diff := cmp.Diff(want, gotRec, cmp.AllowUnexported(unitRecording{})); diff != "" {
		t.Errorf("systemctl without systemd (-recorded +now):\n%s", diff)
	}
}

// systemctlInNamespace runs the real systemctl against bus: in a private
// mount namespace whose /run is a fresh tmpfs with /run/systemd/system (so
// systemctl believes systemd booted and, finding no /run/systemd/private,
// goes to the system bus named by DBUS_SYSTEM_BUS_ADDRESS). Nothing outside
// the namespace changes.
func systemctlInNamespace(ctx context.Context, bin string, bus *unitBus, args ...string) (unitRunResult, error) {
	script := `mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec "$@"`
	argv := append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", bin}, args...)
	return unitRun(ctx, argv, []string{"DBUS_SYSTEM_BUS_ADDRESS=" + bus.addr, "SYSTEMCTL_FORCE_BUS=1"})
}

// needMountNamespace skips unless this process may make mount namespaces.
func needMountNamespace(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root for a mount namespace")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		tb.Skip("unshare not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), unitTestWait)
	defer cancel()
	if out, err := unitRun(ctx, []string{"unshare", "--mount", "sh", "-c", "mount -t tmpfs tmpfs /run"}, nil); err != nil || out.status != 0 {
		tb.Skipf("cannot make a mount namespace here: %v %s", err, out.stderr)
	}
}

// TestStandInMatchesSystemctl runs the real systemctl is-active against the
// stand-in and checks that the UnitProber gives the same exit status in
// every case: so the stand-in behaves as systemd does for systemctl, and
// the prober as systemctl does.
func TestStandInMatchesSystemctl(t *testing.T) {
	bin := systemctlBinary(t)
	needMountNamespace(t)
	version := systemctlVersion(t, bin) // "systemd 252 (252.39-1~deb12u2)"
	fields := strings.Fields(version)
	if len(fields) < 2 {
		t.Fatalf("systemctl --version: %q", version)
	}
	bus := startUnitBus(t)
	f := startFakeSystemd(t, bus, fakeSystemdOptions{Version: fields[1]}, map[string]string{
		"apache2.service": "active", "nginx.service": "inactive", "haproxy.service": "failed",
		"docker.socket": "active", "rsyslog.service": "reloading", "slow.service": "activating",
		"ssh.service": "active",
	})
	f.mu.Lock()
	f.aliases["sshd.service"] = "ssh.service"
	f.mu.Unlock()

	cases := [][]string{
		{"apache2"}, {"apache2.service"}, {"nginx"}, {"haproxy"}, {"docker.socket"},
		{"rsyslog"}, {"slow"}, {"sshd"}, {"nosuch"}, {"nosuch", "other-nosuch"},
		{"nginx", "apache2"}, {"nginx", "haproxy"}, {"nosuch", "nginx"}, {"nosuch", "apache2"},
		{"--quiet", "nginx"}, {"-q", "apache2"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*unitTestWait)
	defer cancel()
	for _, args := range cases {
		argv := append([]string{bin, "is-active"}, args...)
		real, err := systemctlInNamespace(ctx, bin, bus, argv[1:]...)
		if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		if real.status != 0 && real.status != 3 && real.status != 4 {
			t.Fatalf("%v: systemctl exited %d: %s", argv, real.status, real.stderr)
		}
		units, _, ok := ParseSystemctlIsActive(argv)
		if !ok {
			t.Fatalf("%v not parsed", argv)
		}
		p := newTestUnitProber(t, bus, units...)
		o := p.Probe(ctx)
		if o.Status != real.status {
			t.Errorf("%v: prober %d (%s), systemctl %d (printed %q)", args, o.Status, o.Detail, real.status, real.stdout)
		}
		t.Logf("%v: systemctl %d %q; prober %d %q", args, real.status, strings.TrimSpace(real.stdout), o.Status, o.Detail)
		p.Close()
	}
}

// TestStandInUnknownUnitPrints checks the fact the brief asked about: for a
// unit that does not exist, systemctl is-active prints "inactive".
func TestStandInUnknownUnitPrints(t *testing.T) {
	bin := systemctlBinary(t)
	needMountNamespace(t)
	bus := startUnitBus(t)
	startFakeSystemd(t, bus, fakeSystemdOptions{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), unitTestWait)
	defer cancel()
	out, err := systemctlInNamespace(ctx, bin, bus, "is-active", "nosuch")
	if err != nil {
		t.Fatal(err)
	}
	if out.stdout != "inactive\n" {
		t.Errorf("systemctl is-active nosuch printed %q (stderr %q), want \"inactive\\n\"", out.stdout, out.stderr)
	}
}

func BenchmarkUnitProbe(b *testing.B) {
	bus := startUnitBus(b)
	startFakeSystemd(b, bus, fakeSystemdOptions{}, map[string]string{"apache2.service": "active"})
	p := newTestUnitProber(b, bus, "apache2.service")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if o := p.Probe(ctx); o.Status != 0 {
			b.Fatal(o)
		}
	}
}

// BenchmarkUnitProbeRefetch is a Probe whose state was invalidated, so it
// reads ActiveState and LoadState over the bus.
func BenchmarkUnitProbeRefetch(b *testing.B) {
	bus := startUnitBus(b)
	startFakeSystemd(b, bus, fakeSystemdOptions{}, map[string]string{"apache2.service": "active"})
	p := newTestUnitProber(b, bus, "apache2.service")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p.mu.Lock()
		p.invalidateAll(0)
		p.mu.Unlock()
		if o := p.Probe(ctx); o.Status != 0 {
			b.Fatal(o)
		}
	}
}

// BenchmarkExecSystemctl forks the real systemctl is-active, as running the
// script does. Without systemd here it stops before connecting to a bus, so
// this is a lower bound of the real cost.
func BenchmarkExecSystemctl(b *testing.B) {
	if _, err := os.Stat("/usr/bin/systemctl"); err != nil {
		b.Skip("/usr/bin/systemctl not installed (Debian package systemd)")
	}
	p := unitExecProber{argv: []string{"/usr/bin/systemctl", "is-active", "apache2"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if o := p.Probe(ctx); o.Status < 0 {
			b.Fatal(o)
		}
	}
}
