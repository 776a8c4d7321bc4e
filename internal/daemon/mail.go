package daemon

import (
	"context"
	"net"
	"os"
	"os/user"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/mail"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// keepalived's smtp_alert mails (internal/mail does the sending). The loop
// only decides which transition mails and queues it: Send never blocks, so
// a dead or blackholed SMTP server never delays the loop.

// mailCloseBudget bounds how long a stop (or a reload that changes the
// mail settings) lets queued mails go out; keepalived delivers none at
// stop (its STOP sessions are cut when the process ends).
const mailCloseBudget = 2 * time.Second

// mailState is the loop's view of the mail configuration.
type mailState struct {
	sender    *mail.Sender // nil: no smtp_server or no recipient
	settings  mail.Settings
	routerID  string
	noFaults  bool
	instances map[string]bool // smtp_alert in effect, by instance name
	groups    map[string]bool // by sync group name
	closing   sync.WaitGroup  // old senders draining after a reload
	counters  mail.Counters   // every sender's, for metrics (atomics: any goroutine)
	active    atomic.Bool     // a sender is configured (read by the status provider)
	dial      mail.DialFunc   // nil: the network; a seam for tests
}

// hostName is keepalived's default router_id, HELO name and sender domain.
func hostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// mailSettings resolves global_defs' mail lines with keepalived 2.2.7's
// defaults; ok is false when no mail can be sent (no server or no
// recipient).
func mailSettings(g kaconf.GlobalDefs) (mail.Settings, bool) {
	if g.SMTPServer == "" || len(g.NotificationEmail) == 0 {
		return mail.Settings{}, false
	}
	port := g.SMTPServerPort
	if port == 0 {
		port = 25
	}
	s := mail.Settings{Server: net.JoinHostPort(g.SMTPServer, strconv.Itoa(port)), Helo: g.SMTPHeloName,
		From: g.NotificationEmailFrom, To: g.NotificationEmail, ConnectTimeout: g.SMTPConnectTimeout}
	if s.Helo == "" {
		s.Helo = hostName()
	}
	if s.From == "" {
		// keepalived 2.2.7 sends root@HOST when run as root (its man page
		// says keepalived@HOST; observed: the user's name).
		name := "keepalived"
		if u, err := user.Current(); err == nil && u.Username != "" {
			name = u.Username
		}
		s.From = name + "@" + hostName()
	}
	if s.ConnectTimeout <= 0 {
		s.ConnectTimeout = mail.DefaultConnectTimeout
	}
	return s, true
}

// smtpAlertDefault is keepalived's default smtp_alert for VRRP instances
// and groups: smtp_alert_vrrp, else smtp_alert, else off.
func smtpAlertDefault(g kaconf.GlobalDefs) bool {
	switch {
	case g.SMTPAlertVRRP != nil:
		return *g.SMTPAlertVRRP
	case g.SMTPAlert != nil:
		return *g.SMTPAlert
	}
	return false
}

// applyMail makes the mail state match cfg; a changed server, sender or
// recipient list starts a new sender and lets the old one drain (bounded,
// off the loop).
func (d *Daemon) applyMail(cfg *kaconf.Config) {
	m := &d.mail
	def := smtpAlertDefault(cfg.Global)
	m.instances, m.groups = map[string]bool{}, map[string]bool{}
	for _, in := range cfg.Instances {
		m.instances[in.Name] = def
		if in.SmtpAlertSet {
			m.instances[in.Name] = in.SmtpAlert
		}
	}
	for _, g := range cfg.SyncGroups {
		m.groups[g.Name] = def
		if g.SmtpAlertSet {
			m.groups[g.Name] = g.SmtpAlert
		}
	}
	m.routerID = cfg.Global.RouterID
	if m.routerID == "" {
		m.routerID = hostName()
	}
	m.noFaults = cfg.Global.NoEmailFaults
	s, ok := mailSettings(cfg.Global)
	if m.sender != nil && ok && reflect.DeepEqual(s, m.settings) {
		return
	}
	if old := m.sender; old != nil {
		m.closing.Add(1)
		go func() {
			defer m.closing.Done()
			ctx, cancel := context.WithTimeout(context.Background(), mailCloseBudget)
			defer cancel()
			_ = old.Close(ctx)
		}()
	}
	m.sender, m.settings = nil, s
	if ok && (anyTrue(m.instances) || anyTrue(m.groups)) {
		m.sender = mail.New(s, mail.Options{Dial: m.dial, Logger: d.log, Counters: &m.counters})
	}
	m.active.Store(m.sender != nil)
}

func anyTrue(m map[string]bool) bool {
	for _, v := range m {
		if v {
			return true
		}
	}
	return false
}

// mailWanted: keepalived mails on entering MASTER, BACKUP and FAULT (FAULT
// not with no_email_faults); stopping or deletion sends nothing.
func (m *mailState) mailWanted(st fsm.State) bool {
	switch st {
	case fsm.Master, fsm.Backup:
		return true
	case fsm.Fault:
		return !m.noFaults
	}
	return false
}

// mailTransition queues the instance's mail for entering st.
func (d *Daemon) mailTransition(in *instance, st fsm.State) {
	m := &d.mail
	if m.sender == nil || !m.instances[in.name] || !m.mailWanted(st) {
		return
	}
	m.sender.Send(mail.InstanceMessage(m.routerID, in.name, st.String()))
}

// mailGroup queues a sync group's mail for entering st.
func (d *Daemon) mailGroup(group string, st fsm.State) {
	m := &d.mail
	if m.sender == nil || !m.groups[group] || !m.mailWanted(st) {
		return
	}
	m.sender.Send(mail.GroupMessage(m.routerID, group, st.String()))
}

// mailStats are the mail counters since start (any goroutine).
func (d *Daemon) mailStats() mail.Stats { return d.mail.counters.Snapshot() }

// mailStatus is `govrrp status`'s smtp_alerts (any goroutine): nil when no
// sender is configured and none ever queued a mail, so a node without
// smtp_alert shows nothing.
func (d *Daemon) mailStatus() *control.Mail {
	s := d.mailStats()
	if !d.mail.active.Load() && s == (mail.Stats{}) {
		return nil
	}
	return &control.Mail{Queued: s.Queued, Sent: s.Sent, Failed: s.Failed, Dropped: s.Dropped}
}

// registerMailMetrics adds govrrp_smtp_alerts_total{result} to reg: mails
// sent, failed (connect/protocol/i-o) and dropped (queue full or stop).
func (d *Daemon) registerMailMetrics(reg prometheus.Registerer) error {
	for _, r := range []struct {
		result string
		get    func(mail.Stats) uint64
	}{
		{"sent", func(s mail.Stats) uint64 { return s.Sent }},
		{"failed", func(s mail.Stats) uint64 { return s.Failed }},
		{"dropped", func(s mail.Stats) uint64 { return s.Dropped }},
	} {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "govrrp_smtp_alerts_total",
			Help:        "smtp_alert mails by result: sent, failed (server unreachable or refusing), dropped (queue full or stop).",
			ConstLabels: prometheus.Labels{"result": r.result},
		}, func() float64 { return float64(r.get(d.mailStats())) })
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// closeMail lets queued mails go out within mailCloseBudget, then drops
// the rest; at stop, after the last transition.
func (d *Daemon) closeMail() {
	ctx, cancel := context.WithTimeout(context.Background(), mailCloseBudget)
	defer cancel()
	if d.mail.sender != nil {
		err := d.mail.sender.Close(ctx)
		st := d.mailStats()
		if err != nil {
			d.log.Warn("smtp alerts still queued at exit were dropped", "sent", st.Sent, "failed", st.Failed, "dropped", st.Dropped)
		} else {
			d.log.Info("smtp alerts", "sent", st.Sent, "failed", st.Failed, "dropped", st.Dropped)
		}
		d.mail.sender = nil
	}
	d.mail.closing.Wait()
}
