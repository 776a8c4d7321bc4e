package daemon

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// Notify extras, as keepalived 2.2.7 does them (observed in a namespace with
// a FIFO reader and scripts logging their argv):
//   - vrrp_sync_group notify_priority_changes: the members' priority changes
//     go to the FIFOs as their own INSTANCE "VI_1" MASTER_PRIORITY 105 lines;
//     no GROUP line is ever written for a priority.
//   - fifo_write_vrrp_states_on_reload: after each reload every sync group's
//     state goes to the FIFOs, GROUP "G1" MASTER 0; standalone instances and
//     members get no line, no script runs.
//   - vrrp_sync_group notify_deleted is an unknown keyword to 2.2.7: a group
//     removed by reload runs and writes nothing (pkg/kaconf warns).

// groupPriorityChanges: a sync group holding instance asks for its
// priority changes.
func groupPriorityChanges(cfg *kaconf.Config, instance string) bool {
	return slices.ContainsFunc(cfg.SyncGroups, func(g *kaconf.SyncGroup) bool {
		return g.NotifyPriorityChanges && slices.Contains(g.Group, instance)
	})
}

// fifoStatesOnReload writes, after a reload, the priority lines keepalived
// writes for kept instances (reloadPriorityLines), then each sync group's
// state when fifo_write_vrrp_states_on_reload is set.
func (d *Daemon) fifoStatesOnReload(startup bool, added []*instance) {
	if startup {
		return
	}
	d.reloadPriorityLines(added)
	if !d.cfg.Global.FifoWriteStatesOnReload {
		return
	}
	w, ok := d.notify.(interface{ GroupStateLine(group, state string) })
	if !ok {
		return
	}
	for _, r := range d.sync.groups {
		if r.state == fsm.Initialize {
			continue // not yet in a state keepalived would name
		}
		w.GroupStateLine(r.cfg.Name, notifyState(r.state))
	}
}

// reloadPriorityLines: keepalived 2.2.7 rebuilds every instance on reload
// and applies its tracked weights to the new one before it has taken up its
// state again, so an instance with priority-change notification whose
// tracks move its priority gets `INSTANCE "VI_1" BACKUP_PRIORITY 105` on
// the FIFOs at each reload, whatever its state (observed in a namespace: a
// master at 100 + track_file 5 -> BACKUP_PRIORITY 105 after SIGHUP, with or
// without fifo_write_vrrp_states_on_reload, before the GROUP line; nothing
// when the tracks add 0, nothing without notify_priority_changes). The
// Notifier writes only for instances that ask for priority changes. Added
// instances got their line when their tracks were first applied.
func (d *Daemon) reloadPriorityLines(added []*instance) {
	for _, in := range d.instances {
		if slices.Contains(added, in) || in.machine == nil || in.trackDelta == 0 {
			continue
		}
		if eff := in.machine.EffectivePriority(); eff != in.machine.Config().Priority {
			d.notify.PriorityChanged(in.name, fsm.Backup.String(), int(eff))
		}
	}
}

// LifecycleScriptWarnings resolves global_defs startup_script and
// shutdown_script as `govrrp run` will (like a notify script: the line's
// USER [GROUP], else script_user; PATH, execute permission for that user,
// enable_script_security), on this host. keepalived 2.2.7 logs such a
// script at load ("Script /x cannot be accessed", "Invalid shutdown
// script") and starts without it; so does govrrp, hence warnings, not
// errors: `config check` says which script will never run.
func LifecycleScriptWarnings(cfg *kaconf.Config, log *slog.Logger) []error {
	var errs []error
	for _, kw := range []string{"startup_script", "shutdown_script"} {
		cmd := cfg.Global.StartupScript
		if kw == "shutdown_script" {
			cmd = cfg.Global.ShutdownScript
		}
		if cmd == "" {
			continue
		}
		r, err := newCommandResolver(cfg, log)
		if err != nil {
			return nil // script_user itself: CheckRunnable reports it
		}
		if _, _, err := r.resolve(cmd, cfg.Global.RunAs[kw]); err != nil {
			errs = append(errs, fmt.Errorf("global_defs %s %q will not run: %w", kw, cmd, err))
		}
	}
	return errs
}
