package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
)

// BenchmarkInstanceMemory is the Go heap and goroutine stacks one daemon
// holds per instance: n masters at advert_int 1 on the in-memory segment,
// settled, collected, measured with runtime/metrics against the process
// before the daemon started. MEMPROF=FILE also writes the heap profile of
// that moment (go tool pprof -sample_index=inuse_space).
func BenchmarkInstanceMemory(b *testing.B) {
	for _, n := range []int{1, 255} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			for b.Loop() {
				heap, stacks, gs := instanceMemory(b, n)
				b.ReportMetric(float64(heap)/float64(n), "heapB/instance")
				b.ReportMetric(float64(stacks)/float64(n), "stackB/instance")
				b.ReportMetric(float64(gs)/float64(n), "goroutines/instance")
			}
		})
	}
}

// runtimeMem is live heap bytes, stack bytes and goroutines after a GC.
func runtimeMem() (heap, stacks uint64, goroutines int) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/sched/goroutines:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64(), int(s[2].Value.Uint64())
}

func instanceMemory(b *testing.B, n int) (heap, stacks uint64, goroutines int) {
	var conf strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&conf, "vrrp_instance VI_%d {\n state MASTER\n interface eth0\n virtual_router_id %d\n version 3\n priority 150\n advert_int 1\n virtual_ipaddress {\n  198.51.100.%d/32\n }\n}\n", i, i, i%250+1)
	}
	if os.Getenv("MEMPROF") != "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact in-use profile
		defer func() { runtime.MemProfileRate = 512 << 10 }()
	}
	h0, s0, g0 := runtimeMem()
	nd := newNode(&testing.T{}, transport.NewSegment(), "192.0.2.11", conf.String(), nil)
	defer os.RemoveAll(filepath.Dir(nd.confPath)) // the zero testing.T runs no cleanups
	nd.start()
	deadline := time.Now().Add(30 * time.Second)
	for masters := 0; masters < n && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		onLoop(nd, func() {
			masters = 0
			for _, in := range nd.d.instances {
				if in.machine.State().String() == "MASTER" {
					masters++
				}
			}
		})
	}
	h1, s1, g1 := runtimeMem()
	if p := os.Getenv("MEMPROF"); p != "" {
		if f, err := os.Create(p); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	nd.cancel()
	<-nd.done
	return h1 - h0, s1 - s0, g1 - g0
}
