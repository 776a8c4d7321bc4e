package mail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Errors of a session, wrapped with the step that failed; Stats counts by
// them.
var (
	ErrConnect  = errors.New("mail: connect")
	ErrProtocol = errors.New("mail: server refused")
	ErrIO       = errors.New("mail: i/o")
)

// maxReplyLines bounds a multi-line SMTP reply ("250-..." continuation
// lines); a server that sends more is broken or hostile.
const maxReplyLines = 64

// maxReplyLen bounds one reply line (RFC 5321 4.5.3.1.5: 512 octets).
const maxReplyLen = 1024

// session is one SMTP conversation, keepalived's: HELO (not EHLO), MAIL,
// one RCPT per recipient, DATA, QUIT. Every read and write gets its own
// deadline of timeout.
type session struct {
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// deliver sends one message. data is Format's output.
func deliver(ctx context.Context, dial DialFunc, s Settings, data []byte) error {
	dctx, cancel := context.WithTimeout(ctx, s.ConnectTimeout)
	c, err := dial(dctx, "tcp", s.Server)
	cancel()
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrConnect, s.Server, err)
	}
	defer c.Close()
	// A Close from another goroutine ends a session stuck in I/O when
	// ctx ends (Sender.Close's deadline).
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	ss := &session{c: c, r: bufio.NewReaderSize(c, maxReplyLen), timeout: s.ConnectTimeout}
	if err := ss.expect("greeting", 220); err != nil {
		return err
	}
	steps := []struct {
		cmd  string
		want int
	}{{"HELO " + s.Helo, 250}, {"MAIL FROM:<" + s.From + ">", 250}}
	for _, to := range s.To {
		steps = append(steps, struct {
			cmd  string
			want int
		}{"RCPT TO:<" + to + ">", 250})
	}
	for _, st := range steps {
		if err := ss.command(st.cmd, st.want); err != nil {
			return err
		}
	}
	if err := ss.command("DATA", 354); err != nil {
		return err
	}
	if err := ss.write(append(data, ".\r\n"...)); err != nil {
		return err
	}
	if err := ss.expect("end of data", 250); err != nil {
		return err
	}
	_ = ss.command("QUIT", 221) // the mail is accepted already
	return nil
}

func (ss *session) write(b []byte) error {
	_ = ss.c.SetWriteDeadline(time.Now().Add(ss.timeout))
	if _, err := ss.c.Write(b); err != nil {
		return fmt.Errorf("%w: write: %w", ErrIO, err)
	}
	return nil
}

func (ss *session) command(cmd string, want int) error {
	if err := ss.write([]byte(cmd + "\r\n")); err != nil {
		return err
	}
	verb, _, _ := strings.Cut(cmd, ":")
	verb, _, _ = strings.Cut(verb, " ")
	return ss.expect(verb, want)
}

// expect reads one reply (all its lines) and wants its code to be want, or
// any 2xx when want is 250 (RCPT's 251 "will forward" is success).
func (ss *session) expect(step string, want int) error {
	_ = ss.c.SetReadDeadline(time.Now().Add(ss.timeout))
	for n := 0; n < maxReplyLines; n++ {
		line, err := ss.r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrIO, step, err)
		}
		text := strings.TrimRight(string(line), "\r\n")
		if len(text) < 3 {
			return fmt.Errorf("%w: %s: malformed reply %q", ErrProtocol, step, text)
		}
		code, err := strconv.Atoi(text[:3])
		if err != nil {
			return fmt.Errorf("%w: %s: malformed reply %q", ErrProtocol, step, text)
		}
		if len(text) > 3 && text[3] == '-' {
			continue // continuation line
		}
		if code == want || (want == 250 && code/100 == 2) {
			return nil
		}
		return fmt.Errorf("%w: %s: %q", ErrProtocol, step, text)
	}
	return fmt.Errorf("%w: %s: reply longer than %d lines", ErrProtocol, step, maxReplyLines)
}
