package control

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// stepReader hands out its data at most step bytes per Read, like a client
// that writes a request in small pieces, and counts what was taken.
type stepReader struct {
	data  []byte
	step  int
	taken int
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.data)
	r.data = r.data[n:]
	r.taken += n
	return n, nil
}

// FuzzReadRequest: readRequest frames exactly the first line, however the
// bytes arrive; a line over MaxRequestBytes (newline included) is refused
// after reading at most MaxRequestBytes+1 bytes; a last line without a
// newline counts when the client half-closes; nothing at all is io.EOF.
// pad puts up to 2*MaxRequestBytes bytes without a newline in front, so the
// fuzzer reaches the limit without having to invent 64 KiB inputs.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(`{"v":1,"cmd":"status"}`+"\n"), uint8(0), uint32(0))
	f.Add([]byte("status\n"), uint8(1), uint32(0))
	f.Add([]byte("no newline"), uint8(3), uint32(0))
	f.Add([]byte("\n"), uint8(255), uint32(MaxRequestBytes-1))
	f.Add([]byte("\n"), uint8(255), uint32(MaxRequestBytes))
	f.Add([]byte("a\nb\n"), uint8(0), uint32(MaxRequestBytes+1))
	f.Add([]byte{}, uint8(7), uint32(0))
	f.Fuzz(func(t *testing.T, tail []byte, step uint8, pad uint32) {
		in := append(bytes.Repeat([]byte{'x'}, int(pad%(2*MaxRequestBytes))), tail...)
		r := &stepReader{data: in, step: int(step) + 1}
		got, err := readRequest(r)
		if r.taken > MaxRequestBytes+1 {
			t.Fatalf("read %d bytes, limit %d", r.taken, MaxRequestBytes+1)
		}
		want, wantErr := firstLine(in)
		if !errors.Is(err, wantErr) || !bytes.Equal(got, want) {
			t.Fatalf("readRequest(%d bytes, step %d) = %d bytes, %v; want %d bytes, %v", len(in), step+1, len(got), err, len(want), wantErr)
		}
	})
}

// firstLine is readRequest's contract written the plain way.
func firstLine(in []byte) ([]byte, error) {
	if len(in) == 0 {
		return nil, io.EOF
	}
	line := in
	if i := bytes.IndexByte(in, '\n'); i >= 0 {
		line = in[:i+1]
	}
	if len(line) > MaxRequestBytes {
		return nil, ErrRequestTooLarge
	}
	return line, nil
}
