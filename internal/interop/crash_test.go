package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// TestCrashedMaster is scenario 5, govrrp↔govrrp: a SIGKILLed master (no
// priority-0 advert, no cleanup) is replaced after the master-down
// interval; restarted with a lower priority it drops its stale VIP at once
// and stays backup. VRRPv3 IPv4 at 1 s so that "at once" (≤ 1 s) is well
// below the 3.6 s master-down interval.
func TestCrashedMaster(t *testing.T) {
	t.Parallel()
	sc := scenario{name: "v3-ipv4-1s", version: 3, advert: time.Second}
	_, a, b := twoHosts(t, govrrp, govrrp)
	a.start(a.confFor(sc, b, prioHigh), prioHigh)
	b.start(b.confFor(sc, a, prioLow), prioLow)
	converge(t, sc, a, b, a, b)

	start := time.Now()
	if err := a.kill(); err != nil {
		fail(t, "SIGKILL a: "+err.Error(), a, b)
	}
	bound := sc.masterDown(prioLow) + time.Second
	if err := b.host.WaitAddr(context.Background(), ifname, vip4, true, bound); err != nil {
		fail(t, fmt.Sprintf("b did not take over within %v of a's SIGKILL: %v", bound, err), a, b)
	}
	t.Logf("takeover after SIGKILL of the master: %v (master-down %v)", time.Since(start).Round(time.Millisecond),
		sc.masterDown(prioLow))
	stale, err := a.hasVIP(vip4)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stale VIP still on the killed node before restart: %v", stale)

	// Restart below b: the stale VIP must go before any master-down
	// interval could explain it.
	const prioLower = 50
	restart := time.Now()
	a.start(a.confFor(sc, b, prioLower), prioLower)
	if err := a.host.WaitAddr(context.Background(), ifname, vip4, false, time.Second); err != nil {
		fail(t, fmt.Sprintf("restarted a (prio %d) kept its stale VIP: %v", prioLower, err), a, b)
	}
	t.Logf("stale VIP removed %v after restart", time.Since(restart).Round(time.Millisecond))
	if _, err := holdOwner(3*sc.advert, sampleEvery(sc.advert), vip4, "b", a, b); err != nil {
		fail(t, "after the restart: "+err.Error(), a, b)
	}
	if err := netlab.WaitFor(context.Background(), 2*time.Second, 50*time.Millisecond, func() (bool, error) {
		st, err := a.status()
		if err != nil {
			return false, err
		}
		return st.State == "BACKUP", fmt.Errorf("a is %q, want BACKUP", st.State)
	}); err != nil {
		fail(t, err.Error(), a, b)
	}
	stopBoth(t, sc, a, b)
}
