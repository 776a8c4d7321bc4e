package whatif

import (
	"fmt"
	"slices"
	"strings"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// checkOutcome warns about an outcome that surprises: a track keepalived
// would ignore, nopreempt on the node that is not the one coming back.
func (a *analysis) checkOutcome(f failSpec, r *router, i int, o Outcome, before, after []int) {
	m := r.members[i]
	held := slices.Equal(before, []int{i})
	if o.Moved && f.kind != "stop" && f.kind != "interface" {
		if p := a.usePos(m, f); a.definedAfter(m.node, p) {
			a.warn(p, "(%s) keepalived 2.2 ignores %s %q here because it is defined after its use: with keepalived, %s on %s moves nothing (govrrp moves the VIPs %s → %s); define it above the vrrp_instance",
				m.in.Name, kindWord(f), f.name, f.what, a.names[m.node], strings.Join(o.Before, "+"), strings.Join(o.After, "+"))
		}
	}
	if o.Moved && o.Back && held && len(after) == 1 && r.members[after[0]].in.Nopreempt {
		other := r.members[after[0]]
		a.warn(m.in.Pos, "(%s) nopreempt on %s (%s) does not keep the VIPs there: when %s recovers from %s it preempts, because preemption is decided by the node coming back; to keep the VIPs where they moved, set nopreempt (with state BACKUP) here",
			m.in.Name, a.names[other.node], other.in.Pos, a.names[m.node], f.what)
	}
}

// movesNothing explains why the holder keeps the addresses despite the
// failure (s is at the end of the failure phase), and names the weight that
// would move them.
func (a *analysis) movesNothing(f failSpec, r *router, s *sim, i int, prio uint8) {
	m := r.members[i]
	in := s.insts[i]
	p := a.usePos(m, f)
	now := in.mach.EffectivePriority()
	best, bestJ := -1, -1
	for j, o := range s.insts[:s.own] {
		if j != i && o.running && o.linkUp && o.mach.State() == fsm.Backup && int(o.mach.EffectivePriority()) > best {
			best, bestJ = int(o.mach.EffectivePriority()), j
		}
	}
	if bestJ < 0 {
		a.warn(p, "(%s) %s on %s moves nothing: no other node can take VRID %d over", m.in.Name, f.what, a.names[m.node], r.vrid)
		return
	}
	other := a.names[r.members[bestJ].node]
	if now == prio {
		a.warn(p, "(%s) %s on %s does not change its priority %d: the VIPs stay; give it a weight below -%d, or weight 0 for FAULT",
			m.in.Name, f.what, a.names[m.node], prio, int(prio)-best)
		return
	}
	verb := "stays above"
	if int(now) == best {
		verb = "ties with (the higher address wins)"
	}
	a.warn(p, "(%s) %s on %s lowers its priority %d → %d, which %s %s's %d: the VIPs stay on %s; use a weight of -%d or lower, or weight 0 for FAULT",
		m.in.Name, f.what, a.names[m.node], prio, now, verb, other, best, a.names[m.node], int(prio)-best+1)
}

// usePos is the line where member m declares the failing track, else its
// vrrp_instance line.
func (a *analysis) usePos(m *member, f failSpec) kaconf.Pos {
	for _, u := range m.uses {
		if u.Key == f.key && u.Pos != (kaconf.Pos{}) {
			return u.Pos
		}
	}
	return m.in.Pos
}

// definedAfter: kaconf noted that the track used at p is defined after its
// use (keepalived 2.2 ignores such a track; govrrp resolves it).
func (a *analysis) definedAfter(node int, p kaconf.Pos) bool {
	return slices.ContainsFunc(a.nodes[node].Diags, func(d kaconf.Diagnostic) bool {
		return d.Pos == p && strings.Contains(d.Msg, "is defined after its use")
	})
}

func kindWord(f failSpec) string {
	switch f.key.Kind {
	case track.KindScript:
		return "vrrp_script"
	case track.KindFile:
		return "track_file"
	case track.KindProcess:
		return "vrrp_track_process"
	case track.KindBFD:
		return "bfd_instance"
	}
	return f.kind
}

// notes say what the simulation assumes.
func (a *analysis) notes() []string {
	out := []string{"times are by the protocol from the moment govrrp sees the change, worst case (it comes just after a master's advert); adverts arrive without loss or delay"}
	var assumed []string
	delay := false
	for _, r := range a.routers {
		for _, m := range r.members {
			if !m.given {
				assumed = append(assumed, fmt.Sprintf("%s (%s %s)", m.addr, a.names[m.node], m.in.Name))
			}
			delay = delay || m.in.PreemptDelay > 0
		}
		for _, t := range timingNotes(r, a.nodes) {
			out = append(out, fmt.Sprintf("(%s) %s is not modelled (changes timing, not the holder)", r.name, t))
		}
	}
	if len(assumed) > 0 {
		out = append(out, "advert source addresses are not in the files; assumed, deciding only equal priorities: "+strings.Join(assumed, ", "))
	}
	if delay {
		out = append(out, "preempt_delay holds off preemption after a (re)start only, as govrrp's state machine implements it")
	}
	return out
}
