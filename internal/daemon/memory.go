package daemon

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// govrrp's garbage-collector default. The Go runtime's (GOGC=100) lets the
// heap grow to twice what is live before collecting; govrrp's live heap is
// small (about 5 MB at 255 instances) and its allocation steady (snapshots,
// netlink replies), so a lower target keeps the resident set near what is
// live at a CPU cost measured in README "Memory". No memory limit is set by
// default: a limit below what a large configuration needs makes the
// collector run without end and delays adverts, which is worse than a few
// MB; GOMEMLIMIT sets one.
const defaultGCPercent = 50

// memorySettings is what setMemoryDefaults did, for the start-up log.
type memorySettings struct {
	GCPercent int    // in effect
	GCFrom    string // "GOGC" (the environment's) or "govrrp default"
}

// setMemoryDefaults applies govrrp's GC default unless the environment sets
// GOGC (the runtime has already read it, and the operator's value wins);
// GOMEMLIMIT is left to the runtime.
func setMemoryDefaults(getenv func(string) string) memorySettings {
	if v := getenv("GOGC"); v != "" {
		prev := debug.SetGCPercent(100) // read the current value back
		debug.SetGCPercent(prev)
		return memorySettings{GCPercent: prev, GCFrom: "GOGC"}
	}
	debug.SetGCPercent(defaultGCPercent)
	return memorySettings{GCPercent: defaultGCPercent, GCFrom: "govrrp default"}
}

// applyMemoryDefaults is the start-up hook (Run).
func applyMemoryDefaults(log *slog.Logger) {
	s := setMemoryDefaults(os.Getenv)
	log.Debug("garbage collector", "gogc", s.GCPercent, "from", s.GCFrom)
}
