package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/mail"
	"github.com/govrrp/govrrp/internal/transport"
)

// mailSink is an SMTP server over net.Pipe keeping the Subject of every
// mail; blackhole makes every dial hang until the sender gives up.
type mailSink struct {
	mu        sync.Mutex
	subjects  []string
	blackhole bool
}

func (m *mailSink) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	if m.blackhole {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	c, s := net.Pipe()
	go m.serve(s)
	return c, nil
}

func (m *mailSink) serve(c net.Conn) {
	defer c.Close()
	rd := bufio.NewReader(c)
	say := func(l string) { _, _ = c.Write([]byte(l + "\r\n")) }
	say("220 mx")
	inData := false
	for n := 0; n < 100; n++ {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case inData && line == ".":
			inData = false
			say("250 ok")
		case inData:
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				m.mu.Lock()
				m.subjects = append(m.subjects, s)
				m.mu.Unlock()
			}
		case line == "DATA":
			inData = true
			say("354 go")
		case line == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (m *mailSink) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string{}, m.subjects...)
}

const mailGlobals = `global_defs {
    router_id %s
    notification_email {
        ops@example.com
    }
    smtp_server 192.0.2.25
    smtp_connect_timeout 30
    %s
}
`

func mailNode(t *testing.T, seg *transport.Segment, src, router, globals, state string, prio int, sink *mailSink) *node {
	t.Helper()
	conf := fmt.Sprintf(mailGlobals, router, globals) + fmt.Sprintf(twoNodeConf, state, prio, "1", "smtp_alert")
	n := newNode(t, seg, src, conf, nil)
	n.d.mail.dial = sink.dial
	n.start()
	return n
}

// TestMailOnTransitions: each transition mails what keepalived mails
// (initial BACKUP, MASTER; nothing for STOP), and a node whose SMTP server
// is blackholed fails over exactly as fast: mails never wait on the loop.
func TestMailOnTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		dead, live := &mailSink{blackhole: true}, &mailSink{}
		a := mailNode(t, seg, "192.0.2.11", "ra", "", "MASTER", 150, dead)
		b := mailNode(t, seg, "192.0.2.12", "rb", "", "BACKUP", 100, live)
		masterDown := 3*time.Second + (256-150)*time.Second/256
		time.Sleep(masterDown + time.Millisecond)
		if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
			t.Fatalf("after one master-down interval states = %v, want [MASTER BACKUP] (the blackholed server must not delay a)", got)
		}
		a.stop(t)
		skew := (256 - 100) * time.Second / 256
		time.Sleep(skew + time.Millisecond)
		if b.state() != "MASTER" {
			t.Fatalf("b is %s after a's stop, want MASTER", b.state())
		}
		b.stop(t)
		want := []string{"[rb] VRRP Instance VI_1 - Entering BACKUP state", "[rb] VRRP Instance VI_1 - Entering MASTER state"}
		if d := cmp.Diff(want, live.got()); d != "" {
			t.Errorf("mails of b (-keepalived +govrrp):\n%s", d)
		}
		if st := b.d.mailStats(); st != (mail.Stats{Queued: 2, Sent: 2}) {
			t.Errorf("b's mail stats %+v, want 2 queued and sent", st)
		}
		// a's two mails (BACKUP, MASTER) never reached the blackholed
		// server: one failed after smtp_connect_timeout... or was cut at
		// stop; none was sent, none is unaccounted for.
		if st := a.d.mailStats(); st.Sent != 0 || st.Failed+st.Dropped != st.Queued || st.Queued != 2 {
			t.Errorf("a's mail stats %+v, want 2 queued, each failed or dropped", st)
		}
	})
}

// TestMailNoEmailFaults: no_email_faults drops the FAULT mail only;
// smtp_alert off (the default without global smtp_alert) mails nothing.
func TestMailNoEmailFaults(t *testing.T) {
	for _, tc := range []struct {
		name, globals string
		inst          string
		want          []string
	}{
		{"faults mailed", "", "smtp_alert", []string{"BACKUP", "FAULT"}},
		{"no_email_faults", "no_email_faults", "smtp_alert", []string{"BACKUP"}},
		{"smtp_alert off", "", "", nil},
		{"global smtp_alert", "smtp_alert", "", []string{"BACKUP", "FAULT"}},
		{"smtp_alert_vrrp over smtp_alert", "smtp_alert\n    smtp_alert_vrrp off", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				sink := &mailSink{}
				conf := fmt.Sprintf(mailGlobals, "r", tc.globals) + fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", tc.inst)
				n := newNode(t, seg, "192.0.2.11", conf, nil)
				n.d.mail.dial = sink.dial
				n.start()
				time.Sleep(time.Second)
				n.d.events <- loopEvent{do: func() { n.d.handle(n.d.instances[0], fsm.FaultSet("eth0 down")) }}
				synctest.Wait()
				if n.state() != "FAULT" {
					t.Fatalf("state %s, want FAULT", n.state())
				}
				n.stop(t)
				var want []string
				for _, st := range tc.want {
					want = append(want, "[r] VRRP Instance VI_1 - Entering "+st+" state")
				}
				if d := cmp.Diff(want, nilIfEmpty(sink.got())); d != "" {
					t.Errorf("(-keepalived +govrrp):\n%s", d)
				}
			})
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestLifecycleScriptTimeout: a startup/shutdown script that outlives its
// timeout is killed with its group and reported as timed out.
func TestLifecycleScriptTimeout(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "slow.sh")
	marker := filepath.Join(dir, "after")
	pidFile := filepath.Join(dir, "pid")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho $$ > "+pidFile+"\nsleep 30\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := runWithTimeout([]string{script}, nil, 100*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the timeout", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the script never ran: %v", err)
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// Its sleep (same process group) must be gone too; init reaps it.
	gone := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if pgid > 0 && errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
			gone = true
			break
		}
	}
	if !gone {
		t.Fatalf("process group %d of the timed-out script still exists", pgid)
	}
	fast := filepath.Join(dir, "fast.sh")
	if err := os.WriteFile(fast, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := runWithTimeout([]string{fast}, nil, time.Minute); err != nil {
		t.Fatalf("fast script: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the fast script did not run")
	}
}

// TestMailMetrics: govrrp_smtp_alerts_total counts what was sent, and the
// counter survives the sender being closed at stop.
func TestMailMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		sink := &mailSink{}
		conf := fmt.Sprintf(mailGlobals, "r", "") + fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", "smtp_alert")
		n := newNode(t, seg, "192.0.2.11", conf, nil)
		n.d.mail.dial = sink.dial
		reg, err := n.d.newMetrics()
		if err != nil {
			t.Fatal(err)
		}
		n.start()
		// Alone: BACKUP at once, MASTER after the master-down interval.
		time.Sleep(3*time.Second + (256-100)*time.Second/256 + time.Millisecond)
		if n.state() != "MASTER" {
			t.Fatalf("state %s, want MASTER", n.state())
		}
		n.stop(t)
		want := `
# HELP govrrp_smtp_alerts_total smtp_alert mails by result: sent, failed (server unreachable or refusing), dropped (queue full or stop).
# TYPE govrrp_smtp_alerts_total counter
govrrp_smtp_alerts_total{result="dropped"} 0
govrrp_smtp_alerts_total{result="failed"} 0
govrrp_smtp_alerts_total{result="sent"} 2
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "govrrp_smtp_alerts_total"); err != nil {
			t.Error(err)
		}
	})
}

// TestApplyMailReload: a reload with the same mail settings keeps the
// sender (and its queue); new settings start a new one; removing
// smtp_server (or every smtp_alert) stops mailing.
func TestApplyMailReload(t *testing.T) {
	conf := func(globals, inst string) string {
		return fmt.Sprintf(mailGlobals, "r", globals) + fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", inst)
	}
	d := newDaemon(loadConf(t, conf("", "smtp_alert")), Options{Logger: slog.New(slog.DiscardHandler)}, deps{})
	d.applyMail(d.cfg)
	first := d.mail.sender
	if first == nil {
		t.Fatal("no sender for smtp_server + notification_email + smtp_alert")
	}
	d.applyMail(loadConf(t, conf("", "smtp_alert")))
	if d.mail.sender != first {
		t.Error("an unchanged mail configuration replaced the sender")
	}
	d.applyMail(loadConf(t, conf("smtp_helo_name other.example.com", "smtp_alert")))
	if d.mail.sender == first || d.mail.sender == nil || d.mail.sender.Settings().Helo != "other.example.com" {
		t.Error("a new smtp_helo_name did not start a new sender")
	}
	d.applyMail(loadConf(t, conf("", "")))
	if d.mail.sender != nil {
		t.Error("a sender runs with no smtp_alert anywhere")
	}
	d.closeMail()
}

// TestMailStatus: the control socket's status carries the mail counters
// (those of govrrp_smtp_alerts_total) when smtp_alert is configured, and
// no smtp_alerts at all when it is not.
func TestMailStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		sink := &mailSink{}
		conf := fmt.Sprintf(mailGlobals, "r", "") + fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", "smtp_alert")
		n := newNode(t, seg, "192.0.2.11", conf, nil)
		n.d.mail.dial = sink.dial
		n.start()
		time.Sleep(3*time.Second + (256-100)*time.Second/256 + time.Millisecond)
		synctest.Wait()
		p := &statusProvider{d: n.d}
		if got, want := p.Status().Mail, (&control.Mail{Queued: 2, Sent: 2}); !cmp.Equal(got, want) {
			t.Errorf("status smtp_alerts = %+v, want %+v (BACKUP and MASTER mailed)", got, want)
		}
		n.stop(t)

		quiet := newNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", ""), nil)
		quiet.start()
		synctest.Wait()
		if got := (&statusProvider{d: quiet.d}).Status().Mail; got != nil {
			t.Errorf("no mail configured, status smtp_alerts = %+v, want none", got)
		}
		quiet.stop(t)
	})
}
