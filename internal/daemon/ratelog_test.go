package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A flood of bad adverts gives one log line per dropLogEvery, the next one
// carrying how many were not logged; at debug level every drop is logged.
func TestDropLogRateLimited(t *testing.T) {
	var buf bytes.Buffer
	l := &dropLogger{log: slog.New(slog.NewTextHandler(&buf, nil)), attrs: []any{"instance", "VI_1"}}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 10000; i++ { // 10,000 drops over 10 s
		l.dropped(start.Add(time.Duration(i)*time.Millisecond), "192.0.2.66", "checksum")
	}
	l.dropped(start.Add(dropLogEvery), "192.0.2.66", "ttl")
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
		l.dropped(start, "192.0.2.66", "checksum")
	}
	if n := strings.Count(buf.String(), "advert dropped"); n != 3 {
		t.Errorf("debug: %d lines for 3 drops, want 3", n)
	}
}
