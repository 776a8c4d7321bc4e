// Package fsmconf builds an instance's state-machine configuration from its
// keepalived.conf instance. It is the one place that maps kaconf fields to
// fsm.Config, so the daemon and the what-if simulator (internal/whatif) run
// machines configured alike.
//
// Invariants: pure (no I/O); it reads the instance and never changes it.
// What the daemon decides at run time (the release policy, sync membership)
// is set on the machine by the daemon, not here.
package fsmconf

import (
	"net/netip"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// For is the fsm.Config of instance c whose adverts leave from primary (the
// tie-break address).
func For(c *kaconf.Instance, primary netip.Addr) fsm.Config {
	return fsm.Config{
		Version:      c.Version,
		Priority:     c.Priority,
		AdverInt:     c.AdverInt,
		Preempt:      !c.Nopreempt,
		PreemptDelay: c.PreemptDelay,
		PrimaryAddr:  primary,
		WantMaster:   c.State == "MASTER",

		DownTimerAdverts:     c.DownTimerAdverts,
		LowerPrioNoAdvert:    c.LowerPrioNoAdvert,
		HigherPrioSendAdvert: c.HigherPrioSendAdvert,
	}
}
