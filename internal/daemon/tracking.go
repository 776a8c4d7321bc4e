package daemon

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/internal/track/weights"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// trackKey names one tracked object: one script runs once however many
// instances track it, as in keepalived.
type trackKey struct {
	kind track.Kind
	name string
}

func (k trackKey) String() string { return k.kind.String() + " " + k.name }

// trackUse is one instance's use of a tracked object with the weight that
// instance gives it (its own weight override, or the object's default).
type trackUse struct {
	key     trackKey
	weight  int
	reverse bool
	// primary marks the instance's own interface: a fault, never a weight.
	primary bool
	// static names the track_group'd static line whose interface this is
	// (trackgroup.go), "" for every other track.
	static string
	// fromStart: the instance has tracked it since it started, so a weight-0
	// script faults it until its first result (see pendingFaults). A track a
	// reload adds to a running instance counts from its first result only.
	fromStart bool
}

// trackState is the latest result of one tracked object and who uses it.
type trackState struct {
	last  track.Result
	seen  bool // a result (or the script's initial state) has arrived
	users []*instance
}

// effect is what one tracked object's result does to an instance:
// keepalived's rules, in internal/track/weights (shared with the what-if
// simulator).
func effect(u trackUse, r track.Result) (delta int, fault bool) {
	return weights.Effect(u.weighed(), r)
}

// weighed is the use as the weights rules see it.
func (u trackUse) weighed() weights.Use {
	return weights.Use{Key: weights.Key{Kind: u.key.kind, Name: u.key.name}, Weight: u.weight, Reverse: u.reverse, Primary: u.primary}
}

// trackVerdict sums an instance's tracks: the priority delta and, when any
// track puts it in FAULT, why.
type trackVerdict struct {
	delta int
	fault string // "" when no track faults the instance
}

func (d *Daemon) verdict(in *instance) trackVerdict {
	v := trackVerdict{fault: noPeerFault(in)} // nopeer.go
	for _, u := range in.tracks {
		st := d.tracks[u.key]
		if st == nil || !st.seen {
			if u.fromStart && pendingFaults(u) && v.fault == "" {
				v.fault = u.key.String() + " pending (no result yet)"
			}
			continue
		}
		delta, fault := effect(u, st.last)
		v.delta += delta
		if fault && v.fault == "" {
			v.fault = describeTrack(u, st.last)
		}
	}
	return v
}

// pendingFaults: before its first result a weight-0 script holds the
// instance in FAULT, as keepalived 2.2.7 does (seen running it); weighted
// scripts change nothing until then, unless init_fail (whose state the
// factory reports at once).
func pendingFaults(u trackUse) bool { return weights.PendingFaults(u.weighed()) }

// describeTrack is a track's state in words for reasons and logs:
// "track_script chk_apache failed (exit 3, 2 of fall 2)".
func describeTrack(u trackUse, r track.Result) string {
	name := u.key.String()
	if u.primary {
		name = "interface " + u.key.name
		if ip, ok := strings.CutPrefix(u.key.name, track.AddrResultPrefix); ok {
			name = "source address " + ip
		}
	}
	if u.static != "" {
		name = u.static + ": interface " + u.key.name
	}
	word := stateWord(u, r)
	if r.Detail != "" && !strings.HasPrefix(r.Detail, word) {
		word += " (" + r.Detail + ")"
	}
	return name + " " + word
}

// stateWord is a track's state in one word: ok, failed, down, value N.
func stateWord(u trackUse, r track.Result) string {
	switch {
	case u.key.kind == track.KindFile && !r.OK:
		return "unreadable"
	case u.key.kind == track.KindFile:
		return "value " + strconv.Itoa(r.Value)
	case (u.key.kind == track.KindInterface || u.key.kind == track.KindBFD) && !r.OK:
		return "down"
	case !r.OK:
		return "failed"
	}
	return "ok"
}

// onTrackResult records a result and re-evaluates every instance that
// tracks the object: FAULT edges and priority changes go to the machines.
func (d *Daemon) onTrackResult(r track.Result) {
	if d.holdIfaceChange(r) { // interface_up_down_delays (ifaces_delay.go)
		return
	}
	d.applyTrackResult(r)
}

// applyTrackResult is onTrackResult once any interface delay is over.
func (d *Daemon) applyTrackResult(r track.Result) {
	key := trackKey{r.Kind, r.Name}
	st := d.tracks[key]
	if st == nil {
		return // a result for an object nothing tracks any more
	}
	changed := !st.seen || st.last.OK != r.OK || st.last.Value != r.Value
	wasSeen := st.seen
	st.last, st.seen = r, true
	d.dynamicAppeared(r)                                      // dynamic_interfaces: socket first (ifaces_dyn.go)
	defer d.dynamicGone(r)                                    // ... released once the machines went FAULT
	defer d.restoreStaticOnLinkUp(key, r, changed && wasSeen) // trackgroup.go
	for _, in := range st.users {
		rows := d.trackRows(in)
		in.publish(func(ci *control.Instance) { ci.Tracks = rows })
		if changed {
			d.reevaluate(in, key)
		}
	}
}

// reevaluate feeds an instance's machine the consequences of its tracks,
// naming the track that changed (cause) in the reason.
func (d *Daemon) reevaluate(in *instance, cause trackKey) {
	d.reevaluateAll(in, d.causeText(in, cause))
}

// reevaluateAll is reevaluate with the reason given.
func (d *Daemon) reevaluateAll(in *instance, why string) {
	v := d.verdict(in)
	switch {
	case v.fault != "" && !in.trackFault:
		in.trackFault = true
		d.log.Warn("tracked object failed", "instance", in.name, "reason", v.fault)
		d.setOwnFault(in, v.fault, v.fault)
	case v.fault == "" && in.trackFault:
		in.trackFault = false
		d.log.Info("tracked objects recovered", "instance", in.name, "reason", why)
		d.setOwnFault(in, "", why)
	}
	if v.delta != in.trackDelta {
		from := in.machine.EffectivePriority()
		to := fsm.EffectivePriority(in.machine.Config().Priority, v.delta)
		reason := fmt.Sprintf("%s: priority %d -> %d", why, from, to)
		in.trackDelta = v.delta
		d.log.Info("effective priority changed", "instance", in.name, "reason", reason)
		d.handle(in, fsm.PriorityDelta(v.delta, reason))
		if from != to {
			d.priorityChanged(in)
		}
	}
}

// causeText describes the track that changed as this instance uses it.
func (d *Daemon) causeText(in *instance, cause trackKey) string {
	for _, u := range in.tracks {
		if u.key == cause {
			return describeTrack(u, d.tracks[cause].last)
		}
	}
	return cause.String()
}

// usesOf lists an instance's tracks with their effective weights: the
// instance's own interface first (unless dont_track_primary), then
// track_interface, track_script, track_file and track_process in file order.
func usesOf(c *kaconf.Instance, ifname string, src netip.Addr) []trackUse {
	var out []trackUse
	for _, w := range weights.Uses(c, ifname, src) {
		out = append(out, trackUse{key: trackKey{w.Key.Kind, w.Key.Name}, weight: w.Weight, reverse: w.Reverse, primary: w.Primary})
	}
	return out
}

// trackRows is what `govrrp status` shows of an instance's tracks.
func (d *Daemon) trackRows(in *instance) []control.Track {
	rows := make([]control.Track, 0, len(in.tracks))
	for _, u := range in.tracks {
		row := control.Track{Kind: u.key.kind.String(), Name: u.key.name, Weight: u.weight, State: "pending", Effect: "0"}
		if u.primary {
			row.Kind = "interface"
		}
		if st := d.tracks[u.key]; st != nil && st.seen {
			r := st.last
			row.OK, row.Detail, row.Method, row.At = r.OK, r.Detail, r.Method, r.At
			row.State = stateWord(u, r)
			delta, fault := effect(u, r)
			row.Effect = fmt.Sprintf("%+d", delta)
			if delta == 0 {
				row.Effect = "0"
			}
			if fault {
				row.Effect = "FAULT"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// initialTrackWait bounds how long start-up waits for the first report of
// every track, so an instance whose interface is down or whose check fails
// starts in FAULT (or at its tracked priority) rather than passing through
// BACKUP first. Interfaces, files and processes answer from the kernel at
// once; a script slower than this starts pending (see pendingFaults).
const initialTrackWait = 2 * time.Second

// planTracking registers every instance's tracks (none without trackers:
// tests on an in-memory segment that do not ask for them). Objects still
// tracked keep their last result; objects no longer tracked are forgotten.
func (d *Daemon) planTracking() []trackKey {
	if d.newTrackers == nil {
		return nil
	}
	for _, st := range d.tracks {
		st.users = nil
	}
	for _, in := range d.instances {
		in.tracks = append(usesOf(in.cfg, in.ifname, in.src), groupUses(d.cfg, in.name)...)
		in.tracks = append(in.tracks, trackGroupUses(d.cfg, in.name)...) // trackgroup.go
		for i := range in.tracks {
			in.tracks[i].fromStart = in.machine.State() == fsm.Initialize
		}
		for _, u := range in.tracks {
			st := d.tracks[u.key]
			if st == nil {
				st = &trackState{}
				d.tracks[u.key] = st
			}
			if !slices.Contains(st.users, in) {
				st.users = append(st.users, in)
			}
		}
	}
	maps.DeleteFunc(d.tracks, func(_ trackKey, st *trackState) bool { return len(st.users) == 0 })
	return sortedKeys(d.tracks)
}

// sortedKeys orders tracked objects by kind, then name.
func sortedKeys[V any](m map[trackKey]V) []trackKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b trackKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.name, b.name))
	})
}

// awaitInitialTracks serves the loop until every track has reported once
// (scripts: their first check), or initialTrackWait has passed.
func (d *Daemon) awaitInitialTracks() {
	deadline := time.NewTimer(initialTrackWait)
	defer deadline.Stop()
	for d.pendingTracks() > 0 {
		select {
		case e := <-d.events:
			d.serve(e)
		case <-deadline.C:
			for k, st := range d.tracks {
				if !st.seen {
					d.log.Warn("no first report from tracked object; starting without it", "track", k.String())
				}
			}
			return
		}
	}
}

func (d *Daemon) pendingTracks() int {
	n := 0
	for _, st := range d.tracks {
		if !st.seen {
			n++
		}
	}
	return n
}
