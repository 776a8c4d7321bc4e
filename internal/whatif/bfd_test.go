package whatif

import (
	"slices"
	"testing"
)

// track_bfd is simulated like the other tracks (it used to skip the whole
// router): a session going down applies the track_bfd weight, and weight 0
// is FAULT; "weight -60 reverse" counts +60 while down (keepalived 2.2.7's
// rule for bfd_instance weights, internal/track/weights), so a's session
// going down moves nothing.
func TestTrackBFD(t *testing.T) {
	top := "bfd_instance s {\n    neighbor_ip 192.0.2.99\n}\n"
	for _, tc := range []struct {
		track  string
		effect string
		moved  bool
	}{
		{"s weight -60", "150→90", true},
		{"s", "FAULT", true},
		{"s weight -60 reverse", "150→210", false},
	} {
		a := node{name: "a", state: "MASTER", priority: 150, top: top, extra: "    track_bfd {\n        " + tc.track + "\n    }\n"}
		b := node{name: "b", priority: 100}
		rep := analyze(t, a, b)
		if got := rep.Routers[0].HeldBy; !slices.Equal(got, []string{"a"}) {
			t.Fatalf("%s: held by %v, want a", tc.track, got)
		}
		if o := only(t, failure(t, rep, "a", "track_bfd")); o.Effect != tc.effect || o.Moved != tc.moved {
			t.Errorf("%s: %+v, want effect %s, moved %v", tc.track, o, tc.effect, tc.moved)
		}
	}
}
