package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// systemTrackers builds the real trackers: one runner per vrrp_script (a
// `systemctl is-active` check answered over D-Bus where systemd is there),
// one netlink watcher for all interfaces, one inotify watcher for all files,
// one process watcher.
func systemTrackers(ctx context.Context, log *slog.Logger, cfg *kaconf.Config, need []trackKey) ([]track.Tracker, []track.Result, error) {
	var (
		trackers []track.Tracker
		initial  []track.Result
		links    []string
		addrs    = map[string][]netip.Addr{}
		files    []track.FileConfig
		procs    []track.ProcessConfig
		errs     []error
	)
	scripts, err := newCommandResolver(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	bus := track.SharedSystemBus(ctx) // one connection for every unit check
	for _, k := range need {
		switch k.kind {
		case track.KindScript:
			s := cfg.Scripts[k.name]
			runner, err := scriptTracker(ctx, log, scripts, bus, s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: vrrp_script %s: %w", s.Pos, s.Name, err))
				continue
			}
			trackers = append(trackers, runner)
			if s.InitFail {
				// keepalived.conf(5): "assume script initially is in failed state".
				initial = append(initial, runner.Initial())
			}
		case track.KindInterface:
			if ip, ok := strings.CutPrefix(k.name, track.AddrResultPrefix); ok {
				addrs[""] = append(addrs[""], netip.MustParseAddr(ip)) // any interface
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
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	if len(links) > 0 {
		trackers = append(trackers, track.NewLinks(links))
	}
	if len(addrs) > 0 {
		trackers = append(trackers, track.NewAddrs(addrs))
	}
	if len(files) > 0 {
		trackers = append(trackers, track.NewFiles(files))
	}
	if len(procs) > 0 {
		trackers = append(trackers, track.NewProcesses(procs))
	}
	return trackers, initial, nil
}

// scriptTracker resolves a vrrp_script's command and user and picks how it
// is checked: a `systemctl is-active` answered from systemd over D-Bus where
// systemd is on the bus, else the command itself.
func scriptTracker(ctx context.Context, log *slog.Logger, scripts *commandResolver, bus func() (*dbus.Conn, error), s *kaconf.Script) (*track.Script, error) {
	argv, cred, err := scripts.resolve(s.Script, kaconf.RunAs{User: s.User, Group: s.Group})
	if err != nil {
		return nil, err
	}
	execProber := func() track.Prober { return track.NewExecProber(argv, cred) }
	prober, how := track.ChooseProber(ctx, argv, bus, execProber)
	log.Info("vrrp_script check", "script", s.Name, "method", prober.Method(), "why", how)
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = s.Interval
	}
	return track.NewScript(track.ScriptConfig{Name: s.Name, Argv: argv, Interval: s.Interval, Timeout: timeout,
		Rise: s.Rise, Fall: s.Fall, InitFail: s.InitFail, Cred: cred}, prober), nil
}
