package daemon

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gcPercent reads the collector's target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestMemoryDefaults: govrrp sets its GOGC default only when the
// environment does not set GOGC, whose value the runtime has applied.
func TestMemoryDefaults(t *testing.T) {
	orig := gcPercent()
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	for _, tt := range []struct {
		name    string
		env     map[string]string
		running int // the runtime's value before the call (as from GOGC)
		want    memorySettings
	}{
		{name: "no GOGC: govrrp's default", running: 100, want: memorySettings{GCPercent: defaultGCPercent, GCFrom: "govrrp default"}},
		{name: "GOGC set: left as the runtime read it", env: map[string]string{"GOGC": "200"}, running: 200, want: memorySettings{GCPercent: 200, GCFrom: "GOGC"}},
		{name: "GOGC=off: left off", env: map[string]string{"GOGC": "off"}, running: -1, want: memorySettings{GCPercent: -1, GCFrom: "GOGC"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(tt.running)
			got := setMemoryDefaults(func(k string) string { return tt.env[k] })
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("setMemoryDefaults (-want +got):\n%s", d)
			}
			if p := gcPercent(); p != tt.want.GCPercent {
				t.Errorf("runtime GOGC after the call = %d, want %d", p, tt.want.GCPercent)
			}
		})
	}
}
