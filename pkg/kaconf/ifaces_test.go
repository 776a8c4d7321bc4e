package kaconf

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// interface_up_down_delays: DOWN [UP] in seconds (µs resolution), UP
// defaulting to DOWN, at most 255 s; a bad line is skipped with a warning.
func TestIfaceDelaysBlock(t *testing.T) {
	src := `interface_up_down_delays {
    eth0 1.5 0.25
    eth1 2
    eth2 0.00001
    eth3 300
    eth4 x
    eth5 1 2 3
}
` + instanceSrc("")
	cfg, diags, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]time.Duration{}
	for n, d := range cfg.Ifaces.Delays {
		got[n] = [2]time.Duration{d.Down, d.Up}
	}
	want := map[string][2]time.Duration{"eth0": {1500 * time.Millisecond, 250 * time.Millisecond}, "eth1": {2 * time.Second, 2 * time.Second},
		"eth2": {10 * time.Microsecond, 10 * time.Microsecond}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}
	if w := diagStrings(diags, SevWarning); len(w) != 3 {
		t.Errorf("warnings = %q, want one per bad line (eth3, eth4, eth5)", w)
	}
}

// linkbeat_interfaces: IF [MII|ETHTOOL|IOCTL]; top-level
// linkbeat_use_polling polls everything; the instance keyword its interface.
func TestLinkbeatBlock(t *testing.T) {
	src := "linkbeat_interfaces {\n    eth0\n    eth1 ethtool\n    eth2 BOGUS\n}\n" + instanceSrc("linkbeat_use_polling")
	cfg, diags, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"eth0": "", "eth1": "ETHTOOL"} {
		if lb, ok := cfg.Ifaces.Polled(name); !ok || lb.Type != want {
			t.Errorf("Polled(%s) = %+v, %v; want type %q", name, lb, ok, want)
		}
	}
	if _, ok := cfg.Ifaces.Polled("eth2"); ok {
		t.Errorf("eth2 with a bad type is polled; want the line skipped")
	}
	if !cfg.Instances[0].LinkbeatUsePolling {
		t.Errorf("instance linkbeat_use_polling not set")
	}
	if w := diagStrings(diags, SevWarning); len(w) != 2 { // BOGUS, and the deprecated instance keyword
		t.Errorf("warnings = %q", w)
	}
	cfg, _, _ = buildSrc(t, "linkbeat_use_polling\n"+instanceSrc(""), LoadOptions{})
	if _, ok := cfg.Ifaces.Polled("anything"); !ok {
		t.Errorf("top-level linkbeat_use_polling does not poll every interface")
	}
}
