package kaconf

import (
	"strings"
	"testing"
)

// enable_dbus and dbus_service_name as keepalived 2.2.7 reads them: a
// missing name is "dbus_service_name missing - ignoring" (keepalived -t),
// so a warning and the default name, never an error.
func TestDBusKeywords(t *testing.T) {
	for _, tc := range []struct {
		body     string
		enabled  bool
		name     string
		warnings int
	}{
		{"# nothing", false, "", 0},
		{"enable_dbus", true, "", 0},
		{"enable_dbus\n    dbus_service_name org.example.Other", true, "org.example.Other", 0},
		{"enable_dbus\n    dbus_service_name", true, "", 1},
		{"enable_dbus yes", true, "", 1}, // keepalived ignores the word too
	} {
		cfg, diags, err := buildSrc(t, "global_defs {\n    "+tc.body+"\n}\n", LoadOptions{})
		if err != nil {
			t.Fatalf("%q: %v", tc.body, err)
		}
		warn := 0
		for _, d := range diags {
			if d.Severity == SevWarning && strings.Contains(d.Msg, "dbus") {
				warn++
			}
		}
		if cfg.Global.EnableDBus != tc.enabled || cfg.Global.DBusServiceName != tc.name || warn != tc.warnings {
			t.Errorf("%q: enable %v name %q warnings %d (%v); want %v %q %d", tc.body, cfg.Global.EnableDBus,
				cfg.Global.DBusServiceName, warn, diags, tc.enabled, tc.name, tc.warnings)
		}
	}
}
