package interop

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// Accept mode (README "Accept mode"): a master that is not the address
// owner, with no_accept, drops traffic to its VIPs with nftables rules; a
// client's ping to the VIP goes unanswered while its neighbour entry still
// resolves (ARP, and NS/NA, which the rules let through). accept answers.
// keepalived 2.2.7 runs the same bodies: its table is "keepalived" in
// families ip and ip6, govrrp's "govrrp" in family inet.

// acceptTables lists n's nftables tables ("inet govrrp", "ip keepalived"...).
func acceptTables(t *testing.T, n *node) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.host.Exec(ctx, "nft", "list", "tables")
	if err != nil {
		t.Fatalf("nft list tables on %s: %v: %s", n.name, err, out)
	}
	var tables []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimPrefix(strings.TrimSpace(l), "table "); l != "" {
			tables = append(tables, l)
		}
	}
	slices.Sort(tables)
	return tables
}

// acceptOwnTables is what implementation im installs on a dropping master.
func acceptOwnTables(im impl) []string {
	if im == keepalived {
		return []string{"ip keepalived", "ip6 keepalived"}
	}
	return []string{"inet govrrp"}
}

// acceptUnanswered wants no answer to 3 pings (1 s each) to addr: the
// bound is ping's own, not a wall-clock assertion.
func acceptUnanswered(c *leaseClientHost, addr netip.Addr) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.host.Exec(ctx, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", addr.String())
	if err == nil {
		return fmt.Errorf("ping %s answered: %s", addr, out)
	}
	if !strings.Contains(string(out), " 0 received") {
		return fmt.Errorf("ping %s: %v: %s", addr, err, out)
	}
	return nil
}

// acceptStart runs n alone as master of a v4 and a v6 VIP with extra lines.
func acceptStart(t *testing.T, n *node, extra ...string) {
	t.Helper()
	leaseStartConf(t, n, leaseConf(n.name, prioHigh, extra...), prioHigh, true)
}

// TestAcceptMode: a lone non-owner master (priority 150) with no_accept
// or accept; the client pings the VIPs and a's own address; the table is
// there only with no_accept and is gone after SIGTERM.
func TestAcceptMode(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{govrrp, keepalived} {
		// strict_mode without accept/no_accept is no_accept for a non-owner.
		for _, mode := range []string{"no_accept", "accept", "strict_mode"} {
			t.Run(string(im)+"/"+mode, func(t *testing.T) {
				t.Parallel()
				netlab.Require(t, "nft")
				a, _, client := leaseLab(t, im)
				acceptStart(t, a, mode)
				mac := leaseMAC(t, a)
				for _, vip := range []netip.Addr{vip4, vip6} {
					// Neighbour resolution passes either way (ARP is not IP;
					// NS/NA are let through).
					if err := client.waitNeigh(vip, mac, 5*time.Second); err != nil {
						fail(t, mode+": "+err.Error(), a)
					}
					var err error
					if mode != "accept" {
						err = acceptUnanswered(client, vip)
					} else {
						err = client.ping(vip)
					}
					if err != nil {
						fail(t, fmt.Sprintf("%s %s: %v\n%s", im, mode, err, acceptRuleset(a)), a)
					}
				}
				for _, own := range []netip.Addr{a.ip4, a.ip6} {
					if err := client.ping(own); err != nil {
						fail(t, "a's own address must answer: "+err.Error(), a)
					}
				}
				var want []string
				if mode != "accept" {
					want = acceptOwnTables(im)
				}
				if got := acceptTables(t, a); !slices.Equal(got, want) {
					t.Errorf("%s %s: tables %q while master, want %q", im, mode, got, want)
				}
				if err := a.signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				if err := a.waitExit(exitTimeout); err != nil {
					fail(t, err.Error(), a)
				}
				if got := acceptTables(t, a); len(got) != 0 {
					t.Errorf("%s %s: tables %q left after stop", im, mode, got)
				}
			})
		}
	}
}

// TestAcceptOwner: priority 255 (the address owner) with no_accept
// answers, and govrrp installs no table.
func TestAcceptOwner(t *testing.T) {
	t.Parallel()
	netlab.Require(t, "nft")
	a, _, client := leaseLab(t, govrrp)
	conf := strings.ReplaceAll(leaseConf(a.name, 255, "no_accept"), "state BACKUP", "state MASTER")
	leaseStartConf(t, a, conf, 255, true)
	for _, vip := range []netip.Addr{vip4, vip6} {
		if err := client.ping(vip); err != nil {
			fail(t, "owner: "+err.Error(), a)
		}
	}
	if got := acceptTables(t, a); len(got) != 0 {
		t.Errorf("owner: tables %q, want none", got)
	}
}

// TestAcceptKillRestart: after SIGKILL the table stays (nothing can remove
// it); the restarted daemon, master again, replaces it (for govrrp: a junk
// element and chain planted in it are gone) and removes it at stop, govrrp
// and keepalived 2.2.7 alike. (keepalived restarted and stopped before it
// was master again was seen to leave the stale tables; govrrp deletes a
// stale table at start-up whatever the state, daemon TestAcceptStaleVIP*.)
func TestAcceptKillRestart(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{govrrp, keepalived} {
		t.Run(string(im), func(t *testing.T) {
			t.Parallel()
			netlab.Require(t, "nft")
			runAcceptKillRestart(t, im)
		})
	}
}

func runAcceptKillRestart(t *testing.T, im impl) {
	a, _, client := leaseLab(t, im)
	own := acceptOwnTables(im)
	acceptStart(t, a, "no_accept")
	if err := a.kill(); err != nil {
		t.Fatal(err)
	}
	if got := acceptTables(t, a); !slices.Equal(got, own) {
		t.Fatalf("after SIGKILL: tables %q, want the stale %q", got, own)
	}
	if im == keepalived {
		// Its VIPs stay (no lease): remove them as a reboot would, so the
		// restart below starts from the stale table alone.
		for _, p := range []string{vip4.String() + "/24", vip6.String() + "/64"} {
			if out, err := a.host.Exec(context.Background(), "ip", "addr", "del", p, "dev", ifname); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
	} else {
		// The killed run's VIPs go with their lease; then a's VIPs below
		// can only be the restarted daemon's.
		if _, err := leaseWaitGone(a, time.Now(), leaseGoneBound); err != nil {
			fail(t, err.Error(), a)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if out, err := a.host.Exec(ctx, "nft", "add element inet govrrp vips4 { 192.0.2.99 } ; add chain inet govrrp junk"); err != nil {
			t.Fatalf("plant junk: %v: %s", err, out)
		}
	}
	acceptStart(t, a, "no_accept")
	rules := acceptRuleset(a)
	if strings.Contains(rules, "192.0.2.99") || strings.Contains(rules, "junk") {
		t.Errorf("stale content survived the restart:\n%s", rules)
	}
	if !strings.Contains(rules, vip4.String()) || !strings.Contains(rules, vip6.String()) {
		t.Errorf("restarted master does not drop its VIPs:\n%s", rules)
	}
	if err := acceptUnanswered(client, vip4); err != nil {
		fail(t, "after restart: "+err.Error(), a)
	}
	if err := a.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := a.waitExit(exitTimeout); err != nil {
		fail(t, err.Error(), a)
	}
	if got := acceptTables(t, a); len(got) != 0 {
		t.Errorf("%s: tables %q left after restart and stop", im, got)
	}
}

// acceptRuleset is n's whole ruleset, for failure messages.
func acceptRuleset(n *node) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.host.Exec(ctx, "nft", "list", "ruleset")
	if err != nil {
		return fmt.Sprintf("(nft list ruleset: %v)", err)
	}
	return string(out)
}
