package vrrp

import (
	"net/netip"
	"testing"
)

type benchCase struct {
	name string
	a    Advert
	o    MarshalOptions
	meta RecvMeta
}

func benchCases() []benchCase {
	return []benchCase{
		{"v2", advV2(), opt4, meta4},
		{"v3v4", advV3v4(), opt4, meta4},
		{"v3v6", advV3v6(), opt6, meta6},
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			pkt := mustMarshal(b, c.a, c.o)
			a := Advert{Addrs: make([]netip.Addr, 0, 8)}
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if err := a.Unmarshal(pkt, c.o.Family); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			pkt := mustMarshal(b, c.a, c.o)
			l := baseInstances()
			out := Advert{Addrs: make([]netip.Addr, 0, 8)}
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if _, r := Validate(pkt, c.meta, l, &out); r != DropNone {
					b.Fatal(r)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 128)
			a := c.a
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = a.AppendMarshal(buf[:0], c.o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
