package weights

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// keepalived's weight rules, one row each (keepalived.conf(5), track_* and
// track_file sections).
func TestEffect(t *testing.T) {
	script := func(w int, rev bool) Use {
		return Use{Key: Key{track.KindScript, "s"}, Weight: w, Reverse: rev}
	}
	file := func(w int, rev bool) Use {
		return Use{Key: Key{track.KindFile, "f"}, Weight: w, Reverse: rev}
	}
	up, down := track.Result{OK: true}, track.Result{OK: false}
	val := func(v int) track.Result { return track.Result{OK: true, Value: v} }
	type want struct {
		Delta int
		Fault bool
	}
	tests := []struct {
		name string
		use  Use
		res  track.Result
		want want
	}{
		{"weight 0 up", script(0, false), up, want{0, false}},
		{"weight 0 down: FAULT", script(0, false), down, want{0, true}},
		{"weight 0 reverse up: FAULT", script(0, true), up, want{0, true}},
		{"weight 0 reverse down", script(0, true), down, want{0, false}},
		{"positive weight added while up", script(20, false), up, want{20, false}},
		{"positive weight nothing while down", script(20, false), down, want{0, false}},
		{"negative weight nothing while up", script(-60, false), up, want{0, false}},
		{"negative weight subtracted while down", script(-60, false), down, want{-60, false}},
		// keepalived 2.2.7 (observed, "Changing effective priority"):
		// reverse negates the weight; its sign still says when it counts.
		{"positive reverse: subtracted while up", script(7, true), up, want{-7, false}},
		{"positive reverse: nothing while down", script(20, true), down, want{0, false}},
		{"negative reverse: added while down", script(-20, true), down, want{20, false}},
		{"negative reverse: nothing while up", script(-30, true), up, want{0, false}},
		{"interface positive reverse: subtracted while up", Use{Key: Key{track.KindInterface, "rb"}, Weight: 10, Reverse: true}, up, want{-10, false}},
		{"interface negative reverse: added while down", Use{Key: Key{track.KindInterface, "rc"}, Weight: -15, Reverse: true}, down, want{15, false}},
		{"interface positive reverse: nothing while down", Use{Key: Key{track.KindInterface, "rc"}, Weight: 15, Reverse: true}, down, want{0, false}},
		{"own interface down: FAULT", Use{Key: Key{track.KindInterface, "eth0"}, Primary: true}, down, want{0, true}},
		{"own interface up", Use{Key: Key{track.KindInterface, "eth0"}, Primary: true}, up, want{0, false}},
		{"file weight 0, zero: ok", file(0, false), val(0), want{0, false}},
		{"file weight 0, non-zero: FAULT", file(0, false), val(3), want{0, true}},
		{"file value times weight", file(-2, false), val(30), want{-60, false}},
		{"file reverse negates", file(2, true), val(30), want{-60, false}},
		{"file negative value", file(1, false), val(-40), want{-40, false}},
		{"file below -253: FAULT", file(1, false), val(-254), want{0, true}},
		{"file -253 is a weight", file(1, false), val(-253), want{-253, false}},
		{"file above 253 is clamped", file(10, false), val(100), want{253, false}},
		{"unreadable file counts as 0", file(5, false), track.Result{OK: false, Value: 9}, want{0, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, f := Effect(tc.use, tc.res)
			if diff := cmp.Diff(tc.want, want{d, f}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPendingFaults(t *testing.T) {
	tests := []struct {
		use  Use
		want bool
	}{
		{Use{Key: Key{track.KindScript, "s"}}, true},
		{Use{Key: Key{track.KindScript, "s"}, Reverse: true}, false},
		{Use{Key: Key{track.KindScript, "s"}, Weight: -10}, false},
		{Use{Key: Key{track.KindFile, "f"}}, false},
	}
	for _, tc := range tests {
		if got := PendingFaults(tc.use); got != tc.want {
			t.Errorf("PendingFaults(%+v) = %v, want %v", tc.use, got, tc.want)
		}
	}
}

// Uses: own interface first unless dont_track_primary, the source address
// with track_src_ip, then the track_* blocks in keyword order.
func TestUses(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.1")
	p := kaconf.Pos{File: "a.conf", Line: 7, Col: 9}
	c := &kaconf.Instance{
		TrackSrcIP:      true,
		TrackInterfaces: []kaconf.TrackRef{{Name: "eth1", Weight: -20}},
		TrackScripts:    []kaconf.TrackRef{{Name: "chk", Weight: -60, Pos: p}},
		TrackFiles:      []kaconf.TrackRef{{Name: "f", Weight: 2, Reverse: true}},
		TrackProcesses:  []kaconf.TrackRef{{Name: "nginx"}},
	}
	want := []Use{
		{Key: Key{track.KindInterface, "eth0"}, Primary: true},
		{Key: Key{track.KindInterface, "addr:192.0.2.1"}, Primary: true},
		{Key: Key{track.KindInterface, "eth1"}, Weight: -20},
		{Key: Key{track.KindScript, "chk"}, Weight: -60, Pos: p},
		{Key: Key{track.KindFile, "f"}, Weight: 2, Reverse: true},
		{Key: Key{track.KindProcess, "nginx"}},
	}
	if diff := cmp.Diff(want, Uses(c, "eth0", src)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	c.DontTrackPrimary, c.TrackSrcIP = true, false
	if got := Uses(c, "eth0", src); len(got) != 4 || got[0].Primary {
		t.Errorf("dont_track_primary: got %+v, want the four track_* uses only", got)
	}
}

// A member gets its group's tracks with the group's weights; an instance in
// no group gets none.
func TestGroupUses(t *testing.T) {
	cfg := &kaconf.Config{SyncGroups: []*kaconf.SyncGroup{{
		Name: "G", Group: []string{"VI_1", "VI_2"},
		TrackInterfaces: []kaconf.TrackRef{{Name: "eth2", Weight: -20}},
		TrackScripts:    []kaconf.TrackRef{{Name: "chk", Weight: 0, Reverse: true}},
	}}}
	got := GroupUses(cfg, "VI_2")
	want := []Use{
		{Key: Key{track.KindInterface, "eth2"}, Weight: -20},
		{Key: Key{track.KindScript, "chk"}, Reverse: true},
	}
	if len(got) != len(want) {
		t.Fatalf("GroupUses = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("use %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if u := GroupUses(cfg, "VI_3"); u != nil {
		t.Errorf("an instance in no group got %+v", u)
	}
}
