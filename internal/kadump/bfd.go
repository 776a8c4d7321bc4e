package kadump

import (
	"strconv"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// track_bfd in keepalived.data, as keepalived 2.2.7's VRRP process writes
// it (seen with SIGUSR1): in each instance, after its other tracks,
//
//	   Tracked BFDs :
//	     b1: weight 10
//	     b2: weight -7 reverse
//
// and after "VRRP Track files"/"processes", a section listing every
// bfd_instance the VRRP side knows, tracked or not (not a checker-only one):
//
//	------< VRRP Track BFDs >------
//	 VRRP Track BFD = b1
//	   Weight = 10
//	   Bfd is down
//	   Tracking VRRP instances :
//	   Tracking instances :
//	     VI, weight 10
//
// (keepalived prints "Tracking VRRP instances :" empty, and "Tracking
// instances :" only when some instance tracks it.) The state is the
// session's in the status snapshot ("Bfd is up" seen with an Up session
// toward govrrp, 2026-12-01).

func reverseText(rev bool) string {
	if rev {
		return " reverse"
	}
	return ""
}

func writeInstanceBFDs(p printer, c *kaconf.Instance) {
	if len(c.TrackBFDs) == 0 {
		return
	}
	p("   Tracked BFDs :")
	for _, r := range c.TrackBFDs {
		p("     %s: weight %d%s", r.Name, r.Weight, reverseText(r.Reverse))
	}
}

func writeTrackBFDs(p printer, st control.Status, vs []view, cfg *kaconf.Config) {
	var list []*kaconf.BFDInstance
	for _, b := range kaconf.InFileOrder(cfg.BFDInstances, func(b *kaconf.BFDInstance) kaconf.Pos { return b.Pos }) {
		if b.ForVRRP() {
			list = append(list, b)
		}
	}
	if len(list) == 0 {
		return
	}
	up := map[string]bool{}
	for _, s := range st.BFD {
		up[s.Name] = s.State == "Up"
	}
	p("------< VRRP Track BFDs >------")
	for _, b := range list {
		p(" VRRP Track BFD = %s", b.Name)
		p("   Weight = %d%s", b.Weight, reverseText(b.Reverse))
		if up[b.Name] {
			p("   Bfd is up")
		} else {
			p("   Bfd is down")
		}
		p("   Tracking VRRP instances :")
		var users []string
		for _, v := range vs {
			for _, r := range v.cfg.TrackBFDs {
				if r.Name == b.Name {
					users = append(users, v.st.Name+", weight "+strconv.Itoa(r.Weight)+reverseText(r.Reverse))
				}
			}
		}
		if len(users) > 0 {
			p("   Tracking instances :")
			for _, u := range users {
				p("     %s", u)
			}
		}
	}
}
