package daemon

import "time"

// Aligned advert timers (issue 11, cost at scale). When many instances
// share one socket, each master's Adver_Timer is quantised to the next
// multiple of its own interval (on a grid anchored at a whole wall-clock
// second), so all masters of one interval on that socket fire at the same
// instant: they share the socket's schedule (advertsched.go), one timer
// and one loop event per tick instead of one per instance, their adverts
// leave in one batch (advertbatch.go), and backups receive them as one
// burst that a single socket wake-up drains.
//
// RFC 9568 (6.4.3) only asks the master to advertise every
// Advertisement_Interval; the quantised timer is never longer than the
// interval (the first one after becoming master may be shorter, an early
// advert is harmless: backups only time out on a missing one), and from
// then on it fires every interval on the grid, so each instance keeps its
// own interval.
//
// alignMinShared is how many instances must share the socket first: with
// a few there is nothing to gain, and a single instance's adverts stay
// exactly one interval after its transition, as before.
const alignMinShared = 8

// alignBufPerAdvert is the receive buffer one advert of a burst takes
// (skb truesize, measured: 255 aligned adverts overflowed the default
// 212,992-byte buffer of a backup on veth, so more than 835 bytes each).
// Aligned masters send their adverts as one burst, and every backup of
// theirs must hold the whole burst; where the socket's buffer cannot
// (ReadBufferSize known and smaller), the timers stay unaligned, as
// before, rather than lose adverts.
const alignBufPerAdvert = 2048

// aligns reports whether in's advert timer, armed for after, goes on its
// socket's schedule (advertsched.go) rather than its own timer.
func (d *Daemon) aligns(in *instance, after time.Duration) bool {
	if after <= 0 || in.mux == nil {
		return false
	}
	n := in.mux.Registered()
	return n >= alignMinShared && burstFits(in.mux.ReadBufferSize(), n)
}

// burstFits: a receive buffer of rcvbuf bytes (-1 unknown: an in-memory
// queue of whole packets) holds a burst of n adverts.
func burstFits(rcvbuf, n int) bool {
	return rcvbuf < 0 || rcvbuf >= n*alignBufPerAdvert
}
