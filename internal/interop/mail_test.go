package interop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

// The mail test: host mx (192.0.2.25, on the lab segment) runs a tiny SMTP
// server in the test process that records every session; a and b send it
// keepalived's smtp_alert mails. The same failover must produce the same
// mails from keepalived 2.2.7 and from govrrp, field by field.

var addrMX4 = netip.MustParsePrefix("192.0.2.25/24")

// smtpSession is what one client said in one SMTP connection.
type smtpSession struct {
	From     string   // remote address (which node)
	Commands []string // HELO ..., MAIL FROM:..., RCPT TO:..., DATA, QUIT
	Data     []string // the message lines between DATA and ".", CRLF removed
	Raw      []byte   // the same bytes as sent, line ends included
	At       time.Time
}

// smtpRecorder is a minimal SMTP server: it accepts everything and keeps
// each session. Bounded: at most maxLines per session, connections end with
// the listener.
type smtpRecorder struct {
	ln       net.Listener
	mu       sync.Mutex
	sessions []smtpSession
	wg       sync.WaitGroup
}

const smtpMaxLines = 200

// startSMTP listens on addr:25 inside host h's namespace.
func startSMTP(t testing.TB, h *netlab.Host, addr netip.Addr) *smtpRecorder {
	t.Helper()
	var ln net.Listener
	err := h.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, 25).String())
		return err
	})
	if err != nil {
		t.Fatalf("interop: smtp listen: %v", err)
	}
	r := &smtpRecorder{ln: ln}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(func() { _ = ln.Close(); r.wg.Wait() })
	return r
}

func (r *smtpRecorder) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.session(c) }()
	}
}

func (r *smtpRecorder) session(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	s := smtpSession{At: time.Now()}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		s.From = ap.Addr().String()
	}
	defer func() {
		r.mu.Lock()
		r.sessions = append(r.sessions, s)
		r.mu.Unlock()
	}()
	rd := bufio.NewReader(c)
	say := func(l string) { _, _ = c.Write([]byte(l + "\r\n")) }
	say("220 mx.test ESMTP")
	inData := false
	for n := 0; n < smtpMaxLines; n++ {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		if inData {
			s.Raw = append(s.Raw, line...)
		}
		line = strings.TrimRight(line, "\r\n")
		if inData {
			if line == "." {
				inData = false
				say("250 2.0.0 queued")
				continue
			}
			s.Data = append(s.Data, line)
			continue
		}
		s.Commands = append(s.Commands, line)
		switch strings.ToUpper(strings.SplitN(line, " ", 2)[0]) {
		case "DATA":
			inData = true
			say("354 go ahead")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// of returns the sessions from src so far, in arrival order.
func (r *smtpRecorder) of(src netip.Addr) []smtpSession {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []smtpSession
	for _, s := range r.sessions {
		if s.From == src.String() {
			out = append(out, s)
		}
	}
	return out
}

// mailView is a session reduced to what a user's filter sees, with the
// Date header's value (time of sending) blanked.
type mailView struct {
	Commands []string
	Headers  []string
	Body     []string
}

var dateLine = regexp.MustCompile(`^Date: .*$`)

func viewOf(s smtpSession) mailView {
	v := mailView{Commands: s.Commands, Headers: []string{}, Body: []string{}}
	inBody := false
	for _, l := range s.Data {
		switch {
		case inBody:
			v.Body = append(v.Body, l)
		case l == "":
			inBody = true
		default:
			v.Headers = append(v.Headers, dateLine.ReplaceAllString(l, "Date: <date>"))
		}
	}
	return v
}

// subjects lists the Subject headers of sessions.
func subjects(ss []smtpSession) []string {
	out := []string{}
	for _, s := range ss {
		for _, l := range s.Data {
			if strings.HasPrefix(l, "Subject: ") {
				out = append(out, strings.TrimPrefix(l, "Subject: "))
			}
		}
	}
	return out
}

// mailGlobals are the global_defs lines of the mail test for node n.
func mailGlobals(n *node, script func(kind string) string) string {
	return strings.Join([]string{
		"    notification_email {",
		"        ops@example.com",
		"        oncall@example.com",
		"    }",
		"    notification_email_from vrrp-" + n.name + "@example.com",
		"    smtp_server " + addrMX4.Addr().String(),
		"    smtp_helo_name helo-" + n.name + ".example.com",
		"    smtp_connect_timeout 5",
		"    startup_script \"" + script("startup") + "\"",
		"    startup_script_timeout 5",
		"    shutdown_script \"" + script("shutdown") + "\"",
		"    shutdown_script_timeout 5",
	}, "\n")
}

// lifecycleScript writes <node>-<kind>.sh, which appends "<kind> vip=<0|1>"
// to <node>-lifecycle.log: whether the VIP was on eth0 when it ran.
func (n *node) lifecycleScript(t testing.TB, kind string) string {
	path := n.file(kind + ".sh")
	writeFile(t, path, fmt.Sprintf("#!/bin/sh\nv=$(ip -o addr show dev %s | grep -c ' %s/')\necho \"%s vip=$v\" >> %s\n",
		ifname, vip4, kind, n.file("lifecycle.log")), 0o755)
	return path
}

func (n *node) lifecycleLog() []string {
	b, err := os.ReadFile(n.file("lifecycle.log"))
	if err != nil {
		return []string{}
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// mailConf is trackConf with the mail and lifecycle lines in global_defs.
func (n *node) mailConf(t testing.TB, peer *node, prio int, spec trackSpec) string {
	conf := n.trackConf(peer, prio, spec)
	globals := mailGlobals(n, func(kind string) string { return n.lifecycleScript(t, kind) })
	return strings.Replace(conf, "\n}\n", "\n"+globals+"\n}\n", 1)
}

// waitMails waits until the subjects of src's mails are want.
func waitMails(t testing.TB, r *smtpRecorder, n *node, step string, timeout time.Duration, want []string, all ...*node) {
	t.Helper()
	var diff string
	err := netlab.WaitFor(context.Background(), timeout, 20*time.Millisecond, func() (bool, error) {
		diff = cmp.Diff(want, subjects(r.of(n.ip4)))
		return diff == "", nil
	})
	if err != nil {
		fail(t, fmt.Sprintf("%s: mail subjects of %s (%s) (-want +got):\n%s", step, n.name, n.impl, diff), all...)
	}
}

// mailSubject is keepalived 2.2.7's subject for an instance entering state.
func mailSubject(routerID, inst, state string) string {
	return fmt.Sprintf("[%s] VRRP Instance %s - Entering %s state", routerID, inst, state)
}

func TestMailAlerts(t *testing.T) {
	t.Parallel()
	for _, p := range pairings {
		t.Run(p.String(), func(t *testing.T) { runMail(t, p) })
	}
}

func runMail(t *testing.T, p pairing) {
	tl := newTrackLab(t, p, false)
	a, b := tl.a, tl.b
	mx := tl.lab.AddHost("mx")
	if err := mx.Connect(tl.lan, ifname, addrMX4, netip.Prefix{}); err != nil {
		t.Fatalf("interop: connect mx: %v", err)
	}
	rec := startSMTP(t, mx, addrMX4.Addr())
	fault := a.file("fault")
	writeFile(t, fault, "0\n", 0o644)
	aSpec := trackSpec{
		defs:     []string{trackFileBlock("tf_fault", fault, 0)},
		instance: []string{"track_file {\n    tf_fault\n}", "smtp_alert"},
	}
	bSpec := trackSpec{instance: []string{"smtp_alert"}}
	ra, rb := "iop_a", "iop_b"
	aMail, bMail := []string{}, []string{}
	check := func(step string, timeout time.Duration) {
		t.Helper()
		waitMails(t, rec, a, step, timeout, aMail, a, b)
		waitMails(t, rec, b, step, timeout, bMail, a, b)
	}

	start := time.Now()
	a.startTracked(t, a.mailConf(t, b, prioHigh, aSpec), prioHigh)
	waitVIP(t, a, true, start, startupMargin+trackSc.masterDown(prioHigh), "a alone", a, b)
	// keepalived mails the initial BACKUP too.
	aMail = append(aMail, mailSubject(ra, "VI_IOP", "BACKUP"), mailSubject(ra, "VI_IOP", "MASTER"))
	check("a alone", slack)

	b.startTracked(t, b.mailConf(t, a, prioLow, bSpec), prioLow)
	if _, err := holdOwner(3*trackSc.advert, sampleEvery(trackSc.advert), vip4, "a", a, b); err != nil {
		fail(t, "after b started: "+err.Error(), a, b)
	}
	bMail = append(bMail, mailSubject(rb, "VI_IOP", "BACKUP"))
	check("b started", slack)

	writeFile(t, fault, "1\n", 0o644)
	start = time.Now()
	waitOnly(t, "b", start, faultBound+trackSc.masterDown(prioLow)+slack, "a FAULT", a, b)
	aMail = append(aMail, mailSubject(ra, "VI_IOP", "FAULT"))
	bMail = append(bMail, mailSubject(rb, "VI_IOP", "MASTER"))
	check("a FAULT", slack)

	writeFile(t, fault, "0\n", 0o644)
	start = time.Now()
	waitOnly(t, "a", start, trackSc.masterDown(prioHigh)+slack, "a recovered", a, b)
	aMail = append(aMail, mailSubject(ra, "VI_IOP", "BACKUP"), mailSubject(ra, "VI_IOP", "MASTER"))
	bMail = append(bMail, mailSubject(rb, "VI_IOP", "BACKUP"))
	check("a recovered", slack)

	stop := func(n *node) {
		t.Helper()
		if err := n.signal(syscall.SIGTERM); err != nil {
			fail(t, err.Error(), a, b)
		}
		if err := n.waitExit(exitTimeout); err != nil {
			fail(t, err.Error(), a, b)
		}
	}
	// a stops: no mail from a (STOP is not mailed), b takes over.
	stop(a)
	start = time.Now()
	waitVIP(t, b, true, start, trackSc.masterDown(prioLow)+slack, "a stopped", a, b)
	bMail = append(bMail, mailSubject(rb, "VI_IOP", "MASTER"))
	check("a stopped", slack)
	stop(b)
	// keepalived opens a session for STOP and is gone before it speaks;
	// such empty sessions deliver nothing and are not compared.
	for _, n := range []*node{a, b} {
		var got []mailView
		for _, s := range rec.of(n.ip4) {
			if len(s.Commands) > 0 {
				got = append(got, viewOf(s))
			}
		}
		want := []mailView{}
		for _, subj := range map[*node][]string{a: aMail, b: bMail}[n] {
			want = append(want, wantMail(n, subj))
		}
		if got == nil {
			got = []mailView{}
		}
		if d := cmp.Diff(want, got); d != "" {
			fail(t, fmt.Sprintf("mails of %s (%s), field by field (-keepalived 2.2.7 +got):\n%s", n.name, n.impl, d), a, b)
		}
		// startup_script ran before the VIP was ever set, shutdown_script
		// after it was removed; each exactly once.
		if d := cmp.Diff([]string{"startup vip=0", "shutdown vip=0"}, n.lifecycleLog()); d != "" {
			fail(t, fmt.Sprintf("start/stop scripts of %s (%s) (-keepalived 2.2.7 +got):\n%s", n.name, n.impl, d), a, b)
		}
	}
}

// wantMail is keepalived 2.2.7's session for one mail of node n (recorded:
// internal/mail/testdata).
func wantMail(n *node, subject string) mailView {
	body := "=> VRRP Instance is no longer owning VRRP VIPs <="
	if strings.HasSuffix(subject, "Entering MASTER state") {
		body = "=> VRRP Instance is now owning VRRP VIPs <="
	}
	from := "vrrp-" + n.name + "@example.com"
	return mailView{
		Commands: []string{"HELO helo-" + n.name + ".example.com", "MAIL FROM:<" + from + ">",
			"RCPT TO:<ops@example.com>", "RCPT TO:<oncall@example.com>", "DATA", "QUIT"},
		Headers: []string{"Date: <date>", "From: " + from, "Subject: " + subject, "X-Mailer: Keepalived",
			"To: ops@example.com, oncall@example.com"},
		Body: []string{body, ""},
	}
}

// TestMailSyncGroup: one node, two instances in a sync group with
// smtp_alert on the group and on VI_2 only, no_email_faults, default From
// and HELO; keepalived and govrrp must send the same mails.
func TestMailSyncGroup(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		t.Run(im.short(), func(t *testing.T) { runMailGroup(t, im) })
	}
}

func runMailGroup(t *testing.T, im impl) {
	tl := newTrackLab(t, pairing{im, im}, false)
	a := tl.a
	mx := tl.lab.AddHost("mx")
	if err := mx.Connect(tl.lan, ifname, addrMX4, netip.Prefix{}); err != nil {
		t.Fatalf("interop: connect mx: %v", err)
	}
	rec := startSMTP(t, mx, addrMX4.Addr())
	fault := a.file("fault")
	writeFile(t, fault, "0\n", 0o644)
	conf := fmt.Sprintf(`global_defs {
    router_id iop_a
    notification_email {
        ops@example.com
    }
    smtp_server %s 25
    no_email_faults
}
track_file tf_fault {
    file "%s"
    weight 0
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
    smtp_alert
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    version 3
    priority 150
    advert_int 0.1
    track_file {
        tf_fault
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    version 3
    priority 150
    advert_int 0.1
    smtp_alert
    virtual_ipaddress {
        192.0.2.101/24
    }
}
`, addrMX4.Addr(), fault)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// Recorded from keepalived 2.2.7: VI_2 (smtp_alert of its own) and G1
	// mail each transition, instance first; VI_1 (no smtp_alert) never;
	// no_email_faults suppresses the FAULT mails of both.
	var want []string
	enter := func(states ...string) {
		for _, st := range states {
			want = append(want, "[iop_a] VRRP Instance VI_2 - Entering "+st+" state", "[iop_a] VRRP Group G1 - Entering "+st+" state")
		}
	}
	start := time.Now()
	startTwoInstances(t, a, conf)
	waitVIP(t, a, true, start, startupMargin+trackSc.masterDown(prioHigh)+slack, "a alone", a)
	enter("BACKUP", "MASTER")
	// The instance's and the group's mail of one transition are separate
	// sessions that keepalived finishes in either order: compare sorted.
	waitMailsSorted(t, rec, a, "a alone", slack, want, a)
	writeFile(t, fault, "1\n", 0o644)
	waitVIP(t, a, false, time.Now(), faultBound+slack, "a FAULT", a)
	writeFile(t, fault, "0\n", 0o644)
	waitVIP(t, a, true, time.Now(), trackSc.masterDown(prioHigh)+slack, "a back", a)
	enter("BACKUP", "MASTER") // and no FAULT mail before them
	waitMailsSorted(t, rec, a, "a recovered", slack, want, a)
	if err := a.signal(syscall.SIGTERM); err != nil {
		fail(t, err.Error(), a)
	}
	if err := a.waitExit(exitTimeout); err != nil {
		fail(t, err.Error(), a)
	}
	var got []smtpSession
	for _, s := range rec.of(a.ip4) {
		if len(s.Commands) > 0 {
			got = append(got, s)
		}
	}
	if d := cmp.Diff(sorted(want), sorted(subjects(got))); d != "" {
		fail(t, fmt.Sprintf("mail subjects after stop (-keepalived 2.2.7 +got):\n%s", d), a)
	}
	for _, s := range got {
		v := viewOf(s)
		subj := strings.TrimPrefix(v.Headers[2], "Subject: ")
		st := strings.TrimSuffix(subj[strings.LastIndex(subj, "Entering ")+len("Entering "):], " state")
		body := "=> VRRP Instance is no longer owning VRRP VIPs <="
		switch {
		case strings.Contains(subj, "VRRP Group"):
			body = "=> All VRRP group instances are now in " + st + " state <="
		case st == "MASTER":
			body = "=> VRRP Instance is now owning VRRP VIPs <="
		}
		// Defaults: HELO the host name, From root@host (run as root).
		wantView := mailView{
			Commands: []string{"HELO " + host, "MAIL FROM:<root@" + host + ">", "RCPT TO:<ops@example.com>", "DATA", "QUIT"},
			Headers:  []string{"Date: <date>", "From: root@" + host, "Subject: " + subj, "X-Mailer: Keepalived", "To: ops@example.com"},
			Body:     []string{body, ""},
		}
		if d := cmp.Diff(wantView, v); d != "" {
			fail(t, fmt.Sprintf("mail %q (-keepalived 2.2.7 +got):\n%s", subj, d), a)
		}
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// waitMailsSorted is waitMails comparing the subjects as a multiset.
func waitMailsSorted(t testing.TB, r *smtpRecorder, n *node, step string, timeout time.Duration, want []string, all ...*node) {
	t.Helper()
	var diff string
	err := netlab.WaitFor(context.Background(), timeout, 20*time.Millisecond, func() (bool, error) {
		diff = cmp.Diff(sorted(want), sorted(subjects(r.of(n.ip4))))
		return diff == "", nil
	})
	if err != nil {
		fail(t, fmt.Sprintf("%s: mail subjects of %s (%s) (-want +got):\n%s", step, n.name, n.impl, diff), all...)
	}
}

// startTwoInstances starts the node's daemon with a config of two
// instances (node.start's readiness check wants one); govrrp is ready when
// its control socket answers.
func startTwoInstances(t *testing.T, n *node, conf string) {
	t.Helper()
	if n.impl == keepalived {
		n.start(conf, prioHigh)
		return
	}
	p, err := n.host.StartGovrrp(govrrpBin(t), conf)
	if err != nil {
		t.Fatalf("interop: start govrrp on %s: %v", n.name, err)
	}
	n.proc, n.prio = p, prioHigh
	n.procs = append(n.procs, p)
	err = netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, netlab.Permanent(fmt.Errorf("govrrp on %s exited during start-up", n.name))
		}
		_, err := os.Stat(n.host.GovrrpSocket())
		return err == nil, nil
	})
	if err != nil {
		fail(t, err.Error(), n)
	}
}

// TestLifecycleScriptTimeout: a startup_script that outlives
// startup_script_timeout is killed and the daemon starts anyway (both
// implementations, within the timeout plus the master-down interval).
// govrrp also runs a shutdown_script given a user as that user; keepalived
// 2.2.7 cannot be compared there: with `shutdown_script PATH nobody` it
// SIGTERMs itself while loading (strace: setresuid(nobody) for the path
// check, back to root, prctl(PR_SET_PDEATHSIG, 0), getppid, kill(self)).
func TestLifecycleScriptTimeout(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		t.Run(im.short(), func(t *testing.T) { runLifecycleTimeout(t, im) })
	}
}

func runLifecycleTimeout(t *testing.T, im impl) {
	tl := newTrackLab(t, pairing{im, im}, false)
	a := tl.a
	logPath := a.file("lifecycle.log")
	writeFile(t, logPath, "", 0o666)
	if err := os.Chmod(logPath, 0o666); err != nil { // umask
		t.Fatal(err)
	}
	if err := os.Chmod(tl.lab.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	slow := a.file("slow.sh")
	pidFile := a.file("slow.pid")
	writeFile(t, slow, fmt.Sprintf("#!/bin/sh\necho $$ > %s\necho \"startup begin $(id -un)\" >> %s\nsleep 30\necho \"startup late\" >> %s\n",
		pidFile, logPath, logPath), 0o755)
	stop := a.file("stop.sh")
	writeFile(t, stop, fmt.Sprintf("#!/bin/sh\necho \"shutdown $(id -un)\" >> %s\n", logPath), 0o755)
	conf := a.trackConf(tl.b, prioHigh, trackSpec{})
	user, wantUser := "", "root"
	if im == govrrp {
		user, wantUser = " nobody", "nobody"
	}
	conf = strings.Replace(conf, "\n}\n", fmt.Sprintf("\n    startup_script \"%s\"\n    startup_script_timeout 1\n    shutdown_script \"%s\"%s\n}\n", slow, stop, user), 1)
	start := time.Now()
	a.startTracked(t, conf, prioHigh)
	took := waitVIP(t, a, true, start, startupMargin+time.Second+trackSc.masterDown(prioHigh)+slack, "started after the timeout", a)
	// The timed-out script and its sleep are gone: its whole process group.
	b, err := os.ReadFile(pidFile)
	if err != nil {
		fail(t, "startup_script never ran: "+err.Error(), a)
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	err = netlab.WaitFor(context.Background(), slack, 20*time.Millisecond, func() (bool, error) {
		return pgid > 0 && groupGone(pgid), nil
	})
	if err != nil {
		ps, _ := exec.Command("ps", "-o", "pid,pgid,stat,args", "-g", strconv.Itoa(pgid)).CombinedOutput()
		fail(t, fmt.Sprintf("process group %d of the timed-out startup_script still exists:\n%s", pgid, ps), a)
	}
	if err := a.signal(syscall.SIGTERM); err != nil {
		fail(t, err.Error(), a)
	}
	if err := a.waitExit(exitTimeout); err != nil {
		fail(t, err.Error(), a)
	}
	t.Logf("%s: VIP after %v (startup_script_timeout 1 s + master down %v)", im, took, trackSc.masterDown(prioHigh))
	if d := cmp.Diff([]string{"startup begin root", "shutdown " + wantUser}, a.lifecycleLog()); d != "" {
		fail(t, fmt.Sprintf("lifecycle log (-keepalived 2.2.7 +got):\n%s", d), a)
	}
}

// groupGone: no live process is left in process group pgid (a zombie
// waiting for whoever inherited it does not count).
func groupGone(pgid int) bool {
	if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		return true
	}
	out, err := exec.Command("ps", "-o", "stat=", "-g", strconv.Itoa(pgid)).Output()
	if err != nil {
		return len(out) == 0 // ps exits 1 when nothing matched
	}
	for _, st := range strings.Fields(string(out)) {
		if !strings.HasPrefix(st, "Z") {
			return false
		}
	}
	return true
}
