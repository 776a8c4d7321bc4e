package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/pkg/kaconf"
)

// reload_time_file PATH [+ reload_repeat]: a reload at the time the file's
// first line names, as keepalived 2.2.7 does it (observed, its log lines
// quoted):
//   - the formats are exactly HH:MM:SS, YY-MM-DD HH:MM:SS and
//     YYYY-MM-DD HH:MM:SS, each with an optional Z (UTC; else local time);
//     no other whitespace. Anything else: "Invalid reload time 'X' specified
//     - ignoring", and a scheduled reload is cancelled;
//   - a date/time in the past: "Reload date/time is in the past - ignoring";
//     a time alone that has passed today means tomorrow;
//   - scheduled: "Scheduling reload for 2026-12-02 19:00:00"; changed:
//     "Reload time updated from A to B"; file removed or emptied:
//     "Cancelling reload scheduled for T";
//   - at the time the file is reloaded as by SIGHUP, then the file is deleted
//     unless reload_repeat, with which a time alone repeats daily;
//   - keepalived watches the file's directory with inotify (created, written,
//     moved, deleted); a directory missing at start or reload schedules
//     nothing until the next reload.
//
// The watcher only reads the file and reports its first line to the loop
// (typed reloadSchedEvent); the loop owns the schedule and its timer, so a
// reload never runs off the loop.

// reloadSchedEvent is the watcher's report of the file or the timer's expiry.
type reloadSchedEvent struct {
	due    int    // the timer generation that fired; 0 for a file report
	exists bool   // the file exists (file report)
	line   string // its first line
}

// reloadSched is the loop's schedule.
type reloadSched struct {
	path, dir string
	repeat    bool
	at        time.Time // zero: no reload scheduled
	gen       int       // generation of the armed timer; a stale expiry is ignored
	timer     *time.Timer
	stopWatch func()
	// watch starts the file's watcher; nil is watchReloadFile (inotify).
	// Tests on a virtual clock (synctest) give one that reports nothing.
	watch func(ctx context.Context, path string, events chan<- loopEvent) (func(), error)
}

// parseReloadTime parses one line of the file; now and loc make a time
// alone the next such time (today if still ahead, else tomorrow).
func parseReloadTime(line string, now time.Time, loc *time.Location) (at time.Time, timeOnly bool, err error) {
	s := line
	if strings.HasSuffix(s, "Z") {
		s, loc = strings.TrimSuffix(s, "Z"), time.UTC
	}
	var layout string
	switch len(s) {
	case len("15:04:05"):
		layout, timeOnly = "15:04:05", true
	case len("06-01-02 15:04:05"):
		layout = "06-01-02 15:04:05"
	case len("2006-01-02 15:04:05"):
		layout = "2006-01-02 15:04:05"
	default:
		return time.Time{}, false, fmt.Errorf("format is incorrect")
	}
	t, perr := time.ParseInLocation(layout, s, loc)
	if perr != nil || t.Format(layout) != s { // Format: no value normalised away
		return time.Time{}, false, fmt.Errorf("invalid")
	}
	if timeOnly {
		n := now.In(loc)
		t = time.Date(n.Year(), n.Month(), n.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
		if !t.After(now) {
			t = t.AddDate(0, 0, 1)
		}
	}
	return t, timeOnly, nil
}

// applyReloadSched follows the configuration's reload_time_file (start-up
// and every reload: keepalived re-reads the file then), and does start-up's
// reload_file and config_save_dir work (configsave.go).
func (d *Daemon) applyReloadSched(cfg *kaconf.Config, startup bool) {
	if startup {
		removeStaleReloadMarker(cfg)
		d.saveConfig(cfg)
	}
	r := cfg.Global.Reload
	s := &d.sched
	s.repeat = r.Repeat
	if r.TimeFile == s.path && s.stopWatch != nil {
		return // same file: the watch and the schedule carry on
	}
	d.stopReloadSched()
	s.path = r.TimeFile
	if s.path == "" || d.ctx == nil {
		return
	}
	s.dir = filepath.Dir(s.path)
	watch := s.watch
	if watch == nil {
		watch = watchReloadFile
	}
	stop, err := watch(d.ctx, s.path, d.events)
	if err != nil {
		d.log.Warn("reload_time_file: no scheduled reloads until the next reload (keepalived does the same)", "file", s.path, "err", err)
		return
	}
	s.stopWatch = stop
}

// stopReloadSched ends the watch and cancels a scheduled reload.
func (d *Daemon) stopReloadSched() {
	s := &d.sched
	if s.stopWatch != nil {
		s.stopWatch()
		s.stopWatch = nil
	}
	d.cancelReload("")
	s.path = ""
}

// cancelReload drops the scheduled reload, logging why if asked.
func (d *Daemon) cancelReload(logIt string) {
	s := &d.sched
	if s.at.IsZero() {
		return
	}
	if logIt != "" {
		d.log.Info("Cancelling reload scheduled for "+kaTime(s.at), "file", s.path, "why", logIt)
	}
	s.at = time.Time{}
	s.gen++
	if s.timer != nil {
		s.timer.Stop()
	}
}

// onReloadSched serves the watcher's reports and the timer's expiry.
func (d *Daemon) onReloadSched(e reloadSchedEvent) {
	s := &d.sched
	if s.path == "" {
		return
	}
	if e.due != 0 {
		if e.due == s.gen && !s.at.IsZero() {
			d.scheduledReload()
		}
		return
	}
	d.readReloadTime(e.exists, e.line, time.Now())
}

// readReloadTime schedules from the file's first line.
func (d *Daemon) readReloadTime(exists bool, line string, now time.Time) {
	s := &d.sched
	if !exists || line == "" {
		d.cancelReload("file removed or empty")
		return
	}
	at, _, err := parseReloadTime(line, now, time.Local)
	switch {
	case err != nil:
		d.log.Warn(fmt.Sprintf("Invalid reload time '%s' specified - ignoring", line), "file", s.path, "err", err.Error())
		d.cancelReload("invalid reload time")
		return
	case !at.After(now):
		d.log.Warn("Reload date/time is in the past - ignoring", "file", s.path, "time", kaTime(at))
		d.cancelReload("reload time in the past")
		return
	case at.Equal(s.at):
		return
	case s.at.IsZero():
		d.log.Info("Scheduling reload for "+kaTime(at), "file", s.path)
	default:
		d.log.Info("Reload time updated from "+kaTime(s.at)+" to "+kaTime(at), "file", s.path)
	}
	d.armReload(at, now)
}

func (d *Daemon) armReload(at, now time.Time) {
	s := &d.sched
	s.at = at
	s.gen++
	gen := s.gen
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(at.Sub(now), func() { d.post(loopEvent{reloadSched: &reloadSchedEvent{due: gen}}) })
}

// scheduledReload is the reload at the scheduled time; then the file goes
// (or, with reload_repeat, is read again: a time alone is tomorrow's).
func (d *Daemon) scheduledReload() {
	s := &d.sched
	path, repeat := s.path, s.repeat
	s.at = time.Time{}
	d.reload("reload_time_file " + path)
	if s.path != path {
		return // the reload changed the file's name: the new watch has it
	}
	if !repeat {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("reload_time_file not removed", "file", path, "err", err)
		}
		return
	}
	exists, line := readFirstLine(path)
	d.readReloadTime(exists, line, time.Now())
}

// kaTime formats a time as keepalived logs it (local time).
func kaTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

// readFirstLine reads the first line of the file, at most 256 bytes of it.
func readFirstLine(path string) (bool, string) {
	f, err := os.Open(path)
	if err != nil {
		return false, ""
	}
	defer f.Close()
	b, _ := bufio.NewReaderSize(f, 512).Peek(256)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return true, string(b)
}

// watchReloadFile reports the file's first line now and after every change
// of it in its directory (inotify), until stop or ctx ends.
func watchReloadFile(ctx context.Context, path string, events chan<- loopEvent) (stop func(), err error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	const mask = unix.IN_CREATE | unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
		unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), mask); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close wakes the reader
	ctx, cancel := context.WithCancel(ctx)
	report := func() {
		exists, line := readFirstLine(path)
		select { // never blocks stop: it cancels ctx first
		case events <- loopEvent{reloadSched: &reloadSchedEvent{exists: exists, line: line}}:
		case <-ctx.Done():
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		report()
		buf := make([]byte, 64<<10)
		for ctx.Err() == nil {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			if touches(buf[:n], filepath.Base(path)) {
				report()
			}
		}
	}()
	go func() { <-ctx.Done(); f.Close() }()
	return func() { cancel(); <-done }, nil
}

// touches reports whether a batch of inotify events concerns name (or the
// watched directory itself).
func touches(b []byte, name string) bool {
	for len(b) >= unix.SizeofInotifyEvent {
		// struct inotify_event: wd, mask, cookie, len, then len bytes of name.
		mask := binary.NativeEndian.Uint32(b[4:8])
		end := unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(b[12:16]))
		if end > len(b) {
			return false
		}
		n := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:end], "\x00"))
		if n == name || mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 {
			return true
		}
		b = b[end:]
	}
	return false
}
