package kadump

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/govrrp/govrrp/internal/control"
)

// Counters are keepalived's per-instance statistics (vrrp_stats), named as
// in keepalived.json.
type Counters struct {
	AdvertRcvd, AdvertSent      uint64
	BecomeMaster, ReleaseMaster uint64
	PacketLenErr                uint64
	AdvertIntervalErr           uint64
	IPTTLErr                    uint64
	InvalidTypeRcvd             uint64
	AddrListErr                 uint64
	InvalidAuthType             uint64
	AuthTypeMismatch            uint64
	AuthFailure                 uint64
	PriZeroRcvd, PriZeroSent    uint64
}

// Which of govrrp's drop reasons (pkg/vrrp DropReason labels) and advert
// warnings (Warning labels) count as which keepalived counter. keepalived
// counts a v2 interval mismatch (and drops); a v3 one only logs. It counts
// an address-list mismatch without dropping (unless skip_check_adv_addr).
// The mapping of govrrp's reasons onto keepalived's counters is by meaning
// (unverified against crafted packets); reasons keepalived has no counter for
// (checksum, version, family, unknown_vrid, ...) are not shown.
var (
	dropCounter = map[string]func(*Counters) *uint64{
		"too_short":           func(c *Counters) *uint64 { return &c.PacketLenErr },
		"length":              func(c *Counters) *uint64 { return &c.PacketLenErr },
		"ttl":                 func(c *Counters) *uint64 { return &c.IPTTLErr },
		"type":                func(c *Counters) *uint64 { return &c.InvalidTypeRcvd },
		"interval_mismatch":   func(c *Counters) *uint64 { return &c.AdvertIntervalErr },
		"auth_type":           func(c *Counters) *uint64 { return &c.AuthTypeMismatch },
		"auth_ah_unsupported": func(c *Counters) *uint64 { return &c.InvalidAuthType },
		"auth_mismatch":       func(c *Counters) *uint64 { return &c.AuthFailure },
	}
	warningCounter = map[string]func(*Counters) *uint64{
		"addr_mismatch": func(c *Counters) *uint64 { return &c.AddrListErr },
		"addr_count":    func(c *Counters) *uint64 { return &c.AddrListErr },
	}
)

// CountersOf maps an instance's snapshot onto keepalived's counters.
// keepalived counts an advert sent to several unicast peers once, govrrp
// (AdvertsSent, PriorityZeroSent) once per packet: the two agree for
// multicast and a single peer.
func CountersOf(in control.Instance) Counters {
	c := Counters{AdvertRcvd: in.AdvertsReceived, AdvertSent: in.AdvertsSent,
		BecomeMaster: in.BecameMaster, ReleaseMaster: in.ReleasedMaster,
		PriZeroRcvd: in.PriorityZeroReceived, PriZeroSent: in.PriorityZeroSent}
	for reason, n := range in.Drops {
		if f := dropCounter[reason]; f != nil {
			*f(&c) += n
		}
	}
	// A warnings key is the set of an advert's warnings, "a|b": an advert
	// counts once per counter it touches.
	for set, n := range in.Warnings {
		seen := map[*uint64]bool{}
		for _, w := range strings.Split(set, "|") {
			if f := warningCounter[w]; f != nil {
				if p := f(&c); !seen[p] {
					seen[p] = true
					*p += n
				}
			}
		}
	}
	return c
}

// StatsBaseline is how govrrp provides STATS_CLEAR without resetting its own
// monotonic counters (govrrp status and Prometheus keep counting): the daemon
// keeps one baseline, and every keepalived dump shows the counters minus it.
//
// On STATS_CLEAR the loop, in order:
//
//	st := snapshot()
//	go kadump.Dump(kadump.Stats, dir, base.Apply(st), cfg) // counters as they were
//	base = kadump.NewBaseline(st)                          // cleared from now on
//
// and on DATA, STATS and JSON it dumps base.Apply(st). The zero value (nil)
// subtracts nothing. A baseline is immutable once made, so it may be handed
// to the goroutine with the snapshot.
type StatsBaseline map[string]instanceBaseline

type instanceBaseline struct {
	vrid                   uint8
	sent, received         uint64
	transitions            uint64
	became, released       uint64
	priZeroSent, priZeroRx uint64
	drops, warnings        map[string]uint64
}

// NewBaseline records st's counters as the new zero.
func NewBaseline(st control.Status) StatsBaseline {
	b := make(StatsBaseline, len(st.Instances))
	for _, in := range st.Instances {
		b[in.Name] = instanceBaseline{vrid: in.VRID, sent: in.AdvertsSent, received: in.AdvertsReceived,
			transitions: in.Transitions, became: in.BecameMaster, released: in.ReleasedMaster,
			priZeroSent: in.PriorityZeroSent, priZeroRx: in.PriorityZeroReceived,
			drops: maps.Clone(in.Drops), warnings: maps.Clone(in.Warnings)}
	}
	return b
}

// Apply returns a copy of st whose counters count from the baseline. An
// instance the baseline does not know, or whose counters went backwards
// (re-created by a reload), is shown as it is. st is not changed.
func (b StatsBaseline) Apply(st control.Status) control.Status {
	if len(b) == 0 {
		return st
	}
	out := st
	out.Instances = make([]control.Instance, len(st.Instances))
	for i, in := range st.Instances {
		out.Instances[i] = b.apply(in)
	}
	return out
}

func (b StatsBaseline) apply(in control.Instance) control.Instance {
	base, ok := b[in.Name]
	if !ok || base.vrid != in.VRID || in.AdvertsSent < base.sent || in.AdvertsReceived < base.received ||
		in.Transitions < base.transitions || in.BecameMaster < base.became || in.ReleasedMaster < base.released ||
		in.PriorityZeroSent < base.priZeroSent || in.PriorityZeroReceived < base.priZeroRx ||
		!covers(in.Drops, base.drops) || !covers(in.Warnings, base.warnings) {
		return in
	}
	in.AdvertsSent -= base.sent
	in.AdvertsReceived -= base.received
	in.Transitions -= base.transitions
	in.BecameMaster -= base.became
	in.ReleasedMaster -= base.released
	in.PriorityZeroSent -= base.priZeroSent
	in.PriorityZeroReceived -= base.priZeroRx
	in.Drops = minus(in.Drops, base.drops)
	in.Warnings = minus(in.Warnings, base.warnings)
	return in
}

// covers reports whether every count in base is at most the one in m.
func covers(m, base map[string]uint64) bool {
	for k, n := range base {
		if m[k] < n {
			return false
		}
	}
	return true
}

func minus(m, base map[string]uint64) map[string]uint64 {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]uint64, len(m))
	for k, n := range m {
		if d := n - base[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// WriteStats writes keepalived.stats: one block per instance, in st's order.
func WriteStats(w io.Writer, st control.Status) error {
	bw := bufio.NewWriter(w)
	for _, in := range st.Instances {
		c := CountersOf(in)
		fmt.Fprintf(bw, "VRRP Instance: %s\n", in.Name)
		fmt.Fprintf(bw, "  Advertisements:\n    Received: %d\n    Sent: %d\n", c.AdvertRcvd, c.AdvertSent)
		fmt.Fprintf(bw, "  Became master: %d\n  Released master: %d\n", c.BecomeMaster, c.ReleaseMaster)
		fmt.Fprintf(bw, "  Packet Errors:\n    Length: %d\n    TTL: %d\n    Invalid Type: %d\n"+
			"    Advertisement Interval: %d\n    Address List: %d\n",
			c.PacketLenErr, c.IPTTLErr, c.InvalidTypeRcvd, c.AdvertIntervalErr, c.AddrListErr)
		fmt.Fprintf(bw, "  Authentication Errors:\n    Invalid Type: %d\n    Type Mismatch: %d\n    Failure: %d\n",
			c.InvalidAuthType, c.AuthTypeMismatch, c.AuthFailure)
		fmt.Fprintf(bw, "  Priority Zero:\n    Received: %d\n    Sent: %d\n", c.PriZeroRcvd, c.PriZeroSent)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("kadump: %w", err)
	}
	return nil
}
