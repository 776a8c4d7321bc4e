package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/govrrp/govrrp/internal/daemon"
)

// runFlags are the options shared by `govrrp run` and keepalived mode.
type runFlags struct {
	config   string
	socket   string
	pidFile  string
	vrrpOnly bool
	configID string
	debug    bool
	metrics  string // --metrics-listen
	group    string // --socket-group
	logJSON  string // --log-format
	// allowUnimplemented starts even when the file uses keywords govrrp
	// parses but does not act on yet.
	allowUnimplemented bool
	// noVIPLease installs VIPs forever (keepalived's way) instead of with
	// the short kernel lifetime the running master renews.
	noVIPLease bool
	// extraPidFiles also get our pid: keepalived mode writes both its parent
	// and VRRP-child pid files, which are the same process here.
	extraPidFiles []string
	// releaseVIPs is --release-vips; keepalived mode leaves it "" (the
	// default, after-takeover).
	releaseVIPs string
	// noBFD is keepalived mode's -B: no bfd_instance session runs.
	noBFD bool
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the VRRP daemon in the foreground (logs to stderr)",
		Long: `Run the VRRP daemon in the foreground, logging to stderr. SIGTERM or SIGINT stop it
gracefully: a master sends a priority-0 advert so the backup takes over at once, keeps
its virtual addresses until the new master's first advert (or Master_Down_Interval with
none, at most 4 s), then removes them and exits: clients see no gap. The same goes for
an instance a reload removes. --release-vips=immediate removes them with the priority-0
advert instead, as RFC 3768/5798 and keepalived do. SIGHUP (or ` + "`govrrp reload`" + `) re-reads
the file and applies it as a diff; a file with errors is rejected and the running
configuration stays. Under systemd (Type=notify) it reports READY, RELOADING, STOPPING,
STATUS and the watchdog.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDaemon(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "use-file", "f", daemon.DefaultConfig, "keepalived.conf to read")
	fl.StringVar(&f.socket, "socket", daemon.DefaultSocket, "control socket path")
	fl.StringVar(&f.pidFile, "pid-file", daemon.DefaultPidFile, "pid file path")
	fl.BoolVarP(&f.vrrpOnly, "vrrp", "P", false, "skip LVS/checker blocks of the file with a notice (keepalived -P)")
	fl.StringVarP(&f.configID, "config-id", "i", "", "configuration id for @ conditional lines (default: short hostname)")
	fl.BoolVarP(&f.debug, "log-detail", "D", false, "debug logging (every dropped advert with its reason)")
	fl.StringVar(&f.group, "socket-group", "", "group (name or gid) that may use the control socket besides root (socket mode 0660)")
	fl.StringVar(&f.logJSON, "log-format", "text", "log format on stderr: text or json")
	fl.StringVar(&f.metrics, "metrics-listen", "", "serve Prometheus metrics on ADDR (host:port, e.g. 127.0.0.1:9650); off by default")
	fl.StringVar(&f.releaseVIPs, "release-vips", string(daemon.ReleaseAfterTakeover),
		"when a stopped master removes its VIPs: after-takeover (once the new master advertises) or immediate (with the priority-0 advert, as the RFCs)")
	fl.BoolVar(&f.allowUnimplemented, "allow-unimplemented", false, "start even if the file uses keywords govrrp does not act on yet (they are ignored, each logged)")
	fl.BoolVar(&f.noVIPLease, "no-vip-lease", false, "install VIPs forever, as keepalived does, instead of with a 1 s kernel lifetime the running master renews (a killed or frozen master's VIPs then stay until it is restarted)")
	return cmd
}

func runDaemon(ctx context.Context, f runFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch f.logJSON {
	case "", "text":
		h = slog.NewTextHandler(os.Stderr, opts)
	case "json":
		h = slog.NewJSONHandler(os.Stderr, opts)
	default:
		return &exitError{code: 2, msg: fmt.Sprintf("--log-format %q: want text or json", f.logJSON)}
	}
	log := slog.New(h)
	if ns := configNetNamespace(f); ns != "" { // netns.go
		netnsPaths(&f, ns)
		if err := enterNetNamespace(ns, log); err != nil {
			return &exitError{code: 1, msg: err.Error()}
		}
	}
	defer applyPidDefs(&f, configPidDefs(f))() // use_pid_dir, instance (pidfile.go)
	release := daemon.ReleasePolicy("")
	if f.releaseVIPs != "" {
		var err error
		if release, err = daemon.ParseReleasePolicy(f.releaseVIPs); err != nil {
			return &exitError{code: 2, msg: "--release-vips: " + err.Error()}
		}
	}
	err := daemon.Run(ctx, daemon.Options{
		ConfigPath:    f.config,
		SocketPath:    f.socket,
		PidFile:       f.pidFile,
		ExtraPidFiles: f.extraPidFiles,
		VRRPOnly:      f.vrrpOnly,
		NoBFD:         f.noBFD,
		ConfigID:      f.configID,
		Logger:        log,

		AllowUnimplemented: f.allowUnimplemented,
		NoVIPLease:         f.noVIPLease,
		MetricsListen:      f.metrics,
		SocketGroup:        f.group,
		ReleaseVIPs:        release,
	})
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	return nil
}
