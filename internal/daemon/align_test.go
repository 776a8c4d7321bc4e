package daemon

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
)

// TestSchedNext: a schedule's due time is the last point of the interval's
// grid not later than now+interval: never later than one interval, back on
// the grid after a late expiry, the same instant for every instance of one
// interval whatever the moment it was armed.
func TestSchedNext(t *testing.T) {
	const p = 10 * time.Millisecond
	base := time.Unix(1_700_000_000, 0) // on every grid of whole milliseconds
	s := &advertSched{epoch: base}
	for _, tc := range []struct {
		now  time.Duration // since base
		want time.Duration // due, since base
	}{
		{0, p},                    // on the grid: one whole interval
		{3 * time.Millisecond, p}, // first arm mid-interval: the next grid point
		{10*time.Millisecond + 50*time.Microsecond, 2 * p}, // a timer that fired late: back on the grid
		{19*time.Millisecond + 999*time.Microsecond, 2 * p},
		{20 * time.Millisecond, 3 * p},
	} {
		now := base.Add(tc.now)
		got := s.next(now, p)
		if !got.Equal(base.Add(tc.want)) {
			t.Errorf("next(+%v, %v) = +%v, want +%v", tc.now, p, got.Sub(base), tc.want)
		}
		if a := got.Sub(now); a <= 0 || a > p {
			t.Errorf("next(+%v) is %v away, outside (0, %v]: a master must never advertise later than its interval", tc.now, a, p)
		}
	}
	// Another interval on the same schedule shares the grid points it can.
	if got := s.next(base.Add(3*time.Millisecond), 100*time.Millisecond); !got.Equal(base.Add(100 * time.Millisecond)) {
		t.Errorf("next(+3ms, 100ms) = +%v, want +100ms", got.Sub(base))
	}
}

// manyConf is n VRRPv3 instances at 100 ms on eth0, all BACKUP at start,
// so each becomes master after its Master_Down_Interval (341.4 ms at
// priority 150): off the 100 ms grid.
func manyConf(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "vrrp_instance VI_%d {\n state BACKUP\n interface eth0\n virtual_router_id %d\n version 3\n priority 150\n advert_int 0.1\n virtual_ipaddress {\n  198.51.100.%d/32\n }\n}\n", i, i, i)
	}
	return b.String()
}

// TestAdvertTimersAlignedWhenManyShareASocket: with alignMinShared or more
// instances on one socket, every master's adverts leave on its interval's
// grid, each instance still once per interval; with fewer, the timer runs
// from the transition as before.
func TestAdvertTimersAlignedWhenManyShareASocket(t *testing.T) {
	for _, tc := range []struct {
		n       int
		aligned bool
	}{{10, true}, {2, false}} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				obs := seg.Attach(netip.MustParseAddr("192.0.2.99"))
				var mu sync.Mutex
				sent := map[byte][]time.Time{}
				go func() {
					buf := make([]byte, 1500)
					for {
						n, _, err := obs.ReadFrom(buf)
						if err != nil {
							return
						}
						if n >= 4 && buf[2] > 0 { // priority > 0: not the stop's priority-0 advert
							mu.Lock()
							sent[buf[1]] = append(sent[buf[1]], time.Now())
							mu.Unlock()
						}
					}
				}()
				a := startNode(t, seg, "192.0.2.11", manyConf(tc.n))
				time.Sleep(2 * time.Second)
				a.stop(t)
				obs.Close()
				synctest.Wait()
				mu.Lock()
				defer mu.Unlock()
				const p = 100 * time.Millisecond
				if len(sent) != tc.n {
					t.Fatalf("adverts from %d VRIDs, want %d", len(sent), tc.n)
				}
				for vrid, at := range sent {
					if len(at) < 10 {
						t.Fatalf("vrid %d: %d adverts in 2 s, want about 16", vrid, len(at))
					}
					// From the second advert on (the first is sent at the
					// transition itself): on the grid iff aligned, and one
					// interval apart either way.
					for i := 1; i < len(at); i++ {
						onGrid := at[i].UnixNano()%int64(p) == 0
						if onGrid != tc.aligned {
							t.Fatalf("vrid %d advert %d at %v: on the %v grid = %v, want %v", vrid, i, at[i].Format(time.StampMicro), p, onGrid, tc.aligned)
						}
						if i >= 2 {
							if d := at[i].Sub(at[i-1]); d != p {
								t.Fatalf("vrid %d adverts %d and %d %v apart, want %v", vrid, i-1, i, d, p)
							}
						}
					}
				}
			})
		})
	}
}

func TestBurstFits(t *testing.T) {
	for _, tc := range []struct {
		rcvbuf, n int
		want      bool
	}{
		{-1, 255, true},                         // in-memory segment: whole packets queue
		{212992, 255, false},                    // Linux default: 255 adverts overflowed it (measured)
		{212992, 100, true},                     // 100 × 2 KiB fits
		{255 * alignBufPerAdvert, 255, true},    // sized for the burst
		{255*alignBufPerAdvert - 1, 255, false}, // one byte short
	} {
		if got := burstFits(tc.rcvbuf, tc.n); got != tc.want {
			t.Errorf("burstFits(%d, %d) = %v, want %v", tc.rcvbuf, tc.n, got, tc.want)
		}
	}
}
