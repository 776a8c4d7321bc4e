package vip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recSender records every announcement as "+ELAPSED ADDR" (virtual time
// under synctest) and every direct burst as "+ELAPSED burst×N A B ...".
type recSender struct {
	mu    sync.Mutex
	start time.Time
	log   []string
	at    map[string][]time.Duration // by interface+family key
}

func newRec() *recSender { return &recSender{start: time.Now(), at: map[string][]time.Duration{}} }

func (r *recSender) AnnounceBurst(_ context.Context, addrs []Address, repeat int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fmt.Sprintf("+%v burst×%d", time.Since(r.start), repeat)
	for _, a := range addrs {
		s += " " + a.Prefix.Addr().String()
	}
	r.log = append(r.log, s)
	return nil
}

func (r *recSender) Announce(a Address) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := time.Since(r.start)
	r.log = append(r.log, fmt.Sprintf("+%v %s", d, a.Prefix.Addr()))
	k := fmt.Sprintf("%s/%d", a.Dev, famOf(a))
	r.at[k] = append(r.at[k], d)
	return nil
}

func (r *recSender) Close() error { return nil }

func (r *recSender) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

func v4(ip, dev string) Address { return addr(ip+"/24", dev) }
func v6(ip, dev string) Address { return addr(ip+"/64", dev) }

// keepalived 2.2.7 observed with tcpdump (vrrp_garp_interval 0.2,
// vrrp_gna_interval 0.3; V1 .100 .101 repeat 3, V2 .102 repeat 3, V6 ::100
// ::101 repeat 2, all becoming master together):
//
//	0.000 ARP .100   0.003 NA ::100   0.200 ARP .100   0.303 NA ::100
//	0.400 ARP .101   0.600 ARP .102   0.603 NA ::101
//
// The first leaves at once, a repeat of a waiting address merges with it,
// the queue is in address order, ARP and NA budgets are separate.
func TestPacerMatchesKeepalived(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRec()
		p := NewPacer(r, nil)
		defer p.Close()
		p.SetPacing(Pacing{Default: Interval{GARP: 200 * time.Millisecond, NA: 300 * time.Millisecond}})
		ctx := context.Background()
		_ = p.AnnounceBurst(ctx, []Address{v4("192.0.2.100", "eth0"), v4("192.0.2.101", "eth0")}, 3)
		_ = p.AnnounceBurst(ctx, []Address{v4("192.0.2.102", "eth0")}, 3)
		_ = p.AnnounceBurst(ctx, []Address{v6("2001:db8::100", "eth0"), v6("2001:db8::101", "eth0")}, 2)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		want := []string{"+0s 192.0.2.100", "+0s 2001:db8::100",
			"+200ms 192.0.2.100", "+300ms 2001:db8::100", "+400ms 192.0.2.101", "+600ms 192.0.2.102", "+600ms 2001:db8::101"}
		if d := cmp.Diff(want, r.lines()); d != "" {
			t.Errorf("announcements (-want +got):\n%s", d)
		}
		if got, want := p.Stats(), (PacerStats{SentNow: 2, SentPaced: 5, Merged: 6}); got != want {
			t.Errorf("stats %+v, want %+v", got, want)
		}
	})
}

// Interval 0 is today's behaviour: one burst, every repeat, at once.
func TestPacerUnpacedIsDirect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRec()
		p := NewPacer(r, nil)
		defer p.Close()
		p.SetPacing(Pacing{Groups: []PacingGroup{{Interfaces: []string{"eth1"}, Interval: Interval{GARP: time.Second}}}})
		_ = p.AnnounceBurst(context.Background(), []Address{v4("192.0.2.100", "eth0"), v4("198.51.100.100", "eth1"), v6("2001:db8::100", "eth0")}, 5)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		// eth0 (no group, default 0) direct with all 5 repeats; eth1 one now,
		// and its repeats merged into one queued a second later.
		want := []string{"+0s burst×5 192.0.2.100 2001:db8::100", "+0s 198.51.100.100", "+1s 198.51.100.100"}
		if d := cmp.Diff(want, r.lines()); d != "" {
			t.Errorf("announcements (-want +got):\n%s", d)
		}
	})
}

// A garp_group's interfaces share one budget (keepalived 2.2.7, observed:
// garp_interval 0.3 over eth0 and eth1 → 0, 0.3, 0.6, 0.9 s alternating).
func TestPacerGroupShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRec()
		p := NewPacer(r, nil)
		defer p.Close()
		p.SetPacing(Pacing{
			Default: Interval{GARP: 50 * time.Millisecond},
			Groups: []PacingGroup{
				{Interfaces: []string{"eth0", "eth1"}, Interval: Interval{GARP: 300 * time.Millisecond, NA: 400 * time.Millisecond}},
				{Interfaces: []string{"eth0"}, Interval: Interval{GARP: 700 * time.Millisecond}}, // ignored: eth0 taken
			}})
		_ = p.AnnounceBurst(context.Background(), []Address{
			v4("192.0.2.100", "eth0"), v4("198.51.100.100", "eth1"), v4("192.0.2.101", "eth0"), v4("198.51.100.101", "eth1"),
			v4("203.0.113.1", "eth2"), v4("203.0.113.2", "eth2")}, 1) // eth2: default 50 ms, its own budget
		time.Sleep(2 * time.Second)
		synctest.Wait()
		want := []string{"+0s 192.0.2.100", "+0s 203.0.113.1", "+50ms 203.0.113.2",
			"+300ms 198.51.100.100", "+600ms 192.0.2.101", "+900ms 198.51.100.101"}
		if d := cmp.Diff(want, r.lines()); d != "" {
			t.Errorf("announcements (-want +got):\n%s", d)
		}
	})
}

// Cancel: an instance no longer master sends nothing more.
func TestPacerCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRec()
		p := NewPacer(r, nil)
		defer p.Close()
		p.SetPacing(Pacing{Default: Interval{GARP: time.Second}})
		mine := []Address{v4("192.0.2.100", "eth0"), v4("192.0.2.101", "eth0")}
		other := []Address{v4("192.0.2.102", "eth0")}
		_ = p.AnnounceBurst(context.Background(), mine, 2)
		_ = p.AnnounceBurst(context.Background(), other, 1)
		time.Sleep(1500 * time.Millisecond) // .100 at 0 and 1 s; .101 and .102 wait
		p.Cancel(mine)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		want := []string{"+0s 192.0.2.100", "+1s 192.0.2.100", "+2s 192.0.2.102"}
		if d := cmp.Diff(want, r.lines()); d != "" {
			t.Errorf("announcements (-want +got):\n%s", d)
		}
		if s := p.Stats(); s.Cancelled != 1 || p.Queued() != 0 {
			t.Errorf("stats %+v queued %d, want 1 cancelled, none queued", s, p.Queued())
		}
	})
}

// A reload that removes the pacing sends what waited at once; one that
// keeps it keeps the spacing across the reload.
func TestPacerSetPacingMovesQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRec()
		p := NewPacer(r, nil)
		defer p.Close()
		p.SetPacing(Pacing{Default: Interval{GARP: time.Second}})
		_ = p.AnnounceBurst(context.Background(), []Address{v4("192.0.2.100", "eth0"), v4("192.0.2.101", "eth0"), v4("192.0.2.102", "eth0")}, 1)
		time.Sleep(500 * time.Millisecond)
		p.SetPacing(Pacing{Default: Interval{GARP: 2 * time.Second}}) // .101 may not leave before +1 s
		time.Sleep(time.Second)
		p.SetPacing(Pacing{}) // .102 at once
		time.Sleep(time.Second)
		synctest.Wait()
		want := []string{"+0s 192.0.2.100", "+1s 192.0.2.101", "+1.5s 192.0.2.102"}
		if d := cmp.Diff(want, r.lines()); d != "" {
			t.Errorf("announcements (-want +got):\n%s", d)
		}
	})
}

// The budget arithmetic on a fake clock: nothing before next, next moves
// one interval past the actual send (a late timer never shortens a gap).
func TestBudgetTake(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := &budget{every: 100 * time.Millisecond}
	b.insert(queued{a: v4("192.0.2.1", "eth0"), key: [2]uint64{1, 0}})
	b.insert(queued{a: v4("192.0.2.2", "eth0"), key: [2]uint64{1, 1}})
	b.insert(queued{a: v4("192.0.2.1", "eth0"), key: [2]uint64{2, 0}}) // merged
	if len(b.queue) != 2 {
		t.Fatalf("queue %v, want 2 entries", b.queue)
	}
	steps := []struct {
		at   time.Duration
		want string
	}{{0, "192.0.2.1"}, {50 * time.Millisecond, ""}, {130 * time.Millisecond, "192.0.2.2"}, {140 * time.Millisecond, ""}}
	for _, s := range steps {
		a, ok := b.take(t0.Add(s.at))
		got := ""
		if ok {
			got = a.Prefix.Addr().String()
		}
		if got != s.want {
			t.Errorf("take at +%v = %q, want %q", s.at, got, s.want)
		}
	}
	if want := t0.Add(230 * time.Millisecond); !b.next.Equal(want) {
		t.Errorf("next %v, want %v (one interval after the late send)", b.next.Sub(t0), want.Sub(t0))
	}
}

// Property: whatever the bursts, announcements of one budget are at least
// its interval apart, and every address asked for is announced.
func TestPacerSpacingProperty(t *testing.T) {
	for seed := range uint64(20) {
		synctest.Test(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			r := newRec()
			p := NewPacer(r, nil)
			defer p.Close()
			iv := Interval{GARP: time.Duration(1+rng.IntN(50)) * time.Millisecond, NA: time.Duration(1+rng.IntN(50)) * time.Millisecond}
			p.SetPacing(Pacing{Default: iv, Groups: []PacingGroup{{Interfaces: []string{"eth1", "eth2"}, Interval: iv}}})
			asked := map[Address]bool{}
			for range 30 {
				var addrs []Address
				for range 1 + rng.IntN(4) {
					dev := fmt.Sprintf("eth%d", rng.IntN(3))
					var a Address
					if rng.IntN(2) == 0 {
						a = v4(fmt.Sprintf("192.0.2.%d", 1+rng.IntN(200)), dev)
					} else {
						a = v6(fmt.Sprintf("2001:db8::%x", 1+rng.IntN(200)), dev)
					}
					addrs, asked[a] = append(addrs, a), true
				}
				_ = p.AnnounceBurst(context.Background(), addrs, 1+rng.IntN(5))
				time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
			}
			time.Sleep(time.Minute)
			synctest.Wait()
			r.mu.Lock()
			defer r.mu.Unlock()
			// eth1 and eth2 share one budget per family.
			shared := map[string][]time.Duration{}
			for k, ts := range r.at {
				if k[:4] == "eth1" || k[:4] == "eth2" {
					k = "group" + k[4:]
				}
				shared[k] = append(shared[k], ts...)
			}
			for k, ts := range shared {
				every := iv.GARP
				if k[len(k)-1] == '1' {
					every = iv.NA
				}
				sortDurations(ts)
				for i := 1; i < len(ts); i++ {
					if gap := ts[i] - ts[i-1]; gap < every {
						t.Errorf("seed %d %s: gap %v < interval %v", seed, k, gap, every)
					}
				}
			}
			seen := map[string]bool{}
			for _, ln := range r.log {
				seen[ln[lastSpace(ln)+1:]] = true
			}
			for a := range asked {
				if !seen[a.Prefix.Addr().String()] {
					t.Errorf("seed %d: %s never announced", seed, a.Prefix.Addr())
				}
			}
		})
	}
}

func sortDurations(ts []time.Duration) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j] < ts[j-1]; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

func lastSpace(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ' ' {
			return i
		}
	}
	return -1
}

// A VMAC is paced as its base interface (one budget for both).
func TestPacerAlias(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRec()
		p := NewPacer(r, nil)
		defer p.Close()
		p.SetPacing(Pacing{Default: Interval{GARP: 100 * time.Millisecond}, Alias: map[string]string{"vrrp.51": "eth0"}})
		_ = p.AnnounceBurst(context.Background(), []Address{v4("192.0.2.100", "vrrp.51"), v4("192.0.2.101", "eth0")}, 1)
		time.Sleep(time.Second)
		synctest.Wait()
		want := []string{"+0s 192.0.2.100", "+100ms 192.0.2.101"}
		if d := cmp.Diff(want, r.lines()); d != "" {
			t.Errorf("announcements (-want +got):\n%s", d)
		}
	})
}
