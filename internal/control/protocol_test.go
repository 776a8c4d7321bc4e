package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Request
		wantErr string
	}{
		{in: `{"v":1,"cmd":"status"}`, want: Request{V: 1, Cmd: CmdStatus}},
		{in: `{"v":1,"cmd":"reload"}` + "\r\n", want: Request{V: 1, Cmd: CmdReload}},
		{in: ` {"cmd":"watch", "v":1} ` + "\n", want: Request{V: 1, Cmd: CmdWatch}},
		{in: "status\n", want: Request{V: 1, Cmd: CmdStatus, Legacy: true}},
		{in: "status", want: Request{V: 1, Cmd: CmdStatus, Legacy: true}},
		{in: `{"v":0,"cmd":"status"}`, wantErr: "unsupported protocol version 0 (this daemon speaks version 1)"},
		{in: `{"v":null,"cmd":"status"}`, wantErr: `missing "v"`},
		{in: `{"v":"1","cmd":"status"}`, wantErr: "bad request"},
		{in: `{"v":1.5,"cmd":"status"}`, wantErr: "bad request"},
		{in: `{"v":1,"cmd":"STATUS"}`, wantErr: `unknown cmd "STATUS"`},
		{in: `{"v":1,"cmd":"status","Legacy":true}`, wantErr: `unknown field "Legacy"`},
		{in: `{"v":1,"cmd":"status"} []`, wantErr: "one JSON object per line"},
		{in: `{"v":1,"cmd":"status"`, wantErr: "bad request"},
		{in: `[1]`, wantErr: "want a JSON object"},
		{in: `status please`, wantErr: "want a JSON object"},
		{in: "", wantErr: "want a JSON object"},
		{in: strings.Repeat(" ", MaxRequestBytes+1), wantErr: "larger than"},
	} {
		got, err := DecodeRequest([]byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("DecodeRequest(%.40q) = %+v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("DecodeRequest(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("DecodeRequest(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// FuzzDecodeRequest: decoding never panics; what decodes re-encodes to a line
// that decodes to the same request; every error is a bad request whose reply
// is one valid JSON line.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"v":1,"cmd":"status"}`, `{"v":1,"cmd":"watch"}` + "\n", "status\n", `{"v":2}`, `{"v":1,"cmd":"reload","x":[{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := DecodeRequest(line)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrRequestTooLarge) {
				t.Fatalf("error %v is neither ErrBadRequest nor ErrRequestTooLarge", err)
			}
			rep := encodeReply(errorReply(err.Error()))
			if bytes.IndexByte(rep, '\n') != len(rep)-1 {
				t.Fatalf("error reply is not one line: %q", rep)
			}
			var back Reply
			if err := json.Unmarshal(rep, &back); err != nil || back.OK || back.V != Version {
				t.Fatalf("error reply %q: %v", rep, err)
			}
			return
		}
		if r.V != Version || (r.Cmd != CmdStatus && r.Cmd != CmdReload && r.Cmd != CmdWatch) {
			t.Fatalf("accepted %+v", r)
		}
		enc := EncodeRequest(r)
		if len(enc) > MaxRequestBytes || bytes.IndexByte(enc, '\n') != len(enc)-1 {
			t.Fatalf("EncodeRequest(%+v) = %q", r, enc)
		}
		again, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", enc, err)
		}
		if again != r {
			t.Fatalf("round trip %+v -> %q -> %+v", r, enc, again)
		}
	})
}
