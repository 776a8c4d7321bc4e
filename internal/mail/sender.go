package mail

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Settings are global_defs' mail lines, resolved (defaults applied).
type Settings struct {
	Server         string // host:port (smtp_server, port 25 by default)
	Helo           string // smtp_helo_name, default the host name
	From           string // notification_email_from, default user@host name
	To             []string
	ConnectTimeout time.Duration // smtp_connect_timeout, default 30 s
}

// DefaultConnectTimeout is keepalived's smtp_connect_timeout default.
const DefaultConnectTimeout = 30 * time.Second

// DialFunc opens the connection to the server; a seam for tests.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// QueueLen bounds the mails waiting to be sent. A burst of transitions
// (every instance of a big node failing over) fits; while a dead server
// keeps the queue full, the newest mails are dropped and counted.
const QueueLen = 256

// logEvery is the least time between two failure log lines.
const logEvery = time.Minute

// Stats are a Sender's counters, read with Snapshot.
type Stats struct {
	Queued  uint64 // accepted by Send
	Sent    uint64 // accepted by the server
	Failed  uint64 // connect, protocol or i/o failure
	Dropped uint64 // queue full or Sender closed
}

// Counters are the atomic counters behind Stats; several Senders (one per
// configuration, across reloads) may share one, so totals survive a reload.
type Counters struct {
	queued, sent, failed, dropped atomic.Uint64
}

// Snapshot returns the counters.
func (c *Counters) Snapshot() Stats {
	return Stats{Queued: c.queued.Load(), Sent: c.sent.Load(), Failed: c.failed.Load(), Dropped: c.dropped.Load()}
}

type job struct {
	data []byte
}

// Sender delivers mails in the background, one at a time.
type Sender struct {
	settings Settings
	dial     DialFunc
	now      func() time.Time
	log      *slog.Logger

	queue chan job
	ctx   context.Context
	stop  context.CancelFunc
	done  chan struct{}

	mu     sync.Mutex // guards closed, so Send never writes to a closed queue
	closed bool

	*Counters

	// Failure logging, owned by the worker goroutine only.
	lastLog    time.Time
	suppressed int
}

// Options of New; zero values are the defaults.
type Options struct {
	Dial     DialFunc         // default net.Dialer.DialContext
	Now      func() time.Time // default time.Now (the Date: header)
	QueueLen int              // default QueueLen
	Logger   *slog.Logger     // default slog.Default()
	Counters *Counters        // default: the Sender's own
}

// New starts a Sender for s.
func New(s Settings, o Options) *Sender {
	if s.ConnectTimeout <= 0 {
		s.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.QueueLen <= 0 {
		o.QueueLen = QueueLen
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Counters == nil {
		o.Counters = &Counters{}
	}
	ctx, stop := context.WithCancel(context.Background())
	sd := &Sender{settings: s, dial: o.Dial, now: o.Now, log: o.Logger,
		queue: make(chan job, o.QueueLen), ctx: ctx, stop: stop, done: make(chan struct{}), Counters: o.Counters}
	go sd.run()
	return sd
}

// Settings returns what the Sender was built with.
func (sd *Sender) Settings() Settings { return sd.settings }

// Send queues m; it never blocks. It reports false when the mail was
// dropped (queue full or Sender closed).
func (sd *Sender) Send(m Message) bool {
	data := Format(sd.settings.From, sd.settings.To, m, sd.now())
	sd.mu.Lock()
	defer sd.mu.Unlock()
	if sd.closed {
		sd.dropped.Add(1)
		return false
	}
	select {
	case sd.queue <- job{data: data}:
		sd.queued.Add(1)
		return true
	default:
		sd.dropped.Add(1)
		return false
	}
}

// Close stops accepting mails and waits until the queue is sent or ctx
// ends; what is still queued then is dropped and the session in flight cut.
func (sd *Sender) Close(ctx context.Context) error {
	sd.mu.Lock()
	if !sd.closed {
		sd.closed = true
		close(sd.queue)
	}
	sd.mu.Unlock()
	select {
	case <-sd.done:
		return nil
	case <-ctx.Done():
		sd.stop()
		<-sd.done
		return ctx.Err()
	}
}

func (sd *Sender) run() {
	defer close(sd.done)
	defer sd.stop()
	for j := range sd.queue {
		if sd.ctx.Err() != nil {
			sd.dropped.Add(1)
			continue
		}
		err := deliver(sd.ctx, sd.dial, sd.settings, j.data)
		if err == nil {
			sd.sent.Add(1)
			continue
		}
		if errors.Is(sd.ctx.Err(), context.Canceled) {
			sd.dropped.Add(1)
			continue
		}
		sd.failed.Add(1)
		sd.logFailure(err)
	}
}

// logFailure logs at most one line per logEvery, saying how many failures
// the silence covered.
func (sd *Sender) logFailure(err error) {
	now := time.Now()
	if !sd.lastLog.IsZero() && now.Sub(sd.lastLog) < logEvery {
		sd.suppressed++
		return
	}
	sd.log.Warn("smtp alert not sent", "server", sd.settings.Server, "err", err,
		"failed_since_last_log", sd.suppressed, "failed_total", sd.failed.Load())
	sd.lastLog, sd.suppressed = now, 0
}
