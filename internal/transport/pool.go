package transport

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// Pool keeps ONE socket per interface+family, shared by every instance on it
// and reference counted. The Pool runs each Mux's reader goroutine itself:
// callers Register on the returned Mux and must not call Run on it.
type Pool struct {
	listen func(Config) (Conn, error)

	mu      sync.Mutex
	entries map[poolKey]*poolEntry
}

type poolKey struct {
	ifname string
	ipv6   bool
	group  netip.Addr // zero: the default group (shared with unicast users)
}

type poolEntry struct {
	mux       *Mux
	refs      int
	multicast bool
}

// NewPool returns a Pool that opens sockets with listen (Listen in
// production, a Segment's attach function in tests).
func NewPool(listen func(Config) (Conn, error)) *Pool {
	return &Pool{listen: listen, entries: make(map[poolKey]*poolEntry)}
}

// Acquire returns the Mux for cfg.Interface+cfg.IPv6, opening the socket on
// first use. A later Acquire with Multicast set joins the group on the shared
// socket. ctx bounds only the call, not the socket's lifetime; each Acquire
// needs one Release.
func (p *Pool) Acquire(ctx context.Context, cfg Config) (*Mux, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("transport: acquire %s: %w", cfg.Interface, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := poolKey{cfg.Interface, cfg.IPv6, cfg.customGroup()}
	if e, ok := p.entries[key]; ok {
		if err := e.upgrade(cfg); err != nil {
			return nil, err
		}
		e.refs++
		return e.mux, nil
	}
	c, err := p.listen(cfg)
	if err != nil {
		return nil, fmt.Errorf("transport: acquire %s: %w", cfg.Interface, err)
	}
	e := &poolEntry{mux: NewMux(c), refs: 1, multicast: cfg.Multicast}
	go e.read()
	p.entries[key] = e
	return e.mux, nil
}

// upgrade joins the multicast group when a multicast user arrives on a socket
// opened for unicast only.
func (e *poolEntry) upgrade(cfg Config) error {
	if !cfg.Multicast || e.multicast {
		return nil
	}
	j, ok := e.mux.conn.(MulticastJoiner)
	if !ok {
		return fmt.Errorf("transport: acquire %s: conn cannot join multicast group", cfg.Interface)
	}
	if err := j.JoinMulticast(); err != nil {
		return fmt.Errorf("transport: acquire %s: %w", cfg.Interface, err)
	}
	e.multicast = true
	return nil
}

func (e *poolEntry) read() {
	defer close(e.mux.done)
	if err := e.mux.Run(context.Background()); err != nil {
		e.mux.setErr(err)
	}
}

// Release drops one reference taken by Acquire; the last one closes the
// socket and waits for its reader to stop. The group is not left when only
// multicast users go away (harmless: the socket closes with its last user).
func (p *Pool) Release(cfg Config) {
	p.mu.Lock()
	key := poolKey{cfg.Interface, cfg.IPv6, cfg.customGroup()}
	e, ok := p.entries[key]
	if !ok {
		p.mu.Unlock()
		return
	}
	e.refs--
	if e.refs > 0 {
		p.mu.Unlock()
		return
	}
	delete(p.entries, key)
	p.mu.Unlock()
	_ = e.mux.conn.Close()
	<-e.mux.done
}

// Close closes every socket regardless of references (daemon shutdown).
func (p *Pool) Close() error {
	p.mu.Lock()
	entries := p.entries
	p.entries = make(map[poolKey]*poolEntry)
	p.mu.Unlock()
	var errs []error
	for _, e := range entries {
		errs = append(errs, e.mux.conn.Close())
		<-e.mux.done
	}
	return errors.Join(errs...)
}
