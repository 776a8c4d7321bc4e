package daemon

import (
	"log/slog"
	"net/netip"
	"sync/atomic"

	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// old_unicast_checksum (pkg/vrrp/oldchecksum.go has the wire facts): the
// keyword sends the pre-1.3.6 form and accepts only it; "never" refuses it;
// without the keyword an old-form advert is accepted and logged once per
// instance, and govrrp, like keepalived 2.2.7 seen on the wire, goes on
// sending the current form.

// oldChecksumPolicy maps the keyword to the receive policy.
func oldChecksumPolicy(c *kaconf.Instance) vrrp.OldChecksumPolicy {
	switch c.OldUnicastChecksum {
	case "old":
		return vrrp.OldChecksumOnly
	case "never":
		return vrrp.OldChecksumNever
	}
	return vrrp.OldChecksumAuto
}

// sendChecksum is the form in's v3 IPv4 adverts carry.
func sendChecksum(c *kaconf.Instance) vrrp.ChecksumMode {
	switch {
	case c.OldUnicastChecksum == "old" && len(c.UnicastPeers) > 0:
		return vrrp.ChecksumOldUnicast
	case c.V3ChecksumAsV2:
		return vrrp.ChecksumMessageOnly
	}
	return vrrp.ChecksumPseudoHeader
}

// oldSeen remembers, per instance configuration, that a peer's old-form
// advert has been logged.
type oldSeen struct{ logged atomic.Bool }

// noteOldChecksum logs the first accepted old-form advert of an instance
// that did not ask for the old form (keepalived: "Setting unicast VRRPv3
// checksum to old version").
func noteOldChecksum(log *slog.Logger, rx *rxConfig, mode vrrp.ChecksumMode, src netip.Addr) {
	if mode != vrrp.ChecksumOldUnicast || rx.params.OldChecksum != vrrp.OldChecksumAuto || rx.old.logged.Swap(true) {
		return
	}
	log.Warn("peer sends the pre-1.3.6 keepalived unicast checksum: accepted; this node keeps sending the current form (as keepalived 2.2.7 does): set old_unicast_checksum for that peer to hear it",
		"instance", rx.name, "from", src.String())
}
