package daemon

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/govrrp/govrrp/internal/fsm"
)

// The backup fast path (issue 11, cost at scale). A BACKUP hears its master
// every Advertisement_Interval, and all the machine does with such an
// advert is re-arm Master_Down_Timer. So the loop publishes what it expects
// (fastExpect: the master's source, priority and interval; expGen: the
// master-down timer generation it armed for them), and the socket reader
// records an advert that matches exactly as last-heard (monotonic, atomic)
// instead of waking the loop. The master-down timer, when it fires, re-arms
// itself for the time left if an advert was heard since it was armed, and
// only otherwise posts its expiry to the loop (one timer per socket for
// all its backups: masterdown.go): the takeover comes exactly
// one Master_Down_Interval after the last advert, as if every advert had
// gone through the machine.
//
// Invariants:
//   - The machine stays the single owner of state. An advert is absorbed
//     only when the machine would answer it with nothing but "re-arm
//     Master_Down" and no state of it would change: the expectation is
//     published after exactly that answer to an advert from the same
//     sender, priority and interval, and cleared at the start of every
//     other event the loop handles for the instance (handle) and by any
//     reconfiguration. Anything else (another source, a priority change or
//     0, an interval change, preemption, any state but BACKUP, sync group
//     members) goes through the loop. --metrics-listen's gap histogram is
//     fed by the reader for every advert, absorbed or not (metrics.go).
//   - The received/priority-0 counters are counted by the reader before
//     the fast path, so status and metrics count every advert.
//   - The reader only writes heard; the socket's master-down schedule
//     (masterdown.go) reads it when its one timer fires and moves the
//     instance's deadline to heard + the interval the loop armed.

// fastPathEnabled switches the fast path; false only in benchmarks and
// tests that compare against the loop path.
var fastPathEnabled = true

// fastExpect is what a BACKUP expects from its master; immutable once
// published.
type fastExpect struct {
	src      netip.Addr
	prio     uint8
	adverInt time.Duration
}

// fastPath is an instance's fast-path state.
type fastPath struct {
	base   time.Time // origin of the monotonic stamps below; set by newInstance, then read-only
	expect atomic.Pointer[fastExpect]
	heard  atomic.Int64  // ns since base of the last advert absorbed
	expGen atomic.Uint64 // the master-down generation the loop armed with expect
	// absorbed counts adverts that did not wake the loop (tests, profiles).
	absorbed atomic.Uint64
	last     *fastExpect // loop only: the last one published, reused while unchanged

	down downEntry // the master-down timer's place on its socket's schedule (masterdown.go)
	// gapDown is the Master_Down_Interval while the loop last published
	// BACKUP, 0 otherwise: the reader's input to the advert-gap histogram
	// (metrics.go observeGap).
	gapDown atomic.Int64
}

// noteState publishes what the reader's gap histogram needs of the
// machine's state (loop only: instance.publishDynamic, after every event).
func (f *fastPath) noteState(st fsm.State, prio uint8, mai time.Duration) {
	var down time.Duration
	if st == fsm.Backup {
		down = fsm.MasterDownInterval(prio, mai)
	}
	if time.Duration(f.gapDown.Load()) != down {
		f.gapDown.Store(int64(down))
	}
}

func (f *fastPath) now() int64 {
	if f.base.IsZero() {
		return 0
	}
	return int64(time.Since(f.base))
}

// absorb is the reader's side: true if the advert matched the expectation
// and was recorded as heard, so the loop need not see it.
func (f *fastPath) absorb(in *instance, prio uint8, adverInt time.Duration, src netip.Addr) bool {
	e := f.expect.Load()
	if e == nil || prio != e.prio || adverInt != e.adverInt || src != e.src {
		return false
	}
	if in.timers[fsm.TimerMasterDown].gen.Load() != f.expGen.Load() {
		return false // re-armed or stopped since: the loop decides
	}
	f.heard.Store(f.now())
	f.absorbed.Add(1)
	return true
}

// clear stops absorbing: the loop is about to change what the machine
// would do (any event, a reconfiguration).
func (f *fastPath) clear() { f.expect.Store(nil) }

// publishFast publishes the expectation after the loop handled ev for in,
// when ev was an advert the machine answered with only a master-down
// re-arm in BACKUP. Loop only; allocates one small value per new
// expectation, not per advert.
func (d *Daemon) publishFast(in *instance, ev fsm.Event, acts []fsm.Action) {
	if !fastPathEnabled || ev.Kind != fsm.EvAdvert || ev.Priority == 0 || in.machine.State() != fsm.Backup || len(acts) != 1 {
		return
	}
	a := acts[0]
	if a.Kind != fsm.ActArmTimer || a.Timer != fsm.TimerMasterDown || d.fastSyncMember(in) {
		return
	}
	e := fastExpect{src: ev.Src, prio: ev.Priority, adverInt: ev.AdverInt}
	if in.fast.last == nil || *in.fast.last != e {
		in.fast.last = &fastExpect{src: e.src, prio: e.prio, adverInt: e.adverInt} // a new master, priority or interval
	}
	in.fast.expGen.Store(a.Gen)
	in.fast.expect.Store(in.fast.last)
}

// fastSyncMember: sync group members keep the loop (their adverts clear
// the group's wish for MASTER).
func (d *Daemon) fastSyncMember(in *instance) bool {
	r := d.sync.of[in]
	return r != nil && len(r.members) > 1
}
