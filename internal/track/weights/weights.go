package weights

import (
	"net/netip"
	"slices"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// Key names one tracked object: one script runs once however many instances
// track it, as in keepalived.
type Key struct {
	Kind track.Kind
	Name string
}

func (k Key) String() string { return k.Kind.String() + " " + k.Name }

// Use is one instance's use of a tracked object with the weight that
// instance gives it (its own weight override, or the object's default).
type Use struct {
	Key     Key
	Weight  int
	Reverse bool
	// Primary marks the instance's own interface (or, with track_src_ip, its
	// source address): a fault, never a weight.
	Primary bool
	// Pos is the track_* line that declares the use (zero for Primary).
	Pos kaconf.Pos
}

// MaxWeight bounds what one track adds or removes: beyond it a track_file
// result means FAULT (keepalived: below -253).
const MaxWeight = 253

// Effect is what one tracked object's result does to an instance:
// keepalived's rules.
//   - script, interface, process, BFD: a positive weight counts while up, a
//     negative one while down; reverse negates the amount but not when it
//     counts (keepalived 2.2.7, observed: a failing script with
//     "weight -20 reverse" starts the instance at +20, a passing one with
//     "weight 7 reverse" at -7, a failing "weight 20 reverse" changes
//     nothing; interfaces alike). Weight 0 means FAULT while down, with
//     reverse while up.
//   - file: weight 0 means FAULT for any non-zero value; otherwise
//     value*weight (negated with reverse) is added, and a result below -253
//     is FAULT.
func Effect(u Use, r track.Result) (delta int, fault bool) {
	if u.Primary {
		return 0, !r.OK
	}
	if u.Key.Kind == track.KindFile {
		return fileEffect(u, r)
	}
	return stateEffect(u, r)
}

// stateEffect is the rule for objects that are up or down (see Effect).
func stateEffect(u Use, r track.Result) (int, bool) {
	if u.Weight == 0 {
		return 0, r.OK == u.Reverse
	}
	w := u.Weight
	if u.Reverse {
		w = -w
	}
	if (u.Weight > 0) == r.OK {
		return w, false
	}
	return 0, false
}

func fileEffect(u Use, r track.Result) (int, bool) {
	if !r.OK {
		// Unreadable or not a number: keepalived reads it as 0.
		r.Value = 0
	}
	if u.Weight == 0 {
		return 0, (r.Value != 0) != u.Reverse
	}
	w := int64(u.Weight)
	if u.Reverse {
		w = -w
	}
	v := int64(r.Value) * w
	if v < -MaxWeight {
		return 0, true
	}
	return int(min(v, MaxWeight)), false
}

// PendingFaults: before its first result a weight-0 script holds the
// instance in FAULT, as keepalived 2.2.7 does (seen running it); weighted
// scripts change nothing until then, unless init_fail (whose state the
// factory reports at once).
func PendingFaults(u Use) bool {
	return u.Key.Kind == track.KindScript && u.Weight == 0 && !u.Reverse
}

// Uses lists an instance's tracks with their effective weights: the
// instance's own interface first (unless dont_track_primary), its source
// address with track_src_ip, then track_interface, track_script, track_file
// and track_process in file order.
func Uses(c *kaconf.Instance, ifname string, src netip.Addr) []Use {
	var out []Use
	if !c.DontTrackPrimary {
		out = append(out, Use{Key: Key{track.KindInterface, ifname}, Primary: true})
	}
	if c.TrackSrcIP {
		// keepalived's track_src_ip: FAULT while the advert source is gone.
		out = append(out, Use{Key: Key{track.KindInterface, track.AddrResultName(src)}, Primary: true})
	}
	out = appendRefs(out, c.TrackInterfaces, c.TrackScripts, c.TrackFiles, c.TrackProcesses)
	return appendBFD(out, c.TrackBFDs)
}

// appendBFD appends track_bfd references: weight and reverse as for a
// script (keepalived.conf(5): positive weights count while the session is
// up, negative ones while it is down; 0 is FAULT while down).
func appendBFD(out []Use, refs []kaconf.TrackRef) []Use {
	for _, r := range refs {
		out = append(out, Use{Key: Key{track.KindBFD, r.Name}, Weight: r.Weight, Reverse: r.Reverse, Pos: r.Pos})
	}
	return out
}

// appendRefs appends the uses of track_interface, track_script, track_file
// and track_process references, in that order (an instance's or a sync
// group's: the same rule).
func appendRefs(out []Use, ifaces, scripts, files, procs []kaconf.TrackRef) []Use {
	for _, kr := range []struct {
		kind track.Kind
		refs []kaconf.TrackRef
	}{{track.KindInterface, ifaces}, {track.KindScript, scripts}, {track.KindFile, files}, {track.KindProcess, procs}} {
		for _, r := range kr.refs {
			out = append(out, Use{Key: Key{kr.kind, r.Name}, Weight: r.Weight, Reverse: r.Reverse, Pos: r.Pos})
		}
	}
	return out
}

// GroupUses are the tracks an instance gets from its vrrp_sync_group
// (track_interface, track_script, track_file, track_process at group level)
// with the group's weights: keepalived 2.2.7 applies a group track's weight
// to every member whether or not sync_group_tracking_weight is set (seen
// running it; that keyword is about the members' own tracks); weight 0 =
// FAULT. nil when the instance is in no group.
func GroupUses(cfg *kaconf.Config, instance string) []Use {
	for _, g := range cfg.SyncGroups {
		if !slices.Contains(g.Group, instance) {
			continue
		}
		return appendBFD(appendRefs(nil, g.TrackInterfaces, g.TrackScripts, g.TrackFiles, g.TrackProcesses), g.TrackBFDs)
	}
	return nil
}
