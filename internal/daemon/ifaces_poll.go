package daemon

import (
	"slices"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// linkSpecs splits the tracked interfaces between the netlink watcher and
// the linkbeat poller: those in linkbeat_interfaces, all of them under a
// top-level linkbeat_use_polling, and the own interface of an instance
// with the deprecated instance linkbeat_use_polling are polled
// (internal/track/linkpoll.go); the rest follow netlink.
func linkSpecs(cfg *kaconf.Config, links []string) []trackerSpec {
	var netlinked []string
	var polled []track.PollConfig
	for _, name := range links {
		if lb, ok := pollOf(cfg, name); ok {
			polled = append(polled, track.PollConfig{Name: name, Type: lb.Type})
			continue
		}
		netlinked = append(netlinked, name)
	}
	var specs []trackerSpec
	if len(netlinked) > 0 {
		specs = append(specs, groupSpec("links", netlinked, func() track.Tracker { return track.NewLinks(netlinked) }))
	}
	if len(polled) > 0 {
		specs = append(specs, groupSpec("linkbeat", polled, func() track.Tracker { return track.NewLinkPoll(polled, 0) }))
	}
	return specs
}

// pollOf says whether ifname is polled, and how.
func pollOf(cfg *kaconf.Config, ifname string) (kaconf.Linkbeat, bool) {
	if lb, ok := cfg.Ifaces.Polled(ifname); ok {
		return lb, true
	}
	if slices.ContainsFunc(cfg.Instances, func(in *kaconf.Instance) bool { return in.LinkbeatUsePolling && in.Interface == ifname }) {
		return kaconf.Linkbeat{}, true
	}
	return kaconf.Linkbeat{}, false
}
