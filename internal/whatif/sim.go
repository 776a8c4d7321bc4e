package whatif

import (
	"container/heap"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/fsmconf"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/internal/track/weights"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// maxEvents bounds one simulation: above what three phases need (a few
// events per advert interval per member, preempt_delay 1000 s at 10 ms
// included), so reaching it is reported as "did not settle" rather than
// looping.
const maxEvents = 1 << 21

// maxPerInstant bounds the events of one virtual instant. Adverts take no
// time here, so two masters that re-advertise to each other without
// either yielding (two address owners) would exchange adverts forever at
// one instant; that is reported as "did not settle" at once.
const maxPerInstant = 1000

// inst is one member's running machine.
type inst struct {
	m       *member
	router  *router // adverts reach only the members of the same router
	mach    *fsm.Machine
	epoch   int // bumped on restart, so the old machine's timers are dropped
	running bool
	stopped bool // shut down; running until its machine reaches Initialize
	linkUp  bool
	fault   bool // a track holds it in FAULT (its own fault)
	// group is its sync group (nil: none); applied is the fault reason the
	// machine was given (its own, or the group's while another member has
	// one); ownWhy why its own fault is.
	group   *simGroup
	applied string
	ownWhy  string
	delta   int  // sum of tracking weights fed to the machine
	holds   bool // its VIPs are installed
}

// event is an advert or timer expiry due at a virtual time; seq keeps
// events of one instant in the order they were caused.
type event struct {
	at    time.Duration
	seq   uint64
	to    int
	epoch int
	ev    fsm.Event
}

type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// change is one VIP install or removal.
type change struct {
	at  time.Duration
	who int
	add bool
}

// simGroup is one node's vrrp_sync_group in a simulation.
type simGroup struct {
	policy  fsm.Group
	members []int // instance indices, in the group's order
}

// directive is a sync group's event for one instance, run once the
// machine whose actions caused it is done (as the daemon's syncFlush).
type directive struct {
	to int
	ev fsm.Event
}

// maxDirectives bounds one flush of sync group directives (a group of n
// members needs a few per member).
const maxDirectives = 1000

// sim runs one router's members on a lossless zero-latency segment, with
// the routers a sync group ties to it (router.linked) beside them: the
// first len(r.members) instances are r's, in member order.
type sim struct {
	r        *router
	own      int // r's instances are insts[:own]
	groups   []*simGroup
	pending  []directive
	flushing bool
	now      time.Duration
	q        queue
	seq      uint64
	insts    []*inst
	results  []map[weights.Key]track.Result // per node: what a scenario set
	healthy  []map[weights.Key]track.Result // per node: healthy results other than "OK"
	linkDown []map[string]bool              // per node: interfaces down
	changes  []change
	events   int
	instant  int // events handled at the current virtual time
	// lastAdvert is when a master last sent; advertSeen that it did in the
	// current runToAdvert.
	lastAdvert time.Duration
	advertSeen bool
}

func newSim(r *router, nodes int) *sim {
	s := &sim{r: r, own: len(r.members)}
	for range nodes {
		s.results = append(s.results, map[weights.Key]track.Result{})
		s.linkDown = append(s.linkDown, map[string]bool{})
		s.healthy = append(s.healthy, map[weights.Key]track.Result{})
	}
	linked := r.linked
	if len(linked) == 0 {
		linked = []*router{r}
	}
	for _, lr := range linked {
		for _, m := range lr.members {
			s.insts = append(s.insts, &inst{m: m, router: lr, mach: newMachine(m), running: true, linkUp: true})
			for _, u := range m.uses {
				if u.Key.Kind == track.KindFile && u.Weight == 0 && u.Reverse {
					// weight 0 reverse: a zero value is the fault, so healthy is 1.
					s.healthy[m.node][u.Key] = track.Result{Kind: u.Key.Kind, Name: u.Key.Name, OK: true, Value: 1}
				}
			}
		}
	}
	for _, g := range r.groups {
		sg := &simGroup{policy: fsm.Group{Name: g.name}}
		for _, name := range g.instances {
			for i, in := range s.insts {
				if in.m.node == g.node && in.m.in.Name == name {
					sg.members = append(sg.members, i)
					in.group = sg
					in.mach.SetSyncMember(true)
				}
			}
		}
		s.groups = append(s.groups, sg)
	}
	return s
}

// newMachine is the daemon's machine for the instance (fsmconf.For, as
// internal/daemon newInstance).
func newMachine(m *member) *fsm.Machine {
	return fsm.New(fsmconf.For(m.in, m.addr))
}

// restartMachine gives instance in a fresh machine, a sync group member's
// again.
func (in *inst) restartMachine() {
	in.mach = newMachine(in.m)
	in.mach.SetSyncMember(in.group != nil)
	in.fault, in.applied, in.ownWhy = false, "", ""
}

// start starts instance i as the daemon does: first track results, then
// Startup.
func (s *sim) start(i int) {
	s.reevaluate(i, "initial track results")
	s.handle(i, fsm.Startup())
}

func (s *sim) handle(i int, ev fsm.Event) {
	in := s.insts[i]
	for _, a := range in.mach.Handle(ev, nil) {
		s.exec(i, a)
	}
	s.flush()
}

// flush runs the sync group directives queued by the machines' actions,
// in order; directives they queue run in the same flush.
func (s *sim) flush() {
	if s.flushing {
		return
	}
	s.flushing = true
	defer func() { s.flushing = false }()
	for n := 0; len(s.pending) > 0 && n < maxDirectives; n++ {
		d := s.pending[0]
		s.pending = s.pending[1:]
		if in := s.insts[d.to]; in.running {
			for _, a := range in.mach.Handle(d.ev, nil) {
				s.exec(d.to, a)
			}
		}
	}
	s.pending = nil
}

// view is what the group policy sees of g's members.
func (s *sim) view(g *simGroup) []fsm.Member {
	ms := make([]fsm.Member, len(g.members))
	for k, i := range g.members {
		in := s.insts[i]
		ms[k] = fsm.Member{Name: in.m.in.Name, State: in.mach.State(), WantMaster: in.mach.WantsMaster(), OwnFault: in.ownWhy}
	}
	return ms
}

// queue adds g's directives for the flush.
func (s *sim) queue(g *simGroup, ds []fsm.Directive) {
	for _, d := range ds {
		s.pending = append(s.pending, directive{to: g.members[d.Member], ev: d.Event})
	}
}

// groupFaults gives every member of g the fault it must have: its own, or
// the group's while another member has one (the daemon's syncFaults).
func (s *sim) groupFaults(g *simGroup, why string) {
	ms := s.view(g)
	for k, i := range g.members {
		in := s.insts[i]
		want := in.ownWhy
		if want == "" {
			want = g.policy.GroupFault(ms, k)
		}
		has := in.applied
		in.applied = want
		switch {
		case !in.running || in.stopped:
		case want != "" && has == "":
			s.handle(i, fsm.FaultSet(want))
		case want == "" && has != "":
			s.handle(i, fsm.FaultCleared(why))
		}
	}
}

func (s *sim) exec(i int, a fsm.Action) {
	in := s.insts[i]
	switch a.Kind {
	case fsm.ActSendAdvert:
		s.send(i, a.Priority)
	case fsm.ActAddVIPs:
		in.holds = true
		s.changes = append(s.changes, change{s.now, i, true})
	case fsm.ActRemoveVIPs:
		in.holds = false
		s.changes = append(s.changes, change{s.now, i, false})
	case fsm.ActArmTimer:
		s.push(s.now+a.After, i, fsm.TimerFired(a.Timer, a.Gen))
	case fsm.ActWantMaster:
		if g := in.group; g != nil {
			s.queue(g, g.policy.OnWantMaster(s.view(g), slices.Index(g.members, i), a.Reason))
		}
	case fsm.ActStateChanged:
		if g := in.group; g != nil {
			s.queue(g, g.policy.OnStateChange(s.view(g), slices.Index(g.members, i), a.From, a.To))
		}
	}
}

func (s *sim) push(at time.Duration, to int, ev fsm.Event) {
	s.seq++
	heap.Push(&s.q, event{at: at, seq: s.seq, to: to, epoch: s.insts[to].epoch, ev: ev})
}

// send delivers an advert from i to every member that hears it.
func (s *sim) send(i int, prio uint8) {
	from := s.insts[i]
	if !from.running || !from.linkUp {
		return
	}
	if from.mach.State() == fsm.Master {
		s.lastAdvert, s.advertSeen = s.now, true
	}
	for j, to := range s.insts {
		if j != i && to.router == from.router && hears(from.m, to.m) {
			s.push(s.now, j, fsm.Advert(prio, from.m.in.AdverInt, from.m.addr))
		}
	}
}

// hears: would b's daemon accept a's adverts?
func hears(a, b *member) bool { return deafness(a, b) == "" }

// deafness says why b's daemon drops a's adverts ("" when it accepts
// them), by the codec's rules: same version; v2 intervals and
// authentication equal; auth_hmac keys and modes that accept each other
// (kaconf.HMACDeafness); the same multicast group; unicast members hear
// only the peers they list and send only to those (multicast and unicast
// members never hear each other).
func deafness(a, b *member) string {
	x, y := a.in, b.in
	switch {
	case x.Version != y.Version:
		return fmt.Sprintf("VRRP version %d vs %d", x.Version, y.Version)
	case x.Version == 2 && x.AdverInt != y.AdverInt:
		return fmt.Sprintf("VRRPv2 advert_int %v vs %v", x.AdverInt, y.AdverInt)
	case x.Version == 2 && (x.AuthType != y.AuthType || x.AuthPass != y.AuthPass):
		return "different authentication"
	}
	if why := kaconf.HMACDeafness(x, y); why != "" {
		return why
	}
	ua, ub := len(x.UnicastPeers) > 0, len(y.UnicastPeers) > 0
	switch {
	case ua != ub:
		return "one uses unicast_peer, the other multicast"
	case !ua && x.McastDstIP != y.McastDstIP:
		return "different mcast_dst_ip"
	case !ua:
		return ""
	}
	// An address the files do not give cannot be checked: assume the peer
	// lists it (kaconf.CheckCluster reports the lists that do not match).
	if b.given && !lists(x, b.addr) {
		return fmt.Sprintf("(%s) unicast_peer does not list %s", x.Name, b.addr)
	}
	if a.given && !lists(y, a.addr) {
		return fmt.Sprintf("(%s) unicast_peer does not list %s", y.Name, a.addr)
	}
	return ""
}

func lists(in *kaconf.Instance, addr netip.Addr) bool {
	return slices.ContainsFunc(in.UnicastPeers, func(p kaconf.UnicastPeer) bool { return p.Addr == addr })
}

// run processes events up to and including virtual time until.
func (s *sim) run(until time.Duration) bool {
	for len(s.q) > 0 && s.q[0].at <= until {
		if !s.step() {
			return false
		}
	}
	s.now = max(s.now, until)
	return true
}

// runToAdvert processes events until a master has sent an advert and
// everything due at that instant has happened, or until limit: a failure
// injected then is the protocol's worst case (the backups have just
// re-armed their master-down timers).
func (s *sim) runToAdvert(limit time.Duration) bool {
	s.advertSeen = false
	for len(s.q) > 0 && s.q[0].at <= limit {
		if s.advertSeen && s.q[0].at > s.lastAdvert {
			return true
		}
		if !s.step() {
			return false
		}
	}
	s.now = max(s.now, limit) // no master advertised: inject now
	return true
}

// step handles the next event; false once maxEvents is reached.
func (s *sim) step() bool {
	if s.events >= maxEvents {
		return false
	}
	s.events++
	e := heap.Pop(&s.q).(event)
	if e.at != s.now {
		s.instant = 0
	}
	if s.instant++; s.instant > maxPerInstant {
		s.events = maxEvents // stop here, and every later phase
		return false
	}
	s.now = e.at
	in := s.insts[e.to]
	if e.epoch != in.epoch || !in.running {
		return true
	}
	if e.ev.Kind == fsm.EvAdvert && !in.linkUp {
		return true
	}
	s.handle(e.to, e.ev)
	if in.stopped && in.mach.State() == fsm.Initialize {
		in.running = false
	}
	return true
}

// result is node n's current result for key: interfaces from the link
// state, everything else healthy unless a scenario set it.
func (s *sim) result(n int, k weights.Key) track.Result {
	if r, ok := s.results[n][k]; ok {
		return r
	}
	if r, ok := s.healthy[n][k]; ok {
		return r
	}
	if k.Kind == track.KindInterface && s.linkDown[n][k.Name] {
		return track.Result{Kind: k.Kind, Name: k.Name, OK: false}
	}
	return track.Result{Kind: k.Kind, Name: k.Name, OK: true}
}

// verdict sums instance i's tracks with the daemon's rules.
func (s *sim) verdict(i int) (delta int, fault bool) {
	in := s.insts[i]
	for _, u := range in.m.uses {
		d, f := weights.Effect(u, s.result(in.m.node, u.Key))
		delta += d
		fault = fault || f
	}
	return delta, fault
}

// reevaluate feeds instance i's machine its tracks' consequences on the
// edges, as the daemon's reevaluateAll does: fault first, then priority.
func (s *sim) reevaluate(i int, why string) {
	in := s.insts[i]
	if !in.running || in.stopped {
		return
	}
	delta, fault := s.verdict(i)
	switch {
	case in.group != nil && fault != in.fault:
		in.fault, in.ownWhy = fault, ""
		if fault {
			in.ownWhy = why
		}
		s.groupFaults(in.group, why)
	case in.group != nil:
	case fault && !in.fault:
		in.fault = true
		s.handle(i, fsm.FaultSet(why))
	case !fault && in.fault:
		in.fault = false
		s.handle(i, fsm.FaultCleared(why))
	}
	if delta != in.delta {
		in.delta = delta
		s.handle(i, fsm.PriorityDelta(delta, why))
	}
}

// reevaluateNode re-evaluates every running instance of node n.
func (s *sim) reevaluateNode(n int, why string) {
	for i, in := range s.insts {
		if in.m.node == n {
			s.reevaluate(i, why)
		}
	}
}

// setResult changes one tracked object of node n.
func (s *sim) setResult(n int, k weights.Key, r track.Result, ok bool) {
	if ok {
		s.results[n][k] = r
	} else {
		delete(s.results[n], k)
	}
	s.reevaluateNode(n, k.String())
}

// setLink takes interface ifname of node n down or up: its instances
// stop hearing and sending, and tracks of it report.
func (s *sim) setLink(n int, ifname string, up bool) {
	s.linkDown[n][ifname] = !up
	for _, in := range s.insts {
		if in.m.node == n && in.m.ifname == ifname {
			in.linkUp = up
		}
	}
	s.reevaluateNode(n, "interface "+ifname)
}

// stopNode shuts node n's instances down as SIGTERM does (priority-0
// advert, VIPs removed); a machine that releases its VIPs later keeps
// handling events until it reaches Initialize.
func (s *sim) stopNode(n int) {
	for i, in := range s.insts {
		if in.m.node == n && in.running {
			in.stopped = true
			s.handle(i, fsm.Shutdown())
			in.running = in.mach.State() != fsm.Initialize
		}
	}
}

// startNode starts node n's instances afresh, as a new daemon would.
func (s *sim) startNode(n int) {
	for i, in := range s.insts {
		if in.m.node != n || !in.stopped {
			continue
		}
		in.epoch++
		in.restartMachine()
		in.running, in.stopped, in.delta = true, false, 0
		if in.holds { // a new daemon not starting as master removes leftovers
			in.holds = false
			s.changes = append(s.changes, change{s.now, i, false})
		}
		in.linkUp = !s.linkDown[n][in.m.ifname]
		s.start(i)
	}
}

// holders are r's instances with their VIPs installed.
func (s *sim) holders() []int {
	var out []int
	for i, in := range s.insts[:s.own] {
		if in.holds {
			out = append(out, i)
		}
	}
	return out
}
