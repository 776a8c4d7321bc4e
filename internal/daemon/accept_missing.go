package daemon

import (
	"net/netip"
	"slices"
	"time"

	"github.com/govrrp/govrrp/internal/firewall"
)

// A no_accept drop of a link-local VIP is matched together with its
// interface's index; while that interface is missing, the firewall leaves
// the drop out of its batch (a batch naming it would fail whole), so the
// VIP's traffic is NOT dropped. That must not pass in silence: a warning
// names the instance and the interface, once when the pair is first left
// out, then at most every missingLogEvery while it stays out (every state
// change re-installs the table), and again at once after it was resolved.

// missingLogEvery bounds how often one (instance, interface) pair is
// warned about while its interface stays missing.
const missingLogEvery = time.Minute

// missingKey is one instance's VIPs on one missing interface.
type missingKey struct{ instance, ifname string }

// acceptMissing is the loop's memory of those warnings.
type acceptMissing struct {
	warned map[missingKey]time.Time // pairs still missing: when last warned
}

// unresolver is the optional side of a firewaller that lists the drops its
// Replace would leave out now.
type unresolver interface {
	Unresolved(cfg firewall.Config, drops []firewall.Drop) []firewall.Drop
}

// Unresolved asks the table Replace builds, in the same namespace.
func (nftFirewall) Unresolved(cfg firewall.Config, drops []firewall.Drop) []firewall.Drop {
	t, err := firewall.New(cfg, nil)
	if err != nil {
		return nil // Replace refuses the same configuration and logs it
	}
	return t.Unresolved(drops)
}

// acceptWarnMissing logs, rate-limited, each instance whose link-local VIPs
// the batch about to be installed leaves out. Loop only; acceptSync calls it
// before Replace.
func (d *Daemon) acceptWarnMissing(cfg firewall.Config, drops []firewall.Drop) {
	u, ok := d.accept.fw.(unresolver)
	if !ok {
		return
	}
	missing := d.missingByInstance(u.Unresolved(cfg, drops))
	st := &d.accept.missing
	now := time.Now()
	for k, vips := range missing {
		if last, ok := st.warned[k]; ok && now.Sub(last) < missingLogEvery {
			continue
		}
		if st.warned == nil {
			st.warned = map[missingKey]time.Time{}
		}
		st.warned[k] = now
		d.log.Warn("no_accept: interface missing; traffic to these link-local VIPs is NOT dropped until it is back (repeated at most every minute)",
			"instance", k.instance, "interface", k.ifname, "vips", vips)
	}
	for k := range st.warned {
		if _, ok := missing[k]; !ok {
			delete(st.warned, k) // resolved: the next loss warns at once
		}
	}
}

// missingByInstance groups left-out drops by the dropping instances whose
// VIPs they are, addresses sorted.
func (d *Daemon) missingByInstance(out []firewall.Drop) map[missingKey][]netip.Addr {
	if len(out) == 0 {
		return nil
	}
	by := map[missingKey][]netip.Addr{}
	for _, in := range d.instances {
		if !dropsTraffic(in.cfg) {
			continue
		}
		for _, a := range in.vips {
			if slices.ContainsFunc(out, func(x firewall.Drop) bool { return x.Addr == a.Prefix.Addr() && x.Ifname == a.Dev }) {
				k := missingKey{in.name, a.Dev}
				by[k] = append(by[k], a.Prefix.Addr())
			}
		}
	}
	for k := range by {
		slices.SortFunc(by[k], netip.Addr.Compare)
		by[k] = slices.Compact(by[k])
	}
	return by
}
