package daemon

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
)

// TestParseReloadTime: the formats keepalived 2.2.7 accepts, exactly (each
// row's verdict observed by writing the line to its reload_time_file).
func TestParseReloadTime(t *testing.T) {
	now := time.Date(2026, 12, 1, 19, 13, 0, 0, time.UTC)
	for _, tc := range []struct {
		line string
		want string // "" = refused
	}{
		{"19:20:00Z", "2026-12-01 19:20:00"},
		{"19:00:00Z", "2026-12-02 19:00:00"}, // passed today: tomorrow
		{"26-12-01 23:59:59Z", "2026-12-01 23:59:59"},
		{"2026-12-01 23:00:00Z", "2026-12-01 23:00:00"},
		{"2026-12-01 19:00:00Z", "2026-12-01 19:00:00"}, // in the past: the caller ignores it
		{"19:20:00", "2026-12-01 19:20:00"},             // local time (UTC here)
		{"garbage", ""},
		{" 19:20:00", ""},
		{"19:20:00 ", ""},
		{"2026-12-01  23:00:00", ""},
		{"25:00:00", ""},
		{"2026-12-01T23:00:00", ""},
		{"2026-02-30 10:00:00", ""}, // no such day
	} {
		at, _, err := parseReloadTime(tc.line, now, time.UTC)
		got := ""
		if err == nil {
			got = at.UTC().Format("2006-01-02 15:04:05")
		}
		if got != tc.want {
			t.Errorf("%q: got %q (err %v), want %q", tc.line, got, err, tc.want)
		}
	}
}

const reloadSchedConf = `global_defs {
    reload_file %s
    reload_time_file %s
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

// TestScheduledReload drives the schedule as the watcher would (its reports
// are typed events; the inotify watcher itself is in the interop test): the
// reload comes at the time and not before, the file is then removed; with
// reload_repeat a time alone comes back the next day; a bad line or a
// removed file cancels; a past date schedules nothing.
func TestScheduledReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		timeFile := filepath.Join(dir, "reload.time")
		marker := filepath.Join(dir, "reloading")
		seg := transport.NewSegment()
		conf := strings.Replace(strings.Replace(reloadSchedConf, "%s", marker, 1), "%s", timeFile, 1)
		n := newNode(t, seg, "192.0.2.1", conf, nil)
		n.d.sched.watch = func(context.Context, string, chan<- loopEvent) (func(), error) { return func() {}, nil }
		n.start()
		defer n.stop(t)
		reloads := 0
		onLoop := func(f func()) {
			done := make(chan struct{})
			n.d.events <- loopEvent{do: func() { f(); close(done) }}
			<-done
		}
		report := func(line string) {
			if line != "" {
				if err := os.WriteFile(timeFile, []byte(line+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n.d.events <- loopEvent{reloadSched: &reloadSchedEvent{exists: line != "", line: line}}
			synctest.Wait()
		}
		countReloads := func() (got int) {
			onLoop(func() { got = n.d.saved.reloads })
			return got
		}
		at := time.Now().UTC().Add(90 * time.Second).Truncate(time.Second)
		report(at.Format("15:04:05") + "Z")
		time.Sleep(time.Until(at) - time.Millisecond)
		synctest.Wait()
		if got := countReloads(); got != reloads {
			t.Fatalf("reloads %d before the time, want %d", got, reloads)
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		reloads++
		if got := countReloads(); got != reloads {
			t.Fatalf("reloads %d at the time, want %d", got, reloads)
		}
		if _, err := os.Stat(timeFile); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("reload_time_file after its reload: %v, want removed", err)
		}
		if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("reload_file after the reload: %v, want removed", err)
		}

		// A bad line cancels; a date in the past schedules nothing.
		at = time.Now().UTC().Add(time.Hour).Truncate(time.Second)
		report(at.Format("15:04:05") + "Z")
		report("25:00:00")
		report(time.Now().UTC().Add(-time.Hour).Format("2006-01-02 15:04:05") + "Z")
		// A removed file cancels too.
		report(at.Format("15:04:05") + "Z")
		os.Remove(timeFile)
		report("")
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if got := countReloads(); got != reloads {
			t.Fatalf("reloads %d after cancelled schedules, want %d", got, reloads)
		}

		// reload_repeat: the file stays and a time alone comes back daily.
		if err := os.WriteFile(n.confPath, []byte(strings.Replace(conf, "reload_file", "reload_repeat\n    reload_file", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		reply := make(chan reloadOutcome, 1)
		n.d.events <- loopEvent{reload: reply}
		if out := <-reply; out.err != nil {
			t.Fatal(out.err)
		}
		reloads++
		at = time.Now().UTC().Add(time.Minute).Truncate(time.Second)
		report(at.Format("15:04:05") + "Z")
		for day := range 3 {
			time.Sleep(time.Until(at.AddDate(0, 0, day)) + time.Millisecond)
			synctest.Wait()
			reloads++
			if got := countReloads(); got != reloads {
				t.Fatalf("day %d: reloads %d, want %d", day, got, reloads)
			}
			if _, err := os.Stat(timeFile); err != nil {
				t.Fatalf("day %d: reload_time_file with reload_repeat: %v, want kept", day, err)
			}
		}
	})
}

// TestWatchReloadFile: the inotify watcher reports the file's first line at
// start and after each change of it (written, renamed into place, removed).
func TestWatchReloadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "reload.time")
	events := make(chan loopEvent, 16)
	stop, err := watchReloadFile(context.Background(), path, events)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	next := func(what string) reloadSchedEvent {
		t.Helper()
		select {
		case e := <-events:
			return *e.reloadSched
		case <-time.After(10 * time.Second): // a hang bound, not a timing assertion
			t.Fatalf("%s: no report", what)
		}
		return reloadSchedEvent{}
	}
	if e := next("start"); e.exists {
		t.Fatalf("start: %+v, want no file", e)
	}
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("12:00:00Z\nignored\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for e := next("written"); ; e = next("written") {
		if e.exists && e.line == "12:00:00Z" {
			break
		}
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.WriteFile(tmp, []byte("13:00:00Z"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	for e := next("renamed"); !(e.exists && e.line == "13:00:00Z"); e = next("renamed") {
	}
	os.Remove(path)
	for e := next("removed"); e.exists; e = next("removed") {
	}
}
