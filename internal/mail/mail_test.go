package mail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeServer is one scripted SMTP server over net.Pipe.
type fakeServer struct {
	mu       sync.Mutex
	commands []string
	data     []byte
	// reply overrides the answer to a command verb ("RCPT": "550 no").
	reply map[string]string
	// silent: accept the connection and never say anything.
	silent bool
}

func (f *fakeServer) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	go f.serve(server)
	return client, nil
}

func (f *fakeServer) serve(c net.Conn) {
	defer c.Close()
	rd := bufio.NewReader(c)
	if f.silent {
		_, _ = rd.ReadByte() // until the client gives up
		return
	}
	say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
	say("220-mx.test ESMTP")
	say("220 second line")
	inData := false
	for n := 0; n < 100; n++ {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		f.mu.Lock()
		if inData {
			f.data = append(f.data, line...)
			f.mu.Unlock()
			if line == ".\r\n" {
				inData = false
				say("250 queued")
			}
			continue
		}
		cmd := strings.TrimRight(line, "\r\n")
		f.commands = append(f.commands, cmd)
		f.mu.Unlock()
		verb, _, _ := strings.Cut(cmd, " ")
		if r, ok := f.reply[verb]; ok {
			say(r)
			continue
		}
		switch verb {
		case "DATA":
			inData = true
			say("354 go")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (f *fakeServer) got() ([]string, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commands, f.data
}

// golden reads a session recorded from keepalived 2.2.7: "C: " command
// lines, then "D:" and the DATA bytes as sent.
func golden(t *testing.T, name string) ([]string, []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	head, data, ok := bytes.Cut(b, []byte("D:\n"))
	if !ok {
		t.Fatalf("%s: no D: line", name)
	}
	var cmds []string
	for _, l := range strings.Split(string(head), "\n") {
		if c, ok := strings.CutPrefix(l, "C: "); ok {
			cmds = append(cmds, c)
		}
	}
	return cmds, data
}

// TestGolden: the session and message are byte for byte what keepalived
// 2.2.7 sent (testdata, recorded by internal/interop's mail tests).
func TestGolden(t *testing.T) {
	date := func(s string) time.Time {
		d, err := time.Parse(dateLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		file string
		s    Settings
		m    Message
		date time.Time
	}{
		{"keepalived-2.2.7-instance-backup.smtp",
			Settings{Helo: "helo-a.example.com", From: "vrrp-a@example.com", To: []string{"ops@example.com", "oncall@example.com"}},
			InstanceMessage("iop_a", "VI_IOP", "BACKUP"), date("Tue, 01 Dec 2026 16:23:02 +0000")},
		{"keepalived-2.2.7-instance-master.smtp",
			Settings{Helo: "vm", From: "root@vm", To: []string{"ops@example.com"}},
			InstanceMessage("iop_a", "VI_2", "MASTER"), date("Tue, 01 Dec 2026 16:23:06 +0000")},
		{"keepalived-2.2.7-group-master.smtp",
			Settings{Helo: "vm", From: "root@vm", To: []string{"ops@example.com"}},
			GroupMessage("iop_a", "G1", "MASTER"), date("Tue, 01 Dec 2026 16:23:06 +0000")},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			wantCmds, wantData := golden(t, c.file)
			f := &fakeServer{}
			c.s.Server = "192.0.2.25:25"
			sd := New(c.s, Options{Dial: f.dial, Now: func() time.Time { return c.date }})
			if !sd.Send(c.m) {
				t.Fatal("Send dropped the mail")
			}
			if err := sd.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			cmds, data := f.got()
			if d := cmp.Diff(wantCmds, cmds); d != "" {
				t.Errorf("commands (-keepalived +govrrp):\n%s", d)
			}
			if d := cmp.Diff(string(wantData), string(data)); d != "" {
				t.Errorf("data (-keepalived +govrrp):\n%s", d)
			}
			if st := sd.Snapshot(); st != (Stats{Queued: 1, Sent: 1}) {
				t.Errorf("stats %+v, want one queued and sent", st)
			}
		})
	}
}

// TestFormatNoHeaderInjection: a CR or LF in a name cannot add a header or
// end DATA, and a body line starting with "." is dot-stuffed.
func TestFormatNoHeaderInjection(t *testing.T) {
	m := Message{Subject: "x\r\nBcc: evil@example.com", Body: ".\nsecond"}
	got := string(Format("f@example.com", []string{"t@example.com"}, m, time.Unix(0, 0).UTC()))
	want := "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: f@example.com\r\nSubject: x Bcc: evil@example.com\r\n" +
		"X-Mailer: Keepalived\r\nTo: t@example.com\r\n\r\n..\r\nsecond\r\n\r\n"
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

// TestBlackholeBoundedQueue: with a server that accepts and never answers,
// Send still returns at once, at most QueueLen mails wait, the rest are
// dropped and counted, and each stuck mail costs exactly the connect
// timeout (fake clock).
func TestBlackholeBoundedQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeServer{silent: true}
		const qlen, timeout = 4, 5 * time.Second
		sd := New(Settings{Server: "192.0.2.25:25", Helo: "h", From: "f@x", To: []string{"t@x"}, ConnectTimeout: timeout},
			Options{Dial: f.dial, QueueLen: qlen, Logger: slog.New(slog.DiscardHandler)})
		start := time.Now()
		accepted := 0
		for i := 0; i < 3*qlen; i++ {
			if sd.Send(InstanceMessage("r", "VI", "MASTER")) {
				accepted++
			}
		}
		if time.Since(start) != 0 {
			t.Fatalf("Send took %v of fake time; it must never wait", time.Since(start))
		}
		// One mail is taken by the worker at once, qlen wait behind it.
		if accepted > qlen+1 || accepted < qlen {
			t.Fatalf("accepted %d of %d, want queue length %d (+1 in flight)", accepted, 3*qlen, qlen)
		}
		synctest.Wait()
		st := sd.Snapshot()
		if st.Dropped != uint64(3*qlen-accepted) {
			t.Fatalf("dropped %d, want %d", st.Dropped, 3*qlen-accepted)
		}
		// Each stuck session ends after the timeout (no greeting).
		time.Sleep(timeout)
		synctest.Wait()
		if st := sd.Snapshot(); st.Failed != 1 {
			t.Fatalf("after one timeout: failed %d, want 1", st.Failed)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := sd.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close with a stuck queue: %v, want the deadline", err)
		}
		st = sd.Snapshot()
		if st.Sent != 0 || st.Failed+st.Dropped != uint64(3*qlen) {
			t.Fatalf("stats %+v: every mail must be failed or dropped", st)
		}
		if sd.Send(InstanceMessage("r", "VI", "MASTER")) {
			t.Fatal("Send after Close accepted a mail")
		}
	})
}

// TestConnectTimeout: a dial that never completes fails after
// smtp_connect_timeout, not before and not later.
func TestConnectTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 7 * time.Second
		var failedAt time.Duration
		start := time.Now()
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			<-ctx.Done()
			failedAt = time.Since(start)
			return nil, ctx.Err()
		}
		sd := New(Settings{Server: "192.0.2.25:25", ConnectTimeout: timeout}, Options{Dial: dial, Logger: slog.New(slog.DiscardHandler)})
		sd.Send(InstanceMessage("r", "VI", "FAULT"))
		if err := sd.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if failedAt != timeout {
			t.Fatalf("dial gave up after %v, want smtp_connect_timeout %v", failedAt, timeout)
		}
		if st := sd.Snapshot(); st.Failed != 1 {
			t.Fatalf("stats %+v, want one failure", st)
		}
	})
}

// countHandler counts log records.
type countHandler struct {
	mu sync.Mutex
	n  int
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(context.Context, slog.Record) error {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

// TestRefusedRateLimited: a server refusing the recipient fails every
// mail; each is counted, but only one log line is written per logEvery.
func TestRefusedRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeServer{reply: map[string]string{"RCPT": "550 5.1.1 no such user"}}
		h := &countHandler{}
		sd := New(Settings{Server: "192.0.2.25:25", Helo: "h", From: "f@x", To: []string{"t@x"}}, Options{Dial: f.dial, Logger: slog.New(h)})
		for i := 0; i < 5; i++ {
			sd.Send(InstanceMessage("r", "VI", "MASTER"))
		}
		synctest.Wait()
		time.Sleep(logEvery)
		sd.Send(InstanceMessage("r", "VI", "BACKUP"))
		if err := sd.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := sd.Snapshot(); st.Failed != 6 || st.Sent != 0 {
			t.Fatalf("stats %+v, want 6 failed", st)
		}
		if h.n != 2 {
			t.Fatalf("%d log lines for 6 failures over one logEvery, want 2", h.n)
		}
		cmds, _ := f.got()
		if got := cmds[len(cmds)-1]; !strings.HasPrefix(got, "RCPT") {
			t.Fatalf("last command %q: the session must stop at the refusal", got)
		}
	})
}
