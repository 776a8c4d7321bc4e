// Package control is govrrp's local control socket: a unix socket that answers
// one JSON request per connection. `govrrp status` is its client.
package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Status is the answer to the "status" request.
type Status struct {
	Pid       int        `json:"pid"`
	Config    string     `json:"config"`
	StartedAt time.Time  `json:"started_at"`
	Instances []Instance `json:"instances"`
	// Sockets count what each shared socket dropped before any instance
	// saw it: adverts for virtual routers this node does not run.
	Sockets []Socket `json:"sockets,omitempty"`
}

// Socket is one shared interface+family socket.
type Socket struct {
	Interface string            `json:"interface"`
	Family    string            `json:"family"`
	Drops     map[string]uint64 `json:"drops,omitempty"`
}

// Instance is one vrrp_instance as `govrrp status` shows it.
type Instance struct {
	Name              string            `json:"name"`
	Interface         string            `json:"interface"`
	VRID              uint8             `json:"vrid"`
	Version           uint8             `json:"version"`
	Family            string            `json:"family"`
	State             string            `json:"state"`
	Reason            string            `json:"reason,omitempty"`
	Since             time.Time         `json:"since"`
	Priority          uint8             `json:"priority"`
	EffectivePriority uint8             `json:"effective_priority"`
	Master            string            `json:"master,omitempty"`
	Source            string            `json:"source"`
	VIPs              []string          `json:"vips"`
	AdvertsSent       uint64            `json:"adverts_sent"`
	AdvertsReceived   uint64            `json:"adverts_received"`
	Drops             map[string]uint64 `json:"drops,omitempty"`
	Warnings          map[string]uint64 `json:"warnings,omitempty"`
	Transitions       uint64            `json:"transitions"`
	Tracks            []Track           `json:"tracks,omitempty"`
}

// Track is one tracked object of an instance: what was last seen and what it
// does to the instance.
type Track struct {
	// Kind is the keyword the instance tracks it with (track_script,
	// track_interface, track_file, track_process), or "interface" for the
	// instance's own interface.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// State is "ok", "failed", "down", "value N", or "pending" before the
	// first result.
	State  string    `json:"state"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail,omitempty"`
	Method string    `json:"method,omitempty"` // how it is checked: exec, dbus, netlink, inotify, ...
	At     time.Time `json:"at,omitempty"`
	Weight int       `json:"weight"`
	// Effect is what it does now: "+20", "-60", "0", or "FAULT".
	Effect string `json:"effect"`
}

// Provider supplies the daemon's current status.
type Provider interface{ Status() Status }

// Server serves requests on a unix socket.
type Server struct {
	ln   net.Listener
	path string
	p    Provider
}

// Listen opens the control socket at path. A stale socket left by a crashed
// daemon is replaced; a live one is an error.
func Listen(path string, p Provider) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control: %s is in use by another govrrp (give this one its own --socket)", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	os.Chmod(path, 0o660)
	s := &Server{ln: ln, path: path, p: p}
	go s.serve()
	return s, nil
}

// Close stops serving and removes the socket file.
func (s *Server) Close() error {
	err := s.ln.Close()
	os.Remove(s.path)
	return err
}

func (s *Server) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.answer(c)
	}
}

func (s *Server) answer(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && line == "" {
		return
	}
	enc := json.NewEncoder(c)
	switch strings.TrimSpace(line) {
	case "status":
		enc.Encode(s.p.Status())
	default:
		enc.Encode(map[string]string{"error": fmt.Sprintf("unknown request %q", strings.TrimSpace(line))})
	}
}

// ErrNoDaemon means nothing listens on the socket.
var ErrNoDaemon = errors.New("control: no govrrp daemon is listening")

// FetchStatus asks the daemon behind path for its status.
func FetchStatus(path string, timeout time.Duration) (*Status, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return nil, fmt.Errorf("%w on %s (is it running? start it with `systemctl start govrrp`, or pass --socket)", ErrNoDaemon, path)
		}
		if errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("control: permission denied on %s (run as root)", path)
		}
		return nil, fmt.Errorf("control: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("status\n")); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	var st Status
	if err := json.NewDecoder(c).Decode(&st); err != nil {
		return nil, fmt.Errorf("control: bad answer from %s: %w", path, err)
	}
	return &st, nil
}
