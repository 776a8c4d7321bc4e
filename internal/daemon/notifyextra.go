package daemon

import (
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

// fifoStatesOnReload writes each sync group's state to the FIFOs after a
// reload when fifo_write_vrrp_states_on_reload is set.
func (d *Daemon) fifoStatesOnReload(startup bool) {
	if startup || !d.cfg.Global.FifoWriteStatesOnReload {
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
