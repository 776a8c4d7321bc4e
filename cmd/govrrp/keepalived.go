package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/govrrp/govrrp/internal/daemon"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// keepalived 2.2's exit codes for -t/--config-test (0 is success), as
// 2.2.7 exits: 6 when an include that include_check covers names no file,
// whatever else is wrong; 5 for any other reported line.
const (
	kaTestFatal        = 4
	kaTestConfigErrors = 5
	kaTestMissingFiles = 6
)

// keepalivedSignals are the numbers `keepalived --signum=NAME` prints on
// Linux; monitoring exporters ask for them and then signal the pid file.
var keepalivedSignals = map[string]int{
	"STOP":        int(syscall.SIGTERM),
	"RELOAD":      int(syscall.SIGHUP),
	"DATA":        int(syscall.SIGUSR1),
	"STATS":       int(syscall.SIGUSR2),
	"STATS_CLEAR": 63, // SIGRTMAX-1
	"JSON":        36, // SIGRTMIN+2 (glibc)
}

// keepalivedFlags is keepalived 2.2's command line as govrrp understands it.
type keepalivedFlags struct {
	useFile, pidFile, vrrpPid, checkersPid, configID, signum, logFacility string
	configTest                                                            string
	dontFork, logConsole, logDetail, noSyslog, vrrpOnly, checkOnly        bool
	noBFD, dumpConf, showVersion, help, allowUnimplemented                bool
	unsupported                                                           []string
}

func newKeepalivedFlagSet(f *keepalivedFlags, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("keepalived", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringVarP(&f.useFile, "use-file", "f", daemon.DefaultConfig, "use the specified configuration file")
	fs.BoolVarP(&f.vrrpOnly, "vrrp", "P", false, "only run the VRRP subsystem (LVS/checker blocks are skipped)")
	fs.BoolVarP(&f.checkOnly, "check", "C", false, "only run health checkers (not provided by govrrp)")
	fs.BoolVarP(&f.noBFD, "no_bfd", "B", false, "don't run the bfd_instance sessions (every track_bfd stays down)")
	fs.BoolVarP(&f.logConsole, "log-console", "l", false, "log messages to the console (govrrp always logs to stderr)")
	fs.BoolVarP(&f.logDetail, "log-detail", "D", false, "detailed log messages")
	fs.StringVarP(&f.logFacility, "log-facility", "S", "", "syslog facility (accepted; govrrp logs to stderr/journal)")
	fs.BoolVarP(&f.noSyslog, "no-syslog", "G", false, "don't log via syslog")
	fs.BoolVarP(&f.dontFork, "dont-fork", "n", false, "don't fork the daemon process")
	fs.BoolVarP(&f.dumpConf, "dump-conf", "d", false, "dump the configuration data")
	fs.StringVarP(&f.pidFile, "pid", "p", "/run/keepalived.pid", "pid file of the parent process")
	fs.StringVarP(&f.vrrpPid, "vrrp_pid", "r", "/run/vrrp.pid", "pid file of the VRRP process")
	fs.StringVarP(&f.checkersPid, "checkers_pid", "c", "/run/checkers.pid", "pid file of the checkers process (unused)")
	fs.StringVarP(&f.configID, "config-id", "i", "", "config id for @ conditional lines (default: short hostname)")
	fs.StringVar(&f.signum, "signum", "", "print the signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON")
	fs.StringVarP(&f.configTest, "config-test", "t", "", "check the configuration and exit (optional LOG_FILE)")
	fs.Lookup("config-test").NoOptDefVal = "-"
	fs.BoolVarP(&f.showVersion, "version", "v", false, "display the version number")
	fs.BoolVarP(&f.help, "help", "h", false, "display this help message")
	fs.BoolVar(&f.allowUnimplemented, "allow-unimplemented", false, "govrrp only: start even if the file uses keywords govrrp does not act on yet")
	// keepalived flags govrrp does not provide: accepted by the parser so the
	// error can name them instead of saying "unknown flag".
	for _, u := range []struct {
		long, short string
		arg         bool
	}{
		{"all", "", false}, {"umask", "u", true}, {"release-vips", "X", false}, {"dont-release-vrrp", "V", false},
		{"dont-release-ipvs", "I", false}, {"dont-respawn", "R", false}, {"genhash", "T", false},
		{"address-monitoring", "a", false}, {"bfd_pid", "b", true}, {"snmp", "x", false},
		{"snmp-agent-socket", "A", true}, {"namespace", "s", true}, {"core-dump", "m", false},
		{"core-dump-pattern", "M", true}, {"all-config", "e", false},
	} {
		if u.arg {
			fs.StringP(u.long, u.short, "", "not supported by govrrp")
		} else {
			fs.BoolP(u.long, u.short, false, "not supported by govrrp")
		}
		fs.Lookup(u.long).Hidden = true
	}
	return fs
}

// runKeepalivedMode runs govrrp with keepalived's command line, for when the
// binary is installed as (or symlinked to) `keepalived`.
func runKeepalivedMode(args []string) error {
	return keepalivedMain(args, os.Stdout, os.Stderr)
}

func keepalivedMain(args []string, stdout, stderr io.Writer) error {
	var f keepalivedFlags
	fs := newKeepalivedFlagSet(&f, stderr)
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 1, msg: err.Error() + " (see keepalived --help)"}
	}
	fs.Visit(func(fl *pflag.Flag) {
		if fl.Usage == "not supported by govrrp" {
			f.unsupported = append(f.unsupported, "--"+fl.Name)
		}
	})
	switch {
	case f.help:
		fmt.Fprintln(stdout, "Usage: keepalived [OPTION...]   (govrrp in keepalived-compatible mode)")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	case f.showVersion:
		fmt.Fprintf(stdout, "Keepalived v2.2.7 compatible command line: govrrp %s\n", version)
		return nil
	case f.signum != "":
		n, ok := keepalivedSignals[strings.ToUpper(f.signum)]
		if !ok {
			return &exitError{code: 1, msg: fmt.Sprintf("unknown --signum %q (want STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON)", f.signum)}
		}
		fmt.Fprintln(stdout, n)
		return nil
	case len(f.unsupported) > 0:
		return &exitError{code: 1, msg: fmt.Sprintf("keepalived option %s is not supported by govrrp", strings.Join(f.unsupported, ", "))}
	case f.checkOnly:
		return &exitError{code: 1, msg: "-C/--check: govrrp provides VRRP only, no health checkers (LVS); run keepalived for those, and govrrp with -P"}
	case fs.Changed("config-test"):
		return keepalivedConfigTest(f, stderr)
	}
	if f.dumpConf {
		if err := dumpConfig(stderr, f.useFile, kaconf.LoadOptions{Parse: kaconf.ParseOptions{ConfigID: f.configID}, VRRPOnly: f.vrrpOnly}); err != nil {
			return &exitError{code: 1, msg: err.Error()}
		}
	}
	if !f.dontFork {
		return daemonize(args)
	}
	rf := runFlags{config: f.useFile, socket: daemon.DefaultSocket, pidFile: f.pidFile, vrrpOnly: f.vrrpOnly,
		configID: f.configID, debug: f.logDetail, extraPidFiles: []string{f.vrrpPid}, allowUnimplemented: f.allowUnimplemented, noBFD: f.noBFD}
	return runDaemon(context.Background(), rf)
}

// keepalivedConfigTest is -t: diagnostics to stderr (or LOG_FILE) and
// keepalived's exit codes.
func keepalivedConfigTest(f keepalivedFlags, stderr io.Writer) error {
	w := stderr
	if f.configTest != "" && f.configTest != "-" {
		lf, err := os.Create(f.configTest)
		if err != nil {
			return &exitError{code: kaTestFatal, msg: err.Error()}
		}
		defer lf.Close()
		w = lf
	}
	if _, err := os.Stat(f.useFile); err != nil {
		fmt.Fprintln(w, err)
		return &exitError{code: kaTestFatal}
	}
	// Strict: keepalived -t exits 5 for every value it reports and replaces
	// too (measured with 2.2.7, pkg/kaconf/testdata/fallbacks).
	_, diags, err := kaconf.Load(f.useFile, kaconf.LoadOptions{Parse: kaconf.ParseOptions{ConfigID: f.configID}, VRRPOnly: f.vrrpOnly, Strict: true})
	code := kaTestConfigErrors
	for _, d := range diags {
		fmt.Fprintln(w, d.String())
		if d.MissingFile && d.Severity == kaconf.SevError {
			code = kaTestMissingFiles
		}
	}
	if err != nil {
		if len(diags) == 0 {
			fmt.Fprintln(w, err)
		}
		return &exitError{code: code}
	}
	return nil
}

// dumpConfig is -d: the resolved configuration, as `config check --json`.
func dumpConfig(w io.Writer, file string, o kaconf.LoadOptions) error {
	cfg, _, err := kaconf.Load(file, o)
	if err != nil {
		return err
	}
	return printJSON(w, []kaconf.Member{{File: file, Config: cfg}})
}

// daemonize is keepalived without -n: start a detached copy of ourselves
// with -n and return once it runs. Go cannot fork, so it re-executes.
func daemonize(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	cmd := exec.Command(self, append([]string{"--dont-fork"}, args...)...)
	cmd.Args[0] = "keepalived"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return &exitError{code: 1, msg: "cannot start the daemon: " + err.Error()}
	}
	return cmd.Process.Release()
}
