package interop

import (
	"testing"
	"time"
)

// BenchmarkHandover measures graceful handover (SIGTERM of the priority-150
// master until the VIP is on the priority-100 backup) for keepalived and
// govrrp side by side in one run, VRRPv3 IPv4 at 100 ms adverts. The number
// that matters is handover-ms (mean); ns/op includes starting the daemons.
// `make bench` runs it with -benchtime=5x.
func BenchmarkHandover(b *testing.B) {
	sc := scenario{name: "v3-ipv4-100ms", version: 3, advert: 100 * time.Millisecond}
	for _, p := range pairings {
		b.Run(p.String(), func(b *testing.B) {
			d := measureHandovers(b, sc, p, b.N)
			var sum time.Duration
			for _, x := range d {
				sum += x
			}
			b.ReportMetric(float64(sum)/float64(len(d))/float64(time.Millisecond), "handover-ms")
		})
	}
}
