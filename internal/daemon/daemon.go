// Package daemon wires the pieces of govrrp together: it loads the
// configuration, runs one state machine per vrrp_instance, feeds it adverts
// from the shared sockets and timer expiries, and carries out the actions it
// returns (send adverts, add or remove VIPs, announce them).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/kadump"
	"github.com/govrrp/govrrp/internal/procsched"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// Defaults for the run-time files; two daemons on one host (e.g. in two
// network namespaces) must be given different paths.
const (
	DefaultConfig  = "/etc/keepalived/keepalived.conf"
	DefaultSocket  = "/run/govrrp/govrrp.sock"
	DefaultPidFile = "/run/govrrp/govrrp.pid"
)

// Options configure a daemon run.
type Options struct {
	ConfigPath    string
	SocketPath    string
	PidFile       string
	ExtraPidFiles []string // written and removed like PidFile (keepalived mode's -r)
	VRRPOnly      bool     // keepalived -P: LVS/checker blocks are skipped with a notice
	ConfigID      string   // keepalived -i
	// SocketGroup may use the control socket besides root ("" = root only).
	SocketGroup string
	// MetricsListen serves Prometheus metrics on this address ("" = off).
	MetricsListen string
	// AllowUnimplemented runs a configuration that uses keywords govrrp
	// parses but does not act on yet (tracking, notify, sync groups ...),
	// logging each instead of refusing to start.
	AllowUnimplemented bool
	// NoVIPLease installs VIPs forever, as keepalived does, instead of with
	// the short kernel lifetime the running master renews (vip.Lease).
	NoVIPLease bool
	// ReleaseVIPs is when a stopped master removes its VIPs (release.go);
	// "" is ReleaseAfterTakeover.
	ReleaseVIPs ReleasePolicy
	// NoBFD is keepalived -B: no bfd_instance session runs, so every
	// track_bfd stays down, as keepalived's VRRP process without its BFD
	// process (bfd.go).
	NoBFD  bool
	Logger *slog.Logger
}

// addrOps is what the daemon needs from internal/vip; a seam for tests.
type addrOps interface {
	Add(vip.Address) error
	Remove(vip.Address) error
	Has(vip.Address) (bool, error)
}

type announcer interface {
	AnnounceBurst(ctx context.Context, addrs []vip.Address, repeat int) error
	Close() error
}

// Daemon is one running govrrp.
type Daemon struct {
	log       *slog.Logger
	cfg       *kaconf.Config
	instances []*instance
	sockets   []*socketStats // one per shared socket, for drops no instance owns
	// view publishes instances and sockets to the control socket; the loop
	// stores a new one whenever either list changes.
	view     atomic.Pointer[daemonView]
	changes  control.Notifier // wakes `govrrp status --watch` on every new view
	pool     *transport.Pool
	addrs    addrOps
	announce announcer
	lookup   addrLookup
	vmacs    vmacOps // use_vmac links (vmac.go)

	events     chan loopEvent
	selfq      []loopEvent // the loop's posts to itself, served first (loop.go)
	rx         *rxQueue    // accepted adverts, served after events (rxqueue.go)
	ctx        context.Context
	cancel     context.CancelFunc
	start      time.Time
	configPath string
	opts       Options // as started: reload reads the file the same way

	actBuf []fsm.Action // reused for every Handle call on the loop goroutine

	tracks      map[trackKey]*trackState // every tracked object, owned by the loop
	running     map[string]*trackerRun   // started trackers by spec id
	trackWG     sync.WaitGroup           // tracker goroutines; they end with ctx
	bus         func() (*dbus.Conn, error)
	socks       map[*transport.Mux]*sockUse
	notify      notifier
	notifyFP    *notifyFP            // what the running notifier was built from
	metrics     *control.Metrics     // nil without --metrics-listen (its methods are nil-safe)
	statsBase   kadump.StatsBaseline // keepalived's STATS_CLEAR: what dumps subtract
	sdActive    bool                 // READY=1 sent: state changes update STATUS=
	sdFailed    bool                 // an sd_notify error was logged
	sdDirty     time.Time            // a state change since the last STATUS= (sdnotify.go); zero: none
	newTrackers trackerFactory
	newNotifier notifierFactory
	lease       leaseTimer      // VIP lease renewal (lease.go)
	releasing   []*instance     // stopped masters still holding their VIPs (release.go)
	static      staticState     // static_* the last apply installed (routes.go)
	accept      acceptState     // no_accept firewall (accept.go)
	sync        syncState       // vrrp_sync_group membership and faults (syncgroup.go)
	startup     startupDelay    // instances waiting for vrrp_startup_delay (startup.go)
	promote     promoteState    // promote_secondaries set by govrrp (promote.go)
	mail        mailState       // smtp_alert mails (mail.go)
	snmp        snmpState       // AgentX subagent (snmp.go)
	ifd         ifaceDelayState // interface_up_down_delays (ifaces_delay.go)
	dyn         dynState        // dynamic_interfaces (ifaces_dyn.go)
	adverts     advertState     // aligned masters' advert schedules and batch (advertsched.go)
	dbus        dbusState       // enable_dbus: keepalived's D-Bus interface (dbus.go)
	downs       downState       // backups' master-down schedules, one timer per socket (masterdown.go)
	igmp        localIGMP       // disable_local_igmp (igmp.go)
	saved       saveState       // config_save_dir (configsave.go)
	sched       reloadSched     // reload_time_file (reloadsched.go)
	bfd         bfdState        // bfd_instance sessions for track_bfd (bfd.go)

	proc *procsched.Manager // process knobs, nil in tests (procsched.go)
}

// daemonView is an immutable copy of the instance and socket lists.
type daemonView struct {
	instances []*instance
	sockets   []*socketStats
}

// publishView lets the control socket see the current instances and sockets.
func (d *Daemon) publishView() {
	d.view.Store(&daemonView{instances: slices.Clone(d.instances), sockets: slices.Clone(d.sockets)})
	d.changes.Notify()
}

// loopEvent is one input for one instance's state machine, or a track
// result for every instance that tracks the object.
type loopEvent struct {
	in     *instance
	ev     fsm.Event
	result *track.Result
	reload chan<- reloadOutcome // a reload asked for over the control socket
	// do runs a function on the loop: a seam for tests only. The daemon
	// itself posts typed events (ARCHITECTURE: no closures into the loop).
	do func()
	// leaseTick: the VIP lease renewal timer fired (lease.go).
	leaseTick bool
	// leaseReport: the renewer found leased VIPs missing (renewer.go).
	leaseReport *leaseReport
	// routesDeleted: the netlink watch saw a watched route, rule or
	// address deleted (routes.go).
	routesDeleted bool
	// instancesStarted: apply has returned to the loop after start-up; the
	// firewall's start-up cover can narrow to what is held (accept.go).
	instancesStarted bool
	// garp: a follow-up gratuitous ARP/NA timer fired (garp.go).
	garp *garpTick
	// startupTick: vrrp_startup_delay is over (startup.go).
	startupTick bool
	// ifaceDelay: a held interface change's delay ran out (ifaces_delay.go).
	ifaceDelay *ifaceDelayTick
	// advertTick: a socket's advert schedule is due (advertsched.go).
	advertTick *advertSched
	// dbus: a D-Bus method call that changes something (dbus.go).
	dbus *dbusCall
	// reloadSched: reload_time_file's watcher or timer (reloadsched.go).
	reloadSched *reloadSchedEvent
}

// eventQueueLen bounds how many inputs may wait for the loop; beyond it
// adverts are dropped and counted rather than blocking the socket reader.
const eventQueueLen = 4096

// Run loads the configuration and runs until ctx is done or SIGTERM/SIGINT,
// then stops gracefully (priority-0 adverts, VIPs removed).
func Run(ctx context.Context, o Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	log := o.Logger
	if o.ConfigPath == "" {
		o.ConfigPath = DefaultConfig
	}
	cfg, err := loadConfig(log, o)
	if err != nil {
		return err
	}

	applyMemoryDefaults(log) // GOGC default unless set (memory.go)
	applyNetlinkBufs(cfg)    // vrrp_netlink_*_rcv_bufs (netlinkbufs.go)
	dp := productionDeps()
	dp.addrs = vipManager(o) // leased unless --no-vip-lease
	if o.NoBFD {
		dp.bfd = nil // keepalived -B (bfd.go)
	}
	d := newDaemon(cfg, o, dp)
	if err := d.startProcess(); err != nil { // vrrp_rt_priority & co. (procsched.go)
		return err
	}
	defer d.stopProcess()
	defer d.useSystemIGMP()() // disable_local_igmp restored after the sockets closed (igmp.go)

	d.useSystemFirewall() // no_accept drops through nft (accept.go)
	defer d.announce.Close()

	release, err := claimRuntimeFiles(o)
	if err != nil {
		return err
	}
	defer release()

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if o.MetricsListen != "" {
		stopMetrics, err := d.startMetrics(ctx, o.MetricsListen)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	sig, unsubscribe := notifySignals()
	defer unsubscribe()
	return d.run(ctx, o, sig)
}

// loadConfig reads and checks the configuration as start-up and reload
// both do: errors (FILE:LINE:COL, one per line) in the returned error,
// warnings logged.
func loadConfig(log *slog.Logger, o Options) (*kaconf.Config, error) {
	cfg, diags, err := kaconf.Load(o.ConfigPath, kaconf.LoadOptions{
		Parse:    kaconf.ParseOptions{ConfigID: o.ConfigID},
		VRRPOnly: o.VRRPOnly,
	})
	var errLines []string
	for _, d := range diags {
		if d.Severity == kaconf.SevError { // errors come back in err, once
			errLines = append(errLines, d.String())
			continue
		}
		logDiagnostic(log, d)
	}
	if err != nil {
		if len(errLines) == 0 {
			errLines = []string{err.Error()}
		}
		return nil, &configError{lines: errLines, err: err}
	}
	if len(cfg.Instances) == 0 {
		return nil, fmt.Errorf("%s: no vrrp_instance to run", o.ConfigPath)
	}
	if err := checkNotActedOn(log, cfg, o.AllowUnimplemented); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configError is a configuration refused, one FILE:LINE:COL line per error.
type configError struct {
	lines []string
	err   error
}

func (e *configError) Error() string { return strings.Join(e.lines, "\n") }
func (e *configError) Unwrap() error { return e.err }

// deps are the daemon's ties to the operating system; tests replace them
// with an in-memory segment and fake address tables.
type deps struct {
	listen   func(transport.Config) (transport.Conn, error)
	addrs    addrOps
	announce announcer
	lookup   addrLookup
	trackers trackerFactory  // nil: no tracking (tests without trackers)
	notifier notifierFactory // nil: no notifications
	vmacs    vmacOps         // nil: use_vmac refused at start
	bfd      bfdFactory      // nil: no BFD sessions (track_bfd stays Down)
}

func productionDeps() deps {
	return deps{listen: transport.Listen, addrs: vip.NewManager(nil), announce: vip.NewPacer(vip.NewAnnouncer(), nil),
		lookup:   addrLookup{primary: transport.PrimaryAddr, interfaceOf: transport.InterfaceOf},
		trackers: systemTrackers, notifier: systemNotifier, vmacs: vip.NewVMACs(nil), bfd: systemBFD}
}

// newDaemon wires a daemon for cfg; o.Logger must be set.
func newDaemon(cfg *kaconf.Config, o Options, dp deps) *Daemon {
	return &Daemon{
		log:         o.Logger,
		cfg:         cfg,
		pool:        transport.NewPool(dp.listen),
		addrs:       dp.addrs,
		announce:    dp.announce,
		lookup:      dp.lookup,
		vmacs:       dp.vmacs,
		events:      make(chan loopEvent, eventQueueCap(len(cfg.Instances))), // loop.go
		rx:          newRxQueue(),
		start:       time.Now(),
		configPath:  o.ConfigPath,
		opts:        o,
		tracks:      map[trackKey]*trackState{},
		running:     map[string]*trackerRun{},
		socks:       map[*transport.Mux]*sockUse{},
		notify:      noNotify{},
		newTrackers: dp.trackers,
		newNotifier: dp.notifier,
		bfd:         bfdState{newEngine: dp.bfd},
	}
}

// checkNotActedOn refuses a configuration that uses a keyword govrrp does
// not implement yet, in any block: running it would silently behave
// differently from keepalived (fail over differently, or drop what the
// user relies on: a bus interface, a reload schedule). Settings of
// keepalived's other processes have status Ignored and never get here.
func checkNotActedOn(log *slog.Logger, cfg *kaconf.Config, allow bool) error {
	var refused []string
	for _, u := range cfg.NotActedOn {
		msg := fmt.Sprintf("%s (in %s) is not implemented by govrrp yet", u.Name, u.Block)
		if allow {
			log.Warn(msg+"; ignored", "at", u.Pos.String())
			continue
		}
		refused = append(refused, fmt.Sprintf("%s: %s", u.Pos, msg))
	}
	if len(refused) == 0 {
		return nil
	}
	return fmt.Errorf("the configuration uses keywords govrrp does not act on yet, so it would fail over differently from keepalived:\n  %s\n(run with --allow-unimplemented to start anyway, ignoring them)",
		strings.Join(refused, "\n  "))
}

func logDiagnostic(log *slog.Logger, d kaconf.Diagnostic) {
	switch d.Severity {
	case kaconf.SevWarning:
		log.Warn(d.Msg, "at", d.Pos.String())
	default:
		log.Info(d.Msg, "at", d.Pos.String())
	}
}

// claimRuntimeFiles writes the pid file(s); the returned function removes
// them. A pid file naming a live process means another daemon runs with the
// same paths, which would fight over the control socket and the VIPs.
func claimRuntimeFiles(o Options) (func(), error) {
	pidFile := o.PidFile
	if pidFile == "" {
		pidFile = DefaultPidFile
	}
	files := append([]string{pidFile}, o.ExtraPidFiles...)
	var written []string
	release := func() {
		for _, f := range written {
			os.Remove(f)
		}
	}
	for _, f := range files {
		if err := writePidFile(f); err != nil {
			release()
			return nil, err
		}
		written = append(written, f)
	}
	return release, nil
}

func writePidFile(file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	if pid, ok := runningPid(file); ok {
		return fmt.Errorf("pid file %s: govrrp already running as pid %d (use --pid-file and --socket to run a second one)", file, pid)
	}
	if err := os.WriteFile(file, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

// runningPid reports the pid in file when that process is alive.
func runningPid(file string) (int, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(string(trimSpace(b)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return 0, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, false
	}
	return pid, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
