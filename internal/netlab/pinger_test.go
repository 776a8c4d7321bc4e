package netlab

import (
	"testing"
	"time"
)

func TestGaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name string
		r    []PingReply
		want PingGaps
	}{
		{"none", nil, PingGaps{}},
		{"no loss: a slow client is not an outage", []PingReply{{at(0), 1}, {at(2), 2}, {at(30), 3}}, PingGaps{Longest: 28 * time.Millisecond, Replies: 3}},
		{"loss", []PingReply{{at(0), 1}, {at(2), 2}, {at(40), 20}, {at(42), 21}},
			PingGaps{Outage: 38 * time.Millisecond, Longest: 38 * time.Millisecond, Lost: 17, Replies: 4}},
		{"two outages, the longest counts", []PingReply{{at(0), 1}, {at(10), 5}, {at(12), 6}, {at(50), 9}},
			PingGaps{Outage: 38 * time.Millisecond, Longest: 38 * time.Millisecond, Lost: 5, Replies: 4}},
	}
	for _, tc := range tests {
		if got := Gaps(tc.r); got != tc.want {
			t.Errorf("%s: Gaps = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
