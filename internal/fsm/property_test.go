package fsm

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// This file drives 2-3 machines on an in-memory segment with a fake clock and
// random chaos (restarts, faults, priority changes, partitions, stale timer
// expiries), then checks the safety properties the daemon relies on.

const (
	simLatency  = time.Millisecond // advert delivery delay on the fake segment
	chaosEnd    = 30 * time.Second // random events happen in [0, chaosEnd)
	settleEnd   = 55 * time.Second // partitions heal at chaosEnd; adverts flow until settleEnd
	observeEnd  = 65 * time.Second // at most one master at every step in [settleEnd, observeEnd]
	maxSimSteps = 200_000          // bound per run, far above what a run needs
)

type itemKind uint8

const (
	itTimer itemKind = iota
	itAdvert
	itControl
)

type ctlKind uint8

const (
	ctlStartup ctlKind = iota
	ctlShutdown
	ctlPriority
	ctlFaultSet
	ctlFaultClear
	ctlPartition // toggle the link between node and peer
	ctlStale     // deliver an outdated timer generation
	ctlHeal
	numCtl
)

// item is one scheduled happening on the fake clock.
type item struct {
	due  time.Duration
	seq  uint64
	kind itemKind
	node int

	timer TimerKind // itTimer, ctlStale
	gen   uint64    // itTimer

	prio  uint8 // itAdvert
	adInt time.Duration
	src   netip.Addr

	ctl   ctlKind // itControl
	peer  int
	delta int
}

type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].due != q[j].due {
		return q[i].due < q[j].due
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

type simNode struct {
	m      *Machine
	cfg    Config
	vips   bool              // VIPs installed, from Add/Remove actions
	armed  [numTimers]uint64 // pending generation per timer, from Arm/Stop actions
	state  State             // from StateChanged actions
	lastEv EventKind
	// relSince: when the node entered Releasing; it must leave within
	// Master_Down_Interval (at most 4 intervals).
	relSince time.Duration
}

type sim struct {
	t       *testing.T
	rng     *rand.Rand
	nodes   []*simNode
	blocked [3][3]bool
	q       queue
	seq     uint64
	now     time.Duration
	out     []Action
	fails   int

	transitions int
	releases    int // Releasing entered
}

func (s *sim) errorf(format string, args ...any) {
	s.fails++
	if s.fails <= 5 { // keep a failing seed readable
		s.t.Errorf("t=%v: "+format, append([]any{s.now}, args...)...)
	}
}

func (s *sim) push(it item) {
	s.seq++
	it.seq = s.seq
	heap.Push(&s.q, it)
}

// handle feeds ev to node i, executes the actions on the fake world and
// checks the per-step invariants.
func (s *sim) handle(i int, ev Event) {
	n := s.nodes[i]
	n.lastEv = ev.Kind
	s.out = n.m.Handle(ev, s.out[:0])
	for _, a := range s.out {
		s.apply(i, a)
	}
	s.checkNode(i)
}

func (s *sim) apply(i int, a Action) {
	n := s.nodes[i]
	switch a.Kind {
	case ActSendAdvert:
		if n.state == Releasing {
			s.errorf("node %d: advert sent while releasing", i)
		}
		s.checkAdvertPriority(i, a.Priority)
		for j := range s.nodes {
			if j != i && !s.blocked[i][j] {
				s.push(item{due: s.now + simLatency, kind: itAdvert, node: j, prio: a.Priority, adInt: n.cfg.AdverInt, src: n.cfg.PrimaryAddr})
			}
		}
	case ActAddVIPs:
		if n.vips {
			s.errorf("node %d: VIPs added twice", i)
		}
		n.vips = true
	case ActRemoveVIPs:
		if !n.vips {
			s.errorf("node %d: VIPs removed while not installed", i)
		}
		n.vips = false
	case ActArmTimer:
		if a.After <= 0 || a.Gen <= n.armed[a.Timer] {
			s.errorf("node %d: bad arm %+v (pending gen %d)", i, a, n.armed[a.Timer])
		}
		n.armed[a.Timer] = a.Gen
		s.push(item{due: s.now + a.After, kind: itTimer, node: i, timer: a.Timer, gen: a.Gen})
	case ActStopTimer:
		if n.armed[a.Timer] != a.Gen {
			s.errorf("node %d: stop %+v but pending gen is %d", i, a, n.armed[a.Timer])
		}
		n.armed[a.Timer] = 0
	case ActStateChanged:
		if a.From != n.state || a.Reason == "" {
			s.errorf("node %d: state change %+v, tracked state %v", i, a, n.state)
		}
		if a.To == Releasing {
			n.relSince = s.now
			s.releases++
		}
		if a.From == Releasing && s.now-n.relSince > 4*n.cfg.AdverInt {
			s.errorf("node %d: released after %v, beyond Master_Down_Interval", i, s.now-n.relSince)
		}
		n.state = a.To
		s.transitions++
	}
}

// checkAdvertPriority: 0 only on shutdown/fault, 255 only for the owner,
// otherwise the effective priority.
func (s *sim) checkAdvertPriority(i int, p uint8) {
	n := s.nodes[i]
	switch {
	case p == 0:
		if n.lastEv != EvShutdown && n.lastEv != EvFaultSet {
			s.errorf("node %d: priority 0 sent on %v", i, n.lastEv)
		}
	case p == OwnerPriority && n.cfg.Priority != OwnerPriority:
		s.errorf("node %d: non-owner sent priority 255", i)
	case p != n.m.EffectivePriority():
		s.errorf("node %d: sent priority %d, effective %d", i, p, n.m.EffectivePriority())
	}
}

// checkNode: tracked state matches, VIPs exactly while Master or Releasing,
// the right timer pending in each state.
func (s *sim) checkNode(i int) {
	n := s.nodes[i]
	st := n.m.State()
	if st != n.state {
		s.errorf("node %d: State() = %v, actions say %v", i, st, n.state)
	}
	if n.vips != (st == Master || st == Releasing) {
		s.errorf("node %d: VIPs installed = %v in %v", i, n.vips, st)
	}
	wantAdv, wantDown := st == Master, st == Backup || st == Releasing
	if (n.armed[TimerAdvert] != 0) != wantAdv || (n.armed[TimerMasterDown] != 0) != wantDown {
		s.errorf("node %d: timers %v pending in %v", i, n.armed, st)
	}
	if (st == Initialize || st == Fault) && n.armed[TimerPreemptDelay] != 0 {
		s.errorf("node %d: preempt-delay pending in %v", i, st)
	}
}

func (s *sim) masters() int {
	c := 0
	for _, n := range s.nodes {
		if n.m.State() == Master {
			c++
		}
	}
	return c
}

func (s *sim) step(it item) {
	if it.due < s.now {
		s.errorf("item %+v out of order", it)
	}
	s.now = it.due
	n := s.nodes[it.node]
	switch it.kind {
	case itTimer:
		if n.armed[it.timer] != it.gen {
			return // cancelled or replaced: a real timer would not fire
		}
		n.armed[it.timer] = 0
		s.handle(it.node, TimerFired(it.timer, it.gen))
	case itAdvert:
		s.handle(it.node, Advert(it.prio, it.adInt, it.src))
	case itControl:
		s.control(it)
	}
}

func (s *sim) control(it item) {
	i := it.node
	switch it.ctl {
	case ctlStartup:
		s.handle(i, Startup())
	case ctlShutdown:
		if it.delta > 0 { // sometimes with a stop budget
			s.handle(i, ShutdownWithin(time.Duration(it.delta)*10*time.Millisecond))
		} else {
			s.handle(i, Shutdown())
		}
	case ctlPriority:
		s.handle(i, PriorityDelta(it.delta, "chaos"))
	case ctlFaultSet:
		s.handle(i, FaultSet("chaos"))
	case ctlFaultClear:
		s.handle(i, FaultCleared("chaos"))
	case ctlPartition:
		if it.peer != i {
			s.blocked[i][it.peer] = !s.blocked[i][it.peer]
			s.blocked[it.peer][i] = s.blocked[i][it.peer]
		}
	case ctlStale:
		s.stale(i, it.timer)
	case ctlHeal:
		s.blocked = [3][3]bool{}
	}
}

// stale delivers an outdated or future generation; it must do nothing.
func (s *sim) stale(i int, t TimerKind) {
	n := s.nodes[i]
	gen := n.m.TimerGen(t) + 1 // not yet issued
	if cur := n.armed[t]; cur > 1 {
		gen = uint64(s.rng.IntN(int(cur-1))) + 1 // issued earlier, now outdated
	}
	before := n.m.State()
	if got := n.m.Handle(TimerFired(t, gen), s.out[:0]); len(got) != 0 || n.m.State() != before {
		s.errorf("node %d: stale %v gen %d (pending %d) acted: %v", i, t, gen, n.armed[t], got)
	}
}

func randomCluster(rng *rand.Rand, t *testing.T) *sim {
	s := &sim{t: t, rng: rng}
	size := 2 + rng.IntN(2)
	version := uint8(2 + rng.IntN(2))
	owner := -1
	if rng.IntN(4) == 0 {
		owner = rng.IntN(size)
	}
	prios := []uint8{50, 100, 100, 150, 200, 254}
	for i := range size {
		cfg := Config{
			Version:     version,
			Priority:    prios[rng.IntN(len(prios))],
			AdverInt:    time.Second,
			Preempt:     rng.IntN(5) != 0,
			PrimaryAddr: netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)}),
		}
		if version == 3 { // v3 peers may differ; backups learn
			cfg.AdverInt = []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, time.Second}[rng.IntN(3)]
		}
		if rng.IntN(3) == 0 {
			cfg.PreemptDelay = time.Duration(rng.IntN(3000)) * time.Millisecond
		}
		if i == owner {
			cfg.Priority = OwnerPriority
		}
		if rng.IntN(2) == 0 {
			cfg.ReleaseVIPs = ReleaseAfterTakeover
		}
		s.nodes = append(s.nodes, &simNode{m: New(cfg), cfg: cfg})
		s.push(item{due: time.Duration(rng.IntN(2000)) * time.Millisecond, kind: itControl, node: i, ctl: ctlStartup})
	}
	for range 10 + rng.IntN(30) {
		it := item{
			due:   time.Duration(rng.Int64N(int64(chaosEnd))),
			kind:  itControl,
			node:  rng.IntN(size),
			ctl:   ctlKind(rng.IntN(int(ctlHeal))),
			peer:  rng.IntN(size),
			delta: rng.IntN(241) - 120,
			timer: TimerKind(rng.IntN(int(numTimers))),
		}
		s.push(it)
	}
	s.push(item{due: chaosEnd, kind: itControl, ctl: ctlHeal})
	if rng.IntN(4) != 0 { // mostly bring everyone back so the end state has a cluster to check
		for i := range size {
			s.push(item{due: chaosEnd, kind: itControl, node: i, ctl: ctlFaultClear})
			s.push(item{due: chaosEnd, kind: itControl, node: i, ctl: ctlStartup})
		}
	}
	s.push(item{due: observeEnd, kind: itControl, ctl: ctlHeal}) // clock reaches observeEnd
	return s
}

func (s *sim) describe() string {
	d := ""
	for i, n := range s.nodes {
		d += fmt.Sprintf(" [%d %+v eff=%d state=%v]", i, n.cfg, n.m.EffectivePriority(), n.m.State())
	}
	return d
}

// run plays the schedule; after settleEnd every step must see at most one
// Master, and at the end a cluster with a live node must have exactly one.
func (s *sim) run() {
	for steps := 0; s.q.Len() > 0 && steps < maxSimSteps; steps++ {
		it := heap.Pop(&s.q).(item)
		if it.due > observeEnd {
			break
		}
		s.step(it)
		if s.now >= settleEnd && s.masters() > 1 {
			s.errorf("%d masters after settling:%s", s.masters(), s.describe())
			return
		}
	}
	if s.now < observeEnd {
		s.errorf("simulation stopped early (queue %d):%s", s.q.Len(), s.describe())
	}
	live := 0
	for _, n := range s.nodes {
		if st := n.m.State(); st == Backup || st == Master {
			live++
		}
	}
	if live > 0 && s.masters() != 1 {
		s.errorf("%d live nodes but %d masters:%s", live, s.masters(), s.describe())
	}
}

func TestPropertyRandomClusterSafety(t *testing.T) {
	const runs = 400
	rng := rand.New(rand.NewPCG(5798, 9568)) // fixed seed: reproducible
	var steps, transitions, liveEnds, releases int
	for r := range runs {
		s := randomCluster(rng, t)
		s.run()
		steps += int(s.seq)
		transitions += s.transitions
		releases += s.releases
		if s.masters() == 1 {
			liveEnds++
		}
		if s.fails > 0 {
			t.Fatalf("run %d failed (%d violations)", r, s.fails)
		}
	}
	t.Logf("%d runs: %d scheduled items, %d state changes, %d releases, %d ended with one master", runs, steps, transitions, releases, liveEnds)
	if liveEnds < runs/2 || transitions < runs*2 || releases < runs/10 {
		t.Errorf("the simulation exercised too little: %d state changes, %d releases, %d live ends", transitions, releases, liveEnds)
	}
}
