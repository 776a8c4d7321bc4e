package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// ListenOptions tune the control socket. The zero value is the safe default:
// a 0600 socket that only root and the daemon's own user may use.
type ListenOptions struct {
	// Group, a group name or numeric gid, makes the socket 0660 with that
	// group (`govrrp run --socket-group`), and lets its members in.
	Group string
	// RequestTimeout bounds the time from accept to a complete request line
	// (default 5s): a slow client loses its connection, never a goroutine.
	RequestTimeout time.Duration
	// WriteTimeout bounds each reply line (default 5s): a client that stops
	// reading, a watcher included, is dropped.
	WriteTimeout time.Duration
	// ReloadTimeout bounds one Reload call (default 60s).
	ReloadTimeout time.Duration
	// MaxConns bounds the connections served at once, watchers included
	// (default 256); one more is told the daemon is busy and closed.
	MaxConns int
}

func (o *ListenOptions) defaults() {
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.ReloadTimeout <= 0 {
		o.ReloadTimeout = 60 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 256
	}
}

// Server serves requests on a unix socket.
type Server struct {
	ln   *net.UnixListener
	path string
	p    Provider
	o    ListenOptions

	uid       int    // the daemon's own effective uid, always let in
	gid       int    // the socket's group, -1 without ListenOptions.Group
	groupName string // for the refusal message

	ctx    context.Context // cancelled by Close: ends watches and reloads
	cancel context.CancelFunc
	slots  chan struct{} // one per connection being served
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // guarded by mu
	closed bool                  // guarded by mu
}

// Listen opens the control socket at path with the default options.
func Listen(path string, p Provider) (*Server, error) {
	return ListenWithOptions(path, p, ListenOptions{})
}

// ListenWithOptions opens the control socket at path. A stale socket left by
// a crashed daemon is replaced; a live one, or a file that is not a socket,
// is an error.
func ListenWithOptions(path string, p Provider, o ListenOptions) (*Server, error) {
	o.defaults()
	s := &Server{path: path, p: p, o: o, uid: os.Geteuid(), gid: -1,
		slots: make(chan struct{}, o.MaxConns), conns: map[net.Conn]struct{}{}}
	if o.Group != "" {
		gid, name, err := lookupGroup(o.Group)
		if err != nil {
			return nil, err
		}
		s.gid, s.groupName = gid, name
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control: %s is in use by another govrrp (give this one its own --socket)", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control: %s exists and is not a socket; not replacing it", path)
		}
		os.Remove(path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	// Until chmod the mode is 0777&^umask; the peer check below is what
	// keeps others out in that window, the mode is the first fence.
	mode := os.FileMode(0o600)
	if s.gid >= 0 {
		mode = 0o660
		if err := os.Chown(path, -1, s.gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control: --socket-group %s: %w", o.Group, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// lookupGroup resolves a group name or numeric gid.
func lookupGroup(g string) (gid int, name string, err error) {
	if n, err := strconv.Atoi(g); err == nil && n >= 0 {
		name = g
		if gr, err := user.LookupGroupId(g); err == nil {
			name = gr.Name
		}
		return n, name, nil
	}
	gr, err := user.LookupGroup(g)
	if err != nil {
		return 0, "", fmt.Errorf("control: --socket-group %s: %w", g, err)
	}
	n, err := strconv.Atoi(gr.Gid)
	if err != nil {
		return 0, "", fmt.Errorf("control: --socket-group %s: gid %q", g, gr.Gid)
	}
	return n, gr.Name, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops serving, closes every connection (watchers too), cancels a
// reload in progress, waits for them and removes the socket file.
func (s *Server) Close() error {
	s.cancel()
	err := s.ln.Close() // unlinks the socket file
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	backoff := time.Duration(0)
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
				return
			}
			// Out of descriptors or similar: back off instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		select {
		case s.slots <- struct{}{}:
		default:
			c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			c.Write(encodeReply(errorReply(fmt.Sprintf("control: busy: %d connections open, try again", s.o.MaxConns))))
			c.Close()
			continue
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.slots }()
			defer s.untrack(c)
			s.handle(c)
		}()
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// write sends one reply line within the write timeout.
func (s *Server) write(c net.Conn, line []byte) error {
	c.SetWriteDeadline(time.Now().Add(s.o.WriteTimeout))
	_, err := c.Write(line)
	return err
}

func (s *Server) handle(c *net.UnixConn) {
	c.SetReadDeadline(time.Now().Add(s.o.RequestTimeout))
	if err := s.checkPeer(c); err != nil {
		s.write(c, encodeReply(errorReply(err.Error())))
		return
	}
	line, err := readRequest(c)
	switch {
	case errors.Is(err, ErrRequestTooLarge):
		s.write(c, encodeReply(errorReply(err.Error())))
		return
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.write(c, encodeReply(errorReply(fmt.Sprintf("control: no complete request line within %v", s.o.RequestTimeout))))
		return
	case err != nil:
		return // the client went away
	}
	req, err := DecodeRequest(line)
	if err != nil {
		s.write(c, encodeReply(errorReply(err.Error())))
		return
	}
	switch req.Cmd {
	case CmdStatus:
		st := s.p.Status()
		if req.Legacy {
			s.write(c, encodeLegacyStatus(st))
			return
		}
		s.write(c, encodeReply(Reply{V: Version, OK: true, Status: &st}))
	case CmdReload:
		s.write(c, encodeReply(s.reload()))
	case CmdWatch:
		s.watch(c)
	}
}

// encodeLegacyStatus is the reply to the old bare "status" line: the Status
// object itself, no envelope.
func encodeLegacyStatus(st Status) []byte {
	b, err := json.Marshal(st)
	if err != nil {
		return encodeReply(errorReply("control: cannot encode status: " + err.Error()))
	}
	return append(b, '\n')
}

func (s *Server) reload() Reply {
	r, ok := s.p.(Reloader)
	if !ok {
		return errorReply("control: this daemon cannot reload over the socket; send it SIGHUP")
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.o.ReloadTimeout)
	defer cancel()
	res, err := r.Reload(ctx)
	switch {
	case len(res.Errors) > 0:
		return Reply{V: Version, Error: fmt.Sprintf("new configuration rejected (%d error(s)); the old configuration keeps running", len(res.Errors)), Reload: &res}
	case err != nil:
		rep := errorReply("reload failed: " + err.Error())
		if len(res.Changed) > 0 || res.Summary != "" {
			rep.Reload = &res
		}
		return rep
	}
	return Reply{V: Version, OK: true, Reload: &res}
}

// watch streams the status now and after every change until the client hangs
// up, stops reading, or the server closes.
func (s *Server) watch(c *net.UnixConn) {
	w, ok := s.p.(Watcher)
	if !ok {
		s.write(c, encodeReply(errorReply("control: this daemon cannot stream changes; poll status instead")))
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	// Notice the client hanging up: anything it sends now is discarded
	// (bounded memory), EOF or an error ends the watch. Close unblocks it.
	c.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		io.Copy(io.Discard, c)
	}()
	defer func() { c.Close(); <-done }()
	var last []byte
	for {
		ch := w.Changes() // before Status: a change in between wakes us again
		st := s.p.Status()
		line := encodeReply(Reply{V: Version, OK: true, Status: &st})
		if string(line) != string(last) {
			if err := s.write(c, line); err != nil {
				return
			}
			last = line
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// checkPeer lets in root, the daemon's own user and members of the socket's
// group, by the credentials the kernel recorded at connect().
func (s *Server) checkPeer(c *net.UnixConn) error {
	cr, err := peerCredentials(c)
	if err != nil {
		return fmt.Errorf("permission denied: cannot read peer credentials: %v", err)
	}
	if cr.uid == 0 || int(cr.uid) == s.uid {
		return nil
	}
	if s.gid >= 0 {
		if int(cr.gid) == s.gid {
			return nil
		}
		for _, g := range cr.groups {
			if int(g) == s.gid {
				return nil
			}
		}
	}
	who := "root"
	if s.uid != 0 {
		who = fmt.Sprintf("root, not the daemon's uid %d,", s.uid)
	}
	if s.gid < 0 {
		return fmt.Errorf("permission denied: uid %d is not %s and the daemon grants no group access (see --socket-group)", cr.uid, who)
	}
	return fmt.Errorf("permission denied: uid %d is not %s and not in group %s", cr.uid, who, s.groupName)
}

// peerCred is what the kernel says about the process at the other end.
type peerCred struct {
	pid, uid, gid uint32
	groups        []uint32 // supplementary groups
}
