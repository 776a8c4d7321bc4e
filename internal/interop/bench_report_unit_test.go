package interop

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchStats(t *testing.T) {
	tests := []struct {
		in          []float64
		med, lo, hi float64
		ok          bool
	}{
		{nil, 0, 0, 0, false},
		{[]float64{5}, 5, 5, 5, true},
		{[]float64{9, 1, 5}, 5, 1, 9, true},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4, true},
	}
	for _, tc := range tests {
		med, lo, hi, ok := stats(tc.in)
		if med != tc.med || lo != tc.lo || hi != tc.hi || ok != tc.ok {
			t.Errorf("stats(%v) = %v %v %v %v, want %v %v %v %v", tc.in, med, lo, hi, ok, tc.med, tc.lo, tc.hi, tc.ok)
		}
	}
}

func TestBenchTableAndChart(t *testing.T) {
	var r benchResults
	r.add("v3-10ms graceful stop", unitMs, keepalived, 30)
	r.add("v3-10ms graceful stop", unitMs, govrrp, 0)
	r.add("v3-10ms graceful stop", unitMs, govrrp, 2)
	r.add("255 master CPU", unitPct, keepalived, 70)
	tab := r.table()
	for _, want := range []string{"30.0 [30.0–30.0] n=1", "1.00 [0.00–2.00] n=2", "255 master CPU"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	path := filepath.Join(t.TempDir(), "c.png")
	if err := r.chartPNG(path, unitMs, unitPct); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 2*260 {
		t.Errorf("chart %v: want two panels", b)
	}
}
