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
	"os/user"
	"strconv"
	"syscall"
	"time"
)

// Client-side errors. Each is wrapped with the socket path and a one-line
// hint for the operator.
var (
	// ErrNoDaemon means nothing listens on the socket.
	ErrNoDaemon = errors.New("control: no govrrp daemon is listening")
	// ErrPermission means connect() itself was refused by the socket's mode.
	ErrPermission = errors.New("control: permission denied")
	// ErrRejected means the daemon refused the new configuration and kept
	// the old one; the ReloadResult holds the FILE:LINE:COL errors.
	ErrRejected = errors.New("control: new configuration rejected")
)

// RemoteError is an error the daemon answered with.
type RemoteError struct {
	Msg      string
	rejected bool
}

func (e *RemoteError) Error() string {
	return "control: " + e.Msg
}

// Is makes errors.Is(err, ErrRejected) true for a rejected reload.
func (e *RemoteError) Is(target error) bool { return target == ErrRejected && e.rejected }

// maxReplyBytes bounds one reply line the client reads.
const maxReplyBytes = 64 << 20

// FetchStatus asks the daemon behind path for its status.
func FetchStatus(path string, timeout time.Duration) (*Status, error) {
	rep, err := roundTrip(path, timeout, Request{V: Version, Cmd: CmdStatus})
	if err != nil {
		return nil, err
	}
	if rep.V == 0 {
		// A daemon from before the versioned protocol (it answered
		// {"error":"unknown request ..."}): ask it the old way.
		return fetchLegacyStatus(path, timeout)
	}
	if !rep.OK {
		return nil, &RemoteError{Msg: rep.Error}
	}
	if rep.Status == nil {
		return nil, fmt.Errorf("control: bad answer from %s: no status", path)
	}
	return rep.Status, nil
}

func fetchLegacyStatus(path string, timeout time.Duration) (*Status, error) {
	line, err := exchange(path, timeout, Request{Legacy: true})
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(line, &st); err != nil {
		return nil, fmt.Errorf("control: bad answer from %s: %w", path, err)
	}
	return &st, nil
}

// Reload asks the daemon behind path to reload its configuration and waits
// up to timeout for the answer. A rejected file returns the result with its
// Errors and an error that errors.Is ErrRejected.
func Reload(path string, timeout time.Duration) (*ReloadResult, error) {
	rep, err := roundTrip(path, timeout, Request{V: Version, Cmd: CmdReload})
	if err != nil {
		return nil, err
	}
	if rep.V == 0 {
		return nil, &RemoteError{Msg: fmt.Sprintf("the daemon on %s is an older govrrp that cannot reload over the socket; send it SIGHUP", path)}
	}
	res := rep.Reload
	if res == nil {
		res = &ReloadResult{}
	}
	if !rep.OK {
		return res, &RemoteError{Msg: rep.Error, rejected: len(res.Errors) > 0}
	}
	return res, nil
}

// Watch streams the daemon's status: fn is called with the status now and
// after every change, until ctx is done (Watch returns nil), fn returns an
// error (returned), or the daemon goes away. timeout bounds connecting and
// sending the request, not the wait between changes.
func Watch(ctx context.Context, path string, timeout time.Duration, fn func(*Status) error) error {
	c, err := dial(path, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write(EncodeRequest(Request{V: Version, Cmd: CmdWatch})); err != nil {
		return clientErr(ctx, path, err)
	}
	br := bufio.NewReader(c)
	for {
		line, err := readLine(br)
		if err != nil {
			return clientErr(ctx, path, err)
		}
		rep, err := decodeReply(path, line)
		if err != nil {
			return err
		}
		if rep.V == 0 {
			return &RemoteError{Msg: fmt.Sprintf("the daemon on %s is an older govrrp that cannot stream changes; restart it", path)}
		}
		if !rep.OK {
			return &RemoteError{Msg: rep.Error}
		}
		if rep.Status == nil {
			return fmt.Errorf("control: bad answer from %s: no status", path)
		}
		if err := fn(rep.Status); err != nil {
			return err
		}
	}
}

func clientErr(ctx context.Context, path string, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w on %s any more (it closed the connection)", ErrNoDaemon, path)
	}
	return fmt.Errorf("control: %s: %w", path, err)
}

// roundTrip sends one request and decodes the one reply line.
func roundTrip(path string, timeout time.Duration, req Request) (Reply, error) {
	line, err := exchange(path, timeout, req)
	if err != nil {
		return Reply{}, err
	}
	return decodeReply(path, line)
}

func decodeReply(path string, line []byte) (Reply, error) {
	var rep Reply
	if err := json.Unmarshal(line, &rep); err != nil {
		return Reply{}, fmt.Errorf("control: bad answer from %s: %w", path, err)
	}
	if rep.V != 0 && rep.V != Version {
		return Reply{}, fmt.Errorf("control: the daemon on %s speaks protocol version %d, this govrrp speaks %d", path, rep.V, Version)
	}
	return rep, nil
}

// exchange connects, writes req and reads one reply line, all within timeout.
func exchange(path string, timeout time.Duration, req Request) ([]byte, error) {
	c, err := dial(path, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(EncodeRequest(req)); err != nil {
		// The daemon may have refused us before reading; its reply says why.
		if line, rerr := readLine(bufio.NewReader(c)); rerr == nil {
			return line, nil
		}
		return nil, fmt.Errorf("control: %s: %w", path, err)
	}
	line, err := readLine(bufio.NewReader(c))
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("control: %s closed the connection without an answer", path)
		}
		return nil, fmt.Errorf("control: %s: %w", path, err)
	}
	return line, nil
}

// readLine reads one reply line of at most maxReplyBytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxReplyBytes {
			return nil, fmt.Errorf("reply larger than %d bytes", maxReplyBytes)
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}

// dial connects to the control socket, turning the usual failures into
// one-line hints. A full accept backlog (EAGAIN) is retried until timeout.
func dial(path string, timeout time.Duration) (*net.UnixConn, error) {
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		d := net.Dialer{Deadline: deadline}
		c, err := d.Dial("unix", path)
		if err == nil {
			return c.(*net.UnixConn), nil
		}
		switch {
		case errors.Is(err, syscall.EAGAIN) && time.Now().Add(wait).Before(deadline):
			time.Sleep(wait)
			wait = min(2*wait, 100*time.Millisecond)
			continue
		case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT):
			return nil, fmt.Errorf("%w on %s (is it running? start it with `systemctl start govrrp`, or pass --socket)", ErrNoDaemon, path)
		case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
			return nil, fmt.Errorf("%w on %s: %s", ErrPermission, path, permissionHint(path))
		}
		return nil, fmt.Errorf("control: %w", err)
	}
}

// permissionHint names the group that may use the socket, if it has one.
func permissionHint(path string) string {
	fi, err := os.Stat(path)
	if err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Gid != 0 && fi.Mode().Perm()&0o020 != 0 {
			name := strconv.FormatUint(uint64(st.Gid), 10)
			if g, err := user.LookupGroupId(name); err == nil {
				name = g.Name
			}
			return "run as root or join group " + name
		}
	}
	return "run as root (or start the daemon with --socket-group GROUP and join that group)"
}
