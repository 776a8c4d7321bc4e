package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type fixed Status

func (f fixed) Status() Status { return Status(f) }

// ctlProvider is a Provider whose status the test changes, with reload and
// watch.
type ctlProvider struct {
	Notifier
	mu       sync.Mutex
	st       Status
	reload   func(ctx context.Context) (ReloadResult, error)
	onStatus func()
}

func (p *ctlProvider) Status() Status {
	if p.onStatus != nil {
		p.onStatus()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *ctlProvider) set(f func(*Status)) {
	p.mu.Lock()
	f(&p.st)
	p.mu.Unlock()
	p.Notify()
}

func (p *ctlProvider) Reload(ctx context.Context) (ReloadResult, error) { return p.reload(ctx) }

func ctlStatus() Status {
	return Status{Pid: 42, Config: "/etc/keepalived/keepalived.conf", Instances: []Instance{{
		Name: "VI_1", Interface: "eth0", VRID: 51, Version: 3, State: "MASTER", Priority: 150, EffectivePriority: 150,
		VIPs: []string{"192.0.2.100/24"}, Drops: map[string]uint64{"ttl": 3},
	}}}
}

func ctlListen(t *testing.T, p Provider, o ListenOptions) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "govrrp.sock")
	s, err := ListenWithOptions(path, p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// ctlRaw sends one raw request line and returns every line of the answer.
func ctlRaw(t *testing.T, path, req string) []string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// ctlWaitFor polls cond until it holds or 10s pass.
func ctlWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func TestStatusRoundTrip(t *testing.T) {
	want := ctlStatus()
	_, path := ctlListen(t, fixed(want), ListenOptions{})
	got, err := FetchStatus(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The old bare "status" line still gets the bare Status object, for one
// release.
func TestLegacyStatusLine(t *testing.T) {
	want := ctlStatus()
	_, path := ctlListen(t, fixed(want), ListenOptions{})
	for _, req := range []string{"status\n", "status\r\n", "status"} {
		lines := ctlRaw(t, path, req)
		if len(lines) != 1 {
			t.Fatalf("%q: %d lines: %q", req, len(lines), lines)
		}
		var got Status
		if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", req, diff)
		}
	}
}

// A daemon from before the versioned protocol answers a JSON request with
// {"error":...}; FetchStatus falls back to the bare line.
func TestFetchStatusFromLegacyDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	want := ctlStatus()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			enc := json.NewEncoder(c)
			if strings.TrimSpace(line) == "status" {
				enc.Encode(want)
			} else {
				enc.Encode(map[string]string{"error": fmt.Sprintf("unknown request %q", strings.TrimSpace(line))})
			}
			c.Close()
		}
	}()
	got, err := FetchStatus(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := Reload(path, 5*time.Second); err == nil || !strings.Contains(err.Error(), "SIGHUP") {
		t.Errorf("Reload against an old daemon: %v, want a hint to send SIGHUP", err)
	}
}

func TestProtocolReplies(t *testing.T) {
	st := ctlStatus()
	_, path := ctlListen(t, fixed(st), ListenOptions{})
	for _, tc := range []struct{ req, wantErr string }{
		{`{"v":1,"cmd":"status"}` + "\n", ""},
		{`  {"cmd":"status","v":1}  ` + "\n", ""},
		{`{"v":2,"cmd":"status"}` + "\n", "unsupported protocol version 2 (this daemon speaks version 1)"},
		{`{"v":2,"cmd":"status","new":true}` + "\n", "unsupported protocol version 2"},
		{`{"cmd":"status"}` + "\n", `missing "v"`},
		{`{"v":1}` + "\n", `missing "cmd"`},
		{`{"v":1,"cmd":"frob"}` + "\n", `unknown cmd "frob"`},
		{`{"v":1,"cmd":"status","x":1}` + "\n", `unknown field "x"`},
		{`{"v":1,"cmd":"status"}{}` + "\n", "one JSON object per line"},
		{"hello\n", "want a JSON object"},
		{"\n", "want a JSON object"},
		{"\x00\xff\xfe garbage\n", "want a JSON object"},
		{`{"v":1,"cmd":"reload"}` + "\n", "cannot reload over the socket; send it SIGHUP"},
		{`{"v":1,"cmd":"watch"}` + "\n", "cannot stream changes"},
	} {
		lines := ctlRaw(t, path, tc.req)
		if len(lines) != 1 {
			t.Errorf("%q: want one reply line, got %q", tc.req, lines)
			continue
		}
		var rep Reply
		if err := json.Unmarshal([]byte(lines[0]), &rep); err != nil {
			t.Errorf("%q: reply %q: %v", tc.req, lines[0], err)
			continue
		}
		if rep.V != Version {
			t.Errorf("%q: reply v = %d", tc.req, rep.V)
		}
		if tc.wantErr == "" {
			if !rep.OK || rep.Status == nil || rep.Error != "" {
				t.Errorf("%q: want ok with status, got %s", tc.req, lines[0])
			} else if diff := cmp.Diff(st, *rep.Status); diff != "" {
				t.Errorf("%q (-want +got):\n%s", tc.req, diff)
			}
			continue
		}
		if rep.OK || !strings.Contains(rep.Error, tc.wantErr) || strings.Contains(rep.Error, "\n") {
			t.Errorf("%q: reply %s, want ok:false and one-line error containing %q", tc.req, lines[0], tc.wantErr)
		}
	}
}

// A 16 MB request gets an error reply or a closed connection, and the server
// reads no more than the limit of it.
func TestOversizedRequest(t *testing.T) {
	_, path := ctlListen(t, fixed(ctlStatus()), ListenOptions{})
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	wrote := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(c, io.LimitReader(ctlRepeat('x'), 16<<20))
		wrote <- n
	}()
	b, _ := io.ReadAll(io.LimitReader(c, 1<<20))
	if len(b) > 0 {
		var rep Reply
		if err := json.Unmarshal(b, &rep); err != nil || rep.OK || !strings.Contains(rep.Error, "larger than") {
			t.Errorf("reply %q, want an error naming the size limit", b)
		}
	}
	c.Close()
	if n := <-wrote; n >= 16<<20 {
		t.Errorf("the server took all %d bytes", n)
	}
}

type ctlRepeat byte

func (r ctlRepeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestReadRequestIsBounded(t *testing.T) {
	cr := &countingReader{r: ctlRepeat('{')}
	if _, err := readRequest(cr); !errors.Is(err, ErrRequestTooLarge) {
		t.Fatalf("err = %v, want ErrRequestTooLarge", err)
	}
	if cr.n > MaxRequestBytes+1 {
		t.Errorf("read %d bytes of an endless request, limit %d", cr.n, MaxRequestBytes+1)
	}
	// Exactly at the limit, newline included, is fine.
	line := strings.Repeat(" ", MaxRequestBytes-len(`{"v":1,"cmd":"status"}`)-1) + `{"v":1,"cmd":"status"}` + "\n"
	got, err := readRequest(strings.NewReader(line + "trailing"))
	if err != nil || string(got) != line {
		t.Fatalf("request of exactly %d bytes: %v", len(line), err)
	}
	if _, err := readRequest(strings.NewReader(" " + line)); !errors.Is(err, ErrRequestTooLarge) {
		t.Errorf("one byte over: %v", err)
	}
	if _, err := readRequest(strings.NewReader("")); err != io.EOF {
		t.Errorf("empty: %v, want EOF", err)
	}
}

// Slow clients that never finish their request do not hold up a valid one,
// and are cut off at the request timeout.
func TestSlowClientsDoNotBlockOthers(t *testing.T) {
	_, path := ctlListen(t, fixed(ctlStatus()), ListenOptions{RequestTimeout: time.Hour})
	for i := range 20 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, `{"v":1,"cmd":"sta%d`, i) // and nothing more, ever
	}
	if _, err := FetchStatus(path, 10*time.Second); err != nil {
		t.Fatalf("a valid request behind 20 slow clients: %v", err)
	}

	_, path = ctlListen(t, fixed(ctlStatus()), ListenOptions{RequestTimeout: 50 * time.Millisecond})
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, `{"v":1,`)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the server did not cut off a slow client: %v", err)
	}
	if !strings.Contains(string(b), "no complete request line within 50ms") {
		t.Errorf("reply to a slow client: %q", b)
	}
}

func TestManyConcurrentClients(t *testing.T) {
	want := ctlStatus()
	_, path := ctlListen(t, fixed(want), ListenOptions{})
	const n = 200
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := FetchStatus(path, 30*time.Second)
			if err == nil && st.Pid != want.Pid {
				err = fmt.Errorf("pid %d", st.Pid)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// Beyond MaxConns a client is told the daemon is busy at once; when a
// connection ends, its slot is free again.
func TestBusyBeyondMaxConns(t *testing.T) {
	p := &ctlProvider{st: ctlStatus()}
	s, path := ctlListen(t, p, ListenOptions{MaxConns: 2})
	var cancels []context.CancelFunc
	var done []chan error
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan struct{})
		d := make(chan error, 1)
		go func() {
			var once sync.Once
			d <- Watch(ctx, path, 5*time.Second, func(*Status) error { once.Do(func() { close(first) }); return nil })
		}()
		<-first // the server holds this connection's slot now
		cancels, done = append(cancels, cancel), append(done, d)
	}
	_, err := FetchStatus(path, 5*time.Second)
	var re *RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("third connection with MaxConns 2: %v, want busy", err)
	}
	cancels[0]()
	if err := <-done[0]; err != nil {
		t.Errorf("Watch after cancel: %v", err)
	}
	ctlWaitFor(t, "a free slot", func() bool { _, err := FetchStatus(path, 5*time.Second); return err == nil })
	cancels[1]()
	<-done[1]
	ctlWaitFor(t, "every connection closed", func() bool { return s.openConns() == 0 })
}

func TestReload(t *testing.T) {
	p := &ctlProvider{st: ctlStatus()}
	_, path := ctlListen(t, p, ListenOptions{ReloadTimeout: time.Hour})

	p.reload = func(ctx context.Context) (ReloadResult, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("Reload's ctx has no deadline")
		}
		return ReloadResult{Changed: []string{"VI_1: priority 150 -> 200"}, Summary: "1 instance changed"}, nil
	}
	res, err := Reload(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&ReloadResult{Changed: []string{"VI_1: priority 150 -> 200"}, Summary: "1 instance changed"}, res); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	bad := []string{"/etc/keepalived/keepalived.conf:12:5: unknown keyword \"priorty\"", "/etc/keepalived/keepalived.conf:20:1: missing }"}
	p.reload = func(context.Context) (ReloadResult, error) { return ReloadResult{Errors: bad}, nil }
	res, err = Reload(path, 5*time.Second)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "old configuration keeps running") {
		t.Errorf("rejected reload: %v", err)
	}
	if res == nil || !cmp.Equal(res.Errors, bad) {
		t.Errorf("rejected reload result %+v, want errors %q", res, bad)
	}

	p.reload = func(context.Context) (ReloadResult, error) {
		return ReloadResult{}, errors.New("daemon is shutting down")
	}
	_, err = Reload(path, 5*time.Second)
	if err == nil || errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "reload failed: daemon is shutting down") {
		t.Errorf("failed reload: %v", err)
	}
}

// Close cancels a reload in progress and waits for it.
func TestCloseCancelsReload(t *testing.T) {
	p := &ctlProvider{st: ctlStatus()}
	entered := make(chan struct{})
	p.reload = func(ctx context.Context) (ReloadResult, error) {
		close(entered)
		<-ctx.Done()
		return ReloadResult{}, ctx.Err()
	}
	s, path := ctlListen(t, p, ListenOptions{ReloadTimeout: time.Hour})
	got := make(chan error, 1)
	go func() { _, err := Reload(path, time.Minute); got <- err }()
	<-entered
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-got; err == nil {
		t.Error("Reload succeeded across Close")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
}

func TestWatchStreamsChanges(t *testing.T) {
	p := &ctlProvider{st: ctlStatus()}
	s, path := ctlListen(t, p, ListenOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan Status)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, path, 5*time.Second, func(st *Status) error {
			select {
			case got <- *st:
			case <-ctx.Done():
			}
			return nil
		})
	}()
	if st := <-got; st.Instances[0].State != "MASTER" {
		t.Fatalf("first status %+v", st)
	}
	// A wake-up without a change sends nothing; the next line is the change.
	p.Notify()
	p.set(func(st *Status) {
		st.Instances[0].State = "BACKUP"
		st.Instances[0].Reason = "higher priority 200 from 192.0.2.2"
	})
	if st := <-got; st.Instances[0].State != "BACKUP" {
		t.Fatalf("after the change: %+v", st.Instances[0])
	}
	p.set(func(st *Status) { st.Instances[0].State = "MASTER" })
	if st := <-got; st.Instances[0].State != "MASTER" {
		t.Fatalf("after the second change: %+v", st.Instances[0])
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch after cancel: %v", err)
	}
	ctlWaitFor(t, "the server to notice the watcher left", func() bool { return s.openConns() == 0 })
}

// A watcher that stops reading is dropped at the write timeout.
func TestWatchDropsStalledReader(t *testing.T) {
	st := ctlStatus()
	st.Config = strings.Repeat("x", 4<<20) // far more than a socket buffer holds
	asked := make(chan struct{})
	var once sync.Once
	p := &ctlProvider{st: st, onStatus: func() { once.Do(func() { close(asked) }) }}
	s, path := ctlListen(t, p, ListenOptions{WriteTimeout: 50 * time.Millisecond})
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(EncodeRequest(Request{V: Version, Cmd: CmdWatch}))
	<-asked // the server is writing the first status now
	ctlWaitFor(t, "the stalled watcher to be dropped", func() bool { return s.openConns() == 0 })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) >= len(st.Config) {
		t.Errorf("got all %d bytes; the server should have given up writing", len(b))
	}
}

// Close ends open watches; the client is told the daemon went away.
func TestCloseEndsWatch(t *testing.T) {
	p := &ctlProvider{st: ctlStatus()}
	s, path := ctlListen(t, p, ListenOptions{})
	first := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		var once sync.Once
		done <- Watch(context.Background(), path, 5*time.Second, func(*Status) error { once.Do(func() { close(first) }); return nil })
	}()
	<-first
	s.Close()
	if err := <-done; !errors.Is(err, ErrNoDaemon) {
		t.Errorf("Watch when the daemon closes: %v, want ErrNoDaemon", err)
	}
}

func TestNotifier(t *testing.T) {
	var n Notifier
	c1 := n.Changes()
	if c2 := n.Changes(); c1 != c2 {
		t.Fatal("Changes returned a new channel without a change")
	}
	select {
	case <-c1:
		t.Fatal("closed before Notify")
	default:
	}
	n.Notify()
	<-c1
	if c3 := n.Changes(); c3 == c1 {
		t.Fatal("same channel after Notify")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); n.Notify() }()
		go func() { defer wg.Done(); n.Changes() }()
	}
	wg.Wait()
	var fresh Notifier
	fresh.Notify() // before any Changes: must not panic
}

// A second daemon must not steal a live socket; a stale file left by a
// crashed one is replaced; a file that is not a socket is left alone.
func TestListenLiveAndStaleSockets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govrrp.sock")
	s, err := Listen(path, fixed{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, fixed{}); err == nil || !strings.Contains(err.Error(), "in use by another govrrp") {
		t.Errorf("second Listen on a live socket: %v", err)
	}
	s.Close()

	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // the file stays, nobody listens: a crashed daemon's leftover
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket file missing: %v", err)
	}
	s, err = Listen(path, fixed{})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	s.Close()

	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, fixed{}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Error("Listen removed a regular file")
	}
}

func TestFetchStatusWithoutDaemonGivesHint(t *testing.T) {
	_, err := FetchStatus(filepath.Join(t.TempDir(), "none.sock"), time.Second)
	if !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("err = %v, want ErrNoDaemon", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "--socket") {
		t.Errorf("hint should be one line naming --socket: %q", msg)
	}
}

func TestListenUnknownGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govrrp.sock")
	if _, err := ListenWithOptions(path, fixed{}, ListenOptions{Group: "no-such-group-govrrp"}); err == nil || !strings.Contains(err.Error(), "--socket-group no-such-group-govrrp") {
		t.Errorf("unknown group: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket created despite the bad group: %v", err)
	}
}
