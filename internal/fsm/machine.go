package fsm

import (
	"net/netip"
	"strconv"
	"time"
)

const (
	// OwnerPriority is the priority of the address owner (RFC 5798 6.1).
	OwnerPriority = 255
	// maxBackupPriority is the highest priority a non-owner may advertise.
	maxBackupPriority = 254

	v2MinInt = time.Second
	v2MaxInt = 255 * time.Second            // 8-bit seconds field
	v3Unit   = 10 * time.Millisecond        // centiseconds
	v3MinInt = v3Unit                       // 0 is invalid (RFC 9568 erratum 8301)
	v3MaxInt = 4095 * 10 * time.Millisecond // 12-bit centiseconds field

	defaultDownAdverts = 3   // RFC 5798 6.1: 3*MAI + Skew_Time
	maxDownAdverts     = 100 // keepalived's down_timer_adverts range
)

// Machine is the state machine of one VRRP instance. It is not safe for
// concurrent use; the daemon serialises events per instance.
type Machine struct {
	cfg   Config
	state State

	delta       int    // current sum of tracking weights
	prioReason  string // why the priority last changed
	faulted     bool   // a fault is set (may precede Startup)
	faultReason string

	mai        time.Duration // Master_Adver_Interval (learned in v3 Backup)
	masterAddr netip.Addr    // last known master

	// preemptHold: after Startup with preempt_delay, lower-priority adverts
	// are accepted until TimerPreemptDelay fires.
	preemptHold bool

	// downAfter / downSkew / downFrom describe the pending master-down timer
	// so the expiry can say why it fired.
	downAfter time.Duration
	downSkew  bool
	downFrom  netip.Addr

	// lowerFrom / lowerPrio: the lower-priority master whose adverts this
	// backup is ignoring in order to preempt it (zero when none).
	lowerFrom netip.Addr
	lowerPrio uint8

	// relWait / relBudget describe the pending Releasing deadline (armed as
	// TimerMasterDown) so its expiry can say why it fired.
	relWait   time.Duration
	relBudget bool

	sync syncMember // vrrp_sync_group membership (syncgroup.go)

	lastGen uint64            // every arm takes the next generation
	gen     [numTimers]uint64 // generation of the pending timer per kind; 0 = not armed
}

// New returns a machine in Initialize for cfg (normalised: see Config).
func New(cfg Config) *Machine {
	m := &Machine{cfg: normalize(cfg)}
	m.mai = m.cfg.AdverInt
	return m
}

// normalize brings cfg into the ranges the wire format can carry, so that
// bad input never panics and timing matches what peers see.
func normalize(cfg Config) Config {
	if cfg.Version != 3 {
		cfg.Version = 2
	}
	if cfg.Priority == 0 {
		cfg.Priority = 1
	}
	cfg.AdverInt = normInterval(cfg.Version, cfg.AdverInt)
	if cfg.PreemptDelay < 0 {
		cfg.PreemptDelay = 0
	}
	if cfg.DownTimerAdverts <= 0 {
		cfg.DownTimerAdverts = defaultDownAdverts
	}
	cfg.DownTimerAdverts = min(cfg.DownTimerAdverts, maxDownAdverts)
	return cfg
}

// normInterval truncates d to the version's unit (v2 seconds, v3
// centiseconds) and clamps it to the field's range.
func normInterval(version uint8, d time.Duration) time.Duration {
	if version == 2 {
		return clampDur(d.Truncate(time.Second), v2MinInt, v2MaxInt)
	}
	return clampDur(d.Truncate(v3Unit), v3MinInt, v3MaxInt)
}

func clampDur(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}

// SkewTime is (256-prio)*MAI/256 (RFC 5798 6.1), multiplying before dividing
// to keep precision. VRRPv2 (RFC 3768) uses masterAdverInt = 1s regardless of
// the advertisement interval; Machine does that itself.
func SkewTime(prio uint8, masterAdverInt time.Duration) time.Duration {
	n := time.Duration(256 - int(prio))
	if masterAdverInt > (1<<63-1)/256 { // would overflow: divide first
		return masterAdverInt / 256 * n
	}
	return n * masterAdverInt / 256
}

// MasterDownInterval is 3*MAI + SkewTime(prio, MAI) (RFC 5798 6.1).
func MasterDownInterval(prio uint8, masterAdverInt time.Duration) time.Duration {
	return 3*masterAdverInt + SkewTime(prio, masterAdverInt)
}

// State is the current state.
func (m *Machine) State() State { return m.state }

// EffectivePriority is the priority we advertise: 255 for the address owner
// (keepalived ignores tracking weights for owners), else
// clamp(base+delta, 1, 254).
func (m *Machine) EffectivePriority() uint8 { return EffectivePriority(m.cfg.Priority, m.delta) }

// EffectivePriority is the priority advertised with base priority base and
// tracking weights summing to delta: 255 for the address owner (keepalived
// ignores weights for owners), else clamp(base+delta, 1, 254).
func EffectivePriority(base uint8, delta int) uint8 {
	if base == OwnerPriority {
		return OwnerPriority
	}
	return uint8(min(max(int(base)+delta, 1), maxBackupPriority))
}

// MasterAdverInt is Master_Adver_Interval: our own interval as Master, the
// one learned from the master's adverts as a v3 Backup.
func (m *Machine) MasterAdverInt() time.Duration {
	if m.state == Master {
		return m.cfg.AdverInt
	}
	return m.mai
}

// MasterAddr is the last known master (ours when we are Master); invalid if
// none was seen yet.
func (m *Machine) MasterAddr() netip.Addr { return m.masterAddr }

// Config returns the normalised configuration in use.
func (m *Machine) Config() Config { return m.cfg }

// TimerGen is the generation of the pending timer of kind t, 0 when not armed.
func (m *Machine) TimerGen(t TimerKind) uint64 {
	if t >= numTimers {
		return 0
	}
	return m.gen[t]
}

func (m *Machine) owner() bool { return m.cfg.Priority == OwnerPriority }

// skew is Skew_Time for our effective priority: RFC 3768 (v2) defines it in
// seconds independent of the advert interval, RFC 5798 (v3) scales it by
// Master_Adver_Interval. keepalived does the same.
func (m *Machine) skew() time.Duration {
	if m.cfg.Version == 2 {
		return SkewTime(m.EffectivePriority(), time.Second)
	}
	return SkewTime(m.EffectivePriority(), m.mai)
}

// downInterval is Master_Down_Interval for the current MAI and priority,
// with keepalived's down_timer_adverts in place of the RFC's 3.
func (m *Machine) downInterval() time.Duration {
	return time.Duration(m.cfg.DownTimerAdverts)*m.mai + m.skew()
}

// arm re-arms timer t with a fresh generation.
func (m *Machine) arm(out []Action, t TimerKind, after time.Duration) []Action {
	m.lastGen++
	m.gen[t] = m.lastGen
	return append(out, Action{Kind: ActArmTimer, Timer: t, After: after, Gen: m.lastGen})
}

// stop cancels timer t if it is pending.
func (m *Machine) stop(out []Action, t TimerKind) []Action {
	if m.gen[t] == 0 {
		return out
	}
	g := m.gen[t]
	m.gen[t] = 0
	return append(out, Action{Kind: ActStopTimer, Timer: t, Gen: g})
}

func (m *Machine) stopAll(out []Action) []Action {
	for t := TimerKind(0); t < numTimers; t++ {
		out = m.stop(out, t)
	}
	m.preemptHold = false
	return out
}

// armDown arms the master-down timer for after; skew marks a priority-0 skew.
func (m *Machine) armDown(out []Action, after time.Duration, skew bool, from netip.Addr) []Action {
	m.downAfter, m.downSkew, m.downFrom = after, skew, from
	return m.arm(out, TimerMasterDown, after)
}

func (m *Machine) sendAdvert(out []Action, prio uint8) []Action {
	return append(out, Action{Kind: ActSendAdvert, Priority: prio})
}

func (m *Machine) changeState(out []Action, to State, reason string) []Action {
	from := m.state
	m.state = to
	m.sync.want = false // a sync member's wish for MASTER is answered by any transition
	return append(out, Action{Kind: ActStateChanged, From: from, To: to, Reason: reason})
}

// Handle appends the ordered actions for ev to out and returns it. Per-advert
// and per-timer work that does not change state allocates nothing.
//
// Startup: the address owner (priority 255) goes Master at once (RFC 5798
// 6.4.1), whether or not WantMaster is set; any other priority waits
// Master_Down_Interval in Backup even with WantMaster (keepalived does too).
// A fault set before Startup makes Startup enter Fault.
//
// preempt_delay, as implemented: when Startup enters Backup with Preempt and
// PreemptDelay > 0, TimerPreemptDelay is armed; until it fires, Backup treats
// lower-priority adverts like acceptable ones (they reset the master-down
// timer and are learned from). After it fires, the next lower-priority advert
// is ignored, so takeover follows one Master_Down_Interval later. Fault or
// Shutdown cancel the hold-off; FaultCleared does not re-arm it.
//
// Make before break (Config.ReleaseVIPs = ReleaseAfterTakeover): Shutdown of
// a Master sends priority 0 and enters Releasing with its VIPs still
// installed and TimerMasterDown armed for Master_Down_Interval (or the
// Shutdown's budget when shorter). Releasing removes the VIPs and enters
// Initialize on the first advert with priority > 0 from another address,
// on that timer, on ReleaseNow or on FaultSet; it ignores everything else.
// Yielding to a better advert and FaultSet as Master remove the VIPs at once
// in either mode.
func (m *Machine) Handle(ev Event, out []Action) []Action {
	switch ev.Kind {
	case EvStartup:
		return m.onStartup(out)
	case EvShutdown:
		return m.onShutdown(ev.Within, out)
	case EvAdvert:
		return m.onAdvert(ev, out)
	case EvTimer:
		return m.onTimer(ev, out)
	case EvPriority:
		m.delta, m.prioReason = ev.Delta, ev.Reason
		// Master: the next advert tick carries it. Backup: it matters at the
		// next advert received. Nothing to do now.
		return out
	case EvFaultSet:
		return m.onFaultSet(ev.Reason, out)
	case EvFaultClear:
		return m.onFaultClear(ev.Reason, out)
	case EvRelease:
		if m.state != Releasing {
			return out
		}
		return m.finishRelease(out, ev.Reason)
	case EvGoMaster, EvForceBackup:
		return m.onSync(ev, out)
	}
	return out
}

func (m *Machine) onStartup(out []Action) []Action {
	if m.state != Initialize {
		return out
	}
	if m.faulted {
		return m.changeState(out, Fault, "fault: "+m.faultReason)
	}
	// keepalived: only an owner that is also "state MASTER" skips the wait;
	// an owner configured as BACKUP waits like anyone (and then wins).
	if m.owner() && m.cfg.WantMaster {
		return m.becomeMaster(out, "startup as address owner (priority 255)")
	}
	out = m.enterBackup(out)
	if m.cfg.Preempt && m.cfg.PreemptDelay > 0 {
		m.preemptHold = true
		out = m.arm(out, TimerPreemptDelay, m.cfg.PreemptDelay)
	}
	return m.changeState(out, Backup, "startup, waiting "+fmtDur(m.downAfter)+" for a master")
}

// enterBackup resets MAI to our own interval and arms Master_Down_Interval
// (RFC 5798 6.4.1 / 6.4.4 on entering Backup without an advert).
func (m *Machine) enterBackup(out []Action) []Action {
	m.lowerFrom = netip.Addr{}
	m.sync.want = false
	m.mai = m.cfg.AdverInt
	return m.armDown(out, m.downInterval(), false, netip.Addr{})
}

// becomeMaster: add VIPs, send advert, announce, arm the advert timer
// (RFC 5798 6.4.1 / 6.4.2: advert, then gratuitous ARP / NA; keepalived runs
// notify after the VIPs). The VIPs go in before the advert because that
// advert is what makes the old master let go of them (a preempted master at
// once, a releasing one too): the announcement that moves the clients must
// follow it immediately, not after a netlink round trip (measured ~1 ms).
func (m *Machine) becomeMaster(out []Action, reason string) []Action {
	m.preemptHold = false
	m.lowerFrom = netip.Addr{}
	out = m.stop(out, TimerMasterDown)
	out = m.stop(out, TimerPreemptDelay)
	m.mai = m.cfg.AdverInt
	m.masterAddr = m.cfg.PrimaryAddr
	out = append(out, Action{Kind: ActAddVIPs})
	out = m.sendAdvert(out, m.EffectivePriority())
	out = append(out, Action{Kind: ActAnnounce})
	out = m.arm(out, TimerAdvert, m.cfg.AdverInt)
	return m.changeState(out, Master, reason)
}

// onShutdown: a master resigns with priority 0 and, with
// ReleaseAfterTakeover, keeps its VIPs in Releasing; otherwise they go now.
func (m *Machine) onShutdown(budget time.Duration, out []Action) []Action {
	switch m.state {
	case Initialize, Releasing:
		return out
	case Master:
		if m.cfg.ReleaseVIPs == ReleaseAfterTakeover {
			return m.beginRelease(budget, out)
		}
		out = m.sendAdvert(out, 0)
		out = append(out, Action{Kind: ActRemoveVIPs})
	}
	out = m.stopAll(out)
	return m.changeState(out, Initialize, "shutdown")
}

// beginRelease: Master -> Releasing. The priority-0 advert goes first so the
// backup's Skew_Time starts now; the VIPs stay until releaseAdvert, the
// deadline (Master_Down_Interval, or budget when shorter) or ReleaseNow.
// The deadline uses TimerMasterDown: it is the interval after which a backup
// would itself assume nobody is master.
func (m *Machine) beginRelease(budget time.Duration, out []Action) []Action {
	out = m.sendAdvert(out, 0)
	out = m.stopAll(out)
	m.mai = m.cfg.AdverInt
	m.relWait, m.relBudget = m.downInterval(), false
	if budget > 0 && budget < m.relWait {
		m.relWait, m.relBudget = budget, true
	}
	out = m.arm(out, TimerMasterDown, m.relWait)
	return m.changeState(out, Releasing, "shutdown: priority 0 sent; keeping the VIPs until a new master advertises (at most "+fmtDur(m.relWait)+")")
}

// finishRelease: Releasing -> Initialize, VIPs removed.
func (m *Machine) finishRelease(out []Action, reason string) []Action {
	out = m.stop(out, TimerMasterDown)
	out = append(out, Action{Kind: ActRemoveVIPs})
	return m.changeState(out, Initialize, reason)
}

// releaseAdvert: any other node advertising with priority > 0 is the new
// master (a backup sends nothing), so the VIPs can go: it has installed
// them and is announcing them. Priority 0 (another master resigning) is no
// such sign.
func (m *Machine) releaseAdvert(ev Event, out []Action) []Action {
	if ev.Priority == 0 || ev.Src == m.cfg.PrimaryAddr {
		return out
	}
	m.masterAddr = ev.Src
	return m.finishRelease(out, "new master "+ev.Src.String()+" advertised (prio "+strconv.Itoa(int(ev.Priority))+"); VIPs released")
}

// releaseExpired is the Releasing deadline's expiry.
func (m *Machine) releaseExpired(out []Action) []Action {
	if m.relBudget {
		return m.finishRelease(out, "stop budget of "+fmtDur(m.relWait)+" spent before a new master advertised; VIPs released")
	}
	return m.finishRelease(out, "no new master advertised within "+fmtDur(m.relWait)+"; VIPs released")
}

func (m *Machine) onFaultSet(reason string, out []Action) []Action {
	m.faulted, m.faultReason = true, reason
	switch m.state {
	case Initialize, Fault:
		return out // Startup will enter Fault / already there
	case Releasing:
		// A node that cannot serve must not keep attracting traffic.
		return m.finishRelease(out, "fault while releasing: "+reason+"; VIPs released")
	case Master:
		out = m.sendAdvert(out, 0)
		out = append(out, Action{Kind: ActRemoveVIPs})
	}
	out = m.stopAll(out)
	return m.changeState(out, Fault, "fault: "+reason)
}

func (m *Machine) onFaultClear(reason string, out []Action) []Action {
	m.faulted, m.faultReason = false, ""
	if m.state != Fault {
		return out
	}
	why := "fault cleared: " + reason
	if m.owner() {
		return m.becomeMaster(out, why+"; address owner")
	}
	out = m.enterBackup(out)
	return m.changeState(out, Backup, why)
}

func (m *Machine) onTimer(ev Event, out []Action) []Action {
	if ev.Timer >= numTimers || ev.Gen == 0 || ev.Gen != m.gen[ev.Timer] {
		return out // stale or unknown: re-armed or stopped since
	}
	m.gen[ev.Timer] = 0 // a fired timer is no longer pending
	switch ev.Timer {
	case TimerAdvert:
		if m.state != Master {
			return out
		}
		out = m.sendAdvert(out, m.EffectivePriority())
		return m.arm(out, TimerAdvert, m.cfg.AdverInt)
	case TimerMasterDown:
		if m.state == Releasing {
			return m.releaseExpired(out)
		}
		if m.state != Backup {
			return out
		}
		if m.sync.member {
			return m.wantMaster(out)
		}
		return m.becomeMaster(out, m.downReason())
	case TimerPreemptDelay:
		m.preemptHold = false
	}
	return out
}

func (m *Machine) downReason() string {
	if m.downSkew {
		return "master down timer expired (master " + m.downFrom.String() +
			" resigned with priority 0, skew " + fmtDur(m.downAfter) + ")" + m.prioNote()
	}
	if m.lowerFrom.IsValid() {
		return "preempting lower-priority master " + m.lowerFrom.String() + " (prio " +
			strconv.Itoa(int(m.lowerPrio)) + " < " + strconv.Itoa(int(m.EffectivePriority())) + ")" + m.prioNote()
	}
	return "master down timer expired (no advert for " + fmtDur(m.downAfter) + ")" + m.prioNote()
}

// prioNote explains a tracked priority in a state-change reason.
func (m *Machine) prioNote() string {
	if m.owner() || int(m.EffectivePriority()) == int(m.cfg.Priority) {
		return ""
	}
	s := "; effective priority " + strconv.Itoa(int(m.EffectivePriority()))
	if m.prioReason != "" {
		s += ": " + m.prioReason
	}
	return s
}

func (m *Machine) onAdvert(ev Event, out []Action) []Action {
	switch m.state {
	case Backup:
		return m.backupAdvert(ev, out)
	case Master:
		return m.masterAdvert(ev, out)
	case Releasing:
		return m.releaseAdvert(ev, out)
	}
	return out // Initialize and Fault ignore adverts
}

// learn takes Master_Adver_Interval from an accepted v3 advert (v2 never
// learns: its interval must match ours, the codec drops mismatches).
func (m *Machine) learn(ev Event) {
	if m.cfg.Version != 3 || ev.AdverInt <= 0 {
		return
	}
	m.mai = normInterval(3, ev.AdverInt)
}

// backupAdvert is RFC 5798 6.4.2 "MUST do the following" on receipt.
func (m *Machine) backupAdvert(ev Event, out []Action) []Action {
	if ev.Priority == 0 {
		return m.armDown(out, m.skew(), true, ev.Src)
	}
	local := m.EffectivePriority()
	if m.cfg.Preempt && ev.Priority < local && !m.preemptHold {
		m.lowerFrom, m.lowerPrio = ev.Src, ev.Priority
		return out // let the master-down timer run out and preempt
	}
	m.lowerFrom = netip.Addr{}
	m.sync.want = false // a master is heard: this member no longer wants MASTER
	m.learn(ev)
	m.masterAddr = ev.Src
	return m.armDown(out, m.downInterval(), false, ev.Src)
}

// masterAdvert is RFC 5798 6.4.3 with RFC 9568 / keepalived re-advertising
// to a lower-priority master.
func (m *Machine) masterAdvert(ev Event, out []Action) []Action {
	local := m.EffectivePriority()
	if ev.Priority == 0 {
		out = m.sendAdvert(out, local)
		return m.arm(out, TimerAdvert, m.cfg.AdverInt)
	}
	// The address owner keeps the role whatever it hears.
	if !m.owner() && m.yieldsTo(ev.Priority, ev.Src) {
		return m.demote(ev, local, out)
	}
	if ev.Priority >= local {
		out = m.sendAdvert(out, local)
		return m.arm(out, TimerAdvert, m.cfg.AdverInt)
	}
	// Lower priority: re-advertise at once unless lower_prio_no_advert
	// (RFC 5798 6.4.3: discard; the advert timer runs on), then
	// keepalived's garp_lower_prio_repeat burst and
	// notify_master_rx_lower_pri, in keepalived's order (seen on the wire).
	if !m.cfg.LowerPrioNoAdvert {
		out = m.sendAdvert(out, local)
		out = m.arm(out, TimerAdvert, m.cfg.AdverInt)
	}
	return append(out, Action{Kind: ActRxLowerPriority, Priority: ev.Priority})
}

// yieldsTo: higher priority, or equal priority from a higher primary address.
func (m *Machine) yieldsTo(prio uint8, src netip.Addr) bool {
	local := m.EffectivePriority()
	if prio != local {
		return prio > local
	}
	return src.Compare(m.cfg.PrimaryAddr) > 0
}

// demote: Master -> Backup on a better advert: stop the advert timer, arm
// master-down, remove VIPs, report.
func (m *Machine) demote(ev Event, local uint8, out []Action) []Action {
	if m.cfg.HigherPrioSendAdvert {
		// Still master with the VIPs: the better master hears a lower
		// priority and (garp_lower_prio_repeat) re-announces the VIPs,
		// which the clients may last have learnt from us.
		out = m.sendAdvert(out, local)
	}
	out = m.stop(out, TimerAdvert)
	m.learn(ev)
	m.masterAddr = ev.Src
	out = m.armDown(out, m.downInterval(), false, ev.Src)
	out = append(out, Action{Kind: ActRemoveVIPs})
	return m.changeState(out, Backup, advertReason(ev, local, m.cfg.PrimaryAddr)+m.prioNote())
}

func advertReason(ev Event, local uint8, self netip.Addr) string {
	s := "advert from " + ev.Src.String() + " prio " + strconv.Itoa(int(ev.Priority))
	if ev.Priority > local {
		return s + " > " + strconv.Itoa(int(local))
	}
	return s + " = " + strconv.Itoa(int(local)) + ", higher address than " + self.String()
}

// fmtDur prints a duration rounded to milliseconds ("3.609s").
func fmtDur(d time.Duration) string { return d.Round(time.Millisecond).String() }

// Reconfigure applies a new configuration without leaving the current state
// (reload without flapping). Master re-advertises at once so peers see a new
// priority and re-arms its advert timer with the new interval; Backup keeps
// its pending master-down timer (the next advert re-arms it with the new
// values). A pending preempt-delay hold-off ends when Preempt is turned off.
// Becoming or ceasing to be the address owner takes effect at the next
// advert or timer like any priority change.
func (m *Machine) Reconfigure(cfg Config, out []Action) []Action {
	m.cfg = normalize(cfg)
	if !m.cfg.Preempt && m.preemptHold {
		m.preemptHold = false
		out = m.stop(out, TimerPreemptDelay)
	}
	switch m.state {
	case Master:
		m.mai = m.cfg.AdverInt
		m.masterAddr = m.cfg.PrimaryAddr
		out = m.sendAdvert(out, m.EffectivePriority())
		out = m.arm(out, TimerAdvert, m.cfg.AdverInt)
	case Backup:
		if m.cfg.Version == 2 {
			m.mai = m.cfg.AdverInt
		}
	default:
		m.mai = m.cfg.AdverInt
	}
	return out
}
