package interop

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHandoverTimes is scenario 7: graceful handover times (SIGTERM of the
// master to VIP on the backup) for every pairing, v3 IPv4 at 100 ms and v2
// at 1 s, printed as a table. Only the protocol bound is asserted.
func TestHandoverTimes(t *testing.T) {
	t.Parallel()
	protos := []struct {
		sc     scenario
		rounds int
	}{
		{scenario{name: "v3-ipv4-100ms", version: 3, advert: 100 * time.Millisecond}, 3},
		{scenario{name: "v2-ipv4-1s", version: 2, advert: time.Second}, 1},
	}
	var mu sync.Mutex
	results := map[string][]time.Duration{}
	t.Run("runs", func(t *testing.T) {
		for _, pr := range protos {
			for _, p := range pairings {
				key := pr.sc.name + " " + p.a.short() + "→" + p.b.short()
				t.Run(pr.sc.name+"/"+p.String(), func(t *testing.T) {
					t.Parallel()
					d := measureHandovers(t, pr.sc, p, pr.rounds)
					mu.Lock()
					results[key] = d
					mu.Unlock()
				})
			}
		}
	})
	t.Logf("graceful handover (SIGTERM of master → VIP on backup, prio 150→100):\n%s", handoverTable(results))
}

// measureHandovers: a (p.a, prio 150) is master, b (p.b, 100) backup;
// SIGTERM a, measure, restart a, wait for preemption; rounds times.
func measureHandovers(t testing.TB, sc scenario, p pairing, rounds int) []time.Duration {
	_, a, b := twoHosts(t, p.a, p.b)
	aConf := a.confFor(sc, b, prioHigh)
	a.start(aConf, prioHigh)
	b.start(b.confFor(sc, a, prioLow), prioLow)
	var out []time.Duration
	for i := 0; i < rounds; i++ {
		if i > 0 {
			a.start(aConf, prioHigh)
		}
		converge(t, sc, a, b, a, b)
		out = append(out, handover(t, sc, a, b, a, b))
	}
	stopBoth(t, sc, a, b)
	return out
}

// handoverTable renders min/median/max per run key, keys sorted.
func handoverTable(res map[string][]time.Duration) string {
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s %3s %9s %9s %9s\n", "run (master→backup)", "n", "min", "median", "max")
	for _, k := range keys {
		d := slices.Clone(res[k])
		if len(d) == 0 {
			fmt.Fprintf(&b, "%-24s %3d %9s %9s %9s\n", k, 0, "-", "-", "-")
			continue
		}
		slices.Sort(d)
		r := func(x time.Duration) string { return x.Round(time.Millisecond).String() }
		fmt.Fprintf(&b, "%-24s %3d %9s %9s %9s\n", k, len(d), r(d[0]), r(d[len(d)/2]), r(d[len(d)-1]))
	}
	return b.String()
}
