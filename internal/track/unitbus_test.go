package track

// Test bed for the D-Bus unit prober: a private, real dbus-daemon per test
// and a bus-level stand-in for systemd's org.freedesktop.systemd1, written
// here in Go. The machines these tests run on have no systemd as PID 1, so
// systemd itself cannot be asked; the stand-in implements what systemctl
// is-active and the UnitProber use of it, the way systemd does:
//   - Manager (/org/freedesktop/systemd1): GetUnit (NoSuchUnit for a unit not
//     loaded), LoadUnit (loads on demand; an unknown unit loads as
//     "not-found"; an alias returns its unit's canonical path), Subscribe /
//     Unsubscribe, Properties.Get of Version, the Reloading signal.
//   - Units (/org/freedesktop/systemd1/unit/<escaped name>): Properties.Get
//     and GetAll of Id, LoadState, ActiveState, SubState on any unit path
//     (unknown names load on demand as not-found/inactive, alias paths answer
//     for their unit), PropertiesChanged with the new ActiveState and
//     SubState on the canonical path — sent, as systemd does, only while a
//     client is subscribed (or always, for a manager without Subscribe).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// unitTestWait bounds every wait in these tests.
const unitTestWait = 10 * time.Second

// unitBusConfig is a session-like bus configuration allowing everything.
const unitBusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
`

// unitBus is one private dbus-daemon.
type unitBus struct {
	addr   string
	cmd    *exec.Cmd
	stderr *unitLockedBuffer
	once   sync.Once
}

// unitLockedBuffer is a bytes.Buffer safe for the exec copier and the test.
type unitLockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *unitLockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *unitLockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startUnitBus starts a dbus-daemon that is killed at cleanup, whatever the
// test's outcome.
func startUnitBus(tb testing.TB) *unitBus {
	tb.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		tb.Skip("dbus-daemon not installed")
	}
	// A short directory of its own: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "govrrp-bus-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "bus.conf")
	sock := filepath.Join(dir, "bus.sock")
	if err := os.WriteFile(conf, []byte(strings.Replace(unitBusConfig, "SOCKET", sock, 1)), 0o600); err != nil {
		tb.Fatal(err)
	}
	b := &unitBus{stderr: &unitLockedBuffer{}}
	b.cmd = exec.Command(daemon, "--config-file="+conf, "--print-address", "--nofork")
	b.cmd.Stderr = b.stderr
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.kill)
	b.addr = b.readAddress(tb, out)
	return b
}

// readAddress waits, bounded, for the address dbus-daemon prints.
func (b *unitBus) readAddress(tb testing.TB, out interface{ Read([]byte) (int, error) }) string {
	tb.Helper()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			b.kill()
			tb.Fatalf("dbus-daemon printed no address; stderr: %s", b.stderr)
		}
		return addr
	case <-time.After(unitTestWait):
		b.kill()
		tb.Fatalf("dbus-daemon printed no address in %v; stderr: %s", unitTestWait, b.stderr)
	}
	return ""
}

// kill stops the daemon and reaps it; it may be called more than once.
func (b *unitBus) kill() {
	b.once.Do(func() {
		_ = b.cmd.Process.Kill()
		_ = b.cmd.Wait()
	})
}

// dial connects a new client, closed at cleanup.
func (b *unitBus) dial(tb testing.TB) *dbus.Conn {
	tb.Helper()
	conn, err := dbus.Connect(b.addr)
	if err != nil {
		tb.Fatalf("connect to test bus: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// fakeUnit is one unit as the stand-in knows it.
type fakeUnit struct {
	active, sub, load string
}

// fakeSystemdOptions shape a stand-in.
type fakeSystemdOptions struct {
	// Version is the Manager's Version property; "" means "257.1".
	Version string
	// NoSubscribe leaves Subscribe out (UnknownMethod); signals are then
	// always sent.
	NoSubscribe bool
}

// fakeSystemd is the bus-level stand-in for systemd.
type fakeSystemd struct {
	conn *dbus.Conn
	opts fakeSystemdOptions

	gets       atomic.Int64 // Properties.Get calls on unit paths
	loads      atomic.Int64 // LoadUnit calls
	subscribes atomic.Int64

	mu          sync.Mutex
	units       map[string]*fakeUnit // by canonical name
	aliases     map[string]string    // alias -> canonical name
	subscribers map[string]bool
}

// startFakeSystemd puts a stand-in on bus, owning org.freedesktop.systemd1,
// with the given units (name -> ActiveState; all loaded).
func startFakeSystemd(tb testing.TB, bus *unitBus, opts fakeSystemdOptions, units map[string]string) *fakeSystemd {
	tb.Helper()
	f := &fakeSystemd{
		conn:        bus.dial(tb),
		opts:        opts,
		units:       make(map[string]*fakeUnit),
		aliases:     make(map[string]string),
		subscribers: make(map[string]bool),
	}
	if f.opts.Version == "" {
		f.opts.Version = "257.1"
	}
	for name, state := range units {
		f.units[name] = &fakeUnit{active: state, sub: fakeSubState(state), load: "loaded"}
	}
	f.export(tb)
	reply, err := f.conn.RequestName(systemdBusName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		tb.Fatalf("stand-in could not own %s: %v %v", systemdBusName, reply, err)
	}
	return f
}

// restartFakeSystemd starts a new stand-in with f's units and aliases, as
// systemd comes back after a restart or re-exec.
func restartFakeSystemd(tb testing.TB, bus *unitBus, f *fakeSystemd) *fakeSystemd {
	tb.Helper()
	g := startFakeSystemd(tb, bus, f.opts, nil)
	f.mu.Lock()
	defer f.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	for n, u := range f.units {
		c := *u
		g.units[n] = &c
	}
	for a, n := range f.aliases {
		g.aliases[a] = n
	}
	return g
}

// fakeSubState is a plausible SubState for a service in state.
func fakeSubState(state string) string {
	switch state {
	case "active", "reloading":
		return "running"
	case "failed":
		return "failed"
	case "activating":
		return "start"
	case "deactivating":
		return "stop"
	}
	return "dead"
}

// export puts the Manager and the unit objects on the stand-in's connection.
func (f *fakeSystemd) export(tb testing.TB) {
	tb.Helper()
	manager := map[string]any{
		"GetUnit":  f.getUnit,
		"LoadUnit": f.loadUnit,
	}
	if !f.opts.NoSubscribe {
		manager["Subscribe"] = f.subscribe
		manager["Unsubscribe"] = f.unsubscribe
	}
	managerProps := map[string]any{"Get": f.managerGet}
	unitProps := map[string]any{"Get": f.unitGet, "GetAll": f.unitGetAll}
	for _, err := range []error{
		f.conn.ExportMethodTable(manager, systemdManagerPath, systemdManagerIface),
		f.conn.ExportMethodTable(managerProps, systemdManagerPath, dbusPropsIface),
		f.conn.ExportSubtreeMethodTable(unitProps, dbus.ObjectPath(strings.TrimSuffix(systemdUnitPathBase, "/")), dbusPropsIface),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// canonical resolves an alias. f.mu must be held.
func (f *fakeSystemd) canonical(name string) string {
	if c, ok := f.aliases[name]; ok {
		return c
	}
	return name
}

// getUnit is Manager.GetUnit: only loaded units have a path.
func (f *fakeSystemd) getUnit(name string) (dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.canonical(name)
	if _, ok := f.units[c]; !ok {
		return "", dbus.NewError("org.freedesktop.systemd1.NoSuchUnit", []any{"Unit " + name + " not loaded."})
	}
	return unitObjectPath(c), nil
}

// loadUnit is Manager.LoadUnit: every valid name has a path, its unit's.
func (f *fakeSystemd) loadUnit(name string) (dbus.ObjectPath, *dbus.Error) {
	f.loads.Add(1)
	if kind, err := unitNameKind(name); err != nil || kind == "template" {
		return "", dbus.NewError("org.freedesktop.DBus.Error.InvalidArgs", []any{"Unit name " + name + " is not valid."})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return unitObjectPath(f.canonical(name)), nil
}

// subscribe is Manager.Subscribe.
func (f *fakeSystemd) subscribe(sender dbus.Sender) *dbus.Error {
	f.subscribes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subscribers[string(sender)] = true
	return nil
}

// unsubscribe is Manager.Unsubscribe.
func (f *fakeSystemd) unsubscribe(sender dbus.Sender) *dbus.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subscribers, string(sender))
	return nil
}

// managerGet is Properties.Get on the Manager.
func (f *fakeSystemd) managerGet(iface, prop string) (dbus.Variant, *dbus.Error) {
	if iface == systemdManagerIface && prop == "Version" {
		return dbus.MakeVariant(f.opts.Version), nil
	}
	return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{"Unknown property " + prop})
}

// unitAt finds the unit a path names, loading an unknown one as systemd
// does: not-found, inactive.
func (f *fakeSystemd) unitAt(path dbus.ObjectPath) (string, fakeUnit, *dbus.Error) {
	name, ok := unitTestNameFromPath(path)
	if !ok {
		return "", fakeUnit{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownObject", []any{"Unknown object " + string(path)})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.canonical(name)
	if u, ok := f.units[c]; ok {
		return c, *u, nil
	}
	return c, fakeUnit{active: "inactive", sub: "dead", load: "not-found"}, nil
}

// unitProps are one unit's Unit-interface properties.
func unitProps(name string, u fakeUnit) map[string]dbus.Variant {
	return map[string]dbus.Variant{
		"Id":          dbus.MakeVariant(name),
		"LoadState":   dbus.MakeVariant(u.load),
		"ActiveState": dbus.MakeVariant(u.active),
		"SubState":    dbus.MakeVariant(u.sub),
	}
}

// unitGet is Properties.Get on a unit path.
func (f *fakeSystemd) unitGet(msg dbus.Message, iface, prop string) (dbus.Variant, *dbus.Error) {
	f.gets.Add(1)
	all, derr := f.unitGetAll(msg, iface)
	if derr != nil {
		return dbus.Variant{}, derr
	}
	v, ok := all[prop]
	if !ok {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{"Unknown property " + prop})
	}
	return v, nil
}

// unitGetAll is Properties.GetAll on a unit path.
func (f *fakeSystemd) unitGetAll(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != systemdUnitIface {
		return nil, dbus.NewError("org.freedesktop.DBus.Error.UnknownInterface", []any{"Unknown interface " + iface})
	}
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	name, u, derr := f.unitAt(path)
	if derr != nil {
		return nil, derr
	}
	return unitProps(name, u), nil
}

// signalling reports whether systemd would send signals now.
func (f *fakeSystemd) signalling() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opts.NoSubscribe || len(f.subscribers) > 0
}

// set changes a unit's ActiveState (loading it if needed) and sends
// PropertiesChanged from its canonical path.
func (f *fakeSystemd) set(tb testing.TB, name, state string) {
	tb.Helper()
	f.mu.Lock()
	c := f.canonical(name)
	u, ok := f.units[c]
	if !ok {
		u = &fakeUnit{load: "loaded"}
		f.units[c] = u
	}
	u.active, u.sub = state, fakeSubState(state)
	f.mu.Unlock()
	f.emitUnit(tb, c, map[string]dbus.Variant{
		"ActiveState": dbus.MakeVariant(state),
		"SubState":    dbus.MakeVariant(fakeSubState(state)),
	}, []string{})
}

// setQuietly changes a unit's ActiveState and says only that it changed
// (PropertiesChanged with ActiveState invalidated).
func (f *fakeSystemd) setQuietly(tb testing.TB, name, state string) {
	tb.Helper()
	f.mu.Lock()
	c := f.canonical(name)
	f.units[c].active = state
	f.mu.Unlock()
	f.emitUnit(tb, c, map[string]dbus.Variant{}, []string{"ActiveState"})
}

// emitUnit sends one PropertiesChanged for the Unit interface.
func (f *fakeSystemd) emitUnit(tb testing.TB, name string, changed map[string]dbus.Variant, invalidated []string) {
	tb.Helper()
	if !f.signalling() {
		return
	}
	if err := f.conn.Emit(unitObjectPath(name), dbusPropsChanged, systemdUnitIface, changed, invalidated); err != nil {
		tb.Fatalf("emit: %v", err)
	}
}

// reload runs change between the Reloading(true) and Reloading(false)
// signals, as a daemon-reload does.
func (f *fakeSystemd) reload(tb testing.TB, change func(units map[string]*fakeUnit, aliases map[string]string)) {
	tb.Helper()
	f.emitReloading(tb, true)
	f.mu.Lock()
	change(f.units, f.aliases)
	f.mu.Unlock()
	f.emitReloading(tb, false)
}

// emitReloading sends Manager.Reloading.
func (f *fakeSystemd) emitReloading(tb testing.TB, active bool) {
	tb.Helper()
	if !f.signalling() {
		return
	}
	if err := f.conn.Emit(systemdManagerPath, systemdManagerIface+".Reloading", active); err != nil {
		tb.Fatalf("emit: %v", err)
	}
}

// unitTestNameFromPath reverses unitObjectPath (systemd's
// unit_name_from_dbus_path); ok is false for a path that is not a unit's.
func unitTestNameFromPath(p dbus.ObjectPath) (string, bool) {
	label, found := strings.CutPrefix(string(p), systemdUnitPathBase)
	if !found || label == "" || strings.Contains(label, "/") {
		return "", false
	}
	if label == "_" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(label); i++ {
		if label[i] != '_' {
			b.WriteByte(label[i])
			continue
		}
		if i+2 >= len(label) {
			return "", false
		}
		v, err := strconv.ParseUint(label[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

// unitExecProber is a minimal stand-in for the exec prober another file
// provides: it runs argv and reports the exit status.
type unitExecProber struct{ argv []string }

func (e unitExecProber) Method() string { return "exec" }

func (e unitExecProber) Probe(ctx context.Context) Outcome {
	out, err := unitRun(ctx, e.argv, nil)
	if err != nil {
		return Outcome{Status: -1, Detail: err.Error()}
	}
	return Outcome{Status: out.status, Detail: "exit " + strconv.Itoa(out.status)}
}

// unitRunResult is what one command run gave.
type unitRunResult struct {
	status         int
	stdout, stderr string
}

// unitRun runs argv with extra environment, bounded by ctx.
func unitRun(ctx context.Context, argv []string, env []string) (unitRunResult, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := unitRunResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		res.status = exit.ExitCode()
	default:
		return res, err
	}
	return res, nil
}
