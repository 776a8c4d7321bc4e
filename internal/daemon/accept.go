package daemon

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/govrrp/govrrp/internal/firewall"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// Accept mode (keepalived's accept / no_accept, RFC 5798 Accept_Mode): a
// master that is not the address owner (configured priority 255) and runs
// with no_accept must not receive traffic addressed to its VIPs. govrrp
// drops it with nftables rules in a table of its own (internal/firewall),
// as keepalived 2.2.7 does in its table "keepalived".
//
// The loop keeps which instances hold their VIPs (between addVIPs and
// removeVIPs); after every change the desired drop list is computed from
// them and, when it differs from what is installed, installed with one
// atomic batch. The table exists only while something is dropped; it is
// deleted at start-up (a table left by a killed run) and at exit.

// firewaller is the daemon's seam to internal/firewall; tests use a fake.
type firewaller interface {
	Replace(ctx context.Context, cfg firewall.Config, drops []firewall.Drop) error
	Delete(ctx context.Context, table string) error
}

// acceptState is the loop's view of the no_accept firewall.
type acceptState struct {
	fw      firewaller         // nil: no firewall (daemon tests not about accept mode)
	holding map[*instance]bool // instances whose VIPs are installed
	// installed is the table and content last installed ("" table: none),
	// so an unchanged drop list costs no batch.
	installed     firewall.Config
	installedList []firewall.Drop
	failed        bool // the last batch failed: retry on the next change
	// cover: start-up is not over yet; every dropping instance's VIPs are
	// dropped, held or not, because a killed run may have left them on
	// until the instance's start removes them (removeStaleVIPs).
	cover bool
	// missing: warnings about link-local drops left out (accept_missing.go).
	missing acceptMissing
}

// useSystemFirewall makes the daemon act through the nft command.
func (d *Daemon) useSystemFirewall() { d.accept.fw = nftFirewall{} }

// dropsTraffic: the instance's VIPs are dropped while it holds them.
func dropsTraffic(c *kaconf.Instance) bool {
	return c.Priority != 255 && !c.AcceptMode()
}

// acceptHold records that in now holds (or no longer holds) its VIPs and
// updates the firewall. addVIPs calls it before the addresses go on (no
// moment where a non-owner's VIP answers), removeVIPs after they are gone.
func (d *Daemon) acceptHold(in *instance, holds bool) {
	if d.accept.fw == nil {
		return
	}
	if d.accept.holding == nil {
		d.accept.holding = map[*instance]bool{}
	}
	if holds {
		d.accept.holding[in] = true
	} else {
		delete(d.accept.holding, in)
	}
	d.acceptSync()
}

// acceptApplied runs in apply once the instances are known, before they
// start: accept modes, VIPs and the table's settings may have changed.
//
// At start-up a table a killed run may have left is replaced, so nothing
// stale outlives a restart: deleted when this configuration drops nothing;
// otherwise replaced by one dropping every no_accept VIP until start-up is
// over (stale VIPs removed, the instances' first actions done), then
// narrowed to what is held.
func (d *Daemon) acceptApplied(startup bool) error {
	st := &d.accept
	if st.fw == nil {
		return nil
	}
	if !startup {
		d.acceptSync()
		return nil
	}
	if !slices.ContainsFunc(d.instances, func(in *instance) bool { return dropsTraffic(in.cfg) }) {
		cfg := d.firewallConfig()
		if err := st.fw.Delete(d.ctx, cfg.Table); err != nil {
			d.log.Error("cannot remove a firewall table left by a previous run", "table", "inet "+cfg.Table, "err", err)
		}
		return nil
	}
	st.cover, st.failed = true, true // failed: install even if "unchanged"
	d.acceptSync()
	// Queued now, served once apply has returned to the loop.
	d.postSelf(loopEvent{instancesStarted: true}) // on the loop: never blocks (loop.go)
	return nil
}

// acceptStarted ends the start-up cover: from now on only what the
// instances hold is dropped.
func (d *Daemon) acceptStarted() {
	d.accept.cover = false
	d.acceptSync()
}

// acceptCheck refuses a configuration whose no_accept govrrp could not
// enforce: a bad table name, or no nft command. apply calls it before it
// commits, so a reload that adds no_accept without nft leaves the running
// configuration in place.
func (d *Daemon) acceptCheck(cfg *kaconf.Config, next []*instance) error {
	if d.accept.fw == nil {
		return nil
	}
	var needs []string
	for _, in := range next {
		if dropsTraffic(in.cfg) {
			needs = append(needs, in.name)
		}
	}
	if len(needs) == 0 {
		return nil
	}
	if _, err := firewall.New(firewallConfigOf(cfg), nil); err != nil {
		return fmt.Errorf("nftables (global_defs): %w", err)
	}
	if c, ok := d.accept.fw.(interface{ Check() error }); ok {
		if err := c.Check(); err != nil {
			return fmt.Errorf("no_accept (vrrp_instance %s) cannot be enforced: %w", strings.Join(needs, ", "), err)
		}
	}
	return nil
}

// acceptSync installs the drop list the held instances ask for, or deletes
// the table when nothing is to be dropped.
func (d *Daemon) acceptSync() {
	if d.accept.fw == nil {
		return
	}
	cfg, drops := d.firewallConfig(), d.acceptDrops()
	st := &d.accept
	if !st.failed && cfg == st.installed && slices.Equal(drops, st.installedList) {
		return
	}
	if st.installed.Table != "" && (cfg.Table != st.installed.Table || len(drops) == 0) {
		if err := st.fw.Delete(d.ctx, st.installed.Table); err != nil {
			d.log.Error("cannot remove the no_accept firewall table", "table", "inet "+st.installed.Table, "err", err)
			st.failed = true
			return
		}
		st.installed, st.installedList = firewall.Config{}, nil
	}
	if len(drops) == 0 {
		st.failed = false
		return
	}
	d.acceptWarnMissing(cfg, drops) // accept_missing.go
	start := time.Now()
	if err := st.fw.Replace(d.ctx, cfg, drops); err != nil {
		// Logged, not fatal: the VIPs stay usable for routing; the next
		// state change tries again.
		d.log.Error("no_accept: cannot install the firewall drop rules; traffic to the VIPs is NOT dropped", "table", "inet "+cfg.Table, "err", err)
		st.failed = true
		return
	}
	st.installed, st.installedList, st.failed = cfg, drops, false
	d.log.Info("no_accept firewall updated", "table", "inet "+cfg.Table, "dropped_vips", len(drops), "took", time.Since(start).Round(time.Microsecond))
}

// acceptRefresh re-installs the drop list even when it is unchanged, before
// a master re-adds VIPs found missing: their link may have been deleted and
// re-created (dont_track_primary keeps the instance master meanwhile) with
// a new index, which a link-local drop matched by index must follow
// (firewall.Table resolves indexes for each batch). Only for such drops.
func (d *Daemon) acceptRefresh(in *instance) {
	if d.accept.fw == nil || !d.accept.holding[in] || !dropsTraffic(in.cfg) {
		return
	}
	if !slices.ContainsFunc(d.acceptDrops(), func(x firewall.Drop) bool {
		return !x.ByName && x.Addr.Is6() && x.Addr.IsLinkLocalUnicast()
	}) {
		return
	}
	d.accept.failed = true // install even if "unchanged"
	d.acceptSync()
}

// acceptDrops lists the VIPs of every held instance that drops traffic, in
// a stable order.
func (d *Daemon) acceptDrops() []firewall.Drop {
	var drops []firewall.Drop
	add := func(in *instance) {
		if !dropsTraffic(in.cfg) {
			return
		}
		// keepalived 2.2.7 matches a dont_track_primary instance's link-local
		// VIPs by interface name unless nftables_ifindex (firewall.Drop).
		byName := in.cfg.DontTrackPrimary && (d.cfg == nil || !d.cfg.Global.NFTablesIfindex)
		for _, a := range in.vips {
			drops = append(drops, firewall.Drop{Addr: a.Prefix.Addr(), Ifname: a.Dev, ByName: byName})
		}
	}
	for in := range d.accept.holding {
		add(in)
	}
	if d.accept.cover {
		for _, in := range d.instances {
			add(in)
		}
	}
	slices.SortFunc(drops, func(a, b firewall.Drop) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		switch {
		case a.Ifname < b.Ifname:
			return -1
		case a.Ifname > b.Ifname:
			return 1
		}
		return 0
	})
	return slices.Compact(drops)
}

// firewallConfig is the table's settings from the running global_defs.
func (d *Daemon) firewallConfig() firewall.Config { return firewallConfigOf(d.cfg) }

// firewallConfigOf is the table's settings from c's global_defs.
func firewallConfigOf(c *kaconf.Config) firewall.Config {
	cfg := firewall.Config{Table: firewall.DefaultTable, Priority: firewall.DefaultPriority}
	if c == nil {
		return cfg
	}
	g := c.Global
	if g.NFTablesTable != "" {
		cfg.Table = g.NFTablesTable
	}
	if g.NFTablesPriority != nil {
		cfg.Priority = *g.NFTablesPriority
	}
	cfg.Counters = g.NFTablesCounters
	return cfg
}

// acceptClose deletes the table at exit, after the VIPs are gone.
func (d *Daemon) acceptClose() {
	st := &d.accept
	if st.fw == nil || st.installed.Table == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.fw.Delete(ctx, st.installed.Table); err != nil {
		d.log.Error("cannot remove the no_accept firewall table at exit", "table", "inet "+st.installed.Table, "err", err)
		return
	}
	st.installed, st.installedList = firewall.Config{}, nil
}

// nftFirewall is firewaller through the nft command.
type nftFirewall struct{}

// Check reports whether the nft command is there.
func (nftFirewall) Check() error { return firewall.Available() }

func (nftFirewall) Replace(ctx context.Context, cfg firewall.Config, drops []firewall.Drop) error {
	t, err := firewall.New(cfg, firewall.NFT{})
	if err != nil {
		return err
	}
	if err := firewall.Available(); err != nil {
		return err
	}
	return t.Replace(ctx, drops)
}

// Delete without the nft command succeeds: nothing can have been installed.
func (nftFirewall) Delete(ctx context.Context, table string) error {
	t, err := firewall.New(firewall.Config{Table: table}, firewall.NFT{})
	if err != nil {
		return err
	}
	if err := firewall.Available(); errors.Is(err, exec.ErrNotFound) {
		return nil
	}
	return t.Delete(ctx)
}
