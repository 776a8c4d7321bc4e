package kaconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const trackGroupSrc = `static_ipaddress {
    198.51.100.77/25 dev veth2 track_group TG1
    198.51.100.78/25 dev veth2 track_group NOPE
}
static_routes {
    198.51.100.128/25 via 198.51.100.1 dev veth2 track_group TG1
    198.51.100.0/26 via 192.0.2.1 track_group TG1
}
static_rules {
    from 198.51.100.0/26 table 100 preference 100 iif veth2 track_group TG1
    from 198.51.100.64/26 table 100 preference 101 track_group TG1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        192.0.2.100/24 track_group TG1
    }
    virtual_routes {
        198.51.100.192/26 dev eth0 track_group TG1
    }
}
track_group TG1 {
    group {
        VI_1 VI_9
    }
}
`

// TestTrackGroup: the block and the option on static lines, resolved after
// the whole file (the group is defined last), with keepalived 2.2.7's
// complaints on the same lines (observed with keepalived -t).
func TestTrackGroup(t *testing.T) {
	cfg, ds, err := buildSrc(t, trackGroupSrc, LoadOptions{})
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, diagLines(ds))
	}
	g := cfg.TrackGroups["TG1"]
	if g == nil || !cmp.Equal(g.Group, []string{"VI_1", "VI_9"}) || g.Pos.Line != 23 {
		t.Fatalf("TG1 = %+v, want members VI_1 VI_9 at line 23", g)
	}
	got := []string{cfg.StaticIPAddresses[0].TrackGroup, cfg.StaticIPAddresses[1].TrackGroup,
		cfg.StaticRouteSpecs[0].TrackGroup, cfg.StaticRouteSpecs[1].TrackGroup,
		cfg.StaticRuleSpecs[0].TrackGroup, cfg.StaticRuleSpecs[1].TrackGroup}
	if want := []string{"TG1", "", "TG1", "", "TG1", ""}; !cmp.Equal(got, want) {
		t.Errorf("track groups of the static lines = %q, want %q", got, want)
	}
	if n := len(cfg.Instances[0].VirtualRouteSpecs); n != 0 {
		t.Errorf("virtual route with track_group kept (%d), keepalived skips it", n)
	}
	if n := len(cfg.Instances[0].VIPs); n != 1 {
		t.Errorf("VIPs = %d, want the address kept without the option", n)
	}
	for _, w := range []struct{ sev, line, text string }{
		{"warning", "3", "track_group NOPE not found"},
		{"warning", "7", "static route cannot have track_group if no dev"},
		{"warning", "11", "static rule cannot have track_group if dev/iif is not specified"},
		{"warning", "17", "only static_ipaddress lines take track_group"},
		{"warning", "20", "track_group only applies to static routes and rules"},
		{"warning", "25", "no vrrp_instance VI_9"},
	} {
		if !hasDiagText(ds, w.sev, w.line, w.text) {
			t.Errorf("want a %s on line %s with %q; got:\n%s", w.sev, w.line, w.text, diagLines(ds))
		}
	}
	for _, u := range cfg.NotActedOn {
		t.Errorf("not acted on: %s at %s", u.Name, u.Pos)
	}
	if gs := cfg.TrackGroupsOf("VI_1"); len(gs) != 1 || gs[0] != g {
		t.Errorf("TrackGroupsOf(VI_1) = %v", gs)
	}
}
