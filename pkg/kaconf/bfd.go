package kaconf

import (
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// bfd_instance blocks (RFC 5880 sessions keepalived's BFD process runs) and
// the track_bfd references to them. Every diagnostic below was matched
// against `keepalived -t` (2.2.7) on the same line; see bfd_test.go.

// BFDInstance is one bfd_instance block with keepalived 2.2.7's defaults.
type BFDInstance struct {
	Name string
	Pos  Pos
	// Neighbor is neighbor_ip (or neighbour_ip); Source source_ip, the zero
	// Addr when not given.
	Neighbor, Source netip.Addr
	// MinRx, MinTx and IdleTx: min_rx, min_tx, idle_tx (given in ms with
	// µs resolution). Defaults 10 ms, 10 ms, 1 s.
	MinRx, MinTx, IdleTx time.Duration
	Multiplier           int // default 5
	Passive              bool
	TTL                  int // IPv4, default 255
	HopLimit             int // IPv6, default 64
	// MaxHops is how far below TTL/HopLimit a received packet's may be
	// (default 0; 255 disables the check). keepalived lowers it to the
	// TTL/hop limit of the neighbour's family when it is above.
	MaxHops int
	// Weight and Reverse are the default of track_bfd entries without their
	// own weight.
	Weight  int
	Reverse bool
	// VRRP and Checker are the `vrrp` / `checker` keywords: where keepalived
	// sends the session's events (both when neither is given).
	VRRP, Checker bool

	dropped bool // a malformed neighbor_ip: keepalived ignores the block
}

// ForVRRP reports whether VRRP instances may track it: keepalived's VRRP
// process does not know an instance marked `checker` only.
func (b *BFDInstance) ForVRRP() bool { return b.VRRP || !b.Checker }

// bfdNameMax is keepalived's BFD_INAME_MAX - 1.
const bfdNameMax = 31

type kwB = keyword[*BFDInstance]

const ignoreInstance = "ignore the bfd_instance"

var bfdTable = newTable("bfd_instance", nil, []kwB{
	{name: "neighbor_ip", args: "ADDR", min: 1, max: 1, status: Supported, doc: "BFD peer, required", fn: bfdNeighbor},
	{name: "neighbour_ip", args: "ADDR", min: 1, max: 1, status: Supported, doc: "synonym of neighbor_ip", fn: bfdNeighbor},
	{name: "source_ip", args: "ADDR", min: 1, max: 1, status: Supported, doc: "local address of the session", fn: bfdSource},
	{name: "min_rx", args: "MS", min: 1, max: 1, status: Supported, doc: "required min RX interval, ms, µs resolution (default 10)", fallback: ignore,
		fn: func(c *ctx, n *Node, b *BFDInstance) { c.bfdMs(n, b, "min_rx", 1, &b.MinRx) }},
	{name: "min_tx", args: "MS", min: 1, max: 1, status: Supported, doc: "desired min TX interval, ms (default 10)", fallback: ignore,
		fn: func(c *ctx, n *Node, b *BFDInstance) { c.bfdMs(n, b, "min_tx", 1, &b.MinTx) }},
	{name: "idle_tx", args: "MS", min: 1, max: 1, status: Supported, doc: "desired idle TX interval, ms (default 1000)", fallback: ignore,
		fn: func(c *ctx, n *Node, b *BFDInstance) { c.bfdMs(n, b, "idle_tx", 1000, &b.IdleTx) }},
	{name: "multiplier", args: "<1..255>", min: 1, max: 1, status: Supported, doc: "detect multiplier (default 5)", fallback: ignore,
		fn: func(c *ctx, n *Node, b *BFDInstance) { c.bfdInt(n, b, "multiplier", 1, 255, &b.Multiplier) }},
	{name: "passive", args: "", max: -1, status: Supported, doc: "send nothing until the peer is heard (arguments ignored, as keepalived)",
		fn: func(c *ctx, n *Node, b *BFDInstance) { b.Passive = true }},
	{name: "ttl", args: "<1..255>", min: 1, max: 1, status: Supported, doc: "outgoing IPv4 TTL (default 255)", fallback: ignore,
		fn: func(c *ctx, n *Node, b *BFDInstance) { c.bfdInt(n, b, "ttl/hoplimit", 1, 255, &b.TTL) }},
	{name: "hoplimit", args: "<1..255>", min: 1, max: 1, status: Supported, doc: "outgoing IPv6 hop limit (default 64)", fallback: ignore,
		fn: func(c *ctx, n *Node, b *BFDInstance) { c.bfdInt(n, b, "ttl/hoplimit", 1, 255, &b.HopLimit) }},
	{name: "max_hops", args: "<-1..255>", min: 1, max: 1, status: Supported, doc: "accepted TTL/hop limit reduction (default 0; 255 or -1: no check)", fallback: ignore,
		fn: func(c *ctx, n *Node, b *BFDInstance) {
			if c.bfdInt(n, b, "max_hops", -1, 255, &b.MaxHops) && b.MaxHops < 0 {
				b.MaxHops = 255
			}
		}},
	{name: "weight", args: "<-253..253> [reverse]", min: 1, max: -1, status: Supported, doc: "default weight of track_bfd entries (default 0: FAULT while down)", fallback: ignore,
		fn: bfdWeight},
	{name: "vrrp", status: Supported, doc: "events to the VRRP side only",
		fn: func(c *ctx, n *Node, b *BFDInstance) { b.VRRP = true }},
	{name: "checker", status: Supported, doc: "events to the checker process (govrrp has none: a no-op; checker only: not trackable by VRRP)",
		fn: func(c *ctx, n *Node, b *BFDInstance) {
			b.Checker = true
			c.noticef(n.Pos(), "checker in bfd_instance %s: govrrp has no checker process, so no event goes to one (keepalived's checker process would receive them)", b.Name)
		}},
})

func bfdNeighbor(c *ctx, n *Node, b *BFDInstance) {
	if a, ok := netip.ParseAddr(n.Args[0].Text); ok == nil && a.Zone() == "" {
		b.Neighbor = a.Unmap()
		return
	}
	// keepalived 2.2.7: "BFD instance b1 has malformed neighbor address
	// bogus, ignoring instance"; nothing else is reported for it.
	c.fallbackf(n.Args[0].Pos, ignoreInstance, "bfd_instance %s: malformed neighbor address %q", b.Name, n.Args[0].Text)
	b.dropped = true
}

func bfdSource(c *ctx, n *Node, b *BFDInstance) {
	if a, ok := netip.ParseAddr(n.Args[0].Text); ok == nil && a.Zone() == "" {
		b.Source = a.Unmap()
		return
	}
	// keepalived 2.2.7: "... has malformed source address X, ignoring".
	c.fallbackf(n.Args[0].Pos, ignore, "bfd_instance %s: malformed source address %q", b.Name, n.Args[0].Text)
}

// bfdMs reads a decimal number of milliseconds into µs. keepalived keeps
// three decimals: a fourth is reported ("has too many decimal places") and
// the value rounded (3.3125 -> 3313 µs in its dump).
func (c *ctx) bfdMs(n *Node, b *BFDInstance, what string, lo float64, dst *time.Duration) {
	t := n.Args[0]
	v, err := strconv.ParseFloat(t.Text, 64)
	if err != nil || !decimalRE.MatchString(t.Text) {
		c.bad(t.Pos, "bfd_instance %s: %s value %q is not a number", b.Name, what, t.Text)
		return
	}
	const hi = 4294967
	if v < lo || v > hi {
		c.bad(t.Pos, "bfd_instance %s: %s value %s outside range [%g, %d] ms", b.Name, what, t.Text, lo, hi)
		return
	}
	if i := strings.IndexByte(t.Text, '.'); i >= 0 && len(t.Text)-i-1 > 3 {
		c.warnf(t.Pos, "bfd_instance %s: %s %s has more than 3 decimal places (µs resolution); rounded, as keepalived 2.2.7 does", b.Name, what, t.Text)
	}
	*dst = time.Duration(math.Round(v*1000)) * time.Microsecond
}

func (c *ctx) bfdInt(n *Node, b *BFDInstance, what string, lo, hi int64, dst *int) bool {
	t := n.Args[0]
	v, err := strconv.ParseInt(t.Text, 10, 64)
	if err != nil {
		c.bad(t.Pos, "bfd_instance %s: %s value %q is not a number", b.Name, what, t.Text)
		return false
	}
	if v < lo || v > hi {
		c.bad(t.Pos, "bfd_instance %s: %s value %d outside range [%d, %d]", b.Name, what, v, lo, hi)
		return false
	}
	*dst = int(v)
	return true
}

// bfdWeight: "weight W [reverse]"; keepalived reports an unknown option
// ("unknown weight option foo") and keeps the weight, and says nothing about
// words after reverse.
func bfdWeight(c *ctx, n *Node, b *BFDInstance) {
	if !c.bfdInt(n, b, "weight", -253, 253, &b.Weight) {
		return
	}
	b.Reverse = false
	if len(n.Args) < 2 {
		return
	}
	switch a := n.Args[1]; a.Text {
	case "reverse":
		b.Reverse = true
	default:
		c.fallbackf(a.Pos, "ignore the option", "bfd_instance %s: unknown weight option %q", b.Name, a.Text)
	}
}

func topBFD(c *ctx, n *Node, cfg *Config) {
	name := n.Args[0].Text
	if len(name) > bfdNameMax {
		c.fallbackf(n.Args[0].Pos, ignoreInstance, "bfd_instance %s: name too long (maximum length is %d characters)", name, bfdNameMax)
		return
	}
	if prev := cfg.BFDInstances[name]; prev != nil {
		// keepalived 2.2.7: "BFD b1 already specified" ... "already
		// configured - ignoring" on the second block's line.
		c.fallbackf(n.Args[0].Pos, "ignore the second block", "bfd_instance %s already defined at %s", name, prev.Pos)
		return
	}
	b := &BFDInstance{Name: name, Pos: n.Pos(), MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond,
		IdleTx: time.Second, Multiplier: 5, TTL: 255, HopLimit: 64}
	dispatch(c, bfdTable, n.Children, b)
	if b.dropped || !c.bfdComplete(b, blockEnd(n), cfg) {
		return
	}
	if cfg.BFDInstances == nil {
		cfg.BFDInstances = map[string]*BFDInstance{}
	}
	cfg.BFDInstances[name] = b
	c.defIdx["bfd_instance:"+name] = c.topIdx[n]
}

// bfdComplete runs keepalived's end-of-block checks, reported on the
// closing brace as keepalived does.
func (c *ctx) bfdComplete(b *BFDInstance, end Pos, cfg *Config) bool {
	if !b.Neighbor.IsValid() {
		c.fallbackf(end, ignoreInstance, "bfd_instance %s has no neighbor address set", b.Name)
		return false
	}
	if b.Source.IsValid() && b.Source.Is4() != b.Neighbor.Is4() {
		c.fallbackf(end, ignoreInstance, "bfd_instance %s: source address %s and neighbor address %s are not of the same family", b.Name, b.Source, b.Neighbor)
		return false
	}
	for _, o := range cfg.BFDInstances {
		if o.Neighbor == b.Neighbor && o.Source == b.Source {
			c.fallbackf(end, ignoreInstance, "bfd_instance %s has duplicate neighbor address %s (bfd_instance %s)", b.Name, b.Neighbor, o.Name)
			return false
		}
	}
	limit, what := b.TTL, "ttl"
	if b.Neighbor.Is6() {
		limit, what = b.HopLimit, "hoplimit"
	}
	if b.MaxHops > limit {
		c.warnf(end, "bfd_instance %s: max_hops %d exceeds %s %d; set to %d, as keepalived 2.2.7 does", b.Name, b.MaxHops, what, limit, limit)
		b.MaxHops = limit
	}
	return true
}

// deriveBFD resolves track_bfd entries: names order-free, default weights
// from the bfd_instance, duplicates and checker-only instances dropped, the
// address owner's and (without sync_group_tracking_weight) sync group
// members' weighted entries dropped — all as keepalived 2.2.7 reports them.
func deriveBFD(c *ctx, cfg *Config) {
	inGroup := map[string]*SyncGroup{}
	for _, g := range cfg.SyncGroups {
		for _, m := range g.Group {
			inGroup[m] = g
		}
		g.TrackBFDs = c.resolveBFDRefs(cfg, g.Name, g.TrackBFDs)
	}
	for _, in := range cfg.Instances {
		in.TrackBFDs = c.resolveBFDRefs(cfg, in.Name, in.TrackBFDs)
		switch g := inGroup[in.Name]; {
		case in.Priority == 255:
			in.TrackBFDs = dropWeightedBFD(c, in, in.TrackBFDs, "address_owner (its priority cannot change)")
		case g != nil && !g.SyncGroupTrackingWeight && !g.GlobalTracking:
			in.TrackBFDs = dropWeightedBFD(c, in, in.TrackBFDs, "SYNC group "+g.Name+" without sync_group_tracking_weight")
		}
	}
}

func (c *ctx) resolveBFDRefs(cfg *Config, owner string, refs []TrackRef) []TrackRef {
	out := refs[:0]
	seen := map[string]bool{}
	for _, r := range refs {
		b := cfg.BFDInstances[r.Name]
		switch {
		case b == nil || !b.ForVRRP():
			// keepalived 2.2.7: "(VI) track bfd b1 not found, ignoring..."
			// also for an instance marked checker only.
			why := "is not defined"
			if b != nil {
				why = "is for the checker only (checker without vrrp)"
			}
			c.fallbackf(r.Pos, "ignore the entry (nothing is tracked)", "(%s) track_bfd %q %s", owner, r.Name, why)
			continue
		case seen[r.Name]:
			c.fallbackf(r.Pos, "ignore the entry", "(%s) duplicate track_bfd %s", owner, r.Name)
			continue
		}
		seen[r.Name] = true
		if !r.WeightSet {
			r.Weight, r.Reverse = b.Weight, b.Reverse
		}
		out = append(out, r)
	}
	return out
}

// dropWeightedBFD: "(VI) ignoring tracked bfd b1 with weight -10 due to
// SYNC group" / "... due to address_owner" (keepalived 2.2.7).
func dropWeightedBFD(c *ctx, in *Instance, refs []TrackRef, why string) []TrackRef {
	out := refs[:0]
	for _, r := range refs {
		if r.Weight != 0 {
			c.warnf(r.Pos, "(%s) track_bfd %s with weight %d ignored due to %s, as keepalived 2.2.7 does", in.Name, r.Name, r.Weight, why)
			continue
		}
		out = append(out, r)
	}
	return out
}

// BFDList lists the bfd_instances in name order: every one runs, tracked
// or not, as keepalived's BFD process runs every block it reads (seen in
// its keepalived_bfd.data dump and sockets).
func (cfg *Config) BFDList() []*BFDInstance {
	out := make([]*BFDInstance, 0, len(cfg.BFDInstances))
	for _, b := range cfg.BFDInstances {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
