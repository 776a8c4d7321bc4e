package track

import (
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/govrrp/govrrp/internal/netlab"
)

// pollIs matches a polled interface result using method m.
func pollIs(ok bool, detail, m string) func(Result) bool {
	return func(r Result) bool {
		return r.Kind == KindInterface && strings.HasPrefix(r.Method, "linkbeat "+m) && r.OK == ok && strings.HasPrefix(r.Detail, detail)
	}
}

// Polling sees a veth's carrier cut (its peer down), admin down, deletion
// and re-creation. A veth has no MII registers: MII (and the default) fall
// back to ETHTOOL, as keepalived 2.2.7 logs it ("Configured linkbeat type
// MII not supported, using ETHTOOL"); IOCTL reads IFF_RUNNING.
func TestLinkPollDetectsCarrierCut(t *testing.T) {
	lab := netlab.New(t)
	h := lab.AddHost("a")
	inHost(t, h, "veths", func() error {
		for _, n := range []string{"lp0", "lp1", "lp2"} {
			if err := addVeth(n, n+"p"); err != nil {
				return err
			}
			if err := setUp(n+"p", true); err != nil {
				return err
			}
			if err := setUp(n, true); err != nil {
				return err
			}
		}
		return nil
	})
	const every = 50 * time.Millisecond
	s := runTrackerIn(t, h, NewLinkPoll([]PollConfig{{Name: "lp0"}, {Name: "lp1", Type: PollIoctl}, {Name: "lp2", Type: PollEthtool}, {Name: "nope0"}}, every))
	method := map[string]string{"lp0": PollEthtool, "lp1": PollIoctl, "lp2": PollEthtool}
	for _, n := range []string{"lp0", "lp1", "lp2"} {
		s.await(t, n, "up at start", pollIs(true, linkUp, method[n]))
	}
	if r := s.history("lp0")[0]; !strings.Contains(r.Method, "MII not supported") {
		t.Errorf("lp0 method = %q, want the MII fallback named", r.Method)
	}
	s.await(t, "nope0", "missing", func(r Result) bool { return !r.OK && r.Detail == linkMissing })

	for _, n := range []string{"lp0", "lp1", "lp2"} {
		inHost(t, h, "peer down", func() error { return setUp(n+"p", false) })
		s.await(t, n, "carrier cut", pollIs(false, linkCarrierDown, method[n]))
		inHost(t, h, "peer up", func() error { return setUp(n+"p", true) })
		s.await(t, n, "carrier back", pollIs(true, linkUp, method[n]))
	}
	inHost(t, h, "admin down", func() error { return setUp("lp0", false) })
	s.await(t, "lp0", "admin down", pollIs(false, linkAdminDown, PollEthtool))
	inHost(t, h, "delete", func() error { return linkDo("lp0", netlinkLinkDel) })
	s.await(t, "lp0", "deleted", func(r Result) bool { return !r.OK && r.Detail == linkMissing })
	inHost(t, h, "re-create", func() error {
		if err := addVeth("lp0", "lp0p"); err != nil {
			return err
		}
		if err := setUp("lp0p", true); err != nil {
			return err
		}
		return setUp("lp0", true)
	})
	s.await(t, "lp0", "re-created", pollIs(true, linkUp, PollEthtool))
}

func TestPollOrder(t *testing.T) {
	for pref, want := range map[string]string{"": "MII ETHTOOL IOCTL", "MII": "MII ETHTOOL IOCTL", "ETHTOOL": "ETHTOOL MII IOCTL", "IOCTL": "IOCTL MII ETHTOOL"} {
		if got := strings.Join(pollOrder(pref), " "); got != want {
			t.Errorf("pollOrder(%q) = %s, want %s", pref, got, want)
		}
	}
}

func netlinkLinkDel(l netlink.Link) error { return netlink.LinkDel(l) }
