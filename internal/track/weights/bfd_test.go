package weights

import (
	"testing"

	"github.com/govrrp/govrrp/internal/track"
)

// track_bfd: reverse negates the weight (keepalived.conf(5) bfd_instance
// "weight": "the priority is decreased when up and increased when down";
// keepalived 2.2.7 starts "weight -20 reverse" on a down session at +20).
func TestBFDEffect(t *testing.T) {
	up := track.Result{Kind: track.KindBFD, Name: "b", OK: true}
	down := track.Result{Kind: track.KindBFD, Name: "b"}
	use := func(w int, rev bool) Use { return Use{Key: Key{track.KindBFD, "b"}, Weight: w, Reverse: rev} }
	for _, tc := range []struct {
		name  string
		u     Use
		r     track.Result
		delta int
		fault bool
	}{
		{"weight 0 down: FAULT", use(0, false), down, 0, true},
		{"weight 0 up", use(0, false), up, 0, false},
		{"weight 0 reverse up: FAULT", use(0, true), up, 0, true},
		{"weight 0 reverse down", use(0, true), down, 0, false},
		{"positive: added while up", use(20, false), up, 20, false},
		{"positive: nothing while down", use(20, false), down, 0, false},
		{"negative: subtracted while down", use(-20, false), down, -20, false},
		{"negative: nothing while up", use(-20, false), up, 0, false},
		{"positive reverse: subtracted while up", use(20, true), up, -20, false},
		{"positive reverse: nothing while down", use(20, true), down, 0, false},
		{"negative reverse: added while down", use(-20, true), down, 20, false},
		{"negative reverse: nothing while up", use(-20, true), up, 0, false},
	} {
		d, f := Effect(tc.u, tc.r)
		if d != tc.delta || f != tc.fault {
			t.Errorf("%s: Effect = %d, %v; want %d, %v", tc.name, d, f, tc.delta, tc.fault)
		}
	}
}
