package procsched

import (
	"io"
	"log/slog"
	"testing"
)

// BenchmarkSweep is one sweeper pass over this process's threads when
// every thread already has the settings (the steady state: 10 per second).
func BenchmarkSweep(b *testing.B) {
	m, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	m.want = m.base.thread
	tids, _ := threads()
	b.ReportMetric(float64(len(tids)), "threads")
	b.ResetTimer()
	for b.Loop() {
		m.mu.Lock()
		m.sweepLocked()
		m.mu.Unlock()
	}
	if m.fixed != 0 {
		b.Fatalf("sweep changed %d threads that already matched", m.fixed)
	}
}
