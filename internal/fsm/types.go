// Package fsm is the pure VRRP state machine of one virtual router instance
// (RFC 3768 for VRRPv2, RFC 5798 / RFC 9568 for VRRPv3, with keepalived's
// choices where the RFCs leave room).
//
// It does no I/O, starts no goroutines and reads no clock: events go in through
// Machine.Handle, ordered actions come out, and time appears only as
// time.Duration in ActArmTimer actions. The caller (internal/daemon) executes
// the actions in order and feeds timer expiries back as TimerFired events with
// the generation the timer was armed with; expiries of a timer that was since
// re-armed or stopped are ignored.
package fsm

import (
	"net/netip"
	"time"
)

// State is the VRRP state of an instance.
type State uint8

// States (RFC 5798 section 6.4 plus keepalived's FAULT).
const (
	Initialize State = iota
	Backup
	Master
	Fault
	// Releasing: a master that was stopped has sent priority 0 and stopped
	// advertising but still holds its VIPs, until a new master advertises,
	// Master_Down_Interval passes or the stop budget is spent (make before
	// break; Config.ReleaseVIPs). It ends in Initialize.
	Releasing
)

// String returns keepalived's word for the state.
func (s State) String() string {
	switch s {
	case Initialize:
		return "INIT"
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	case Fault:
		return "FAULT"
	case Releasing:
		return "RELEASING"
	}
	return "UNKNOWN"
}

// TimerKind names one of the instance's timers.
type TimerKind uint8

// Timers. The daemon keeps at most one pending expiry per kind.
const (
	TimerAdvert       TimerKind = iota // Adver_Timer (Master)
	TimerMasterDown                    // Master_Down_Timer (Backup)
	TimerPreemptDelay                  // keepalived preempt_delay hold-off after startup
	numTimers
)

func (t TimerKind) String() string {
	switch t {
	case TimerAdvert:
		return "advert"
	case TimerMasterDown:
		return "master-down"
	case TimerPreemptDelay:
		return "preempt-delay"
	}
	return "unknown-timer"
}

// Config is what the state machine needs of an instance's configuration.
type Config struct {
	Version      uint8         // 2 or 3; anything but 3 is treated as 2 (keepalived's default)
	Priority     uint8         // configured base priority 1..255 (255 = address owner); 0 is treated as 1
	AdverInt     time.Duration // configured advertisement interval (v2: whole seconds, v3: centiseconds)
	Preempt      bool          // false = keepalived nopreempt
	PreemptDelay time.Duration // keepalived preempt_delay (0 = none)
	PrimaryAddr  netip.Addr    // our source address, used in the equal-priority tie-break
	WantMaster   bool          // keepalived "state MASTER" (see Machine.Handle for what it changes)
	ReleaseVIPs  ReleaseMode   // when a stopped master removes its VIPs (zero: at once, as the RFCs say)

	// DownTimerAdverts is keepalived's down_timer_adverts: Master_Down_Interval
	// is DownTimerAdverts*MAI + Skew_Time. 0 means 3 (the RFCs); clamped to 1..100.
	DownTimerAdverts int
	// LowerPrioNoAdvert (keepalived lower_prio_no_advert): a master hearing a
	// lower-priority advert does not re-advertise at once (RFC 5798 6.4.3).
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert (keepalived higher_prio_send_advert): a master
	// yielding to a better advert first sends one advert of its own, so the
	// other master (lower priority from its view) re-announces its VIPs.
	HigherPrioSendAdvert bool
}

// ReleaseMode says when a master that is stopped (Shutdown) removes its
// VIPs. A master that yields to a better advert or enters FAULT removes
// them at once in either mode: the better advert is already the new
// master's, and a faulted node cannot serve.
type ReleaseMode uint8

// Release modes.
const (
	// ReleaseImmediate: priority-0 advert and VIPs removed together
	// (RFC 3768 / RFC 5798 6.4.3 "Shutdown"); clients see the backup's
	// Skew_Time as an outage.
	ReleaseImmediate ReleaseMode = iota
	// ReleaseAfterTakeover: priority-0 advert, then keep the VIPs (the
	// kernel keeps answering for them) in Releasing until another node's
	// advert with priority > 0 shows the new master, or
	// Master_Down_Interval / the Shutdown's budget passes with none.
	ReleaseAfterTakeover
)

func (r ReleaseMode) String() string {
	switch r {
	case ReleaseImmediate:
		return "immediate"
	case ReleaseAfterTakeover:
		return "after-takeover"
	}
	return "unknown-release-mode"
}

// EventKind says what happened.
type EventKind uint8

// Events.
const (
	EvStartup EventKind = iota
	EvShutdown
	EvAdvert
	EvTimer
	EvPriority
	EvFaultSet
	EvFaultClear
	EvRelease
	EvGoMaster    // sync group: a Backup member goes Master with the group (GoMaster)
	EvForceBackup // sync group: a Master member follows the group to Backup (ForceBackup)
)

func (k EventKind) String() string {
	switch k {
	case EvStartup:
		return "startup"
	case EvShutdown:
		return "shutdown"
	case EvAdvert:
		return "advert"
	case EvTimer:
		return "timer"
	case EvPriority:
		return "priority"
	case EvFaultSet:
		return "fault-set"
	case EvFaultClear:
		return "fault-clear"
	case EvRelease:
		return "release"
	case EvGoMaster:
		return "go-master"
	case EvForceBackup:
		return "force-backup"
	}
	return "unknown-event"
}

// Event is one input to the machine. Only the fields of its Kind are used.
type Event struct {
	Kind EventKind

	// EvAdvert: decoded advert fields and the sender's (primary) address.
	// AdverInt is ignored for VRRPv2 (the codec drops v2 interval mismatches).
	Priority uint8
	AdverInt time.Duration
	Src      netip.Addr

	// EvTimer: which timer fired, with the generation it was armed with.
	Timer TimerKind
	Gen   uint64

	// EvPriority: sum of tracking weights; effective = clamp(base+Delta).
	Delta int

	// EvPriority / EvFaultSet / EvFaultClear / EvRelease: why; travels into
	// StateChanged.Reason.
	Reason string

	// EvShutdown: the most a master in ReleaseAfterTakeover may keep its
	// VIPs waiting for the new master (0 = Master_Down_Interval only).
	Within time.Duration
}

// Startup starts the instance (Initialize -> Backup or Master or Fault).
func Startup() Event { return Event{Kind: EvStartup} }

// Shutdown stops the instance (-> Initialize; a Master resigns with priority 0).
func Shutdown() Event { return Event{Kind: EvShutdown} }

// ShutdownWithin is Shutdown where a master that keeps its VIPs until the
// takeover (ReleaseAfterTakeover) waits at most budget.
func ShutdownWithin(budget time.Duration) Event { return Event{Kind: EvShutdown, Within: budget} }

// ReleaseNow ends a Releasing wait at once (the caller's stop budget is
// spent): VIPs removed, -> Initialize. Any other state ignores it.
func ReleaseNow(reason string) Event { return Event{Kind: EvRelease, Reason: reason} }

// Advert is a validated advertisement received from src.
func Advert(prio uint8, interval time.Duration, src netip.Addr) Event {
	return Event{Kind: EvAdvert, Priority: prio, AdverInt: interval, Src: src}
}

// TimerFired reports the expiry of timer t armed with generation gen.
func TimerFired(t TimerKind, gen uint64) Event { return Event{Kind: EvTimer, Timer: t, Gen: gen} }

// PriorityDelta sets the sum of tracking weights (not an increment).
func PriorityDelta(delta int, reason string) Event {
	return Event{Kind: EvPriority, Delta: delta, Reason: reason}
}

// FaultSet puts the instance into FAULT (level-triggered: the caller aggregates
// its fault sources and sends FaultSet/FaultCleared on the edges).
func FaultSet(reason string) Event { return Event{Kind: EvFaultSet, Reason: reason} }

// FaultCleared takes the instance out of FAULT.
func FaultCleared(reason string) Event { return Event{Kind: EvFaultClear, Reason: reason} }

// ActionKind says what the caller must do.
type ActionKind uint8

// Actions.
const (
	ActSendAdvert      ActionKind = iota // send an advert with Action.Priority
	ActAddVIPs                           // install the virtual addresses
	ActRemoveVIPs                        // remove the virtual addresses
	ActAnnounce                          // gratuitous ARP / unsolicited NA burst
	ActArmTimer                          // (re-)arm Timer to fire After from now with Gen; replaces a pending one
	ActStopTimer                         // cancel Timer (its pending Gen is in Gen)
	ActStateChanged                      // From -> To because of Reason
	ActRxLowerPriority                   // Master heard a lower-priority advert (Priority is its priority)
	ActWantMaster                        // sync group member: Master_Down_Interval passed; Reason says why (see SetSyncMember)
)

func (k ActionKind) String() string {
	switch k {
	case ActSendAdvert:
		return "send-advert"
	case ActAddVIPs:
		return "add-vips"
	case ActRemoveVIPs:
		return "remove-vips"
	case ActAnnounce:
		return "announce"
	case ActArmTimer:
		return "arm-timer"
	case ActStopTimer:
		return "stop-timer"
	case ActStateChanged:
		return "state-changed"
	case ActRxLowerPriority:
		return "rx-lower-priority"
	case ActWantMaster:
		return "want-master"
	}
	return "unknown-action"
}

// Action is one output of the machine, to be executed in order.
type Action struct {
	Kind ActionKind

	// ActSendAdvert: priority to put in the advert.
	// ActRxLowerPriority: the priority that was heard.
	Priority uint8

	// ActArmTimer (re-arming replaces) / ActStopTimer.
	Timer TimerKind
	After time.Duration
	Gen   uint64

	// ActStateChanged.
	From, To State
	Reason   string
}
