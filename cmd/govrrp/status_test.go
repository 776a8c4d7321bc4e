package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/control"
)

// fakeDaemon is the daemon's side of the control socket: a status the test
// changes, with watch and (when reload is set) reload.
type fakeDaemon struct {
	control.Notifier
	mu     sync.Mutex
	st     control.Status
	reload func(context.Context) (control.ReloadResult, error)
}

func (d *fakeDaemon) Status() control.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

func (d *fakeDaemon) set(f func(*control.Status)) {
	d.mu.Lock()
	f(&d.st)
	d.mu.Unlock()
	d.Notify()
}

func (d *fakeDaemon) Reload(ctx context.Context) (control.ReloadResult, error) {
	if d.reload == nil {
		return control.ReloadResult{}, nil
	}
	return d.reload(ctx)
}

var since = time.Date(2026, 12, 1, 11, 59, 0, 0, time.UTC)

func twoNodeStatus() control.Status {
	return control.Status{Pid: 7, Config: "/etc/keepalived/keepalived.conf", Instances: []control.Instance{{
		Name: "VI_1", Interface: "eth0", VRID: 51, Version: 2, Family: "inet", State: "BACKUP",
		Reason: "higher priority 150 from 192.0.2.2", Since: since, Priority: 100, EffectivePriority: 100,
		Master: "192.0.2.2", VIPs: []string{"192.0.2.100/24"}, Transitions: 1,
		Tracks: []control.Track{{Kind: "track_script", Name: "chk_apache", State: "ok", OK: true, Weight: 20, Effect: "+20", Method: "exec"}},
	}}}
}

// serve starts a control socket for p and returns its path.
func serve(t *testing.T, p control.Provider) (string, *control.Server) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "govrrp.sock")
	s, err := control.Listen(path, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return path, s
}

// runCLI runs govrrp with args, stdout to out; it returns stderr and the error.
func runCLI(ctx context.Context, out io.Writer, args ...string) (string, error) {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(out)
	var errw bytes.Buffer
	cmd.SetErr(&errw)
	err := cmd.ExecuteContext(ctx)
	return errw.String(), err
}

// The table and the bare JSON object are what they were before the
// versioned protocol: interop tests and the demo parse them.
func TestStatusOutput(t *testing.T) {
	want := twoNodeStatus()
	path, _ := serve(t, &fakeDaemon{st: want})

	var out bytes.Buffer
	if _, err := runCLI(context.Background(), &out, "status", "--socket", path); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	printStatus(&table, &want)
	if diff := cmp.Diff(table.String(), out.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	if !strings.Contains(out.String(), "chk_apache") {
		t.Errorf("no tracks table:\n%s", out.String())
	}

	out.Reset()
	if _, err := runCLI(context.Background(), &out, "status", "--socket", path, "--json"); err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	if _, ok := top["instances"]; !ok || top["v"] != nil || top["ok"] != nil {
		t.Errorf("--json is not the bare Status object: %s", out.String())
	}
	var got control.Status
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("--json (-want +got):\n%s", diff)
	}
}

func TestStatusWithoutDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"status"}, {"status", "--watch"}, {"status", "--watch", "--json"}} {
		_, err := runCLI(context.Background(), io.Discard, append(args, "--socket", path)...)
		if exitCode(err) != 3 || !strings.Contains(err.Error(), "no govrrp daemon is listening on "+path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q without a daemon: exit %d, %v; want 3 and a one-line hint", args, exitCode(err), err)
		}
	}
}

// watchCLI runs `govrrp args...` until the returned stop is called, and
// hands its stdout over line by line.
func watchCLI(t *testing.T, args ...string) (lines <-chan string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := runCLI(ctx, pw, args...)
		pw.Close()
		done <- err
	}()
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	stop = func() error {
		cancel()
		go func() { // drain whatever is still written
			for range ch {
			}
		}()
		return <-done
	}
	t.Cleanup(func() { cancel() })
	return ch, stop
}

func next(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("output ended")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no output line within 10s")
	}
	return ""
}

// Not on a terminal, --watch prints one line per transition.
func TestStatusWatchPrintsTransitions(t *testing.T) {
	d := &fakeDaemon{st: twoNodeStatus()}
	path, _ := serve(t, d)
	lines, stop := watchCLI(t, "status", "--watch", "--socket", path)

	if got, want := next(t, lines), "2026-12-01T11:59:00Z VI_1 BACKUP: higher priority 150 from 192.0.2.2"; got != want {
		t.Errorf("first line\n got %q\nwant %q", got, want)
	}
	d.set(func(st *control.Status) { st.Instances[0].AdvertsReceived++ }) // no transition: no line
	d.set(func(st *control.Status) {
		in := &st.Instances[0]
		in.State, in.Reason, in.Since, in.Transitions = "MASTER", "master down timer expired (no advert for 3.6s)", time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), 2
	})
	if got, want := next(t, lines), "2026-12-01T12:00:00Z VI_1 BACKUP -> MASTER: master down timer expired (no advert for 3.6s)"; got != want {
		t.Errorf("transition\n got %q\nwant %q", got, want)
	}
	if err := stop(); err != nil {
		t.Errorf("watch after interrupt: %v", err)
	}
}

func TestStatusWatchJSON(t *testing.T) {
	d := &fakeDaemon{st: twoNodeStatus()}
	path, _ := serve(t, d)
	lines, stop := watchCLI(t, "status", "--watch", "--json", "--socket", path)
	decode := func(l string) control.Status {
		var st control.Status
		if err := json.Unmarshal([]byte(l), &st); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		return st
	}
	if st := decode(next(t, lines)); st.Instances[0].State != "BACKUP" {
		t.Errorf("first: %+v", st.Instances[0])
	}
	d.set(func(st *control.Status) { st.Instances[0].State = "MASTER" })
	if st := decode(next(t, lines)); st.Instances[0].State != "MASTER" {
		t.Errorf("after the change: %+v", st.Instances[0])
	}
	if err := stop(); err != nil {
		t.Errorf("watch after interrupt: %v", err)
	}
}

// On a terminal each change redraws the whole table.
func TestStatusWatchRedrawsOnTerminal(t *testing.T) {
	d := &fakeDaemon{st: twoNodeStatus()}
	path, _ := serve(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- watchStatus(ctx, pw, path, false, true); pw.Close() }()
	br := bufio.NewReader(pr)
	frame := func() string {
		t.Helper()
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "Ctrl-C to stop\n") {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("frame %q: %v", b.String(), err)
			}
			b.WriteString(l)
		}
		return b.String()
	}
	f := frame()
	if !strings.HasPrefix(f, "\x1b[H\x1b[2J") || !strings.Contains(f, "INSTANCE") || !strings.Contains(f, "BACKUP") {
		t.Errorf("first frame:\n%q", f)
	}
	d.set(func(st *control.Status) { st.Instances[0].State = "MASTER" })
	if f := frame(); !strings.HasPrefix(f, "\x1b[H\x1b[2J") || !strings.Contains(f, "MASTER") {
		t.Errorf("second frame:\n%q", f)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// The daemon going away ends the watch with the no-daemon exit status.
func TestStatusWatchDaemonGone(t *testing.T) {
	d := &fakeDaemon{st: twoNodeStatus()}
	path, s := serve(t, d)
	lines, stop := watchCLI(t, "status", "--watch", "--socket", path)
	next(t, lines)
	s.Close()
	for range lines { // the command ends by itself
	}
	if err := stop(); exitCode(err) != 3 {
		t.Errorf("watch when the daemon stops: exit %d (%v), want 3", exitCode(err), err)
	}
}

func TestPrintTransitions(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC)
	at := func(min int) time.Time { return time.Date(2026, 12, 1, 12, min, 0, 0, time.FixedZone("CET", 3600)) }
	inst := func(name, state, reason string, min int, transitions uint64) control.Instance {
		return control.Instance{Name: name, State: state, Reason: reason, Since: at(min), Transitions: transitions}
	}
	st := func(ins ...control.Instance) *control.Status { return &control.Status{Instances: ins} }
	for _, tc := range []struct {
		name      string
		prev, cur *control.Status
		want      string
	}{
		{"first", nil, st(inst("VI_1", "MASTER", "no master seen", 1, 1), control.Instance{Name: "VI_2", State: "INIT"}),
			"2026-12-01T11:01:00Z VI_1 MASTER: no master seen\n2026-12-01T12:30:00Z VI_2 INIT\n"},
		{"transition", st(inst("VI_1", "BACKUP", "", 1, 1)), st(inst("VI_1", "MASTER", "priority 0 from 192.0.2.2", 2, 2)),
			"2026-12-01T11:02:00Z VI_1 BACKUP -> MASTER: priority 0 from 192.0.2.2\n"},
		{"no change", st(inst("VI_1", "BACKUP", "x", 1, 1)), st(inst("VI_1", "BACKUP", "x", 1, 1)), ""},
		{"flap within one update", st(inst("VI_1", "MASTER", "", 1, 3)), st(inst("VI_1", "MASTER", "no master seen", 4, 5)),
			"2026-12-01T11:04:00Z VI_1 MASTER -> MASTER: no master seen (2 transitions since the last update)\n"},
		{"added and removed", st(inst("VI_1", "MASTER", "", 1, 1)), st(inst("VI_2", "BACKUP", "configured BACKUP", 5, 1)),
			"2026-12-01T11:05:00Z VI_2 NEW -> BACKUP: configured BACKUP\n2026-12-01T12:30:00Z VI_1 MASTER -> REMOVED: no longer in the configuration\n"},
	} {
		var b bytes.Buffer
		if err := printTransitions(&b, tc.prev, tc.cur, now); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, b.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Error("a pipe is a terminal")
	}
}

// An auth_hmac instance's mode and its hmac_* drops get their own table; an
// unsigned instance adds nothing to the output.
func TestStatusAuthTable(t *testing.T) {
	st := control.Status{Instances: []control.Instance{
		{Name: "VI_1", State: "MASTER", Auth: "hmac-permissive", Drops: map[string]uint64{"hmac_replay": 3, "hmac_invalid": 1, "ttl": 9}},
		{Name: "VI_2", State: "BACKUP", Auth: "none", Drops: map[string]uint64{"ttl": 2}},
	}}
	var b bytes.Buffer
	printStatus(&b, &st)
	out := b.String()
	if !strings.Contains(out, "INSTANCE  AUTH             HMAC DROPS") {
		t.Fatalf("no auth table:\n%s", out)
	}
	if !strings.Contains(out, "VI_1      hmac-permissive  hmac_invalid=1 hmac_replay=3") {
		t.Errorf("VI_1's auth row is wrong:\n%s", out)
	}
	if strings.Count(out, "VI_2") != 1 {
		t.Errorf("an unsigned instance is listed in the auth table:\n%s", out)
	}
	st.Instances = st.Instances[1:]
	b.Reset()
	printStatus(&b, &st)
	if strings.Contains(b.String(), "AUTH") {
		t.Errorf("auth table without an auth_hmac instance:\n%s", b.String())
	}
}
