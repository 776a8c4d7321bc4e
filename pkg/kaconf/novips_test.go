package kaconf

import (
	"strings"
	"testing"
)

// noVIPSrc is an instance without virtual_ipaddress; extra goes on line 4.
func noVIPSrc(extra string) string {
	return "vrrp_instance VI_1 {\n" +
		"    interface eth0\n" +
		"    virtual_router_id 1\n" +
		"    " + extra + "\n" +
		"}\n"
}

// TestNoVirtualIPAddress: keepalived 2.2.7 runs a v2 instance without VIPs
// with a warning and refuses a v3 one ("at least one is required"), whatever
// no_virtual_ipaddress says (it does not know the word). govrrp: the keyword
// silences the warning and allows the v3 instance, with a notice on its line.
func TestNoVirtualIPAddress(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		wantErr     bool
		want        []string // "SEV LINE substring"
	}{
		{"v2 without keyword", "priority 100", false, []string{"warning 1 no virtual_ipaddress; at least one is recommended"}},
		{"v2 with keyword", "no_virtual_ipaddress", false, []string{"notice 4 keepalived 2.2.7 ignores the keyword as unknown and runs it the same"}},
		{"v3 without keyword", "version 3", true, []string{"error 1 keepalived 2.2.7 refuses a VRRPv3"}},
		{"v3 with keyword", "version 3\n    no_virtual_ipaddress", false, []string{"notice 5 keepalived 2.2.7 does not know the keyword and refuses such an instance"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ds, err := buildSrc(t, noVIPSrc(tc.extra), LoadOptions{})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v; diagnostics:\n%s", err, tc.wantErr, diagLines(ds))
			}
			for _, w := range tc.want {
				f := strings.SplitN(w, " ", 3)
				if !hasDiagText(ds, f[0], f[1], f[2]) {
					t.Errorf("want %s; got:\n%s", w, diagLines(ds))
				}
			}
			if !tc.wantErr && len(cfg.Instances[0].VIPs) != 0 {
				t.Errorf("VIPs = %v, want none", cfg.Instances[0].VIPs)
			}
			for _, u := range cfg.NotActedOn {
				if u.Name == "no_virtual_ipaddress" {
					t.Errorf("no_virtual_ipaddress at %s is still listed as not acted on", u.Pos)
				}
			}
		})
	}
}

// TestNoVirtualIPAddressWithVIPs: the addresses are kept (2.2.7 ignores the
// keyword), with a warning on the keyword's line.
func TestNoVirtualIPAddressWithVIPs(t *testing.T) {
	cfg, ds, err := buildSrc(t, instanceSrc("no_virtual_ipaddress"), LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if got := len(cfg.Instances[0].VIPs); got != 1 {
		t.Errorf("VIPs = %d, want 1", got)
	}
	if !hasDiagText(ds, "warning", "4", "govrrp installs the 1 address(es)") {
		t.Errorf("no warning on line 4:\n%s", diagLines(ds))
	}
}

func hasDiagText(ds []Diagnostic, sev, line, sub string) bool {
	for _, d := range ds {
		if strings.EqualFold(d.Severity.String(), sev) && itoa(int64(d.Pos.Line)) == line && strings.Contains(d.Msg, sub) {
			return true
		}
	}
	return false
}

// TestIssue10InstanceKeywords: native_ipv6 and old_unicast_checksum are
// acted on, with keepalived 2.2.7's readings (checked with keepalived -t and
// on the wire).
func TestIssue10InstanceKeywords(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		family    uint8
		old       string
		diag      []string // "SEV LINE substring"
	}{
		{"native_ipv6 first", "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    native_ipv6\n    virtual_ipaddress {\n        2001:db8::100/64\n    }\n}\n", 6, "", nil},
		{"native_ipv6 after IPv4", "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n    native_ipv6\n}\n", 4, "",
			[]string{"warning 7 native_ipv6 with IPv4 addresses"}},
		{"old_unicast_checksum", uniSrc("old_unicast_checksum"), 4, "old", nil},
		{"old_unicast_checksum never", uniSrc("old_unicast_checksum never"), 4, "never", nil},
		{"old_unicast_checksum bogus", uniSrc("old_unicast_checksum bogus"), 4, "", []string{"warning 4 unknown mode"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ds, err := buildSrc(t, tc.src, LoadOptions{})
			if err != nil {
				t.Fatalf("Build: %v\n%s", err, diagLines(ds))
			}
			in := cfg.Instances[0]
			if in.Family != tc.family || in.OldUnicastChecksum != tc.old {
				t.Errorf("family %d old %q, want %d %q", in.Family, in.OldUnicastChecksum, tc.family, tc.old)
			}
			for _, w := range tc.diag {
				f := strings.SplitN(w, " ", 3)
				if !hasDiagText(ds, f[0], f[1], f[2]) {
					t.Errorf("want %s; got:\n%s", w, diagLines(ds))
				}
			}
			for _, u := range cfg.NotActedOn {
				t.Errorf("not acted on: %s at %s", u.Name, u.Pos)
			}
		})
	}
}

func uniSrc(line string) string {
	return "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    " + line +
		"\n    version 3\n    unicast_peer {\n        192.0.2.2\n    }\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n"
}
