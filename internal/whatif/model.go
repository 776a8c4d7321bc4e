package whatif

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/govrrp/govrrp/internal/track/weights"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// Node is one node's configuration as kaconf.Load returned it. Diags are the
// load's diagnostics: they tell which tracks keepalived would ignore.
type Node struct {
	File   string
	Config *kaconf.Config
	Diags  []kaconf.Diagnostic
}

// router is one virtual router (VRID and family) across the nodes, as
// kaconf.CheckCluster groups them.
type router struct {
	name    string // the first node's instance name
	vrid    uint8
	family  uint8
	members []*member
	// skip says why the router is not simulated ("" = simulated).
	skip string
	// notes name what is set but does not change the election.
	notes []string
	// linked are the routers simulated together with this one, itself
	// first: vrrp_sync_group members on any node tie their routers
	// together (a member's failure moves the whole group).
	linked []*router
	// groups are the sync groups among linked's members, by node.
	groups []groupSpec
}

// groupSpec is one node's vrrp_sync_group: its policy and its instances,
// in the group's order.
type groupSpec struct {
	node      int
	name      string
	pos       kaconf.Pos
	instances []string
}

// member is one node's instance of a router.
type member struct {
	node   int
	in     *kaconf.Instance
	ifname string
	addr   netip.Addr // advert source: given, inferred from peers, or assigned
	given  bool       // addr comes from the configuration
	uses   []weights.Use
}

// nodeNames names the nodes by router_id when those are unique, else by
// file name.
func nodeNames(nodes []Node) []string {
	byID := make([]string, len(nodes))
	byFile := make([]string, len(nodes))
	for i, n := range nodes {
		byID[i] = n.Config.Global.RouterID
		byFile[i] = strings.TrimSuffix(filepath.Base(n.File), ".conf")
	}
	for _, names := range [][]string{byID, byFile} {
		if unique(names) {
			return names
		}
	}
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = fmt.Sprintf("node%d(%s)", i+1, n.File)
	}
	return out
}

func unique(names []string) bool {
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			return false
		}
		seen[n] = true
	}
	return true
}

// routers groups the nodes' instances by VRID and family, in the order
// they first appear.
func routers(nodes []Node) []*router {
	type key struct{ vrid, family uint8 }
	index := map[key]*router{}
	var out []*router
	for ni, n := range nodes {
		for _, in := range n.Config.Instances {
			k := key{in.VRID, in.Family}
			r := index[k]
			if r == nil {
				r = &router{name: in.Name, vrid: in.VRID, family: in.Family}
				index[k] = r
				out = append(out, r)
			}
			r.members = append(r.members, &member{node: ni, in: in, ifname: ifName(in)})
		}
	}
	for _, r := range out {
		assignAddrs(r)
		for _, m := range r.members {
			m.uses = append(weights.Uses(m.in, m.ifname, m.addr), weights.GroupUses(nodes[m.node].Config, m.in.Name)...)
		}
		r.skip = skipReason(r, nodes)
		r.notes = electionNeutral(r)
	}
	link(out, nodes)
	return out
}

// link ties together the routers whose instances share a vrrp_sync_group
// on some node (transitively), and gives each router the unit it is
// simulated in. A unit with a router that cannot be simulated is not
// simulated at all: its groups would move on that router's behaviour.
func link(rs []*router, nodes []Node) {
	parent := make([]int, len(rs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			i = parent[i]
		}
		return i
	}
	of := func(node int, name string) int {
		for i, r := range rs {
			for _, m := range r.members {
				if m.node == node && m.in.Name == name {
					return i
				}
			}
		}
		return -1
	}
	var groups []groupSpec
	for n, nd := range nodes {
		for _, g := range nd.Config.SyncGroups {
			first := -1
			spec := groupSpec{node: n, name: g.Name, pos: g.Pos}
			for _, name := range g.Group {
				i := of(n, name)
				if i < 0 {
					continue
				}
				spec.instances = append(spec.instances, name)
				if first < 0 {
					first = i
				} else {
					parent[find(i)] = find(first)
				}
			}
			if len(spec.instances) > 1 {
				groups = append(groups, spec)
			}
		}
	}
	for i, r := range rs {
		r.linked = []*router{r}
		for j, o := range rs {
			if j != i && find(j) == find(i) {
				r.linked = append(r.linked, o)
			}
		}
		for _, g := range groups {
			if find(of(g.node, g.instances[0])) == find(i) {
				r.groups = append(r.groups, g)
			}
		}
	}
	own := map[*router]string{}
	for _, r := range rs {
		own[r] = r.skip
	}
	for _, r := range rs {
		if r.skip != "" {
			continue
		}
		for _, o := range r.linked[1:] {
			if own[o] != "" {
				r.skip = fmt.Sprintf("a vrrp_sync_group ties it to VRID %d (%s), which is not simulated: %s", o.vrid, o.name, own[o])
				break
			}
		}
	}
}

// ifName is the instance's interface; a unicast instance may omit it (the
// daemon then uses the interface holding unicast_src_ip).
func ifName(in *kaconf.Instance) string {
	if in.Interface != "" {
		return in.Interface
	}
	return "(interface of " + in.UnicastSrcIP.String() + ")"
}

// assignAddrs gives every member the source address its adverts carry:
// unicast_src_ip / mcast_src_ip when given; for a unicast member without
// one, the single address the other members list as a peer that no one
// else has; else an address of the documentation ranges in node order. The
// address only breaks ties between equal priorities.
func assignAddrs(r *router) {
	taken := map[netip.Addr]bool{}
	for _, m := range r.members {
		src := m.in.McastSrcIP
		if len(m.in.UnicastPeers) > 0 {
			src = m.in.UnicastSrcIP
		}
		if src.IsValid() {
			m.addr, m.given = src, true
			taken[src] = true
		}
	}
	for _, m := range r.members {
		if m.given || len(m.in.UnicastPeers) == 0 {
			continue
		}
		if a, ok := inferFromPeers(r, m, taken); ok {
			m.addr, m.given = a, true
			taken[a] = true
		}
	}
	for i, m := range r.members {
		if m.addr.IsValid() {
			continue
		}
		m.addr = synthetic(r.family, i)
		for taken[m.addr] {
			i += len(r.members)
			m.addr = synthetic(r.family, i)
		}
		taken[m.addr] = true
	}
}

func inferFromPeers(r *router, m *member, taken map[netip.Addr]bool) (netip.Addr, bool) {
	own := map[netip.Addr]bool{}
	for _, p := range m.in.UnicastPeers {
		own[p.Addr] = true
	}
	var cands []netip.Addr
	for _, o := range r.members {
		if o == m {
			continue
		}
		for _, p := range o.in.UnicastPeers {
			if !own[p.Addr] && !taken[p.Addr] && !slices.Contains(cands, p.Addr) {
				cands = append(cands, p.Addr)
			}
		}
	}
	if len(cands) == 1 {
		return cands[0], true
	}
	return netip.Addr{}, false
}

func synthetic(family uint8, i int) netip.Addr {
	if family == 6 {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte((i + 10) >> 8), 15: byte(i + 10)})
	}
	return netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i%200)})
}

// skipReason names what makes a faithful simulation impossible: features
// that change the election and that govrrp does not implement.
func skipReason(r *router, nodes []Node) string {
	seen := map[int]bool{}
	for _, m := range r.members {
		if seen[m.node] {
			return fmt.Sprintf("VRID %d is configured twice on one node (%s); which instances share a segment is not known from the files", r.vrid, m.in.Pos)
		}
		seen[m.node] = true
	}
	for _, m := range r.members {
		in := m.in
		switch {
		case in.AuthType == "AH":
			return fmt.Sprintf("%s: (%s) auth_type AH is not supported by govrrp (`govrrp run` refuses it)", in.Pos, in.Name)
		}
	}
	return ""
}

// electionNeutral lists what a router's instances set that changes how a
// master serves its addresses but not who is elected: simulated, and said.
func electionNeutral(r *router) []string {
	var out []string
	add := func(set bool, kw string) {
		if set && !slices.Contains(out, kw) {
			out = append(out, kw)
		}
	}
	for _, m := range r.members {
		in := m.in
		add(in.UseVMAC != "", "use_vmac")
		add(len(in.VirtualRoutes) > 0, "virtual_routes")
		add(len(in.VirtualRules) > 0, "virtual_rules")
		add(len(in.ExcludedVIPs) > 0, "virtual_ipaddress_excluded")
		add(in.Accept != nil, "accept/no_accept")
		add(in.StrictMode, "strict_mode")
		add(in.NoVirtualIPAddress, "no_virtual_ipaddress")
	}
	return out
}

// timingNotes lists what changes timing but not the outcome, and is not
// modelled.
func timingNotes(r *router, nodes []Node) []string {
	var out []string
	for _, m := range r.members {
		if m.in.HigherPrioSendAdvert && !slices.Contains(out, "higher_prio_send_advert") {
			out = append(out, "higher_prio_send_advert")
		}
		if d := nodes[m.node].Config.Global.VRRPStartupDelay; d > 0 {
			s := "vrrp_startup_delay " + d.String() + " on " + nodes[m.node].File
			out = append(out, s)
		}
	}
	return out
}

// horizon bounds one phase of a simulation in virtual time: a restarted
// member waits at most one master-down interval (4 advert intervals), its
// preempt_delay, one more interval and another master-down interval before
// it takes over; this is over twice that.
func (r *router) horizon() time.Duration {
	var ai, pd time.Duration
	for _, l := range append([]*router{r}, r.linked...) {
		for _, m := range l.members {
			ai = max(ai, m.in.AdverInt, 10*time.Millisecond)
			pd = max(pd, m.in.PreemptDelay)
		}
	}
	return 15*ai + 2*pd
}
