package whatif

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/internal/track/weights"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// analysis is one Analyze call's state.
type analysis struct {
	nodes   []Node
	names   []string
	routers []*router
	cluster []kaconf.Diagnostic // kaconf.CheckCluster's findings
	rep     Report
	warned  map[Warning]bool
	// steadyHolders is how many nodes hold each router with nothing
	// failed: a split (or an empty) steady state is warned once, not again
	// after every failure.
	steadyHolders map[*router]int
}

// Analyze simulates every single failure of the nodes' configurations and
// the recovery from it. nodes are the files of one cluster, in the order
// given; the result depends only on them.
func Analyze(nodes []Node) Report {
	a := &analysis{nodes: nodes, names: nodeNames(nodes), routers: routers(nodes), warned: map[Warning]bool{}, steadyHolders: map[*router]int{}}
	if len(nodes) > 1 {
		members := make([]kaconf.Member, len(nodes))
		for i, n := range nodes {
			members[i] = kaconf.Member{File: n.File, Config: n.Config}
		}
		a.cluster = kaconf.CheckCluster(members)
	}
	a.rep.Warnings = []Warning{}
	for i, n := range nodes {
		a.rep.Nodes = append(a.rep.Nodes, NodeInfo{Name: a.names[i], File: n.File})
	}
	for _, r := range a.routers {
		a.rep.Routers = append(a.rep.Routers, a.steady(r))
	}
	for n := range nodes {
		for _, f := range a.failures(n) {
			if out := a.run(f); len(out.Outcomes) > 0 {
				a.rep.Failures = append(a.rep.Failures, out)
			}
		}
	}
	a.rep.Notes = a.notes()
	if slices.ContainsFunc(a.rep.Failures, func(f Failure) bool {
		return slices.ContainsFunc(f.Outcomes, func(o Outcome) bool { return o.Unsettled })
	}) {
		a.rep.Notes = append(a.rep.Notes, fmt.Sprintf("\"did not settle\": the machines were still exchanging adverts after %d events at one instant (e.g. two address owners re-advertising to each other) or %d in all; the holders shown are those at that point", maxPerInstant, maxEvents))
	}
	return a.rep
}

func (a *analysis) warn(p kaconf.Pos, format string, args ...any) {
	w := Warning{Pos: p.String(), Msg: fmt.Sprintf(format, args...)}
	if !a.warned[w] {
		a.warned[w] = true
		a.rep.Warnings = append(a.rep.Warnings, w)
	}
}

// steady describes a router and who holds it with nothing failed.
func (a *analysis) steady(r *router) Router {
	first := r.members[0].in
	out := Router{Name: r.name, VRID: r.vrid, Family: r.family, Version: first.Version,
		AdverInt: fmtDur(first.AdverInt), VIPs: []string{}, NotSimulated: r.skip, NotElection: r.notes}
	for _, v := range first.VIPs {
		out.VIPs = append(out.VIPs, v.Prefix.String())
	}
	for _, m := range r.members {
		rm := RouterMember{Node: a.names[m.node], Instance: m.in.Name, Pos: m.in.Pos.String(), State: m.in.State,
			Priority: m.in.Priority, Preempt: !m.in.Nopreempt, Address: m.addr.String(), AddressAssumed: !m.given}
		if m.in.PreemptDelay > 0 {
			rm.PreemptDelay = fmtDur(m.in.PreemptDelay)
		}
		out.Members = append(out.Members, rm)
	}
	if r.skip != "" {
		return out
	}
	s := a.started(r)
	for i := range out.Members {
		out.Members[i].Effective = s.insts[i].mach.EffectivePriority()
	}
	out.HeldBy = a.holderNames(s, s.holders())
	a.checkHolders(r, s, s.holders(), "with nothing failed", r.members[0].in.Pos)
	a.steadyHolders[r] = len(s.holders())
	return out
}

// started is a simulation of r with every node started at once and settled.
func (a *analysis) started(r *router) *sim {
	s := newSim(r, len(a.nodes))
	for i := range s.insts {
		s.start(i)
	}
	s.run(r.horizon())
	return s
}

func (a *analysis) holderNames(s *sim, hs []int) []string {
	out := []string{}
	for _, i := range hs {
		out = append(out, a.names[s.insts[i].m.node])
	}
	return out
}

// checkHolders warns when no node or several nodes hold the addresses at
// the end of a phase.
func (a *analysis) checkHolders(r *router, s *sim, hs []int, when string, at kaconf.Pos) {
	if n, ok := a.steadyHolders[r]; ok && (n == 0) == (len(hs) == 0) && (n > 1) == (len(hs) > 1) {
		return // as with nothing failed: warned then
	}
	switch {
	case len(hs) == 0:
		a.warn(at, "(%s) VRID %d: no node holds %s %s", r.name, r.vrid, vipText(r), when)
	case len(hs) > 1:
		ms := make([]*member, len(hs))
		for i, h := range hs {
			ms[i] = s.insts[h].m
		}
		p, why := a.whyApart(ms)
		a.warn(p, "(%s) VRID %d: %s are master at once %s: %s", r.name, r.vrid, strings.Join(a.holderNames(s, hs), " and "), when, why)
	}
}

// whyApart explains two masters, and names the line to change:
// kaconf.CheckCluster's finding on their instances when it has one, else
// dont_track_primary, else what the simulation saw.
func (a *analysis) whyApart(ms []*member) (kaconf.Pos, string) {
	var found []string
	var at kaconf.Pos
	for _, d := range a.cluster {
		for _, m := range ms {
			if d.Pos == m.in.Pos && d.Severity == kaconf.SevError {
				if len(found) == 0 {
					at = d.Pos
				}
				found = append(found, d.Msg)
				break
			}
		}
	}
	if len(found) > 0 {
		return at, strings.Join(found, "; ")
	}
	for _, m := range ms {
		if m.in.DontTrackPrimary {
			return m.in.Pos, fmt.Sprintf("%s has dont_track_primary, so it stays master on an interface that is down", m.in.Name)
		}
	}
	if why := cmp.Or(deafness(ms[0], ms[1]), deafness(ms[1], ms[0])); why != "" {
		return ms[1].in.Pos, "they do not hear each other's adverts: " + why
	}
	return ms[1].in.Pos, "they do not hear each other's adverts"
}

func vipText(r *router) string {
	var vs []string
	for _, v := range r.members[0].in.VIPs {
		vs = append(vs, v.Prefix.String())
	}
	if len(vs) == 0 {
		return "its addresses"
	}
	return strings.Join(vs, " ")
}

// failSpec is one single failure of one node.
type failSpec struct {
	node    int
	kind    string
	name    string
	key     weights.Key
	res     track.Result // the failed result (tracks)
	what    string
	pos     kaconf.Pos
	seen    time.Duration
	recover time.Duration
}

// failures lists node n's single failures: every tracked object its
// instances use, its source addresses with track_src_ip, every interface
// its instances run on or track, and the node stopping.
func (a *analysis) failures(n int) []failSpec {
	var tracks, ifaces []failSpec
	seen := map[weights.Key]bool{}
	for _, r := range a.routers {
		for _, m := range r.members {
			if m.node != n {
				continue
			}
			ifKey := weights.Key{Kind: track.KindInterface, Name: m.ifname}
			if !seen[ifKey] {
				seen[ifKey] = true
				ifaces = append(ifaces, failSpec{node: n, kind: "interface", name: m.ifname, key: ifKey, what: "interface " + m.ifname + " down", pos: m.in.Pos})
			}
			for i := range m.uses {
				u := &m.uses[i]
				if seen[u.Key] || (u.Primary && u.Key.Kind == track.KindInterface && !strings.HasPrefix(u.Key.Name, track.AddrResultPrefix)) {
					continue
				}
				seen[u.Key] = true
				if u.Key.Kind == track.KindInterface && !u.Primary {
					ifaces = append(ifaces, failSpec{node: n, kind: "interface", name: u.Key.Name, key: u.Key, what: "interface " + u.Key.Name + " down" + weightText(u), pos: u.Pos})
					continue
				}
				f := a.trackFailure(n, m, u)
				f.what += weightText(u)
				tracks = append(tracks, f)
			}
		}
	}
	out := append(tracks, ifaces...)
	return append(out, failSpec{node: n, kind: "stop", what: "stopped"})
}

// weightText is a track's weight as the failure's name shows it (the
// first instance's, when several track it); "" for the instance's own
// interface and source address, which only fault.
func weightText(u *weights.Use) string {
	if u.Primary {
		return ""
	}
	s := fmt.Sprintf(" (weight %d", u.Weight)
	if u.Reverse {
		s += " reverse"
	}
	return s + ")"
}

// trackFailure is the failed result of one tracked object: a script
// failing, a process gone, a file holding the value that lowers the
// priority (or faults a weight-0 file), the source address removed.
func (a *analysis) trackFailure(n int, m *member, u *weights.Use) failSpec {
	f := failSpec{node: n, name: u.Key.Name, key: u.Key, pos: u.Pos, res: track.Result{Kind: u.Key.Kind, Name: u.Key.Name}}
	switch u.Key.Kind {
	case track.KindScript:
		f.kind, f.what = "track_script", "track_script "+u.Key.Name+" fails"
		if sc := a.nodes[n].Config.Scripts[u.Key.Name]; sc != nil {
			f.seen = time.Duration(max(sc.Fall, 1)) * sc.Interval
			f.recover = time.Duration(max(sc.Rise, 1)) * sc.Interval
		}
	case track.KindProcess:
		f.kind, f.what = "track_process", "track_process "+u.Key.Name+" stops"
	case track.KindBFD:
		f.kind, f.what = "track_bfd", "bfd_instance "+u.Key.Name+" session goes down"
	case track.KindFile:
		f.kind = "track_file"
		f.res.OK, f.res.Value = true, fileFailValue(*u)
		f.what = "track_file " + u.Key.Name + " reads " + strconv.Itoa(f.res.Value)
	case track.KindInterface: // track_src_ip
		f.kind, f.name = "track_src_ip", strings.TrimPrefix(u.Key.Name, track.AddrResultPrefix)
		f.what, f.pos = "source address "+f.name+" removed (track_src_ip)", m.in.Pos
		if !m.given {
			f.what = "source address removed (track_src_ip)"
		}
	}
	return f
}

// fileFailValue is the value that makes a track_file count against the
// instance: 1 for weight 0 (any non-zero value faults), or the unit value
// whose product with the weight is negative.
func fileFailValue(u weights.Use) int {
	w := u.Weight
	if u.Reverse {
		w = -w
	}
	switch {
	case u.Weight == 0 && u.Reverse:
		return 0
	case w > 0:
		return -1
	}
	return 1
}

// again is the recovery from f in words.
func (f failSpec) again() string {
	switch f.kind {
	case "stop":
		return "is started again"
	case "interface":
		return "interface " + f.name + " is up again"
	}
	return "recovers (" + f.what + " no more)"
}

// affects: does f touch member m?
func (f failSpec) affects(m *member) bool {
	if m.node != f.node {
		return false
	}
	switch f.kind {
	case "stop":
		return true
	case "interface":
		if m.ifname == f.name {
			return true
		}
	}
	return slices.ContainsFunc(m.uses, func(u weights.Use) bool { return u.Key == f.key })
}

func (f failSpec) apply(s *sim) {
	switch f.kind {
	case "stop":
		s.stopNode(f.node)
	case "interface":
		s.setLink(f.node, f.name, false)
	default:
		s.setResult(f.node, f.key, f.res, true)
	}
}

func (f failSpec) undo(s *sim) {
	switch f.kind {
	case "stop":
		s.startNode(f.node)
	case "interface":
		s.setLink(f.node, f.name, true)
	default:
		s.setResult(f.node, f.key, track.Result{}, false)
	}
}

// run simulates f on every router it touches.
func (a *analysis) run(f failSpec) Failure {
	out := Failure{Node: a.names[f.node], Kind: f.kind, Name: f.name, What: f.what, Outcomes: []Outcome{}}
	if f.pos != (kaconf.Pos{}) {
		out.Pos = f.pos.String()
	}
	if f.seen > 0 {
		out.SeenAfter, out.RecoveredAfter = fmtDur(f.seen), fmtDur(f.recover)
	}
	for _, r := range a.routers {
		i := slices.IndexFunc(r.members, f.affects)
		if i < 0 {
			i = groupPartner(f, r)
		}
		if i < 0 {
			continue
		}
		if r.skip != "" {
			out.Outcomes = append(out.Outcomes, Outcome{Router: r.name, VRID: r.vrid, NotSimulated: r.skip})
			continue
		}
		out.Outcomes = append(out.Outcomes, a.outcome(f, r, i))
	}
	return out
}

// groupPartner is r's member on the failing node when f touches a router a
// vrrp_sync_group ties to r (the group carries the failure over); -1 if
// none.
func groupPartner(f failSpec, r *router) int {
	for _, o := range r.linked[1:] {
		if slices.ContainsFunc(o.members, f.affects) {
			return slices.IndexFunc(r.members, func(m *member) bool { return m.node == f.node })
		}
	}
	return -1
}

// outcome runs the three phases for router r, whose member i fails:
// settled start, failure, recovery. Failure and recovery come just after
// a master's advert, the protocol's worst case.
func (a *analysis) outcome(f failSpec, r *router, i int) Outcome {
	o := Outcome{Router: r.name, VRID: r.vrid}
	s := newSim(r, len(a.nodes))
	for j := range s.insts {
		s.start(j)
	}
	L := r.horizon()
	ok := s.run(L) && s.runToAdvert(2*L)
	before := s.holders()
	prio := s.insts[i].mach.EffectivePriority()

	t1 := s.now
	f.apply(s)
	ok = ok && s.run(t1+L)
	after := s.holders()
	o.Effect = effectText(s.insts[i], prio, f)
	o.Before, o.After = a.holderNames(s, before), a.holderNames(s, after)
	o.Moved = !slices.Equal(before, after)
	if o.Moved {
		o.Takes = fmtDur(settledAt(s.changes, t1) - t1)
		if u := unheld(s.changes, t1, len(before)); u > 0 {
			o.Unheld = fmtDur(u)
		}
	}
	o.Tie = tie(s, after)
	if slices.Equal(before, []int{i}) && slices.Equal(after, before) && f.kind != "stop" {
		a.movesNothing(f, r, s, i, prio)
	}
	a.checkHolders(r, s, after, "after "+a.names[f.node]+" "+f.what, s.insts[i].m.in.Pos)

	ok = ok && s.runToAdvert(s.now+L)
	t2 := s.now
	f.undo(s)
	ok = ok && s.run(t2+L)
	rec := s.holders()
	o.Recovered = a.holderNames(s, rec)
	o.Back = slices.Equal(before, rec)
	if !slices.Equal(after, rec) {
		o.BackTakes = fmtDur(settledAt(s.changes, t2) - t2)
	}
	o.Why = a.why(f, r, s, i, before, after, rec)
	o.Unsettled = !ok
	a.checkHolders(r, s, rec, "after "+a.names[f.node]+" "+f.again(), s.insts[i].m.in.Pos)
	a.checkOutcome(f, r, i, o, before, after)
	return o
}

// effectText is what the failure did to the failing instance.
func effectText(in *inst, prio uint8, f failSpec) string {
	switch {
	case !in.running:
		return "stopped"
	case in.mach.State() == fsm.Fault:
		return "FAULT"
	case f.kind == "interface" && !in.linkUp:
		return "isolated"
	}
	now := in.mach.EffectivePriority()
	if now == prio {
		return "no effect"
	}
	return fmt.Sprintf("%d→%d", prio, now)
}

// settledAt is when the last VIP change after t happened.
func settledAt(cs []change, t time.Duration) time.Duration {
	last := t
	for _, c := range cs {
		if c.at >= t {
			last = c.at
		}
	}
	return last
}

// unheld is how long after t no instance held the addresses, given that
// held instances held them at t.
func unheld(cs []change, t time.Duration, held int) time.Duration {
	var total, since time.Duration
	n := held
	for _, c := range cs {
		if c.at < t {
			continue
		}
		if c.add {
			if n == 0 {
				total += c.at - since
			}
			n++
			continue
		}
		n--
		if n == 0 {
			since = c.at
		}
	}
	return total
}

// tie: the single holder's effective priority equals that of another
// member that could hold the addresses.
func tie(s *sim, hs []int) bool {
	if len(hs) != 1 {
		return false
	}
	p := s.insts[hs[0]].mach.EffectivePriority()
	for j, in := range s.insts[:s.own] {
		if j != hs[0] && in.running && in.linkUp && in.mach.State() == fsm.Backup && in.mach.EffectivePriority() == p {
			return true
		}
	}
	return false
}

// why explains the holder after recovery: the returning node preempts
// (after its preempt_delay when it restarted), or stays out (nopreempt).
func (a *analysis) why(f failSpec, r *router, s *sim, i int, before, after, rec []int) string {
	if slices.Equal(after, rec) && !slices.Equal(before, after) {
		m := r.members[i]
		if m.in.Nopreempt && slices.Equal(before, []int{i}) {
			return "nopreempt on " + a.names[m.node]
		}
		return ""
	}
	if slices.Equal(before, rec) && !slices.Equal(before, after) && slices.Equal(rec, []int{i}) {
		if f.kind == "stop" && r.members[i].in.PreemptDelay > 0 {
			return "preempt_delay " + fmtDur(r.members[i].in.PreemptDelay)
		}
		if len(after) > 0 {
			return "preempt"
		}
	}
	return ""
}

// fmtDur prints a duration rounded to milliseconds ("3.609s").
func fmtDur(d time.Duration) string { return d.Round(time.Millisecond).String() }
