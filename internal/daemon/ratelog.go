package daemon

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// dropLogEvery bounds how often one receiver logs dropped adverts: a flood of
// bad packets (10,000/s) gives one line per interval with the count, while
// the counters and metrics see every one.
const dropLogEvery = 10 * time.Second

// dropLogger logs dropped adverts for one receiver, rate-limited. It belongs
// to the socket reader goroutine that runs the receiver; no locking.
type dropLogger struct {
	log        *slog.Logger
	attrs      []any // who drops: instance or interface
	last       time.Time
	suppressed int
}

// dropped logs the drop now if the last line is older than dropLogEvery
// (at Debug every drop is logged), else counts it for the next line. from is
// typed, not any: boxing it cost 32 bytes per dropped packet under a flood.
func (l *dropLogger) dropped(now time.Time, from netip.Addr, reason string) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("advert dropped", append(l.attrs, "from", from, "reason", reason)...)
		return
	}
	if !l.last.IsZero() && now.Sub(l.last) < dropLogEvery {
		l.suppressed++
		return
	}
	args := append(l.attrs, "from", from, "reason", reason)
	if l.suppressed > 0 {
		args = append(args, "more_dropped_since_last_line", l.suppressed)
	}
	l.log.Warn("advert dropped (further drops logged at most every 10s; all are counted in status and metrics)", args...)
	l.last, l.suppressed = now, 0
}
