package kaconf

import (
	"strings"
	"testing"
)

// vrrp_instance debug: keepalived 2.2.7 stores the level and never uses it;
// govrrp accepts it with a notice (also under --strict), an out-of-range
// level is keepalived's fallback (the line ignored).
func TestInstanceDebugAcceptedWithNotice(t *testing.T) {
	for _, tt := range []struct {
		line       string
		wantNotice bool
		wantFall   bool
	}{
		{"debug", true, false},
		{"debug 3", true, false},
		{"debug 9", false, true},
	} {
		_, ds, err := buildSrc(t, instanceSrc(tt.line), LoadOptions{Strict: !tt.wantFall})
		if err != nil {
			t.Fatalf("%s: %v", tt.line, err)
		}
		var notice, fall bool
		for _, d := range ds {
			notice = notice || (d.Severity == SevNotice && strings.Contains(d.Msg, "debug has no effect"))
			fall = fall || d.Fallback
		}
		if notice != tt.wantNotice || fall != tt.wantFall {
			t.Errorf("%s: notice %v fallback %v, want %v %v (%v)", tt.line, notice, fall, tt.wantNotice, tt.wantFall, ds)
		}
	}
}
