package daemon

import (
	"fmt"

	"github.com/govrrp/govrrp/pkg/kaconf"
)

// net_namespace: cmd/govrrp re-executes the process into the namespace
// before daemon.Run (see cmd/govrrp/netns.go for why that is the safe way
// in Go). The daemon only guards the rule keepalived.conf(5) states: "the
// namespace cannot be changed on a configuration reload". A reload that
// adds, removes or changes net_namespace is refused, naming the line; the
// running configuration stays.
func (d *Daemon) keepNetNamespace(cfg *kaconf.Config, startup bool) error {
	if startup {
		return nil
	}
	was, now := d.cfg.Ifaces.NetNamespace, cfg.Ifaces.NetNamespace
	if was == now {
		return nil
	}
	at := cfg.Ifaces.NetNamespacePos.String()
	if now == "" {
		at = d.configPath
	}
	return fmt.Errorf("%s: net_namespace cannot be changed on reload (running in %q, the file now says %q); restart govrrp to move it", at, was, now)
}
