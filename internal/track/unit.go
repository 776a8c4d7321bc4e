package track

// The commonest keepalived health check is
//
//	vrrp_script chk_apache { script "/usr/bin/systemctl is-active apache2" }
//
// Instead of forking systemctl every interval, govrrp answers it from systemd's
// unit state over D-Bus: a UnitProber reads each unit's ActiveState once,
// keeps it current from the PropertiesChanged signals systemd sends its
// subscribers, and answers Probe from that cache with systemctl is-active's
// exit status.
//
// What systemctl is-active does (systemd src/systemctl/systemctl-is-active.c,
// systemctl-util.c get_state_one_unit, basic/unit-name.c; systemctl(1) "Exit
// status"), and so what this file reproduces:
//   - Each argument is mangled: a valid unit name (known suffix) is kept, one
//     without a known suffix gets ".service"; a glob (* ? [) is matched against
//     the loaded units instead (we leave those to systemctl itself).
//   - ActiveState is read with Properties.Get from the unit's object path; for
//     a unit that is not loaded systemd loads it on demand, so an unknown unit
//     reads as LoadState "not-found", ActiveState "inactive".
//   - Exit 0 when at least one unit is active, reloading or (newer systemd)
//     refreshing; otherwise 3 (LSB "program is not running"). From systemd 253
//     on (systemd PR #25689, fixing issue #25680) the status is 4 (LSB "program
//     or service status is unknown") when every listed unit is "not-found";
//     systemd 252 (Debian 12) still exits 3 and prints "inactive".
//   - Which rule applies is taken from the Manager's Version property.
//
// The user a vrrp_script runs as (script_user) does not matter here: reading
// unit state over the system bus is unprivileged, so the D-Bus path needs no
// credentials; only the exec fallback runs as that user.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// D-Bus names of systemd's manager and units.
const (
	systemdBusName      = "org.freedesktop.systemd1"
	systemdManagerPath  = dbus.ObjectPath("/org/freedesktop/systemd1")
	systemdManagerIface = "org.freedesktop.systemd1.Manager"
	systemdUnitIface    = "org.freedesktop.systemd1.Unit"
	systemdUnitPathBase = "/org/freedesktop/systemd1/unit/"
	dbusPropsIface      = "org.freedesktop.DBus.Properties"
	dbusPropsChanged    = dbusPropsIface + ".PropertiesChanged"
)

// unitCallTimeout bounds every bus call made outside Probe (whose context
// carries the script's timeout): set-up, subscription, clean-up.
const unitCallTimeout = 5 * time.Second

// unitProbeAttempts bounds how often one Probe re-reads state that a signal
// invalidated while it was being read.
const unitProbeAttempts = 3

// unitTypes are the unit suffixes systemd knows (unit_type_table).
var unitTypes = map[string]bool{
	"service": true, "mount": true, "swap": true, "socket": true,
	"target": true, "device": true, "automount": true, "timer": true,
	"path": true, "slice": true, "scope": true,
}

// ParseSystemctlIsActive recognises `systemctl is-active [--quiet|-q] UNIT...`
// (argv[0] "systemctl" or any path ending in /systemctl; options before or
// after the verb, as getopt permutes them; "--" ends options; --system is the
// default and accepted). It returns the unit names mangled as systemctl
// mangles them ("apache2" -> "apache2.service"). ok is false for anything it
// does not reproduce exactly — other options (--user, -H, --machine, ...),
// globs, paths, templates, names systemctl would escape, no unit at all — and
// the caller then runs the real command.
func ParseSystemctlIsActive(argv []string) (units []string, quiet bool, ok bool) {
	units, quiet, why := parseSystemctlIsActive(argv)
	return units, quiet, why == ""
}

// parseSystemctlIsActive is ParseSystemctlIsActive saying why it refused
// ("" when it did not).
func parseSystemctlIsActive(argv []string) (units []string, quiet bool, why string) {
	if len(argv) == 0 || (argv[0] != "systemctl" && !strings.HasSuffix(argv[0], "/systemctl")) {
		return nil, false, "not systemctl"
	}
	var args []string
	optsDone := false
	for _, a := range argv[1:] {
		switch {
		case optsDone || a == "-" || !strings.HasPrefix(a, "-"):
			args = append(args, a)
		case a == "--":
			optsDone = true
		case a == "--quiet" || isQuietCluster(a):
			quiet = true
		case a == "--system":
		default:
			return nil, false, "option " + strconv.Quote(a)
		}
	}
	if len(args) == 0 || args[0] != "is-active" {
		return nil, false, "not is-active"
	}
	if len(args) == 1 {
		return nil, false, "no unit"
	}
	for _, a := range args[1:] {
		name, err := mangleUnitName(a)
		if err != nil {
			return nil, false, err.Error()
		}
		units = append(units, name)
	}
	return units, quiet, ""
}

// isQuietCluster reports whether a is a cluster of short -q options ("-q",
// "-qq").
func isQuietCluster(a string) bool {
	return len(a) > 1 && a[0] == '-' && strings.Trim(a[1:], "q") == ""
}

// mangleUnitName turns a systemctl argument into the unit name systemctl
// queries, or fails for the cases this package leaves to systemctl.
func mangleUnitName(arg string) (string, error) {
	switch {
	case arg == "":
		return "", errors.New("empty unit name")
	case strings.ContainsAny(arg, "*?["):
		return "", fmt.Errorf("unit pattern %q", arg)
	case strings.HasPrefix(arg, "/"):
		return "", fmt.Errorf("path %q", arg)
	}
	name := arg
	if kind, _ := unitNameKind(name); kind == "" {
		name += ".service"
	}
	switch kind, err := unitNameKind(name); {
	case err != nil:
		return "", fmt.Errorf("unit name %q: %v", arg, err)
	case kind == "template":
		return "", fmt.Errorf("unit template %q", arg)
	}
	return name, nil
}

// unitNameKind classifies a unit name as systemd's unit_name_is_valid does:
// "plain", "instance" or "template"; "" with an error when it is not a unit
// name (no known suffix, a character systemd would escape, too long).
func unitNameKind(n string) (string, error) {
	dot := strings.LastIndexByte(n, '.')
	switch {
	case len(n) >= 256:
		return "", errors.New("too long")
	case dot <= 0 || !unitTypes[n[dot+1:]]:
		return "", errors.New("no unit type suffix")
	}
	prefix := n[:dot]
	for i := 0; i < len(prefix); i++ {
		if !isUnitNameChar(prefix[i]) && prefix[i] != '@' {
			return "", fmt.Errorf("character %q", prefix[i])
		}
	}
	at := strings.IndexByte(prefix, '@')
	switch {
	case at == 0:
		return "", errors.New("starts with @")
	case at < 0:
		return "plain", nil
	case at == len(prefix)-1:
		return "template", nil
	}
	return "instance", nil
}

// isUnitNameChar reports whether c is in systemd's VALID_CHARS.
func isUnitNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte(":-_.\\", c) >= 0
}

// unitObjectPath is systemd's unit_dbus_path_from_name: the unit's object
// path, every byte but [A-Za-z0-9] escaped as _xx (bus_label_escape).
func unitObjectPath(name string) dbus.ObjectPath {
	var b strings.Builder
	b.WriteString(systemdUnitPathBase)
	if name == "" {
		b.WriteByte('_')
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02x", c)
	}
	return dbus.ObjectPath(b.String())
}

// activeStateOK reports whether systemctl is-active counts an ActiveState as
// active.
func activeStateOK(s string) bool {
	return s == "active" || s == "reloading" || s == "refreshing"
}

// systemdMajor is the leading number of a systemd Version property
// ("252.39-1~deb12u2", "v256.7"); 0 when there is none.
func systemdMajor(v string) int {
	v = strings.TrimPrefix(v, "v")
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(v[:end])
	return n
}

// unitState is what a UnitProber knows of one unit.
type unitState struct {
	name   string          // as systemctl names it: "apache2.service"
	path   dbus.ObjectPath // canonical object path (an alias resolves to its unit's)
	active string          // ActiveState
	load   string          // LoadState
	// seq is the bus sequence number of the message that last set or
	// invalidated the state; older replies are discarded.
	seq dbus.Sequence
	// valid is false until read, and after systemd said the state changed
	// without saying to what.
	valid bool
}

// UnitProber answers `systemctl is-active UNIT...` from systemd over D-Bus.
// It implements Prober (Method "dbus") and Changer. Its state is kept current
// by signals, so Probe costs no bus round trip unless systemd invalidated it.
type UnitProber struct {
	conn    *dbus.Conn
	changed chan struct{}
	sigs    chan *dbus.Signal
	cancel  context.CancelFunc
	done    chan struct{}
	// notFound is the status when every unit is "not-found": 4 from systemd
	// 253 on, 3 before.
	notFound int

	fetchMu sync.Mutex // one re-read at a time

	mu         sync.Mutex // guards the fields below
	units      []*unitState
	matched    map[dbus.ObjectPath]bool // paths with a PropertiesChanged rule
	resolve    bool                     // paths must be looked up again (reload, restart)
	subscribe  bool                     // Manager.Subscribe must be called again
	systemdErr string                   // systemd left the bus: why Probe cannot answer
	lost       bool                     // the bus connection is gone
	closed     bool
}

var (
	_ Prober  = (*UnitProber)(nil)
	_ Changer = (*UnitProber)(nil)
)

// NewUnitProber starts tracking the ActiveState of units (mangled names, as
// ParseSystemctlIsActive returns them) over conn, which must be connected to
// the bus systemd is on. It subscribes to systemd's signals, adds its match
// rules and reads every unit's state before returning. ctx bounds its life:
// when ctx ends (or Close is called) it stops watching and removes its match
// rules. conn is not closed; several probers may share one connection.
func NewUnitProber(ctx context.Context, conn *dbus.Conn, units []string) (*UnitProber, error) {
	if len(units) == 0 {
		return nil, errors.New("track: unit prober: no unit")
	}
	p := &UnitProber{
		conn:     conn,
		changed:  make(chan struct{}, 1),
		sigs:     make(chan *dbus.Signal, 64),
		done:     make(chan struct{}),
		notFound: 4,
		matched:  make(map[dbus.ObjectPath]bool),
	}
	if err := p.initUnits(units); err != nil {
		return nil, err
	}
	conn.Signal(p.sigs)
	if err := p.setUp(ctx); err != nil {
		p.tearDown()
		return nil, fmt.Errorf("track: unit prober: %w", err)
	}
	ctx, p.cancel = context.WithCancel(ctx)
	go p.watch(ctx)
	return p, nil
}

// initUnits fills p.units from names, dropping duplicates.
func (p *UnitProber) initUnits(names []string) error {
	seen := make(map[string]bool)
	for _, n := range names {
		m, err := mangleUnitName(n)
		if err != nil {
			return fmt.Errorf("track: unit prober: %w", err)
		}
		if !seen[m] {
			seen[m] = true
			p.units = append(p.units, &unitState{name: m, path: unitObjectPath(m)})
		}
	}
	return nil
}

// setUp adds the manager-level match rules, subscribes, learns systemd's
// version and reads every unit.
func (p *UnitProber) setUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, unitCallTimeout)
	defer cancel()
	for _, rule := range p.managerRules() {
		if err := p.conn.AddMatchSignalContext(ctx, rule...); err != nil {
			return fmt.Errorf("add match: %w", err)
		}
	}
	p.subscribeManager(ctx)
	if v, err := p.managerVersion(ctx); err == nil && systemdMajor(v) > 0 && systemdMajor(v) < 253 {
		p.notFound = 3
	}
	p.mu.Lock()
	p.resolve = true
	p.mu.Unlock()
	return p.refresh(ctx)
}

// managerRules are the match rules every prober adds: systemd's name changing
// owner (restart, re-exec) and the manager finishing a daemon-reload.
func (p *UnitProber) managerRules() [][]dbus.MatchOption {
	return [][]dbus.MatchOption{
		{
			dbus.WithMatchSender("org.freedesktop.DBus"),
			dbus.WithMatchInterface("org.freedesktop.DBus"),
			dbus.WithMatchMember("NameOwnerChanged"),
			dbus.WithMatchArg(0, systemdBusName),
		},
		{
			dbus.WithMatchSender(systemdBusName),
			dbus.WithMatchObjectPath(systemdManagerPath),
			dbus.WithMatchInterface(systemdManagerIface),
			dbus.WithMatchMember("Reloading"),
		},
	}
}

// unitRule is the match rule for one unit's PropertiesChanged signals.
func unitRule(path dbus.ObjectPath) []dbus.MatchOption {
	return []dbus.MatchOption{
		dbus.WithMatchSender(systemdBusName),
		dbus.WithMatchObjectPath(path),
		dbus.WithMatchInterface(dbusPropsIface),
		dbus.WithMatchMember("PropertiesChanged"),
		dbus.WithMatchArg(0, systemdUnitIface),
	}
}

// subscribeManager calls Manager.Subscribe, without which systemd sends no
// unit signals. Errors are tolerated: a manager without Subscribe, or one
// that finds us already subscribed (a shared connection), still answers
// Properties.Get, and Probe re-reads what it cannot trust. Subscriptions are
// never undone: systemd drops them when the connection closes, and an
// Unsubscribe could end another prober's on a shared connection.
func (p *UnitProber) subscribeManager(ctx context.Context) {
	_ = p.conn.Object(systemdBusName, systemdManagerPath).
		CallWithContext(ctx, systemdManagerIface+".Subscribe", dbus.FlagNoAutoStart).Store()
}

// managerVersion reads the Manager's Version property.
func (p *UnitProber) managerVersion(ctx context.Context) (string, error) {
	var v dbus.Variant
	err := p.conn.Object(systemdBusName, systemdManagerPath).
		CallWithContext(ctx, dbusPropsIface+".Get", dbus.FlagNoAutoStart, systemdManagerIface, "Version").Store(&v)
	if err != nil {
		return "", err
	}
	s, _ := v.Value().(string)
	return s, nil
}

// Method is "dbus".
func (p *UnitProber) Method() string { return "dbus" }

// Changed fires (coalescing, never blocking the prober) when a unit's
// ActiveState changed or systemd invalidated it, and when the connection is
// lost.
func (p *UnitProber) Changed() <-chan struct{} { return p.changed }

// notify makes Changed fire.
func (p *UnitProber) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Probe answers as `systemctl is-active UNIT...` would exit: 0 when at least
// one unit is active (or reloading, refreshing), else 3, or 4 when no unit
// exists (systemd >= 253). It reads the bus only when the cached state was
// invalidated. Status is -1 when it cannot answer: the bus connection is lost
// (the prober must then be replaced, e.g. by ChooseProber again), systemd is
// not on the bus, or ctx ended.
func (p *UnitProber) Probe(ctx context.Context) Outcome {
	if o, bad := p.unusable(); bad {
		return o
	}
	for range unitProbeAttempts {
		if o, ok := p.fromCache(); ok {
			return o
		}
		if err := p.refresh(ctx); err != nil {
			if o, bad := p.unusable(); bad {
				return o
			}
			return Outcome{Status: -1, Detail: p.systemdTrouble() + err.Error()}
		}
	}
	return Outcome{Status: -1, Detail: "unit state kept changing while it was read"}
}

// unusable is the outcome when the prober cannot answer at all.
func (p *UnitProber) unusable() (Outcome, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.lost || !p.conn.Connected():
		p.lost = true
		return Outcome{Status: -1, Detail: "lost connection to the system bus"}, true
	case p.closed:
		return Outcome{Status: -1, Detail: "unit prober closed"}, true
	}
	return Outcome{}, false
}

// systemdTrouble starts the detail of a failed read.
func (p *UnitProber) systemdTrouble() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.systemdErr != "" {
		return p.systemdErr + ": "
	}
	return "systemd did not answer on the system bus: "
}

// fromCache computes the outcome from the cached states; ok is false when
// some state must be read first.
func (p *UnitProber) fromCache() (Outcome, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resolve || p.subscribe {
		return Outcome{}, false
	}
	ok, notFound := false, true
	parts := make([]string, 0, len(p.units))
	for _, u := range p.units {
		if !u.valid || u.load == "" {
			return Outcome{}, false
		}
		ok = ok || activeStateOK(u.active)
		notFound = notFound && u.load == "not-found"
		parts = append(parts, describeUnit(u))
	}
	o := Outcome{Status: 3, Detail: strings.Join(parts, ", ")}
	switch {
	case ok:
		o.Status = 0
	case notFound:
		o.Status = p.notFound
	}
	return o, true
}

// describeUnit says "apache2.service is active", noting a missing unit.
func describeUnit(u *unitState) string {
	s := u.name + " is " + u.active
	if u.load == "not-found" {
		s += " (no such unit)"
	}
	return s
}

// refresh re-reads what is not known: systemd's subscription, unit paths
// (after a reload or restart) and invalid states.
func (p *UnitProber) refresh(ctx context.Context) error {
	p.fetchMu.Lock()
	defer p.fetchMu.Unlock()
	if p.isClosed() {
		return errors.New("unit prober closed")
	}
	ctx, cancel := context.WithTimeout(ctx, unitCallTimeout)
	defer cancel()
	resubscribe, resolve := p.takeFlags()
	if resubscribe {
		p.subscribeManager(ctx)
	}
	if resolve {
		if err := p.resolvePaths(ctx); err != nil {
			p.mu.Lock()
			p.resolve = true
			p.mu.Unlock()
			return err
		}
	}
	for _, u := range p.snapshotStale() {
		if err := p.readUnit(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// isClosed reports whether tearDown ran.
func (p *UnitProber) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// takeFlags returns and clears the subscribe and resolve flags; a signal
// arriving meanwhile sets them again.
func (p *UnitProber) takeFlags() (subscribe, resolve bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	subscribe, resolve = p.subscribe, p.resolve
	p.subscribe, p.resolve = false, false
	return subscribe, resolve
}

// resolvePaths asks systemd for every unit's canonical object path, where its
// signals come from (for an alias it is not the path of the name asked for),
// and watches each path before its state is read, so that no change falls
// between the read and the watch.
func (p *UnitProber) resolvePaths(ctx context.Context) error {
	for _, name := range p.unitNames() {
		path, err := p.loadUnit(ctx, name)
		if err != nil {
			return err
		}
		if err := p.watchPath(ctx, path); err != nil {
			return err
		}
		p.mu.Lock()
		for _, u := range p.units {
			if u.name == name {
				u.path, u.valid = path, false
			}
		}
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.systemdErr = ""
	p.mu.Unlock()
	p.unwatchStale(ctx)
	return nil
}

// unitNames lists the tracked names.
func (p *UnitProber) unitNames() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, len(p.units))
	for i, u := range p.units {
		names[i] = u.name
	}
	return names
}

// loadUnit is Manager.LoadUnit, which loads the unit if it is not (an unknown
// one loads as "not-found"), falling back to the path systemctl computes when
// the manager refuses but is there.
func (p *UnitProber) loadUnit(ctx context.Context, name string) (dbus.ObjectPath, error) {
	var path dbus.ObjectPath
	err := p.conn.Object(systemdBusName, systemdManagerPath).
		CallWithContext(ctx, systemdManagerIface+".LoadUnit", dbus.FlagNoAutoStart, name).Store(&path)
	var derr dbus.Error
	switch {
	case err == nil:
		return path, nil
	case errors.As(err, &derr) && isSystemdError(derr.Name):
		return unitObjectPath(name), nil
	}
	return "", err
}

// isSystemdError reports whether a D-Bus error came from systemd itself
// (rather than from the bus: no such name, timeout, disconnected).
func isSystemdError(name string) bool {
	return strings.HasPrefix(name, "org.freedesktop.systemd1.") ||
		name == "org.freedesktop.DBus.Error.InvalidArgs" ||
		name == "org.freedesktop.DBus.Error.UnknownMethod" ||
		name == "org.freedesktop.DBus.Error.AccessDenied"
}

// watchPath adds the PropertiesChanged rule for path once.
func (p *UnitProber) watchPath(ctx context.Context, path dbus.ObjectPath) error {
	p.mu.Lock()
	done := p.matched[path]
	p.mu.Unlock()
	if done {
		return nil
	}
	if err := p.conn.AddMatchSignalContext(ctx, unitRule(path)...); err != nil {
		return fmt.Errorf("add match: %w", err)
	}
	p.mu.Lock()
	p.matched[path] = true
	p.mu.Unlock()
	return nil
}

// unwatchStale removes the rules of paths no unit has any more.
func (p *UnitProber) unwatchStale(ctx context.Context) {
	p.mu.Lock()
	var stale []dbus.ObjectPath
	for path := range p.matched {
		if !p.pathInUse(path) {
			stale = append(stale, path)
			delete(p.matched, path)
		}
	}
	p.mu.Unlock()
	for _, path := range stale {
		_ = p.conn.RemoveMatchSignalContext(ctx, unitRule(path)...)
	}
}

// pathInUse reports whether a unit has path. p.mu must be held.
func (p *UnitProber) pathInUse(path dbus.ObjectPath) bool {
	for _, u := range p.units {
		if u.path == path {
			return true
		}
	}
	return false
}

// unitRead is what needs reading of one unit.
type unitRead struct {
	name string
	path dbus.ObjectPath
	load bool // LoadState too
}

// snapshotStale lists the units whose state must be read.
func (p *UnitProber) snapshotStale() []unitRead {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []unitRead
	for _, u := range p.units {
		if !u.valid || u.load == "" {
			out = append(out, unitRead{name: u.name, path: u.path, load: true})
		}
	}
	return out
}

// readUnit reads one unit's ActiveState and LoadState and stores them unless
// a newer message changed the unit meanwhile.
func (p *UnitProber) readUnit(ctx context.Context, r unitRead) error {
	active, seq, err := p.getUnitProp(ctx, r.path, "ActiveState")
	if err != nil {
		return err
	}
	load, _, err := p.getUnitProp(ctx, r.path, "LoadState")
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.units {
		if u.name != r.name || u.path != r.path {
			continue
		}
		u.load = load
		if seq > u.seq {
			u.active, u.seq, u.valid = active, seq, true
		}
	}
	return nil
}

// getUnitProp reads one string property of the Unit interface at path, with
// the sequence number of the reply.
func (p *UnitProber) getUnitProp(ctx context.Context, path dbus.ObjectPath, name string) (string, dbus.Sequence, error) {
	call := p.conn.Object(systemdBusName, path).
		CallWithContext(ctx, dbusPropsIface+".Get", dbus.FlagNoAutoStart, systemdUnitIface, name)
	var v dbus.Variant
	if err := call.Store(&v); err != nil {
		return "", 0, fmt.Errorf("%s of %s: %w", name, path, err)
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", 0, fmt.Errorf("%s of %s: not a string: %s", name, path, v.Signature())
	}
	return s, call.ResponseSequence, nil
}

// watch applies signals until ctx ends or the connection is lost.
func (p *UnitProber) watch(ctx context.Context) {
	defer close(p.done)
	defer p.tearDown()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.conn.Context().Done():
			p.markLost()
			return
		case sig, ok := <-p.sigs:
			if !ok {
				p.markLost()
				return
			}
			if p.apply(sig) {
				p.notify()
			}
		}
	}
}

// markLost records that the connection is gone and tells the runner.
func (p *UnitProber) markLost() {
	p.mu.Lock()
	p.lost = true
	p.mu.Unlock()
	p.notify()
}

// apply takes one signal into the cache; it reports whether Changed should
// fire.
func (p *UnitProber) apply(sig *dbus.Signal) bool {
	switch sig.Name {
	case dbusPropsChanged:
		return p.applyPropertiesChanged(sig)
	case "org.freedesktop.DBus.NameOwnerChanged":
		return p.applyOwnerChanged(sig)
	case systemdManagerIface + ".Reloading":
		return p.applyReloading(sig)
	}
	return false
}

// applyPropertiesChanged takes a unit's new ActiveState, or notes that it
// was invalidated.
func (p *UnitProber) applyPropertiesChanged(sig *dbus.Signal) bool {
	var (
		iface       string
		changed     map[string]dbus.Variant
		invalidated []string
	)
	if dbus.Store(sig.Body, &iface, &changed, &invalidated) != nil || iface != systemdUnitIface {
		return false
	}
	v, hasValue := changed["ActiveState"]
	state, isString := v.Value().(string)
	invalid := !(hasValue && isString) && slices.Contains(invalidated, "ActiveState")
	if !(hasValue && isString) && !invalid {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fire := false
	for _, u := range p.units {
		if u.path != sig.Path || sig.Sequence <= u.seq {
			continue
		}
		u.seq = sig.Sequence
		switch {
		case invalid:
			u.valid, fire = false, true
		case !u.valid || u.active != state:
			u.active, u.valid, fire = state, true, true
		}
	}
	return fire
}

// applyOwnerChanged handles systemd leaving or (re)joining the bus: all state
// is re-read, after subscribing again, from paths looked up again.
func (p *UnitProber) applyOwnerChanged(sig *dbus.Signal) bool {
	var name, oldOwner, newOwner string
	if dbus.Store(sig.Body, &name, &oldOwner, &newOwner) != nil || name != systemdBusName {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.invalidateAll(sig.Sequence)
	p.resolve, p.subscribe = true, true
	p.systemdErr = ""
	if newOwner == "" {
		p.systemdErr = "systemd left the system bus"
	}
	return true
}

// applyReloading handles the end of a daemon-reload, after which unit files,
// aliases and load states may differ.
func (p *UnitProber) applyReloading(sig *dbus.Signal) bool {
	var active bool
	if dbus.Store(sig.Body, &active) != nil || active {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.invalidateAll(sig.Sequence)
	p.resolve = true
	return true
}

// invalidateAll marks every unit's state as to be read. p.mu must be held.
func (p *UnitProber) invalidateAll(seq dbus.Sequence) {
	for _, u := range p.units {
		u.valid = false
		if seq > u.seq {
			u.seq = seq
		}
	}
}

// tearDown stops signal delivery and removes the prober's match rules
// (bounded; a lost connection makes each call fail at once). It waits for a
// re-read in progress, so that no rule is added after it.
func (p *UnitProber) tearDown() {
	p.conn.RemoveSignal(p.sigs)
	p.fetchMu.Lock()
	defer p.fetchMu.Unlock()
	p.mu.Lock()
	p.closed = true
	paths := make([]dbus.ObjectPath, 0, len(p.matched))
	for path := range p.matched {
		paths = append(paths, path)
	}
	p.matched = map[dbus.ObjectPath]bool{}
	p.mu.Unlock()
	if !p.conn.Connected() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), unitCallTimeout)
	defer cancel()
	for _, path := range paths {
		_ = p.conn.RemoveMatchSignalContext(ctx, unitRule(path)...)
	}
	for _, rule := range p.managerRules() {
		_ = p.conn.RemoveMatchSignalContext(ctx, rule...)
	}
}

// Close stops the prober and waits until it has removed its match rules. It
// does not close the connection. Probe reports -1 afterwards.
func (p *UnitProber) Close() error {
	p.cancel()
	<-p.done
	return nil
}

// Units lists the unit names the prober tracks, mangled and deduplicated.
func (p *UnitProber) Units() []string { return p.unitNames() }

// SystemBus opens a new private connection to the system bus, at
// $DBUS_SYSTEM_BUS_ADDRESS when that is set, else at the standard socket
// (/var/run/dbus/system_bus_socket). The caller closes it.
func SystemBus() (*dbus.Conn, error) {
	return dbus.ConnectSystemBus()
}

// ChooseProber picks how to check a vrrp_script whose command is argv: a
// UnitProber when argv is `systemctl is-active [--quiet] UNIT...`, a bus is
// reachable through bus and systemd answers on it; otherwise
// execFallback(), which runs the command (and carries the script_user
// credential, which the D-Bus path does not need). reason says why, for
// `govrrp status`: "" for a command that is not systemctl at all,
// "no system bus: <err>; running systemctl", ... ctx bounds the UnitProber's
// life (see NewUnitProber). ChooseProber never closes the connection bus
// returns: the provider of bus owns it, and may share one among all probers.
func ChooseProber(ctx context.Context, argv []string, bus func() (*dbus.Conn, error), execFallback func() Prober) (Prober, string) {
	units, _, why := parseSystemctlIsActive(argv)
	switch why {
	case "":
	case "not systemctl":
		return execFallback(), ""
	default:
		return execFallback(), "systemctl command not answerable over D-Bus (" + why + "); running systemctl"
	}
	conn, err := bus()
	if err != nil {
		return execFallback(), "no system bus: " + err.Error() + "; running systemctl"
	}
	if err := systemdOnBus(ctx, conn); err != nil {
		return execFallback(), err.Error() + "; running systemctl"
	}
	p, err := NewUnitProber(ctx, conn, units)
	if err != nil {
		return execFallback(), err.Error() + "; running systemctl"
	}
	return &unitOrExec{unit: p, fallback: execFallback}, "answered from systemd over D-Bus: " + strings.Join(units, " ")
}

// unitOrExec answers from the UnitProber until its bus connection is lost,
// then runs the command for good: a restarted dbus-daemon must not leave the
// check failing (and the VIP moving) while systemd itself is fine.
type unitOrExec struct {
	unit     *UnitProber
	fallback func() Prober
	exec     Prober // set once the bus is lost; only Probe's goroutine touches it
}

func (u *unitOrExec) Probe(ctx context.Context) Outcome {
	if u.exec == nil {
		if _, lost := u.unit.unusable(); !lost {
			return u.unit.Probe(ctx)
		}
		u.exec = u.fallback()
	}
	return u.exec.Probe(ctx)
}

// Method says how the next check is answered.
func (u *unitOrExec) Method() string {
	if u.exec != nil {
		return u.exec.Method()
	}
	return u.unit.Method()
}

// Changed fires on unit changes while D-Bus answers; after the switch to exec
// the channel stays quiet and the interval drives the checks.
func (u *unitOrExec) Changed() <-chan struct{} { return u.unit.Changed() }

// systemdOnBus checks that org.freedesktop.systemd1 has an owner on conn's
// bus (so that no bus activation is tried and no call waits for one).
func systemdOnBus(ctx context.Context, conn *dbus.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, unitCallTimeout)
	defer cancel()
	var has bool
	err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, systemdBusName).Store(&has)
	switch {
	case err != nil:
		return fmt.Errorf("system bus did not answer: %w", err)
	case !has:
		return errors.New("systemd is not on the system bus")
	}
	return nil
}

// SharedSystemBus returns a bus function for ChooseProber that connects to
// the system bus once, on first use, and gives every caller that one
// connection (or its error); the connection is closed when ctx ends.
func SharedSystemBus(ctx context.Context) func() (*dbus.Conn, error) {
	var (
		once sync.Once
		conn *dbus.Conn
		err  error
	)
	return func() (*dbus.Conn, error) {
		once.Do(func() {
			conn, err = SystemBus()
			if err == nil {
				context.AfterFunc(ctx, func() { conn.Close() })
			}
		})
		return conn, err
	}
}
