package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The wire protocol of the control socket, version 1.
//
// A client connects, writes one request line and reads reply lines:
//
//	-> {"v":1,"cmd":"status"}
//	<- {"v":1,"ok":true,"status":{...}}
//
//	-> {"v":1,"cmd":"reload"}
//	<- {"v":1,"ok":true,"reload":{"changed":[...],"summary":"..."}}
//	<- {"v":1,"ok":false,"error":"...","reload":{"errors":["FILE:LINE:COL: ..."]}}
//
//	-> {"v":1,"cmd":"watch"}
//	<- {"v":1,"ok":true,"status":{...}}   now, then one line per change,
//	<- ...                                  until either side closes
//
// Any request can be answered with {"v":1,"ok":false,"error":"..."} and the
// connection closed: a malformed or oversized request, a version or command
// this daemon does not know, a peer without permission.
//
// The request line is at most MaxRequestBytes long, newline included, and must
// arrive within the server's request timeout. Unknown fields are refused so a
// client never believes an option was honoured that this daemon ignored; a new
// field means a new version.

// Version is the protocol version this package speaks.
const Version = 1

// MaxRequestBytes bounds a request line, newline included. The server reads no
// more than MaxRequestBytes+1 bytes of a request, whatever the client sends.
const MaxRequestBytes = 64 << 10

// Commands of protocol version 1.
const (
	CmdStatus = "status"
	CmdReload = "reload"
	CmdWatch  = "watch"
)

// legacyStatus is the request of govrrp before the versioned protocol: the bare
// line "status\n", answered with the bare Status object (no envelope).
// Deprecated: accepted for one release so an older `govrrp status` can still
// talk to a newer daemon during an upgrade; remove it in the release after.
const legacyStatus = "status"

// Request is one client request.
type Request struct {
	V   int    `json:"v"`
	Cmd string `json:"cmd"`
	// Legacy is set for the old bare "status" line, whose reply is the bare
	// Status object. It is never on the wire.
	Legacy bool `json:"-"`
}

// Reply is one line the server writes.
type Reply struct {
	V      int           `json:"v"`
	OK     bool          `json:"ok"`
	Error  string        `json:"error,omitempty"`
	Status *Status       `json:"status,omitempty"`
	Reload *ReloadResult `json:"reload,omitempty"`
}

// Errors DecodeRequest wraps; the message after the prefix is what the client
// is told.
var (
	ErrBadRequest      = errors.New("control: bad request")
	ErrRequestTooLarge = fmt.Errorf("control: request larger than %d bytes", MaxRequestBytes)
)

// DecodeRequest parses one request line (with or without its newline).
func DecodeRequest(line []byte) (Request, error) {
	if len(line) > MaxRequestBytes {
		return Request{}, ErrRequestTooLarge
	}
	line = bytes.TrimSpace(line)
	if string(line) == legacyStatus {
		return Request{V: Version, Cmd: CmdStatus, Legacy: true}, nil
	}
	if len(line) == 0 || line[0] != '{' {
		return Request{}, fmt.Errorf("%w: want a JSON object like {\"v\":%d,\"cmd\":\"status\"}", ErrBadRequest, Version)
	}
	// First the version alone, so a newer client's request is refused for
	// its version and not for a field this version does not know.
	var probe struct {
		V *int `json:"v"`
	}
	if err := json.NewDecoder(bytes.NewReader(line)).Decode(&probe); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if probe.V == nil {
		return Request{}, fmt.Errorf("%w: missing \"v\" (this daemon speaks protocol version %d)", ErrBadRequest, Version)
	}
	if *probe.V != Version {
		return Request{}, fmt.Errorf("%w: unsupported protocol version %d (this daemon speaks version %d)", ErrBadRequest, *probe.V, Version)
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, fmt.Errorf("%w: one JSON object per line, found more after it", ErrBadRequest)
	}
	switch r.Cmd {
	case CmdStatus, CmdReload, CmdWatch:
		return r, nil
	case "":
		return Request{}, fmt.Errorf("%w: missing \"cmd\" (want status, reload or watch)", ErrBadRequest)
	}
	return Request{}, fmt.Errorf("%w: unknown cmd %q (want status, reload or watch)", ErrBadRequest, r.Cmd)
}

// EncodeRequest is the wire form of r: one JSON line.
func EncodeRequest(r Request) []byte {
	if r.Legacy {
		return []byte(legacyStatus + "\n")
	}
	b, _ := json.Marshal(r) // two plain fields: cannot fail
	return append(b, '\n')
}

// encodeReply is the wire form of a reply: one JSON line. Status and reload
// results are plain data, so Marshal fails only on a bug; the client is told.
func encodeReply(r Reply) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(Reply{V: Version, Error: "control: cannot encode reply: " + err.Error()})
	}
	return append(b, '\n')
}

// errorReply is the reply that carries err's message to the client.
func errorReply(msg string) Reply { return Reply{V: Version, Error: msg} }

// readRequest reads one request line from r, consuming at most
// MaxRequestBytes+1 bytes of it.
func readRequest(r io.Reader) ([]byte, error) {
	lr := io.LimitReader(r, MaxRequestBytes+1)
	var buf []byte
	chunk := make([]byte, 512)
	for {
		n, err := lr.Read(chunk)
		if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
			buf = append(buf, chunk[:i+1]...)
			if len(buf) > MaxRequestBytes {
				return nil, ErrRequestTooLarge
			}
			return buf, nil
		}
		buf = append(buf, chunk[:n]...)
		if len(buf) > MaxRequestBytes {
			return nil, ErrRequestTooLarge
		}
		if err == io.EOF {
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return buf, nil // a client that half-closes instead of writing '\n'
		}
		if err != nil {
			return nil, err
		}
	}
}
