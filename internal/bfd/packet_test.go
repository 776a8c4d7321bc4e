package bfd

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// keepaliveUpPoll is keepalived 2.2.7's packet entering Up with a Poll
// (captured in a netlab pair, tcpdump -X): state Up, P, mult 3, my
// 0x99faceb5, your 0x880c9cbe, 100 ms / 100 ms / echo 0.
const keepalivedUpPoll = "20e0031899faceb5880c9cbe000186a0000186a000000000"

func TestDecodeKeepalivedPacket(t *testing.T) {
	b, _ := hex.DecodeString(keepalivedUpPoll)
	p, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Packet{Version: 1, State: Up, Poll: true, DetectMult: 3, Length: 24, MyDisc: 0x99faceb5,
		YourDisc: 0x880c9cbe, DesiredMinTx: 100 * time.Millisecond, RequiredMinRx: 100 * time.Millisecond}
	if d := cmp.Diff(want, p); d != "" {
		t.Fatalf("decode (-want +got):\n%s", d)
	}
	if got := p.Append(nil); !bytes.Equal(got, b) {
		t.Fatalf("re-encode: %x, want %x", got, b)
	}
}

func TestPacketRoundTrip(t *testing.T) {
	for _, p := range []Packet{
		{State: Down, DetectMult: 5, MyDisc: 1, DesiredMinTx: time.Second, RequiredMinRx: 10 * time.Millisecond},
		{State: Init, Diag: 1, DetectMult: 1, MyDisc: 0xffffffff, YourDisc: 7, Final: true, CPI: true},
		{State: Up, Diag: 31, DetectMult: 255, MyDisc: 9, YourDisc: 9, Poll: true, Demand: true,
			DesiredMinTx: 3312 * time.Microsecond, RequiredMinRx: 0xffffffff * time.Microsecond},
		{State: AdminDown, Diag: 7, DetectMult: 3, MyDisc: 2},
	} {
		p.Version, p.Length = 1, 24
		got, err := Decode(p.Append(nil))
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if d := cmp.Diff(p, got); d != "" {
			t.Errorf("round trip (-want +got):\n%s", d)
		}
	}
}

// TestDecodeDrops covers each session-independent check of RFC 5880 6.8.6.
func TestDecodeDrops(t *testing.T) {
	good := func() []byte {
		p := Packet{State: Up, DetectMult: 3, MyDisc: 1, YourDisc: 2}
		return p.Append(nil)
	}
	for _, tc := range []struct {
		name, reason string
		mut          func([]byte) []byte
	}{
		{"tiny", "short", func(b []byte) []byte { return b[:3] }},
		{"version 0", "bad-version", func(b []byte) []byte { b[0] = 0<<5 | b[0]&0x1f; return b }},
		{"version 2", "bad-version", func(b []byte) []byte { b[0] = 2<<5 | b[0]&0x1f; return b }},
		{"length 23", "bad-length", func(b []byte) []byte { b[3] = 23; return b }},
		{"length beyond payload", "short", func(b []byte) []byte { b[3] = 40; return b }},
		{"truncated", "short", func(b []byte) []byte { return b[:20] }},
		{"auth length 24", "bad-length", func(b []byte) []byte { b[1] |= flagAuth; return b }},
		{"auth", "auth", func(b []byte) []byte { b[1] |= flagAuth; b[3] = 26; return append(b, 1, 2) }},
		{"mult 0", "zero-mult", func(b []byte) []byte { b[2] = 0; return b }},
		{"multipoint", "multipoint", func(b []byte) []byte { b[1] |= flagMultipoint; return b }},
		{"my disc 0", "zero-my-disc", func(b []byte) []byte { copy(b[4:8], []byte{0, 0, 0, 0}); return b }},
		{"your disc 0 in Up", "zero-your-disc", func(b []byte) []byte { copy(b[8:12], []byte{0, 0, 0, 0}); return b }},
	} {
		_, err := Decode(tc.mut(good()))
		if got := Reason(err); err == nil || got != tc.reason {
			t.Errorf("%s: err %v (reason %q), want reason %q", tc.name, err, got, tc.reason)
		}
	}
	// Your Discriminator 0 is fine in Down and AdminDown.
	for _, st := range []State{Down, AdminDown} {
		p := Packet{State: st, DetectMult: 3, MyDisc: 1}
		if _, err := Decode(p.Append(nil)); err != nil {
			t.Errorf("%v with your disc 0: %v", st, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := hex.DecodeString(keepalivedUpPoll)
	f.Add(b)
	f.Add([]byte{0x20, 0x40, 3, 24, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10, 0, 0, 0, 0})
	f.Add([]byte{0x20, 0x44, 3, 26, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10, 0, 0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			if Reason(err) == "other" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Accepted: re-encoding gives the first 24 bytes back except the
		// flags govrrp never sends unless set, which it keeps.
		got := p.Append(nil)
		want := append([]byte(nil), b[:headerLen]...)
		want[3] = headerLen // Length is always written as 24
		if !bytes.Equal(got, want) {
			t.Fatalf("re-encode %x, want %x", got, want)
		}
		q, err := Decode(got)
		p.Length = headerLen
		if err != nil || q != p {
			t.Fatalf("round trip: %+v %v, want %+v", q, err, p)
		}
	})
}

// BenchmarkReceiveGarbage is what one flood packet costs the loop: a
// decode and a counter (a bare Manager, no goroutines).
func BenchmarkReceiveGarbage(b *testing.B) {
	m := &Manager{sessions: map[string]*session{}, byDisc: map[uint32]*session{},
		byPeer: map[netip.Addr][]*session{}, dropped: map[string]uint64{}}
	p := rxPacket{b: []byte("\x20\x40\x03\x18garbage-garbage-garbage!"), src: netip.MustParseAddr("192.0.2.66"),
		at: time.Unix(1, 0)}
	b.ReportAllocs()
	for range b.N {
		m.receive(p)
	}
	if len(m.dropped) == 0 {
		b.Fatal("nothing counted")
	}
}

// Diagnostic names are RFC 5880 4.1's; an undefined code says its number.
func TestDiagName(t *testing.T) {
	for d, want := range map[uint8]string{DiagNone: "no diagnostic", DiagTimeExpired: "control detection time expired",
		DiagNeighborDown: "neighbor signaled session down", DiagAdminDown: "administratively down",
		8: "reverse concatenated path down", 31: "diag 31"} {
		if got := DiagName(d); got != want {
			t.Errorf("DiagName(%d) = %q, want %q", d, got, want)
		}
	}
}
