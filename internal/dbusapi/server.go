package dbusapi

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
)

// Options configure a Server.
type Options struct {
	// Address is the bus to use; "" is the system bus (godbus honours
	// DBUS_SYSTEM_BUS_ADDRESS, as keepalived's GDBus does).
	Address string
	// ServiceName is dbus_service_name; "" is DefaultServiceName.
	ServiceName string
	Handler     Handler
	Log         *slog.Logger
	// MinBackoff and MaxBackoff bound the reconnection delay (0: 250 ms
	// and 30 s).
	MinBackoff, MaxBackoff time.Duration
}

// queueLen bounds the signals waiting for the bus: a burst of state changes
// of every instance at once fits; a bus that stops reading costs dropped
// signals (counted), never a stalled loop.
const queueLen = 4096

type opKind uint8

const (
	opSync     opKind = iota // the instance set changed (Set)
	opStatus                 // VrrpStatusChange
	opReloaded               // VrrpReloaded
	opStopping               // every instance signals StateStop
)

type op struct {
	kind  opKind
	key   Key
	state uint32
}

// Server owns one bus connection and what is exported on it.
type Server struct {
	o    Options
	h    Handler
	log  *slog.Logger
	name string

	ops         chan op
	want        atomic.Pointer[[]Instance]
	syncPending atomic.Bool // a Set found the queue full
	dropped     atomic.Uint64
	connected   atomic.Bool
	closeOnce   sync.Once
	closeReq    chan struct{}
	done        chan struct{}

	mu      sync.RWMutex
	entries map[dbus.ObjectPath]Instance // guarded by mu; written by run only

	// Owned by the run goroutine.
	conn     *dbus.Conn
	exported map[dbus.ObjectPath]bool // instance objects on conn
	nodes    map[dbus.ObjectPath]bool // intermediate nodes on conn
	lastDup  string
}

// Start connects in the background and serves until Close. instances is
// the set to export from the start.
func Start(o Options, instances []Instance) *Server {
	if o.ServiceName == "" {
		o.ServiceName = DefaultServiceName
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(30*time.Second, o.MinBackoff)
	}
	s := &Server{o: o, h: o.Handler, log: o.Log.With("dbus_name", o.ServiceName), name: o.ServiceName,
		ops: make(chan op, queueLen), closeReq: make(chan struct{}), done: make(chan struct{}),
		entries: map[dbus.ObjectPath]Instance{}}
	s.want.Store(&instances)
	s.applySet()
	go s.run()
	return s
}

// Set replaces the exported instance set (start-up, reload). Never blocks.
func (s *Server) Set(instances []Instance) {
	c := slices.Clone(instances)
	s.want.Store(&c)
	if !s.post(op{kind: opSync}) {
		s.syncPending.Store(true) // the set itself is never lost
	}
}

// StatusChange emits VrrpStatusChange(state) for the instance and makes it
// the State property's value. Never blocks.
func (s *Server) StatusChange(k Key, state uint32) { s.post(op{kind: opStatus, key: k, state: state}) }

// Reloaded emits VrrpReloaded. Never blocks.
func (s *Server) Reloaded() { s.post(op{kind: opReloaded}) }

// Stopping emits VrrpStatusChange(StateStop) for every instance, as
// keepalived does when it starts to stop. Never blocks.
func (s *Server) Stopping() { s.post(op{kind: opStopping}) }

// Dropped is how many signals a full queue cost.
func (s *Server) Dropped() uint64 { return s.dropped.Load() }

// Connected reports whether the server holds a bus connection now.
func (s *Server) Connected() bool { return s.connected.Load() }

// Close sends what is queued, emits VrrpStopped, releases the name and
// disconnects. The returned channel closes when that is done; the caller
// bounds its wait.
func (s *Server) Close() <-chan struct{} {
	s.closeOnce.Do(func() { close(s.closeReq) })
	return s.done
}

func (s *Server) post(o op) bool {
	select {
	case s.ops <- o:
		return true
	default:
		if o.kind != opSync {
			s.dropped.Add(1)
		}
		return false
	}
}

func (s *Server) entry(p dbus.ObjectPath) (Instance, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[p]
	return e, ok
}

func (s *Server) paths() []dbus.ObjectPath {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ps := make([]dbus.ObjectPath, 0, len(s.entries))
	for p := range s.entries {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func (s *Server) run() {
	defer close(s.done)
	backoff := s.o.MinBackoff
	retry := time.NewTimer(0)
	defer retry.Stop()
	var lost <-chan struct{}
	failing := false
	for {
		select {
		case <-retry.C:
			if err := s.connect(); err != nil {
				if !failing {
					s.log.Warn("D-Bus not available; retrying with backoff", "err", err)
					failing = true
				}
				retry.Reset(backoff)
				backoff = min(2*backoff, s.o.MaxBackoff)
				break
			}
			if failing {
				s.log.Info("D-Bus connected again")
			}
			failing, backoff = false, s.o.MinBackoff
			lost = s.conn.Context().Done()
		case <-lost:
			s.log.Warn("D-Bus connection lost; retrying with backoff")
			s.disconnect()
			lost, failing = nil, true
			retry.Reset(backoff)
		case o := <-s.ops:
			s.do(o)
		case <-s.closeReq:
			s.drain()
			s.stop()
			return
		}
		if s.syncPending.Swap(false) {
			s.do(op{kind: opSync})
		}
	}
}

// drain serves what was queued before Close.
func (s *Server) drain() {
	for {
		select {
		case o := <-s.ops:
			s.do(o)
		default:
			if s.syncPending.Swap(false) {
				s.do(op{kind: opSync})
			}
			return
		}
	}
}

func (s *Server) do(o op) {
	switch o.kind {
	case opSync:
		s.applySet()
		s.export()
	case opStatus:
		p := o.key.Path()
		s.mu.Lock()
		if e, ok := s.entries[p]; ok && e.Key == o.key {
			e.State = o.state
			s.entries[p] = e
		}
		s.mu.Unlock()
		s.emit(p, InstanceIface+".VrrpStatusChange", o.state)
	case opReloaded:
		s.emit(VrrpPath, VrrpIface+".VrrpReloaded")
	case opStopping:
		s.mu.Lock()
		for p, e := range s.entries {
			e.State = StateStop // State agrees with the signal
			s.entries[p] = e
		}
		s.mu.Unlock()
		for _, p := range s.paths() {
			s.emit(p, InstanceIface+".VrrpStatusChange", StateStop)
		}
	}
}

// applySet makes entries the wanted set; the first instance of a path
// wins (keepalived cannot register a second object on one path either).
func (s *Server) applySet() {
	want := *s.want.Load()
	next := make(map[dbus.ObjectPath]Instance, len(want))
	for _, in := range want {
		p := in.Key.Path()
		if prev, dup := next[p]; dup {
			if msg := prev.Name + "/" + in.Name; msg != s.lastDup {
				s.lastDup = msg
				s.log.Warn("two instances share one D-Bus object path; the second is not exported",
					"path", string(p), "exported", prev.Name, "not_exported", in.Name)
			}
			continue
		}
		next[p] = in
	}
	s.mu.Lock()
	s.entries = next
	s.mu.Unlock()
}

func (s *Server) emit(p dbus.ObjectPath, name string, args ...any) {
	if s.conn == nil {
		return // not connected: the state is re-sent on connection
	}
	if err := s.conn.Emit(p, name, args...); err != nil {
		s.log.Debug("D-Bus signal not sent", "signal", name, "err", err)
	}
}

func (s *Server) dial() (*dbus.Conn, error) {
	if s.o.Address != "" {
		return dbus.Connect(s.o.Address)
	}
	return dbus.ConnectSystemBus()
}

// connect exports everything, emits VrrpStarted and each instance's state,
// then asks for the name: keepalived's order (observed).
func (s *Server) connect() error {
	conn, err := s.dial()
	if err != nil {
		return err
	}
	s.conn, s.exported, s.nodes = conn, map[dbus.ObjectPath]bool{}, map[dbus.ObjectPath]bool{}
	if err := s.exportVrrp(); err != nil {
		s.disconnect()
		return err
	}
	s.export()
	s.emit(VrrpPath, VrrpIface+".VrrpStarted")
	for _, p := range s.paths() {
		e, _ := s.entry(p)
		s.emit(p, InstanceIface+".VrrpStatusChange", e.State)
	}
	reply, err := conn.RequestName(s.name, 0)
	if err != nil {
		s.disconnect()
		// The system bus refuses a name no policy file allows (Debian's
		// keepalived ships one for org.keepalived.Vrrp1 only).
		return fmt.Errorf("request name %s: %w (a bus policy must let this user own it: govrrp's package ships /usr/share/dbus-1/system.d/govrrp.conf for org.keepalived.Vrrp1; another name needs its own)", s.name, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner && reply != dbus.RequestNameReplyAlreadyOwner {
		s.log.Warn("D-Bus name is owned by another connection; objects exported under the unique name only", "reply", reply)
	}
	s.connected.Store(true)
	return nil
}

func (s *Server) disconnect() {
	if s.conn != nil {
		s.conn.Close()
	}
	s.conn, s.exported, s.nodes = nil, nil, nil
	s.connected.Store(false)
}

func (s *Server) exportVrrp() error {
	for iface, v := range map[string]any{
		VrrpIface:  vrrpObj{s},
		propsIface: propsObj{s: s, path: VrrpPath, iface: VrrpIface},
		introIface: introObj(objectXML(xmlVrrp)),
	} {
		if err := s.conn.Export(v, VrrpPath, iface); err != nil {
			return err
		}
	}
	return nil
}

// export makes the connection's objects match entries: new instance
// objects exported, gone ones withdrawn, intermediate nodes re-listed.
func (s *Server) export() {
	if s.conn == nil {
		return
	}
	paths := s.paths()
	want := map[dbus.ObjectPath]bool{}
	for _, p := range paths {
		want[p] = true
		if s.exported[p] {
			continue
		}
		e, _ := s.entry(p)
		s.exportOne(p, map[string]any{
			InstanceIface: instanceObj{s: s, key: e.Key},
			propsIface:    propsObj{s: s, path: p, iface: InstanceIface, instance: true},
			introIface:    introObj(objectXML(xmlInstance)),
		})
		s.exported[p] = true
	}
	for p := range s.exported {
		if !want[p] {
			s.exportOne(p, map[string]any{InstanceIface: nil, propsIface: nil, introIface: nil})
			delete(s.exported, p)
		}
	}
	nodes := tree(append(paths, VrrpPath))
	for p, kids := range nodes {
		s.exportOne(p, map[string]any{introIface: introObj(nodeXML(kids))})
		s.nodes[p] = true
	}
	for p := range s.nodes {
		if _, ok := nodes[p]; !ok {
			s.exportOne(p, map[string]any{introIface: nil})
			delete(s.nodes, p)
		}
	}
}

// exportOne exports (or, with nil, withdraws) v per interface at p.
func (s *Server) exportOne(p dbus.ObjectPath, byIface map[string]any) {
	for iface, v := range byIface {
		if err := s.conn.Export(v, p, iface); err != nil {
			s.log.Warn("D-Bus export failed", "path", string(p), "interface", iface, "err", err)
		}
	}
}

// stop is keepalived's end: VrrpStopped, the name released, disconnected.
func (s *Server) stop() {
	if s.conn == nil {
		return
	}
	s.emit(VrrpPath, VrrpIface+".VrrpStopped")
	if _, err := s.conn.ReleaseName(s.name); err != nil {
		s.log.Debug("D-Bus name not released", "err", err)
	}
	s.disconnect()
}

// CloseWait closes s and waits for it until ctx ends.
func CloseWait(ctx context.Context, s *Server) bool {
	select {
	case <-s.Close():
		return true
	case <-ctx.Done():
		return false
	}
}
