package fsm

// vrrp_sync_group, as keepalived 2.2.7 runs it (vrrp_sync.c's rules,
// re-derived from its documentation and behaviour):
//
//   - A member whose Master_Down_Interval passes does not take MASTER by
//     itself: it "wants" MASTER (ActWantMaster) and stays Backup with the
//     timer re-armed. The group goes MASTER when every other member wants it
//     too, or is already Master; then every Backup member goes (GoMaster).
//     Preferring BACKUP avoids half a group on each node.
//   - A Master member that yields to a better advert pulls the other Master
//     members to Backup (ForceBackup: VIPs removed, no priority-0 advert,
//     as keepalived does).
//   - A member in FAULT of its own holds every other member in FAULT; the
//     group leaves FAULT when no member has a fault of its own.
//
// The Machine side is below; Group is the pure policy the daemon consults.

import (
	"net/netip"
	"strconv"
)

// syncMember is a machine's sync-group state.
type syncMember struct {
	member bool // in a sync group: master-down expiry asks instead of taking MASTER
	want   bool // Master_Down_Interval passed with no master heard since
}

// SetSyncMember makes the machine a sync group member (or not). A member's
// master-down expiry yields ActWantMaster instead of becoming Master; the
// caller answers with GoMaster when the group may go. Leaving a group
// forgets a pending wish (the next expiry takes MASTER directly).
func (m *Machine) SetSyncMember(member bool) {
	m.sync.member = member
	if !member {
		m.sync.want = false
	}
}

// WantsMaster: a Backup sync group member whose Master_Down_Interval passed
// and that has heard no master since.
func (m *Machine) WantsMaster() bool { return m.state == Backup && m.sync.want }

// GoMaster takes a Backup member to Master with its group.
func GoMaster(reason string) Event { return Event{Kind: EvGoMaster, Reason: reason} }

// ForceBackup takes a Master member to Backup with its group.
func ForceBackup(reason string) Event { return Event{Kind: EvForceBackup, Reason: reason} }

// wantMaster: the master-down timer of a member expired. keepalived keeps
// the member in BACKUP, remembers that it wants MASTER and restarts the
// timer; an advert from a master clears the wish.
func (m *Machine) wantMaster(out []Action) []Action {
	reason := m.downReason()
	m.sync.want = true
	out = m.armDown(out, m.downInterval(), false, netip.Addr{})
	return append(out, Action{Kind: ActWantMaster, Reason: reason})
}

func (m *Machine) onSync(ev Event, out []Action) []Action {
	switch {
	case ev.Kind == EvGoMaster && m.state == Backup:
		return m.becomeMaster(out, ev.Reason)
	case ev.Kind == EvForceBackup && m.state == Master:
		// No priority-0 advert: keepalived 2.2.7 sends none here (seen on
		// the wire: the peer's member takes over after its
		// Master_Down_Interval), and a mixed cluster must time alike.
		out = m.stop(out, TimerAdvert)
		out = append(out, Action{Kind: ActRemoveVIPs})
		out = m.enterBackup(out)
		return m.changeState(out, Backup, ev.Reason)
	}
	return out
}

// Member is what the group policy needs to know of one member.
type Member struct {
	Name       string
	State      State
	WantMaster bool   // Machine.WantsMaster
	OwnFault   string // why the member itself is faulted ("" = it is not)
}

// Directive is an event the daemon must feed to member Member.
type Directive struct {
	Member int
	Event  Event
}

// Group is the policy of one vrrp_sync_group. It is pure: the caller passes
// the members' current view and executes the directives in order.
type Group struct {
	Name string
}

// CanGoMaster: member who wants MASTER may take it when every other member
// is Master or wants MASTER too.
func (g Group) CanGoMaster(ms []Member, who int) bool {
	for i, m := range ms {
		if i != who && m.State != Master && !(m.State == Backup && m.WantMaster) {
			return false
		}
	}
	return true
}

// OnWantMaster answers a member's ActWantMaster: GoMaster for it and every
// other Backup member when the group may go, nothing otherwise.
func (g Group) OnWantMaster(ms []Member, who int, why string) []Directive {
	if who < 0 || who >= len(ms) || !g.CanGoMaster(ms, who) {
		return nil
	}
	var out []Directive
	for i, m := range ms {
		if m.State != Backup {
			continue
		}
		reason := "sync group " + g.Name + ": every member wants MASTER"
		if i == who {
			reason = why + "; " + reason
		} else {
			reason += " (" + ms[who].Name + " last)"
		}
		out = append(out, Directive{Member: i, Event: GoMaster(reason)})
	}
	return out
}

// OnStateChange answers member who's transition from -> to with what the
// others must do: a Master member demoted to Backup takes the other Masters
// with it; a member that went Master (an address owner, which never waits)
// pulls the Backup members.
func (g Group) OnStateChange(ms []Member, who int, from, to State) []Directive {
	if who < 0 || who >= len(ms) {
		return nil
	}
	var out []Directive
	for i, m := range ms {
		if i == who {
			continue
		}
		switch {
		case from == Master && to == Backup && m.State == Master:
			out = append(out, Directive{Member: i, Event: ForceBackup("sync group " + g.Name + ": " + ms[who].Name + " went BACKUP")})
		case to == Master && m.State == Backup:
			out = append(out, Directive{Member: i, Event: GoMaster("sync group " + g.Name + ": " + ms[who].Name + " went MASTER")})
		}
	}
	return out
}

// GroupFault is why member i is held in FAULT by its group: the first other
// member with a fault of its own; "" when none.
func (g Group) GroupFault(ms []Member, i int) string {
	for j, m := range ms {
		if j != i && m.OwnFault != "" {
			return "sync group " + g.Name + ": " + m.Name + " in FAULT (" + m.OwnFault + ")"
		}
	}
	return ""
}

// State is the group's state for its notify scripts: FAULT when any member
// is in FAULT, MASTER or BACKUP when every member is, INIT when every member
// is stopped; ok is false while the members disagree (a group in transition
// keeps its last state).
func (g Group) State(ms []Member) (s State, ok bool) {
	if len(ms) == 0 {
		return Initialize, false
	}
	for _, m := range ms {
		if m.State == Fault {
			return Fault, true
		}
	}
	first := ms[0].State
	for _, m := range ms[1:] {
		if m.State != first {
			return first, false
		}
	}
	if first == Releasing {
		return first, false
	}
	return first, true
}

// String describes a member list briefly, for logs.
func (g Group) String() string { return "sync group " + strconv.Quote(g.Name) }
