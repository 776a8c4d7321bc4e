package daemon

import (
	"bytes"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var dropSrc = netip.MustParseAddr("192.0.2.66")

// A flood of bad adverts gives one log line per dropLogEvery, the next one
// carrying how many were not logged; at debug level every drop is logged.
func TestDropLogRateLimited(t *testing.T) {
	var buf bytes.Buffer
	l := &dropLogger{log: slog.New(slog.NewTextHandler(&buf, nil)), attrs: []any{"instance", "VI_1"}}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 10000; i++ { // 10,000 drops over 10 s
		l.dropped(start.Add(time.Duration(i)*time.Millisecond), dropSrc, "checksum")
	}
	l.dropped(start.Add(dropLogEvery), dropSrc, "ttl")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines for 10,001 drops, want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], "reason=ttl") || !strings.Contains(lines[1], "more_dropped_since_last_line=9999") {
		t.Errorf("second line %q, want the ttl drop with the 9999 suppressed", lines[1])
	}

	buf.Reset()
	l = &dropLogger{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for i := 0; i < 3; i++ {
		l.dropped(start, dropSrc, "checksum")
	}
	if n := strings.Count(buf.String(), "advert dropped"); n != 3 {
		t.Errorf("debug: %d lines for 3 drops, want 3", n)
	}
}

// A suppressed drop allocates nothing: the flood test (internal/interop)
// sends 10,000 bad adverts a second through this path.
func TestDropLogSuppressedDoesNotAllocate(t *testing.T) {
	l := &dropLogger{log: slog.New(slog.NewTextHandler(io.Discard, nil)), attrs: []any{"instance", "VI_1"}}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	l.dropped(now, dropSrc, "checksum") // the one logged line
	if n := testing.AllocsPerRun(1000, func() { l.dropped(now, dropSrc, "checksum") }); n != 0 {
		t.Errorf("suppressed drop: %v allocations, want 0", n)
	}
}
