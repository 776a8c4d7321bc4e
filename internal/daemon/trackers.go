package daemon

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// trackerSpec is one tracker the configuration needs, planned without side
// effects: id names it across reloads, fp changes when its configuration
// does, build starts nothing but makes the tracker (and, for an init_fail
// script, the state it starts in).
type trackerSpec struct {
	id, fp string
	build  func(ctx context.Context, bus func() (*dbus.Conn, error)) (track.Tracker, []track.Result)
}

// trackerFactory plans the trackers of the objects in need (each tracked by
// at least one instance). Errors name the configuration line; nothing has
// been started when it fails, so a reload with them changes nothing.
type trackerFactory func(log *slog.Logger, cfg *kaconf.Config, need []trackKey) ([]trackerSpec, error)

// systemTrackers plans the real trackers: one runner per vrrp_script (a
// `systemctl is-active` check answered over D-Bus where systemd is there),
// one netlink watcher for all interfaces and one for source addresses, one
// inotify watcher for all files, one process watcher.
func systemTrackers(log *slog.Logger, cfg *kaconf.Config, need []trackKey) ([]trackerSpec, error) {
	scripts, err := newCommandResolver(cfg, log)
	if err != nil {
		return nil, err
	}
	var (
		specs []trackerSpec
		links []string
		addrs []netip.Addr
		files []track.FileConfig
		procs []track.ProcessConfig
	)
	for _, k := range need {
		switch k.kind {
		case track.KindScript:
			spec, err := scriptSpec(log, cfg, scripts, cfg.Scripts[k.name])
			if err != nil {
				return nil, err
			}
			specs = append(specs, spec)
		case track.KindInterface:
			if ip, ok := strings.CutPrefix(k.name, track.AddrResultPrefix); ok {
				addrs = append(addrs, netip.MustParseAddr(ip))
				continue
			}
			links = append(links, k.name)
		case track.KindFile:
			f := cfg.TrackFiles[k.name]
			files = append(files, track.FileConfig{Name: f.Name, Path: f.File, InitFile: f.InitFile, InitValue: f.InitValue, Overwrite: f.Overwrite})
		case track.KindProcess:
			p := cfg.TrackProcesses[k.name]
			procs = append(procs, track.ProcessConfig{Name: p.Name, Process: p.Process, ParamMatch: p.ParamMatch,
				FullCommand: p.FullCommand, Quorum: p.Quorum, QuorumMax: p.QuorumMax,
				ForkDelay: p.ForkDelay, TerminateDelay: p.TerminateDelay})
		}
	}
	specs = append(specs, linkSpecs(cfg, links)...) // netlink or linkbeat polling (ifaces_poll.go)
	if len(addrs) > 0 {
		// Any interface: track_src_ip asks whether the address is on the host.
		specs = append(specs, groupSpec("addrs", addrs, func() track.Tracker { return track.NewAddrs(map[string][]netip.Addr{"": addrs}) }))
	}
	if len(files) > 0 {
		specs = append(specs, groupSpec("files", files, func() track.Tracker { return track.NewFiles(files) }))
	}
	if len(procs) > 0 {
		specs = append(specs, groupSpec("processes", procs, func() track.Tracker { return track.NewProcesses(procs) }))
	}
	return specs, nil
}

// groupSpec is one watcher for a set of objects; it restarts when the set
// or any member's configuration changes.
func groupSpec[T any](id string, members []T, make func() track.Tracker) trackerSpec {
	return trackerSpec{id: id, fp: fmt.Sprintf("%+v", members),
		build: func(context.Context, func() (*dbus.Conn, error)) (track.Tracker, []track.Result) { return make(), nil }}
}

// scriptSpec resolves a vrrp_script's command and user now (so a reload with
// a broken script is refused whole) and picks how it is checked when built:
// a `systemctl is-active` answered from systemd over D-Bus where systemd is
// on the bus, else the command itself.
func scriptSpec(log *slog.Logger, cfg *kaconf.Config, scripts *commandResolver, s *kaconf.Script) (trackerSpec, error) {
	argv, cred, err := scripts.resolve(s.Script, kaconf.RunAs{User: s.User, Group: s.Group})
	if err != nil {
		return trackerSpec{}, fmt.Errorf("%s: vrrp_script %s: %w", s.Pos, s.Name, err)
	}
	timeout := cmp.Or(s.Timeout, s.Interval)
	sc := track.ScriptConfig{Name: s.Name, Argv: argv, Interval: s.Interval, Timeout: timeout,
		Rise: s.Rise, Fall: s.Fall, InitFail: s.InitFail, Cred: cred}
	// Where the script is in the file does not matter; what runs does.
	fp := fmt.Sprintf("%+v %+v %v", sc, s.Weight, cfg.Global.EnableScriptSecurity)
	return trackerSpec{id: scriptSpecPrefix + s.Name, fp: fp, build: func(ctx context.Context, bus func() (*dbus.Conn, error)) (track.Tracker, []track.Result) {
		execProber := func() track.Prober { return track.NewExecProber(argv, cred) }
		prober, how := track.ChooseProber(ctx, argv, bus, execProber)
		log.Info("vrrp_script check", "script", s.Name, "method", prober.Method(), "why", how)
		runner := track.NewScript(sc, prober)
		if s.InitFail {
			// keepalived.conf(5): "assume script initially is in failed state".
			return runner, []track.Result{runner.Initial()}
		}
		return runner, nil
	}}, nil
}

// trackerRun is a started tracker.
type trackerRun struct {
	fp     string
	cancel context.CancelFunc
	done   chan struct{}
}

// syncTrackers makes the running trackers match specs: unchanged ones keep
// running (and their last results stand), changed ones are restarted, gone
// ones stopped. It waits for stopped trackers to end (a script is killed
// within its grace period), so no result of an old tracker follows.
func (d *Daemon) syncTrackers(specs []trackerSpec) {
	want := map[string]bool{}
	for _, s := range specs {
		want[s.id] = true
		if run := d.running[s.id]; run != nil && run.fp == s.fp {
			continue
		}
		d.stopTracker(s.id)
		d.startTracker(s)
	}
	for _, id := range slices.Sorted(maps.Keys(d.running)) {
		if !want[id] {
			d.stopTracker(id)
		}
	}
	d.syncBFD(d.cfg) // bfd_instance sessions, and the initial state of new track_bfd entries (bfd.go)
}

func (d *Daemon) startTracker(s trackerSpec) {
	ctx, cancel := context.WithCancel(d.ctx)
	t, initial := s.build(ctx, d.bus)
	for _, r := range initial {
		d.onTrackResult(r)
	}
	run := &trackerRun{fp: s.fp, cancel: cancel, done: make(chan struct{})}
	d.running[s.id] = run
	sink := func(r track.Result) { d.post(loopEvent{result: &r}) }
	d.trackWG.Add(1)
	go func() {
		defer d.trackWG.Done()
		defer close(run.done)
		t.Run(ctx, sink)
	}()
}

func (d *Daemon) stopTracker(id string) {
	run := d.running[id]
	if run == nil {
		return
	}
	run.cancel()
	d.drainUntil(run.done)
	delete(d.running, id)
	if name, ok := strings.CutPrefix(id, scriptSpecPrefix); ok {
		d.metrics.ForgetScript(name)
	}
}

// scriptSpecPrefix starts the spec id of a vrrp_script's runner.
const scriptSpecPrefix = "script "
