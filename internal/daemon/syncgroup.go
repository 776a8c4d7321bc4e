package daemon

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/notify"
	"github.com/govrrp/govrrp/internal/track/weights"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// vrrp_sync_group glue: the policy is fsm.Group (pure); this file keeps the
// membership, feeds the policy the members' views and runs its directives
// on the loop. Directives are queued while a machine's actions execute (the
// action buffer is shared) and run when handle returns (syncFlush).

// syncRun is one running sync group.
type syncRun struct {
	policy  fsm.Group
	cfg     *kaconf.SyncGroup
	members []*instance
	state   fsm.State // last state notified ("" state: Initialize)
}

// syncState is every group and the faults the daemon applied for them.
type syncState struct {
	groups  []*syncRun
	of      map[*instance]*syncRun
	own     map[*instance]string // the member's own (track) fault
	applied map[*instance]string // the fault the machine was given ("" none)
	queue   []syncDirective
	busy    bool // syncFlush is running
}

type syncDirective struct {
	in *instance
	ev fsm.Event
}

// maxSyncDirectives bounds one flush: each directive moves a member one
// step towards its group's state, so a group of n members needs at most a
// few n; anything beyond is a policy loop and is dropped, logged.
const maxSyncDirectives = 1024

// applySyncGroups (re)builds the groups of cfg over the running instances:
// members join or leave (a machine outside any group takes MASTER by itself
// again), faults held for a group that changed are re-derived.
func (d *Daemon) applySyncGroups(cfg *kaconf.Config) {
	s := &d.sync
	byName := map[string]*instance{}
	for _, in := range d.instances {
		byName[in.name] = in
	}
	prev := map[string]fsm.State{}
	for _, g := range s.groups {
		prev[g.cfg.Name] = g.state
	}
	if s.own == nil {
		s.own, s.applied = map[*instance]string{}, map[*instance]string{}
	}
	s.groups, s.of = nil, map[*instance]*syncRun{}
	for _, g := range cfg.SyncGroups {
		r := &syncRun{policy: fsm.Group{Name: g.Name}, cfg: g, state: prev[g.Name]}
		for _, name := range g.Group {
			if in := byName[name]; in != nil {
				r.members = append(r.members, in)
				s.of[in] = r
			}
		}
		if len(r.members) > 0 {
			s.groups = append(s.groups, r)
		}
	}
	for _, in := range d.instances {
		r := s.of[in]
		in.machine.SetSyncMember(r != nil && len(r.members) > 1)
		name := ""
		if r != nil {
			name = r.cfg.Name
		}
		in.publish(func(ci *control.Instance) { ci.SyncGroup = name })
	}
	// Forget instances that are gone; a former member's group fault lifts
	// and it is on its own again.
	for in := range s.applied {
		if !slices.Contains(d.instances, in) {
			delete(s.applied, in)
			delete(s.own, in)
		}
	}
	for in := range s.applied {
		if s.of[in] == nil {
			d.setMachineFault(in, s.own[in], "left its sync group")
			delete(s.applied, in)
			delete(s.own, in)
		}
	}
	// A new member brings the fault its tracks already gave its machine.
	for in := range s.of {
		if _, known := s.applied[in]; !known {
			f := ""
			if in.trackFault {
				f = cmp.Or(d.verdict(in).fault, "tracked object failed")
			}
			s.own[in], s.applied[in] = f, f
		}
	}
	for _, r := range s.groups {
		d.syncFaults(r, "sync group "+r.cfg.Name+" reconfigured")
	}
}

// groupUses are the tracks a member gets from its group, with the group's
// weights (weights.GroupUses: the what-if simulator's rule too).
func groupUses(cfg *kaconf.Config, instance string) []trackUse {
	var out []trackUse
	for _, u := range weights.GroupUses(cfg, instance) {
		out = append(out, trackUse{key: trackKey{u.Key.Kind, u.Key.Name}, weight: u.Weight, reverse: u.Reverse})
	}
	return out
}

// setOwnFault is a member's own (track) fault edge: outside a group it goes
// straight to the machine; inside, the whole group is re-derived.
func (d *Daemon) setOwnFault(in *instance, fault, why string) {
	r := d.sync.of[in]
	if r == nil {
		if fault != "" {
			d.handle(in, fsm.FaultSet(fault))
		} else {
			d.handle(in, fsm.FaultCleared(why))
		}
		return
	}
	d.sync.own[in] = fault
	d.syncFaults(r, why)
}

// syncFaults gives every member of r the fault it must have: its own, or
// the group's while another member has one.
func (d *Daemon) syncFaults(r *syncRun, why string) {
	for i, in := range r.members {
		want := d.sync.own[in]
		if want == "" {
			want = r.policy.GroupFault(d.syncView(r), i)
		}
		d.setMachineFault(in, want, why)
	}
}

// setMachineFault sends the machine the edge from its applied fault to want.
func (d *Daemon) setMachineFault(in *instance, want, why string) {
	has := d.sync.applied[in]
	d.sync.applied[in] = want
	switch {
	case want != "" && has == "":
		d.handle(in, fsm.FaultSet(want))
	case want == "" && has != "":
		d.handle(in, fsm.FaultCleared(why))
	}
}

// syncView is what the policy sees of r's members.
func (d *Daemon) syncView(r *syncRun) []fsm.Member {
	ms := make([]fsm.Member, len(r.members))
	for i, in := range r.members {
		ms[i] = fsm.Member{Name: in.name, State: in.machine.State(), WantMaster: in.machine.WantsMaster(), OwnFault: d.sync.own[in]}
	}
	return ms
}

// syncWantMaster is a member's ActWantMaster: the group goes MASTER if
// every member would.
func (d *Daemon) syncWantMaster(in *instance, why string) {
	r := d.sync.of[in]
	if r == nil {
		return
	}
	i := slices.Index(r.members, in)
	ds := r.policy.OnWantMaster(d.syncView(r), i, why)
	if len(ds) == 0 {
		d.log.Info("sync group member wants MASTER; waiting for the others", "instance", in.name, "group", r.cfg.Name, "reason", why)
	}
	d.queueSync(r, ds)
}

// syncStateChanged runs the group's consequences of a member's transition
// and its group notify.
func (d *Daemon) syncStateChanged(in *instance, a fsm.Action) {
	r := d.sync.of[in]
	if r == nil {
		return
	}
	i := slices.Index(r.members, in)
	d.queueSync(r, r.policy.OnStateChange(d.syncView(r), i, a.From, a.To))
	d.syncNotify(r)
}

func (d *Daemon) queueSync(r *syncRun, ds []fsm.Directive) {
	for _, x := range ds {
		d.sync.queue = append(d.sync.queue, syncDirective{in: r.members[x.Member], ev: x.Event})
	}
}

// syncFlush runs the queued directives once the current machine's actions
// are done; directives queued meanwhile run in the same flush.
func (d *Daemon) syncFlush() {
	s := &d.sync
	if s.busy {
		return
	}
	s.busy = true
	defer func() { s.busy = false }()
	for n := 0; len(s.queue) > 0; n++ {
		x := s.queue[0]
		s.queue = s.queue[1:]
		if n >= maxSyncDirectives {
			d.log.Error("sync group directives did not settle; dropped", "pending", len(s.queue)+1)
			s.queue = nil
			return
		}
		if slices.Contains(d.instances, x.in) {
			d.handle(x.in, x.ev)
		}
	}
}

// syncNotify runs the group's notify scripts and FIFO line when the group
// as a whole reached a new state (keepalived: "GROUP NAME STATE").
func (d *Daemon) syncNotify(r *syncRun) {
	st, ok := r.policy.State(d.syncView(r))
	if !ok || st == r.state {
		return
	}
	from := r.state
	r.state = st
	if st == fsm.Initialize && from == fsm.Initialize {
		return
	}
	d.log.Info("sync group state change", "group", r.cfg.Name, "from", from.String(), "to", st.String())
	if g, ok := d.notify.(interface{ GroupTransition(group, state string) }); ok {
		g.GroupTransition(r.cfg.Name, notifyState(st))
	}
	d.mailGroup(r.cfg.Name, st) // smtp_alert (mail.go)
}

// notifyGroups is every sync group's notify set (scripts resolved as the
// instances' are); groups without scripts still write their FIFO lines.
func notifyGroups(r *commandResolver, cfg *kaconf.Config) ([]notify.Group, error) {
	var out []notify.Group
	for _, g := range cfg.SyncGroups {
		ng := notify.Group{Name: g.Name}
		for _, s := range []struct {
			keyword, cmd string
			dst          **notify.Script
		}{
			{"notify", g.Notify, &ng.Generic},
			{"notify_master", g.NotifyMaster, &ng.Master},
			{"notify_backup", g.NotifyBackup, &ng.Backup},
			{"notify_fault", g.NotifyFault, &ng.Fault},
			{"notify_stop", g.NotifyStop, &ng.Stop},
		} {
			if s.cmd == "" {
				continue
			}
			script, err := notifyScript(r, s.cmd, g.RunAs[s.keyword])
			if err != nil {
				return nil, fmt.Errorf("%s: vrrp_sync_group %s %s: %w", g.Pos, g.Name, s.keyword, err)
			}
			*s.dst = script
		}
		out = append(out, ng)
	}
	return out, nil
}
