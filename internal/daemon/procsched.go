package daemon

import (
	"fmt"

	"github.com/govrrp/govrrp/internal/procsched"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// startProcess takes the start-up baseline of the process knobs
// (vrrp_rt_priority, vrrp_no_swap, ...). Only Run calls it: daemons built by
// tests have no manager, so the test binary's threads are never touched.
func (d *Daemon) startProcess() error {
	m, err := procsched.New(d.log)
	if err != nil {
		return err
	}
	d.proc = m
	return nil
}

// applyProcess applies global_defs' process knobs to every thread; apply
// calls it at start-up and on reload, once the file was found usable. At
// start-up a knob the kernel refuses stops the daemon, named; on reload
// (keepalived re-applies them too) it is logged and the rest of the reload
// goes on, because the instances already run.
func (d *Daemon) applyProcess(cfg *kaconf.Config, startup bool) error {
	if d.proc == nil {
		return nil
	}
	s := procsched.FromConfig(cfg.Global.Process)
	err := d.proc.Apply(s)
	if err == nil {
		if s.RTPriority > 0 || s.MaxAuto > 0 || s.Nice != nil || s.CPUs != nil || s.NoSwap || s.Comm != "" || s.Umask != nil {
			d.log.Info("process settings applied to every thread", "rt_priority", s.RTPriority, "max_auto_priority", s.MaxAuto,
				"nice", ptrStr(s.Nice), "cpus", fmt.Sprint(s.CPUs), "no_swap", s.NoSwap, "comm", s.Comm)
		}
		return nil
	}
	if startup {
		return err
	}
	d.log.Error("reload: process settings not applied; the earlier ones stay", "err", err)
	return nil
}

// holdProcess runs the work until the returned func is called at
// SCHED_OTHER (procsched.Hold): start-up until READY, each reload, each
// apply. Holds nest: only the outermost release restores the priority.
func (d *Daemon) holdProcess() func() {
	if d.proc == nil {
		return func() {}
	}
	return d.proc.Hold()
}

// stopProcess ends the thread sweeper.
func (d *Daemon) stopProcess() {
	if d.proc != nil {
		d.proc.Close()
	}
}

func ptrStr(p *int) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}
