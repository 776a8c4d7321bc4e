package kaconf

import (
	"strings"
	"time"
)

// Interface handling blocks: interface_up_down_delays and
// linkbeat_interfaces (keepalived.conf(5) "Interface up/down status change
// debouncing", "Linkbeat interfaces").

// IfaceDelay is one interface_up_down_delays line: how long a change of the
// interface's state is held back before the instances see it.
type IfaceDelay struct {
	Down, Up time.Duration
	Pos      Pos
}

// Linkbeat is one linkbeat_interfaces line (or an instance's deprecated
// linkbeat_use_polling): the interface's carrier is polled instead of
// followed over netlink. Type is the preferred poll method, upper case
// ("MII", "ETHTOOL", "IOCTL"; "" = keepalived's default order).
type Linkbeat struct {
	Type string
	Pos  Pos
}

// IfaceConfig is the typed content of the interface handling blocks.
type IfaceConfig struct {
	// Delays by interface name.
	Delays map[string]IfaceDelay
	// Linkbeat: the interfaces polled, by name.
	Linkbeat map[string]Linkbeat
	// LinkbeatAll: top-level linkbeat_use_polling, every interface polled.
	LinkbeatAll bool
	// NetNamespace is the top-level net_namespace (the network namespace
	// the daemon runs in, /run/netns/NAME), "" for none.
	NetNamespace    string
	NetNamespacePos Pos
}

// topNetNamespace reads the top-level net_namespace NAME.
func topNetNamespace(c *ctx, n *Node, cfg *Config) {
	name := n.Args[0].Text
	if name == "" || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		c.errf(n.Args[0].Pos, "net_namespace: %q is not a namespace name", name)
		return
	}
	cfg.Ifaces.NetNamespace, cfg.Ifaces.NetNamespacePos = name, n.Pos()
}

// maxIfaceDelay is keepalived's limit ("The maximum delay that can be
// specified is 255 seconds").
const maxIfaceDelay = 255

// topIfaceDelays reads interface_up_down_delays { IF DOWN [UP] ... }; an
// invalid line is skipped with a warning, as keepalived does.
func topIfaceDelays(c *ctx, n *Node, cfg *Config) {
	c.withFallback("skip the line", func() {
		for _, ch := range n.Children {
			if len(ch.Args) < 1 || len(ch.Args) > 2 {
				c.bad(ch.Pos(), "interface_up_down_delays: %s: want DOWN_DELAY [UP_DELAY]", ch.Keyword.Text)
				continue
			}
			down, ok := c.secondsArg(ch, 0, 0, maxIfaceDelay)
			if !ok {
				continue
			}
			up := down // "If up_delay is omitted, it is set to be the same as the down delay."
			if len(ch.Args) == 2 {
				if up, ok = c.secondsArg(ch, 1, 0, maxIfaceDelay); !ok {
					continue
				}
			}
			if cfg.Ifaces.Delays == nil {
				cfg.Ifaces.Delays = map[string]IfaceDelay{}
			}
			cfg.Ifaces.Delays[ch.Keyword.Text] = IfaceDelay{Down: down, Up: up, Pos: ch.Pos()}
		}
	})
}

// topLinkbeat reads linkbeat_interfaces { IF [MII|ETHTOOL|IOCTL] ... }.
func topLinkbeat(c *ctx, n *Node, cfg *Config) {
	c.withFallback("skip the line", func() {
		for _, ch := range n.Children {
			typ := ""
			if len(ch.Args) > 1 {
				c.bad(ch.Pos(), "linkbeat_interfaces: %s: want at most one of MII, ETHTOOL, IOCTL", ch.Keyword.Text)
				continue
			}
			if len(ch.Args) == 1 {
				typ = strings.ToUpper(ch.Args[0].Text)
				if typ != "MII" && typ != "ETHTOOL" && typ != "IOCTL" {
					c.bad(ch.Args[0].Pos, "linkbeat_interfaces: %s: unknown type %q (MII, ETHTOOL or IOCTL)", ch.Keyword.Text, ch.Args[0].Text)
					continue
				}
			}
			cfg.Ifaces.addLinkbeat(ch.Keyword.Text, Linkbeat{Type: typ, Pos: ch.Pos()})
		}
	})
}

func (ic *IfaceConfig) addLinkbeat(ifname string, lb Linkbeat) {
	if ic.Linkbeat == nil {
		ic.Linkbeat = map[string]Linkbeat{}
	}
	if _, dup := ic.Linkbeat[ifname]; !dup {
		ic.Linkbeat[ifname] = lb
	}
}

// Polled reports whether ifname's carrier is polled rather than followed
// over netlink, and the preferred method.
func (ic *IfaceConfig) Polled(ifname string) (Linkbeat, bool) {
	if lb, ok := ic.Linkbeat[ifname]; ok {
		return lb, true
	}
	return Linkbeat{}, ic.LinkbeatAll
}
