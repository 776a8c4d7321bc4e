package daemon

import (
	"time"

	"github.com/govrrp/govrrp/internal/dbusapi"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// keepalived's D-Bus interface (enable_dbus, dbus_service_name): the loop
// only hands snapshots and state numbers to internal/dbusapi, whose calls
// never block; the bus's method calls come back as typed dbusCall events.

// dbusSink is what the loop needs of a dbusapi.Server; a seam for tests.
type dbusSink interface {
	Set([]dbusapi.Instance)
	StatusChange(dbusapi.Key, uint32)
	Reloaded()
	Stopping()
	Close() <-chan struct{}
}

// dbusState is the running D-Bus server, owned by the loop.
type dbusState struct {
	srv      dbusSink
	name     string // the service name srv was started with
	stopping bool   // shutdown began: StateStop was signalled for all
	last     map[*instance]uint32
	// start makes the server (nil: a dbusapi.Server on the system bus).
	start func(name string, h dbusapi.Handler, initial []dbusapi.Instance) dbusSink
}

// dbusCloseBudget bounds how long the exit waits for VrrpStopped and the
// name's release on a slow bus.
const dbusCloseBudget = time.Second

// dbusCallKind is a D-Bus method that changes something.
type dbusCallKind uint8

const (
	dbusPrintData dbusCallKind = iota
	dbusPrintStats
	dbusPrintStatsClear
	dbusReload
	dbusSendGarp
)

// dbusCall is one such method call, served on the loop.
type dbusCall struct {
	kind dbusCallKind
	key  dbusapi.Key // SendGarp's instance
}

func dbusKey(in *instance) dbusapi.Key {
	return dbusapi.Key{Interface: in.ifname, VRID: in.cfg.VRID, IPv6: in.family == vrrp.IPv6}
}

// dbusCode is keepalived's number for a state. A master releasing its VIPs
// still holds them (Master); an instance removed by a reload signals FAULT
// before its object goes, as keepalived 2.2.7 does (observed).
func dbusCode(in *instance, s fsm.State) uint32 {
	if in.deleting && (s == fsm.Initialize || s == fsm.Releasing) {
		return dbusapi.StateFault
	}
	switch s {
	case fsm.Backup:
		return dbusapi.StateBackup
	case fsm.Master, fsm.Releasing:
		return dbusapi.StateMaster
	case fsm.Fault:
		return dbusapi.StateFault
	}
	return dbusapi.StateInit
}

func (d *Daemon) dbusInstances() []dbusapi.Instance {
	out := make([]dbusapi.Instance, 0, len(d.instances))
	for _, in := range d.instances {
		out = append(out, dbusapi.Instance{Key: dbusKey(in), Name: in.name, State: dbusCode(in, in.machine.State())})
	}
	return out
}

// applyDBus starts, stops, renames or re-exports the D-Bus server at the
// end of every apply; a reload ends with VrrpReloaded.
func (d *Daemon) applyDBus(cfg *kaconf.Config, startup bool) {
	g := &cfg.Global
	name := g.DBusServiceName
	if name == "" {
		name = dbusapi.DefaultServiceName
	}
	s := &d.dbus
	if s.srv != nil && (!g.EnableDBus || name != s.name) {
		s.srv.Close() // not waited for: the loop goes on
		s.srv = nil
	}
	if !g.EnableDBus {
		return
	}
	set := d.dbusInstances()
	s.rememberStates(d, set)
	if s.srv == nil {
		s.name = name
		s.srv = d.dbusStart(name, set)
		return
	}
	s.srv.Set(set)
	if !startup {
		s.srv.Reloaded()
	}
}

// rememberStates records what set tells the server, and keeps what a
// removed instance still releasing its VIPs has already signalled, so its
// end sends no second FAULT.
func (s *dbusState) rememberStates(d *Daemon, set []dbusapi.Instance) {
	last := make(map[*instance]uint32, len(set))
	for i, in := range d.instances {
		last[in] = set[i].State
	}
	for _, in := range d.releasing {
		if code, ok := s.last[in]; ok {
			last[in] = code
		}
	}
	s.last = last
}

func (d *Daemon) dbusStart(name string, set []dbusapi.Instance) dbusSink {
	h := dbusHandler{d}
	if d.dbus.start != nil {
		return d.dbus.start(name, h, set)
	}
	return dbusapi.Start(dbusapi.Options{ServiceName: name, Handler: h, Log: d.log}, set)
}

// dbusStateChanged signals an instance's new state (actions.go).
func (d *Daemon) dbusStateChanged(in *instance, to fsm.State) {
	s := &d.dbus
	if s.srv == nil || s.stopping {
		return
	}
	code := dbusCode(in, to)
	if last, ok := s.last[in]; ok && last == code {
		return // e.g. Master -> Releasing: keepalived sees no change
	}
	s.last[in] = code
	s.srv.StatusChange(dbusKey(in), code)
}

// dbusStopping is the start of the shutdown: every instance signals
// keepalived's STOP (98) at once, as keepalived does.
func (d *Daemon) dbusStopping() {
	if d.dbus.srv != nil && !d.dbus.stopping {
		d.dbus.stopping = true
		d.dbus.srv.Stopping()
	}
}

// dbusClose ends the server at exit: VrrpStopped, the name released;
// bounded by dbusCloseBudget.
func (d *Daemon) dbusClose() {
	srv := d.dbus.srv
	if srv == nil {
		return
	}
	d.dbus.srv = nil
	if c, ok := srv.(interface{ Dropped() uint64 }); ok && c.Dropped() > 0 {
		d.log.Warn("D-Bus: signals dropped while the bus did not keep up", "dropped", c.Dropped())
	}
	t := time.NewTimer(dbusCloseBudget)
	defer t.Stop()
	select {
	case <-srv.Close():
	case <-t.C:
		d.log.Warn("D-Bus: VrrpStopped not confirmed in time")
	}
}

// dbusHandler turns the bus's method calls into loop events; each returns
// once the event is queued.
type dbusHandler struct{ d *Daemon }

func (h dbusHandler) PrintData() { h.d.post(loopEvent{dbus: &dbusCall{kind: dbusPrintData}}) }
func (h dbusHandler) Reload()    { h.d.post(loopEvent{dbus: &dbusCall{kind: dbusReload}}) }
func (h dbusHandler) SendGarp(k dbusapi.Key) {
	h.d.post(loopEvent{dbus: &dbusCall{kind: dbusSendGarp, key: k}})
}

func (h dbusHandler) PrintStats(clear bool) {
	kind := dbusPrintStats
	if clear {
		kind = dbusPrintStatsClear
	}
	h.d.post(loopEvent{dbus: &dbusCall{kind: kind}})
}

// onDBusCall serves a method call on the loop through the paths the signals
// and SIGHUP use.
func (d *Daemon) onDBusCall(c dbusCall) {
	switch c.kind {
	case dbusPrintData:
		d.onDumpSignal(sigData)
	case dbusPrintStats:
		d.onDumpSignal(sigStats)
	case dbusPrintStatsClear:
		d.onDumpSignal(sigStatsClear)
	case dbusReload:
		d.reload("D-Bus ReloadConfig")
	case dbusSendGarp:
		d.dbusSendGarp(c.key)
	}
}

// dbusSendGarp is keepalived's SendGarp: one gratuitous ARP / NA per VIP,
// only while the instance holds its VIPs (a BACKUP sends nothing: observed).
func (d *Daemon) dbusSendGarp(k dbusapi.Key) {
	for _, in := range d.instances {
		if dbusKey(in) != k {
			continue
		}
		d.log.Info("sending gratuitous ARP/NA on D-Bus request", "instance", in.name)
		if in.machine.State() == fsm.Master {
			d.burst(in, 1)
		}
		return
	}
}
