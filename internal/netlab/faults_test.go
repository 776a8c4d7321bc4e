package netlab

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// pingStats is ping's summary line: transmitted, received, duplicates.
type pingStats struct{ sent, got, dups int }

var pingSummaryRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?`)

// pingFrom runs `ping -c n -i 0.01` from h to dst and parses the summary
// (a non-zero exit for lost replies is expected and not an error here).
func pingFrom(t *testing.T, h *Host, dst string, n int) pingStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := h.Exec(ctx, "ping", "-n", "-q", "-c", strconv.Itoa(n), "-i", "0.01", "-W", "1", dst)
	m := pingSummaryRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("ping %s from %s: no summary in:\n%s", dst, h.Short(), out)
	}
	var s pingStats
	s.sent, _ = strconv.Atoi(m[1])
	s.got, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		s.dups, _ = strconv.Atoi(m[3])
	}
	return s
}

// TestImpair applies each impairment to ICMP on a's eth0 and checks what
// ping between a and b sees: drop loses all, 50 % loss some but not all,
// dup exactly one copy per request (so the copy does not loop through the
// egress hook again), and clearing restores a clean path.
func TestImpair(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "ping", "nft")
	_, a, b := twoHosts(t)
	const icmp = 1
	const n = 100
	if err := b.Impair("eth0", Impairment{Proto: icmp, LossMod: 1}); err == nil {
		t.Errorf("Impair with LossMod 1 accepted, want an error (it would be a silent Drop)")
	}

	steps := []struct {
		name  string
		imp   Impairment
		count int
		check func(s pingStats) error
	}{
		{"clean", Impairment{}, 10, func(s pingStats) error {
			if s.got != s.sent || s.dups != 0 {
				return fmt.Errorf("want every reply once")
			}
			return nil
		}},
		{"drop", Impairment{Proto: icmp, Drop: true}, 10, func(s pingStats) error {
			if s.got != 0 {
				return fmt.Errorf("want no reply")
			}
			return nil
		}},
		// 50 % each way: about a quarter of the requests get a reply; the
		// chance that none or all of 100 do is below 1e-12.
		{"loss50", Impairment{Proto: icmp, LossMod: 2}, n, func(s pingStats) error {
			if s.got == 0 || s.got == s.sent {
				return fmt.Errorf("want some replies lost, some received")
			}
			return nil
		}},
		{"dup", Impairment{Proto: icmp, Dup: true}, 10, func(s pingStats) error {
			// b answers both copies of each request: one duplicate each.
			// ping exits on its n-th reply, so the last duplicate may come
			// after it stopped listening; more than n means a copy loop.
			if s.got != s.sent || s.dups < s.sent-1 || s.dups > s.sent {
				return fmt.Errorf("want every reply plus exactly one duplicate each (the last may be missed)")
			}
			return nil
		}},
		{"cleared", Impairment{}, 10, func(s pingStats) error {
			if s.got != s.sent || s.dups != 0 {
				return fmt.Errorf("want every reply once after ClearImpair")
			}
			return nil
		}},
	}
	for _, st := range steps {
		var err error
		if st.name == "cleared" {
			err = a.ClearImpair("eth0")
		} else {
			err = a.Impair("eth0", st.imp)
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		s := pingFrom(t, a, "192.0.2.12", st.count)
		if err := st.check(s); err != nil {
			t.Errorf("%s: ping a→b %+v: %v", st.name, s, err)
		}
	}
	if err := a.ClearImpair("eth0"); err != nil {
		t.Errorf("second ClearImpair (idempotent): %v", err)
	}
}
