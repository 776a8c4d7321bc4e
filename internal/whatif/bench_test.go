package whatif

import (
	"fmt"
	"testing"
)

// BenchmarkAnalyze measures a whole --what-if run (every failure of every
// node, three phases each) for a two-node pair at advert_int 1 s and for
// three nodes with a second, VRRPv3 IPv6 router at 10 ms (the most events
// per virtual second).
func BenchmarkAnalyze(b *testing.B) {
	pair := []node{
		{name: "a", state: "MASTER", priority: 150, weight: weight(-60)},
		{name: "b", priority: 100, weight: weight(-60)},
	}
	v6 := "vrrp_instance V6 {\n    interface eth0\n    virtual_router_id 8\n    version 3\n    advert_int 0.01\n    priority %d\n    virtual_ipaddress {\n        2001:db8::8/64\n    }\n}\n"
	var three []node
	for i, p := range []int{150, 120, 100} {
		three = append(three, node{name: fmt.Sprintf("n%d", i), priority: p, weight: weight(-40), tail: fmt.Sprintf(v6, 100+10*i)})
	}
	for _, bc := range []struct {
		name  string
		nodes []node
	}{{"pair-v2-1s", pair}, {"three-nodes-v2-1s+v3-10ms", three}} {
		b.Run(bc.name, func(b *testing.B) {
			nodes := load(b, bc.nodes...)
			var events int
			for b.Loop() {
				rep := Analyze(nodes)
				events = len(rep.Failures)
			}
			b.ReportMetric(float64(events), "failures")
		})
	}
}
