package kaconf

import (
	"path/filepath"
	"time"
)

// ReloadDefs are global_defs' reload and configuration-handling keywords
// (keepalived 2.2.7 behaviour as observed with strace; internal/daemon acts
// on them: reloadsched.go, configsave.go).
type ReloadDefs struct {
	// CheckConfig is reload_check_config: a reload is refused unless the new
	// file passes keepalived -t's check (every reported line refuses it);
	// CheckLog, if set, receives that check's lines (truncated first).
	CheckConfig bool
	CheckLog    string
	// TimeFile is reload_time_file: a file whose first line is a time at
	// which to reload; Repeat (reload_repeat) keeps the file and repeats a
	// time-only entry daily.
	TimeFile string
	Repeat   bool
	// File is reload_file: present while a reload reads the configuration;
	// FileSet with File "" is keepalived's default path (PidPaths.Reload).
	File    string
	FileSet bool
	// SaveDir is config_save_dir: the configuration as read, and the state
	// before and after each reload, are written there.
	SaveDir string
}

// PidDefs are the top-level process keywords: use_pid_dir, instance NAME,
// child_wait_time.
type PidDefs struct {
	UsePidDir     bool
	Instance      string
	ChildWaitTime time.Duration // 0: not set (keepalived's default 5 s)
}

// PidPaths are keepalived's run-time file paths for a configuration.
type PidPaths struct {
	Dir    string // "/run/keepalived" with use_pid_dir or instance, else "/run"
	Parent string // keepalived.pid (keepalived -p)
	VRRP   string // vrrp.pid (keepalived -r)
	Reload string // reload_file's default
}

// RunDir is where keepalived keeps its run-time files by default.
const RunDir = "/run"

// Paths are keepalived 2.2.7's default pid and reload file paths, observed:
// instance NAME -> /run/keepalived/keepalived_NAME.pid, vrrp_NAME.pid,
// keepalived_NAME.reload (instance alone implies the directory);
// use_pid_dir -> /run/keepalived/keepalived.pid, vrrp.pid,
// keepalived.reload; neither -> /run/keepalived.pid, /run/vrrp.pid,
// /run/keepalived.reload. keepalived creates /run/keepalived (0755) and
// removes it at stop.
func (p PidDefs) Paths() PidPaths {
	dir, sfx := RunDir, ""
	if p.UsePidDir || p.Instance != "" {
		dir = filepath.Join(RunDir, "keepalived")
	}
	if p.Instance != "" {
		sfx = "_" + p.Instance
	}
	return PidPaths{
		Dir:    dir,
		Parent: filepath.Join(dir, "keepalived"+sfx+".pid"),
		VRRP:   filepath.Join(dir, "vrrp"+sfx+".pid"),
		Reload: filepath.Join(dir, "keepalived"+sfx+".reload"),
	}
}

// ReloadFilePath is the reload_file path in force, "" when not set.
func (c *Config) ReloadFilePath() string {
	r := c.Global.Reload
	switch {
	case !r.FileSet:
		return ""
	case r.File != "":
		return r.File
	}
	return c.Pid.Paths().Reload
}

func gReload(name, args string, min, max int, doc string, fn func(c *ctx, n *Node, r *ReloadDefs)) kwG {
	return kwG{name: name, args: args, min: min, max: max, status: Supported, doc: doc,
		fn: func(c *ctx, n *Node, g *GlobalDefs) { fn(c, n, &g.Reload) }}
}

// reloadKeywords are the global_defs rows (keywords_global.go lists them).
var reloadKeywords = []kwG{
	gReload("reload_check_config", "[LOGFILE]", 0, 1, "a reload is refused unless the new file passes `keepalived -t`'s check (every reported line refuses it); LOGFILE gets the check's lines",
		func(c *ctx, n *Node, r *ReloadDefs) { r.CheckConfig, r.CheckLog = true, argText(n, 0) }),
	gReload("reload_time_file", "PATH", 0, 1, "reload at the time its first line says (HH:MM:SS, [YY]YY-MM-DD HH:MM:SS, optional Z); the file is removed after the reload",
		func(c *ctx, n *Node, r *ReloadDefs) {
			if len(n.Args) == 0 {
				c.fallbackf(n.Pos(), ignore, "%s: missing value", n.Keyword.Text)
				return
			}
			r.TimeFile = n.Args[0].Text
		}),
	gReload("reload_repeat", "", 0, 0, "keep reload_time_file after its reload; a time without a date repeats daily",
		func(c *ctx, n *Node, r *ReloadDefs) { r.Repeat = true }),
	gReload("reload_file", "[PATH]", 0, 1, "present while a reload reads the configuration (created or truncated before, removed after); default keepalived.reload in the pid directory",
		func(c *ctx, n *Node, r *ReloadDefs) { r.File, r.FileSet = argText(n, 0), true }),
	gReload("config_save_dir", "DIR", 1, 1, "the file as read (keepalived.conf.PID.N) and the state before/after each reload (keepalived_vrrp.PID.N.pre/.post) are saved here",
		func(c *ctx, n *Node, r *ReloadDefs) { r.SaveDir = n.Args[0].Text }),
	{name: "tmp_config_directory", args: "DIR", min: 1, max: 1, status: Ignored,
		doc: "keepalived keeps an anonymous O_TMPFILE copy of the file there for its child processes (nothing visible); govrrp is one process and reads the file once",
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			c.noticef(n.Pos(), "tmp_config_directory: govrrp is one process and reads the file once, so it keeps no copy (keepalived's is an anonymous file, nothing visible); ignored")
		}},
	{name: "include_check", args: "[OPTIONS]", max: -1, status: Supported,
		doc: "unmatched include patterns refuse the file (match, wildcard_match, brace_match, +/-; none: all); applied while reading, per file",
		fn:  func(c *ctx, n *Node, g *GlobalDefs) {}}, // the preprocessor acts on the line (include.go)
	{name: "random_seed", args: "N", min: 1, max: 1, status: Supported, fallback: ignore,
		doc: "${_RANDOM} after this line comes from glibc random() seeded with N (repeatable)",
		fn:  func(c *ctx, n *Node, g *GlobalDefs) { c.intArg(n, 0, 0, 1<<32-1) }}, // seeded by the preprocessor (random.go)
}

// topPidKeywords are the top-level rows (keywords_top.go lists them).
var topPidKeywords = []kwTop{
	{name: "use_pid_dir", status: Supported, doc: "keepalived's pid files in /run/keepalived (keepalived mode: its -p/-r defaults; govrrp run: written beside govrrp's)",
		fn: func(c *ctx, n *Node, cfg *Config) { cfg.Pid.UsePidDir = true }},
	{name: "instance", args: "NAME", min: 1, max: 1, status: Supported, doc: "pid files /run/keepalived/keepalived_NAME.pid, vrrp_NAME.pid; govrrp's default socket and pid file move to /run/govrrp/NAME/",
		fn: func(c *ctx, n *Node, cfg *Config) {
			name := n.Args[0].Text
			if name == "." || name == ".." || filepath.Base(name) != name {
				c.errf(n.Args[0].Pos, "instance: %q cannot be part of a file name", name)
				return
			}
			cfg.Pid.Instance = name
		}},
	{name: "child_wait_time", args: "SECS", min: 1, max: 1, status: Ignored, fallback: ignore,
		doc: "how long keepalived's parent waits for its child processes at stop: govrrp is one process (its stop is bounded by the release policy)",
		fn: func(c *ctx, n *Node, cfg *Config) {
			if v, ok := c.intArg(n, 0, 0, 1<<31-1); ok {
				cfg.Pid.ChildWaitTime = time.Duration(v) * time.Second
				c.noticef(n.Pos(), "child_wait_time: govrrp is one process with no children to wait for; ignored")
			}
		}},
}

// pickKeyword is the row named name of rows; a table literal lists it where
// the keyword's documentation row belongs.
func pickKeyword[T any](rows []keyword[T], name string) keyword[T] {
	for _, k := range rows {
		if k.name == name {
			return k
		}
	}
	panic("kaconf: no keyword row " + name)
}
