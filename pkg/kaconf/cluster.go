package kaconf

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// Member is one node's configuration in a cluster check.
type Member struct {
	File   string
	Config *Config
}

// CheckCluster cross-checks the configurations of the nodes of one cluster:
// an instance is the same virtual router on every node when it has the same
// virtual_router_id and address family, and then it must agree on version,
// advert_int, authentication and VIPs; priorities should differ; unicast
// peers must point at each other; and a tracked check that fails on the
// master must be able to move the VIP. keepalived accepts all of these
// mistakes silently.
func CheckCluster(members []Member) []Diagnostic {
	var diags []Diagnostic
	for _, g := range groupRouters(members) {
		diags = append(diags, checkRouter(g, len(members))...)
	}
	sort.SliceStable(diags, func(i, j int) bool { return diags[i].Pos.File < diags[j].Pos.File })
	return diags
}

// peerInstance is one node's instance of a virtual router.
type peerInstance struct {
	file string
	in   *Instance
	cfg  *Config
}

type routerKey struct {
	vrid   uint8
	family uint8
}

// groupRouters collects, per virtual router, the instance of each node.
func groupRouters(members []Member) [][]peerInstance {
	index := map[routerKey]int{}
	var groups [][]peerInstance
	for _, m := range members {
		for _, in := range m.Config.Instances {
			k := routerKey{in.VRID, in.Family}
			i, ok := index[k]
			if !ok {
				i = len(groups)
				index[k] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], peerInstance{file: m.File, in: in, cfg: m.Config})
		}
	}
	return groups
}

func checkRouter(g []peerInstance, nodes int) []Diagnostic {
	var diags []Diagnostic
	add := func(p Pos, sev Severity, format string, a ...any) {
		diags = append(diags, Diagnostic{Pos: p, Severity: sev, Msg: fmt.Sprintf(format, a...)})
	}
	first := g[0]
	if len(g) < nodes {
		add(first.in.Pos, SevWarning, "(%s) virtual_router_id %d (IPv%d) is configured on %d of %d nodes; the others will not back it up",
			first.in.Name, first.in.VRID, first.in.Family, len(g), nodes)
	}
	for _, p := range g[1:] {
		a, b := first.in, p.in
		if a.Version != b.Version {
			add(b.Pos, SevError, "(%s) VRRP version %d here but %d in %s (%s): the nodes cannot hear each other", b.Name, b.Version, a.Version, first.file, a.Name)
		}
		if a.AdverInt != b.AdverInt {
			sev := SevWarning // v3 learns the master's interval
			if a.Version == 2 {
				sev = SevError // v2 drops adverts with another interval
			}
			add(b.Pos, sev, "(%s) advert_int %v here but %v in %s (%s)", b.Name, b.AdverInt, a.AdverInt, first.file, a.Name)
		}
		if a.Version == 2 && (a.AuthType != b.AuthType || a.AuthPass != b.AuthPass) {
			add(b.Pos, SevError, "(%s) authentication differs from %s (%s): every advert will be dropped as an auth mismatch", b.Name, first.file, a.Name)
		}
		if sev, msg := hmacMismatch(b, a); msg != "" {
			add(b.Pos, sev, "(%s) auth_hmac: %s %s (%s)", b.Name, msg, first.file, a.Name)
		}
		if !sameVIPs(a.VIPs, b.VIPs) {
			add(b.Pos, SevError, "(%s) virtual_ipaddress list %s differs from %s in %s (%s)", b.Name, vipList(b.VIPs), vipList(a.VIPs), first.file, a.Name)
		}
	}
	diags = append(diags, checkPriorities(g)...)
	diags = append(diags, checkUnicastPeers(g)...)
	diags = append(diags, checkTrackingCanMoveVIP(g)...)
	return diags
}

func sameVIPs(a, b []VIP) bool {
	return slices.Equal(vipPrefixes(a), vipPrefixes(b))
}

func vipPrefixes(vs []VIP) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.Prefix.String())
	}
	sort.Strings(out)
	return out
}

func vipList(vs []VIP) string { return "[" + strings.Join(vipPrefixes(vs), " ") + "]" }

func checkPriorities(g []peerInstance) []Diagnostic {
	var diags []Diagnostic
	for i, a := range g {
		for _, b := range g[i+1:] {
			if a.in.Priority == b.in.Priority && a.in.Priority != 255 {
				diags = append(diags, Diagnostic{Pos: b.in.Pos, Severity: SevWarning, Msg: fmt.Sprintf(
					"(%s) priority %d equals that of %s (%s): the node with the higher primary address wins; give them distinct priorities unless the tie is deliberate",
					b.in.Name, b.in.Priority, a.file, a.in.Name)})
			}
			if a.in.Priority == 255 && b.in.Priority == 255 {
				diags = append(diags, Diagnostic{Pos: b.in.Pos, Severity: SevError, Msg: fmt.Sprintf(
					"(%s) priority 255 (address owner) on two nodes (also %s): only one node can own the addresses", b.in.Name, a.file)})
			}
		}
	}
	return diags
}

// checkUnicastPeers: in unicast mode each node must list every other node's
// unicast_src_ip, or its adverts never reach them.
func checkUnicastPeers(g []peerInstance) []Diagnostic {
	var diags []Diagnostic
	for _, a := range g {
		if len(a.in.UnicastPeers) == 0 {
			continue
		}
		peers := map[netip.Addr]bool{}
		for _, p := range a.in.UnicastPeers {
			peers[p.Addr] = true
		}
		for _, b := range g {
			if b.in == a.in {
				continue
			}
			if len(b.in.UnicastPeers) == 0 {
				diags = append(diags, Diagnostic{Pos: a.in.Pos, Severity: SevError, Msg: fmt.Sprintf(
					"(%s) uses unicast_peer but %s (%s) uses multicast: they cannot hear each other", a.in.Name, b.file, b.in.Name)})
				continue
			}
			if src := b.in.UnicastSrcIP; src.IsValid() && !peers[src] {
				diags = append(diags, Diagnostic{Pos: a.in.Pos, Severity: SevError, Msg: fmt.Sprintf(
					"(%s) unicast_peer does not list %s, the unicast_src_ip of %s (%s)", a.in.Name, src, b.file, b.in.Name)})
			}
		}
	}
	return diags
}

// checkTrackingCanMoveVIP finds tracked checks on the highest-priority node
// whose failure leaves it still above the next node: the VIP never moves.
func checkTrackingCanMoveVIP(g []peerInstance) []Diagnostic {
	if len(g) < 2 {
		return nil
	}
	sorted := slices.Clone(g)
	sort.SliceStable(sorted, func(i, j int) bool { return healthyPriority(sorted[i]) > healthyPriority(sorted[j]) })
	master, next := sorted[0], sorted[1]
	if master.in.Priority == 255 {
		return nil // the owner ignores weights
	}
	top, runnerUp := healthyPriority(master), healthyPriority(next)
	var diags []Diagnostic
	for _, t := range instanceTracks(master.in) {
		if t.ref.Weight == 0 {
			continue // weight 0: a failure puts the instance in FAULT
		}
		failed := top - abs(t.ref.Weight) // a positive weight is lost, a negative one applied
		failed = clampPriority(failed)
		if failed >= runnerUp { // a tie is decided by address, not by the check
			diags = append(diags, Diagnostic{Pos: t.ref.Pos, Severity: SevWarning, Msg: fmt.Sprintf(
				"(%s) a failing %s %q on this node (priority %d → %d with weight %d) can never make it lose to %s (%s, priority %d): the VIP will not move; use a weight above %d or weight 0 (FAULT)",
				master.in.Name, t.kind, t.ref.Name, top, failed, t.ref.Weight, next.file, next.in.Name, runnerUp, top-runnerUp)})
		}
	}
	return diags
}

type namedTrack struct {
	kind string
	ref  TrackRef
}

func instanceTracks(in *Instance) []namedTrack {
	var out []namedTrack
	for _, set := range []struct {
		kind string
		refs []TrackRef
	}{
		{"track_script", in.TrackScripts}, {"track_interface", in.TrackInterfaces},
		{"track_file", in.TrackFiles}, {"track_process", in.TrackProcesses},
	} {
		for _, r := range set.refs {
			out = append(out, namedTrack{set.kind, r})
		}
	}
	return out
}

// healthyPriority is the effective priority with every check passing:
// positive weights are added, negative ones are not applied.
func healthyPriority(p peerInstance) int {
	prio := int(p.in.Priority)
	if prio == 255 {
		return prio
	}
	for _, t := range instanceTracks(p.in) {
		if t.ref.Weight > 0 {
			prio += t.ref.Weight
		}
	}
	return clampPriority(prio)
}

func clampPriority(p int) int { return min(max(p, 1), 254) }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
