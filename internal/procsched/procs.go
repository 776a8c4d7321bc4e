package procsched

import (
	"os"
	"runtime"
)

// matchProcs keeps GOMAXPROCS at the number of CPUs the threads may use once
// vrrp_cpu_affinity (or a reload removing it) has changed their CPU set.
// The runtime sizes GOMAXPROCS at start and re-checks the affinity only
// about once a second. With more Ps than CPUs, real-time threads of one
// priority queue behind each other on a CPU while the one running never
// blocks long enough to reset RLIMIT_RTTIME. Measured with
// vrrp_cpu_affinity 0 and vrrp_rt_priority on 2 CPUs under load: 4 of 20
// start-ups killed by the 10 ms default within 50 ms; 0 of 30 with
// GOMAXPROCS=1; 1 of 30 with GOMAXPROCS=2 and the start-up hold
// (manager.go Hold) alone. An operator's GOMAXPROCS is left alone.
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
