package snmp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSocket is keepalived's (and net-snmp's) AgentX master address.
const DefaultSocket = "unix:/var/agentx/master"

// Config is what a subagent serves and where.
type Config struct {
	// Address is the master's AgentX socket as keepalived's snmp_socket
	// takes it: "unix:/path", "/path", "tcp:host:port" or "host:port".
	Address string
	// Subtrees are registered with the master after each Open.
	Subtrees []OID
	// View returns the current MIB; called on the subagent's goroutine for
	// every request PDU. It must not block on the daemon's loop.
	View func() Tree
	// Descr names the subagent in its Open PDU.
	Descr  string
	Logger *slog.Logger
	// Dial opens the connection (nil: net.Dialer on Address); a test seam.
	Dial func(ctx context.Context) (net.Conn, error)
	// RetryMax caps the reconnect backoff (0: 15 s, net-snmp's default
	// agentxPingInterval, which keepalived relies on to reconnect).
	RetryMax time.Duration
	// PingInterval: a Ping to the master this often; a master that answers
	// nothing for two intervals is taken for dead (a TCP master whose host
	// went away sends no EOF) and the session is reopened. 0: 15 s.
	PingInterval time.Duration
	// TreeMaxAge: a View older than this is rebuilt for the next request;
	// a walk of many instances (thousands of GetBulk PDUs) then builds it a
	// few times a second instead of once per PDU. 0: 250 ms; < 0: every PDU.
	TreeMaxAge time.Duration
}

// Network splits an snmp_socket value into a net.Dial network and address.
func Network(addr string) (network, address string, err error) {
	switch {
	case addr == "":
		return Network(DefaultSocket)
	case strings.HasPrefix(addr, "unix:"):
		return "unix", strings.TrimPrefix(addr, "unix:"), nil
	case strings.HasPrefix(addr, "/"):
		return "unix", addr, nil
	case strings.HasPrefix(addr, "tcp:"):
		return "tcp", strings.TrimPrefix(addr, "tcp:"), nil
	case strings.HasPrefix(addr, "udp:"), strings.HasPrefix(addr, "tcp6:"), strings.HasPrefix(addr, "udp6:"):
		return "", "", fmt.Errorf("snmp: snmp_socket %q: AgentX over this transport is not implemented (unix: or tcp:)", addr)
	}
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return "tcp", addr, nil
	}
	return "", "", fmt.Errorf("snmp: snmp_socket %q: not unix:PATH, PATH, tcp:HOST:PORT or HOST:PORT", addr)
}

// Stats are a subagent's counters since start.
type Stats struct {
	Sessions        uint64 // sessions opened (1 + reconnects)
	Requests        uint64 // Get/GetNext/GetBulk answered
	Notifies        uint64 // Notify PDUs sent
	NotifiesDropped uint64 // queue full or no session
	ParseErrors     uint64 // PDUs from the master that did not decode
	Connected       bool
}

// Agent is a running AgentX subagent.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	start  time.Time
	cancel context.CancelFunc
	done   chan struct{}
	notify chan []VarBind

	sessions, requests, notifies, dropped, parseErrs atomic.Uint64
	connected                                        atomic.Bool

	// tree is the last View and when it was built; only the serving
	// goroutine uses them (sessions run one after another).
	tree   Tree
	treeAt time.Time
}

// notifyQueue bounds traps waiting for the session; beyond it they are
// dropped and counted, never waited for.
const notifyQueue = 256

// maxBulk bounds one GetBulk answer (net-snmp asks for at most its own
// max-repetitions; this keeps one PDU under its 64 KiB buffer).
const maxBulk = 512

// Start runs a subagent until Close. It returns at once: connecting, and
// reconnecting after the master goes away, happen on its goroutine.
func Start(cfg Config) (*Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 15 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 15 * time.Second
	}
	if cfg.TreeMaxAge == 0 {
		cfg.TreeMaxAge = 250 * time.Millisecond
	}
	if cfg.Dial == nil {
		network, address, err := Network(cfg.Address)
		if err != nil {
			return nil, err
		}
		cfg.Dial = func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Agent{cfg: cfg, log: cfg.Logger, start: time.Now(), cancel: cancel,
		done: make(chan struct{}), notify: make(chan []VarBind, notifyQueue)}
	go a.run(ctx)
	return a, nil
}

// Close ends the session (Close PDU, reason shutdown) and waits for the
// subagent's goroutines.
func (a *Agent) Close() {
	a.cancel()
	<-a.done
}

// Notify queues a notification (varbinds after sysUpTime.0, the first being
// snmpTrapOID.0); it never blocks. False: dropped (queue full).
func (a *Agent) Notify(vbs []VarBind) bool {
	select {
	case a.notify <- vbs:
		return true
	default:
		a.dropped.Add(1)
		return false
	}
}

// Drain waits, at most max, until the queued notifications have gone to a
// connected master (the daemon's stop: the last transitions' traps). It
// returns at once without a session: nothing would take them.
func (a *Agent) Drain(max time.Duration) {
	deadline := time.Now().Add(max)
	for a.connected.Load() && len(a.notify) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// Stats returns the counters.
func (a *Agent) Stats() Stats {
	return Stats{Sessions: a.sessions.Load(), Requests: a.requests.Load(), Notifies: a.notifies.Load(),
		NotifiesDropped: a.dropped.Load(), ParseErrors: a.parseErrs.Load(), Connected: a.connected.Load()}
}

// upTime is sysUpTime for our PDUs: centiseconds since Start.
func (a *Agent) upTime() uint32 { return uint32(time.Since(a.start) / (10 * time.Millisecond)) }

// run connects, serves, and reconnects with a doubling backoff capped at
// RetryMax until ctx ends.
func (a *Agent) run(ctx context.Context) {
	defer close(a.done)
	backoff := 100 * time.Millisecond
	logged := false
	for ctx.Err() == nil {
		opened, err := a.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if opened {
			backoff = 100 * time.Millisecond
			logged = false
		}
		if !logged || opened {
			a.log.Warn("AgentX master unreachable, retrying", "address", a.cfg.Address, "err", err)
			logged = true // once per outage, not per retry
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, a.cfg.RetryMax)
	}
}

// conn is one session's connection: writes are serialised, the reader owns
// reads.
type conn struct {
	c       net.Conn
	br      *bufio.Reader
	mu      sync.Mutex // serialises writes
	session uint32
	packet  uint32
	heard   atomic.Int64 // unix nanoseconds of the last PDU from the master
}

func (c *conn) write(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.c.Write(b)
	return err
}

// readPDU reads one framed PDU.
func (c *conn) readPDU() (*pdu, error) {
	hb := make([]byte, headerLen)
	if _, err := io.ReadFull(c.br, hb); err != nil {
		return nil, err
	}
	h, err := decodeHeader(hb)
	if err != nil {
		return nil, err
	}
	b := make([]byte, headerLen+int(h.PayloadLen))
	copy(b, hb)
	if _, err := io.ReadFull(c.br, b[headerLen:]); err != nil {
		return nil, err
	}
	return decodePDU(b)
}

// call writes a request and reads its Response (only used before the
// reader starts: Open and Register).
func (c *conn) call(b []byte) (*pdu, error) {
	if err := c.write(b); err != nil {
		return nil, err
	}
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.c.SetReadDeadline(time.Time{})
	for range 16 { // skip anything else the master sends meanwhile (bounded)
		p, err := c.readPDU()
		if err != nil {
			return nil, err
		}
		if p.Type == pduResponse {
			return p, nil
		}
	}
	return nil, errors.New("snmp: no Response from the AgentX master")
}

// session runs one connection: Open, Register, then serve until it breaks
// or ctx ends. opened says whether the master accepted the Open.
func (a *Agent) session(ctx context.Context) (opened bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	nc, err := a.cfg.Dial(dctx)
	cancel()
	if err != nil {
		return false, err
	}
	c := &conn{c: nc, br: bufio.NewReader(nc)}
	defer nc.Close()
	c.packet++
	resp, err := c.call(encodeOpen(c.packet, 0, MustOID("1.3.6.1.4.1.9586.100.5"), a.cfg.Descr))
	if err != nil {
		return false, fmt.Errorf("open: %w", err)
	}
	if resp.Error != errNone {
		return false, fmt.Errorf("open refused: error %d", resp.Error)
	}
	c.session = resp.SessionID
	for _, st := range a.cfg.Subtrees {
		c.packet++
		resp, err := c.call(encodeRegister(c.session, c.packet, st, 127))
		if err != nil {
			return true, fmt.Errorf("register %s: %w", st, err)
		}
		if resp.Error != errNone {
			a.log.Warn("AgentX master refused a registration", "subtree", st.String(), "error", resp.Error)
		}
	}
	a.sessions.Add(1)
	a.connected.Store(true)
	defer a.connected.Store(false)
	a.log.Info("AgentX session open", "address", a.cfg.Address, "session", c.session)

	readErr := make(chan error, 1)
	c.heard.Store(time.Now().UnixNano())
	go func() { readErr <- a.serve(c) }()
	ping := time.NewTicker(a.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ping.C:
			if time.Since(time.Unix(0, c.heard.Load())) > 2*a.cfg.PingInterval {
				nc.Close()
				return true, errors.Join(errors.New("snmp: the AgentX master answers no Ping"), <-readErr)
			}
			c.packet++
			if err := c.write(frame(header{Type: pduPing, SessionID: c.session, PacketID: c.packet}, nil)); err != nil {
				nc.Close()
				return true, errors.Join(err, <-readErr)
			}
		case <-ctx.Done():
			c.packet++
			_ = c.write(encodeClose(c.session, c.packet, 5))
			nc.Close()
			<-readErr
			return true, ctx.Err()
		case err := <-readErr:
			return true, err
		case vbs := <-a.notify:
			c.packet++
			if err := c.write(encodeNotify(c.session, c.packet, a.withUpTime(vbs))); err != nil {
				a.dropped.Add(1)
				nc.Close()
				return true, errors.Join(err, <-readErr)
			}
			a.notifies.Add(1)
		}
	}
}

// withUpTime prefixes sysUpTime.0 (RFC 2741 6.2.10 allows it first).
func (a *Agent) withUpTime(vbs []VarBind) []VarBind {
	return append([]VarBind{{Name: MustOID("1.3.6.1.2.1.1.3.0"), Value: TimeTicks(a.upTime())}}, vbs...)
}

// serve answers the master's requests until the connection breaks.
func (a *Agent) serve(c *conn) error {
	for {
		p, err := c.readPDU()
		if err != nil {
			if errors.Is(err, errMalformed) {
				a.parseErrs.Add(1)
			}
			return err
		}
		c.heard.Store(time.Now().UnixNano())
		if out := a.answer(p); out != nil {
			if err := c.write(out); err != nil {
				return err
			}
		}
		if p.Type == pduClose {
			return fmt.Errorf("master closed the session (reason %d)", p.Reason)
		}
	}
}

// answer is the Response to p, nil when p wants none.
func (a *Agent) answer(p *pdu) []byte {
	switch p.Type {
	case pduGet, pduGetNext, pduGetBulk:
		a.requests.Add(1)
		if len(p.Context) > 0 {
			return encodeResponse(p.header, a.upTime(), 262, 0, nil) // unsupportedContext
		}
		return encodeResponse(p.header, a.upTime(), errNone, 0, a.lookup(p))
	case pduTestSet:
		return encodeResponse(p.header, a.upTime(), errNotWritable, 1, nil)
	case pduCommitSet, pduUndoSet, pduCleanupSet:
		return encodeResponse(p.header, a.upTime(), errNone, 0, nil)
	case pduResponse:
		if p.Error != errNone {
			a.log.Warn("AgentX master answered an error", "error", p.Error, "packet", p.PacketID)
		}
		return nil
	case pduClose:
		return nil
	}
	return encodeResponse(p.header, a.upTime(), errProcessing, 0, nil)
}

// view is the View, rebuilt when older than TreeMaxAge.
func (a *Agent) view() Tree {
	if a.cfg.TreeMaxAge < 0 || a.treeAt.IsZero() || time.Since(a.treeAt) >= a.cfg.TreeMaxAge {
		a.tree, a.treeAt = a.cfg.View(), time.Now()
	}
	return a.tree
}

// lookup resolves a request against the View.
func (a *Agent) lookup(p *pdu) []VarBind {
	t := a.view()
	switch p.Type {
	case pduGet:
		out := make([]VarBind, 0, len(p.Ranges))
		for _, r := range p.Ranges {
			out = append(out, t.Get(r.Start))
		}
		return out
	case pduGetNext:
		out := make([]VarBind, 0, len(p.Ranges))
		for _, r := range p.Ranges {
			out = append(out, t.Next(r))
		}
		return out
	}
	return t.Bulk(p.Ranges, p.NonRep, p.MaxRep, maxBulk)
}
