package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/govrrp/govrrp/internal/kadump"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// What keepalived 2.2.7 does around a reload, observed with strace -f and
// ls -l, and what govrrp does in its place (one process, so no checking
// child and no config copy for children):
//
//   - reload_file: creat(2) 0644 (truncating an existing one) before the
//     file is read, unlink(2) once it has been read, rejected or not; a
//     stale one is unlinked at start-up. Default keepalived.reload in the pid
//     directory (kaconf.PidDefs.Paths).
//   - reload_check_config [LOG]: LOG is truncated, then a `keepalived -t`
//     child checks the new file and appends its lines to LOG (0644 under
//     keepalived's umask: 0600). Any line it reports, a replaced value
//     included, refuses the reload; the daemon logs "New config failed
//     validation, see LOG for details". govrrp runs the same strict check in
//     process and writes its FILE:LINE:COL lines to LOG.
//   - config_save_dir DIR: created 0700 if missing; at start the file as
//     read, flattened, is copied to DIR/keepalived.conf.PID.0 (0600); on each
//     reload N the VRRP process writes its data dump (SIGUSR1's format)
//     before and after as DIR/keepalived_vrrp.PID.N.pre and .post (0600).
//     keepalived's reload copy is made by its checking child (its own PID, .0);
//     govrrp has none and writes keepalived.conf.PID.N itself.
//
// None of this is on the advert path: it runs inside a reload, which already
// stops the loop while it reads and applies the file.

// saveState is what config_save_dir needs across reloads.
type saveState struct {
	reloads int // reloads applied so far: N of the files
}

// reloadMarker creates cfg's reload_file and returns its removal.
func (d *Daemon) reloadMarker(cfg *kaconf.Config) func() {
	path := cfg.ReloadFilePath()
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		d.log.Warn("reload_file not created", "file", path, "err", err)
		return func() {}
	}
	f.Close()
	return func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("reload_file not removed", "file", path, "err", err)
		}
	}
}

// removeStaleReloadMarker is start-up's unlink of a reload_file left behind.
func removeStaleReloadMarker(cfg *kaconf.Config) {
	if p := cfg.ReloadFilePath(); p != "" {
		os.Remove(p)
	}
}

// reloadCheck is reload_check_config (of the running configuration): the new
// file must load without a single reported line, as keepalived -t requires;
// the lines go to the check's log file.
func (d *Daemon) reloadCheck(running *kaconf.Config) error {
	r := running.Global.Reload
	if !r.CheckConfig {
		return nil
	}
	d.log.Info("validate conf before Reload", "config", d.configPath)
	_, diags, err := kaconf.Load(d.configPath, kaconf.LoadOptions{
		Parse: kaconf.ParseOptions{ConfigID: d.opts.ConfigID}, VRRPOnly: d.opts.VRRPOnly, Strict: true})
	var lines []string
	for _, dg := range diags {
		if dg.Severity == kaconf.SevNotice {
			continue // govrrp's own remarks ("ignored: one process"); keepalived -t has none
		}
		lines = append(lines, dg.String())
	}
	if err != nil && len(lines) == 0 {
		lines = []string{err.Error()}
	}
	if r.CheckLog != "" {
		if werr := writeCheckLog(r.CheckLog, lines); werr != nil {
			d.log.Warn("reload_check_config log not written", "file", r.CheckLog, "err", werr)
		}
	}
	if err == nil {
		return nil
	}
	where := "the lines above"
	if r.CheckLog != "" {
		where = r.CheckLog
	}
	d.log.Error("New config failed validation, see "+where+" for details", "config", d.configPath)
	return &configError{lines: append([]string{"reload_check_config: the new file failed the check (see " + where + ")"}, lines...), err: err}
}

// writeCheckLog truncates the log and writes one line per diagnostic.
func writeCheckLog(path string, lines []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// saveConfig writes the file as read to config_save_dir as
// keepalived.conf.PID.N (N: 0 at start, the reload's number after).
func (d *Daemon) saveConfig(cfg *kaconf.Config) {
	dir := cfg.Global.Reload.SaveDir
	if dir == "" {
		return
	}
	name := fmt.Sprintf("keepalived.conf.%d.%d", os.Getpid(), d.saved.reloads)
	err := writeSaved(dir, name, func(w *bufio.Writer) error {
		f, err := kaconf.ParseFile(d.configPath, kaconf.ParseOptions{ConfigID: d.opts.ConfigID})
		if f == nil {
			return err
		}
		fmt.Fprintf(w, "# %s\n", d.configPath)
		if err := kaconf.Print(w, f.Nodes); err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, "!")
		return err
	})
	if err != nil {
		d.log.Warn("config_save_dir: configuration not saved", "dir", dir, "err", err)
	}
}

// saveDump writes the data dump (keepalived's SIGUSR1 format) before ("pre")
// or after ("post") reload N as keepalived_vrrp.PID.N.pre/.post.
func (d *Daemon) saveDump(cfg *kaconf.Config, n int, when string) {
	dir := cfg.Global.Reload.SaveDir
	if dir == "" {
		return
	}
	st := (&statusProvider{d: d}).Status()
	name := fmt.Sprintf("keepalived_vrrp.%d.%d.%s", os.Getpid(), n, when)
	err := writeSaved(dir, name, func(w *bufio.Writer) error { return kadump.WriteData(w, d.statsBase.Apply(st), cfg) })
	if err != nil {
		d.log.Warn("config_save_dir: state not saved", "dir", dir, "err", err)
	}
}

// writeSaved creates dir (0700, parents must exist, as keepalived) and
// writes name in it, 0600, through a temporary file renamed into place.
func writeSaved(dir, name string, fill func(*bufio.Writer) error) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriter(tmp)
	if err := fill(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}
