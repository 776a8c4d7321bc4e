package snmp

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOIDPrefixCompression(t *testing.T) {
	// RFC 2741 5.1: 1.3.6.1.X.rest is sent as prefix X and the rest.
	w := &writer{}
	w.oid(MustOID("1.3.6.1.2.1.207.1"), true)
	want := []byte{3, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 207, 0, 0, 0, 1}
	if diff := cmp.Diff(want, w.b); diff != "" {
		t.Fatalf("encoding (-want +got):\n%s", diff)
	}
	r := &reader{b: w.b, order: binary.BigEndian}
	o, inc := r.oid()
	if r.err != nil || !inc || o.String() != "1.3.6.1.2.1.207.1" {
		t.Fatalf("decoded %v include=%v err=%v", o, inc, r.err)
	}
}

// A request decodes in either byte order: the master may send little-endian
// PDUs (NETWORK_BYTE_ORDER clear).
func TestDecodeLittleEndianRequest(t *testing.T) {
	le := binary.LittleEndian
	var p []byte
	p = append(p, 2, 0, 0, 0) // n_subid 2, no prefix, include 0
	p = le.AppendUint32(p, 1)
	p = le.AppendUint32(p, 3)
	p = append(p, 0, 0, 0, 0) // null end
	b := []byte{1, pduGetNext, 0, 0}
	b = le.AppendUint32(b, 7) // session
	b = le.AppendUint32(b, 8) // transaction
	b = le.AppendUint32(b, 9) // packet
	b = le.AppendUint32(b, uint32(len(p)))
	got, err := decodePDU(append(b, p...))
	if err != nil {
		t.Fatal(err)
	}
	if got.SessionID != 7 || got.TransID != 8 || got.PacketID != 9 || len(got.Ranges) != 1 || got.Ranges[0].Start.String() != "1.3" {
		t.Fatalf("decoded %+v", got)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	vbs := []VarBind{
		{Name: MustOID("1.3.6.1.2.1.207.1.1.1.1.6.3.51.1"), Value: Integer(-3)},
		{Name: MustOID("1.3.6.1.2.1.207.1.1.1.1.5.3.51.1"), Value: Octets([]byte{0x46, 0xc1, 0x3e})},
		{Name: MustOID("1.3.6.1.2.1.207.1.2.1.0"), Value: Counter64(1 << 40)},
		{Name: MustOID("1.3.6.1.2.1.68.1.3.1.8.3.53"), Value: IPAddress([4]byte{192, 0, 2, 1})},
		{Name: MustOID("1.3.6.1.2.1.1.3.0"), Value: TimeTicks(1261)},
		{Name: MustOID("1.3.6.1.6.3.1.1.4.1.0"), Value: ObjectID(MustOID("1.3.6.1.2.1.207.0.1"))},
		{Name: MustOID("1.3.6.1.2.1.68.9"), Value: Value{Type: typeEndOfView}},
	}
	b := encodeResponse(header{SessionID: 1, TransID: 2, PacketID: 3}, 10, 0, 0, vbs)
	p, err := decodePDU(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != pduResponse || p.SessionID != 1 || p.TransID != 2 || p.PacketID != 3 {
		t.Fatalf("header %+v", p.header)
	}
	if diff := cmp.Diff(vbs, p.VarBinds); diff != "" {
		t.Fatalf("varbinds (-want +got):\n%s", diff)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := encodeRequest(pduGet, 1, 1, 0, 0, []searchRange{{Start: MustOID("1.3.6.1.2.1.207.1")}})
	for name, b := range map[string][]byte{
		"short header":    good[:10],
		"short payload":   good[:len(good)-4],
		"version 2":       append([]byte{2}, good[1:]...),
		"huge length":     append(append([]byte{}, good[:16]...), 0x7f, 0xff, 0xff, 0xfc),
		"unaligned":       append(append([]byte{}, good[:16]...), 0, 0, 0, 3),
		"too many subids": append(append(append([]byte{}, good[:16]...), 0, 0, 0, 4), 200, 0, 0, 0),
	} {
		if _, err := decodePDU(b); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err %v, want errMalformed", name, err)
		}
	}
}

// FuzzDecode: decoding never panics; the subagent's answer to whatever
// decodes is itself a valid PDU; a request re-encodes to a PDU that decodes
// to the same ranges.
func FuzzDecode(f *testing.F) {
	f.Add(encodeRequest(pduGet, 1, 2, 0, 0, []searchRange{{Start: MustOID("1.3.6.1.2.1.207.1.1.1.1.3.3.51.1")}}))
	f.Add(encodeRequest(pduGetNext, 1, 2, 0, 0, []searchRange{{Start: MustOID("1.3.6.1.2.1.68"), Include: true, End: MustOID("1.3.6.1.2.1.69")}}))
	f.Add(encodeRequest(pduGetBulk, 1, 2, 1, 10, []searchRange{{Start: MustOID("1.3.6.1.2.1.1.3")}, {Start: MustOID("1.3.6.1.2.1.207")}}))
	f.Add(encodeResponse(header{SessionID: 4}, 0, 0, 0, []VarBind{{Name: MustOID("1.3.6.1.2.1.207.1.2.1.0"), Value: Counter64(5)}}))
	f.Add(encodeNotify(4, 5, []VarBind{{Name: MustOID("1.3.6.1.6.3.1.1.4.1.0"), Value: ObjectID(MustOID("1.3.6.1.2.1.207.0.1"))}}))
	f.Add(encodeClose(4, 5, 5))
	a := &Agent{cfg: Config{View: testTree}, log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePDU(b)
		if err != nil {
			return
		}
		// Whatever the master sends, the answer is a PDU that decodes.
		if out := a.answer(p); out != nil {
			if _, err := decodePDU(out); err != nil {
				t.Fatalf("answer to type %d does not decode: %v", p.Type, err)
			}
		}
		if p.Type != pduGet && p.Type != pduGetNext && p.Type != pduGetBulk {
			return
		}
		q, err := decodePDU(encodeRequest(p.Type, p.SessionID, p.PacketID, p.NonRep, p.MaxRep, p.Ranges))
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if diff := cmp.Diff(norm(p.Ranges), norm(q.Ranges)); diff != "" {
			t.Fatalf("ranges changed (-first +second):\n%s", diff)
		}
	})
}

// norm makes empty OIDs comparable (nil and empty are both the null OID).
func norm(rs []searchRange) []searchRange {
	out := make([]searchRange, len(rs))
	for i, r := range rs {
		out[i] = searchRange{Start: append(OID{}, r.Start...), Include: r.Include, End: append(OID{}, r.End...)}
	}
	return out
}
