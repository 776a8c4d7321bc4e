package kadump

import (
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// view is one running instance: its snapshot and, when the configuration
// names it, its configuration (keepalived's defaults otherwise).
type view struct {
	st      control.Instance
	cfg     *kaconf.Instance
	scripts map[string]*kaconf.Script
}

// scriptCommand is the command of vrrp_script name ("" when undefined).
func (v view) scriptCommand(name string) string {
	if s := v.scripts[name]; s != nil {
		return s.Script
	}
	return ""
}

// views pairs every instance of st with its configuration, in st's order.
func views(st control.Status, cfg *kaconf.Config) []view {
	byName := map[string]*kaconf.Instance{}
	var scripts map[string]*kaconf.Script
	if cfg != nil {
		scripts = cfg.Scripts
		for _, in := range cfg.Instances {
			byName[in.Name] = in
		}
	}
	out := make([]view, 0, len(st.Instances))
	for _, in := range st.Instances {
		c := byName[in.Name]
		if c == nil {
			c = &kaconf.Instance{Name: in.Name, Interface: in.Interface, VRID: in.VRID, Priority: in.Priority,
				Version: in.Version, AdverInt: time.Second, GarpMasterRepeat: 5, GarpMasterDelay: 5 * time.Second,
				GarpMasterRefreshRepeat: 1, GarpLowerPrioRepeat: 5, GarpLowerPrioDelay: 5 * time.Second, DownTimerAdverts: 3}
		}
		out = append(out, view{st: in, cfg: c, scripts: scripts})
	}
	return out
}

func (v view) version() uint8 {
	if v.st.Version != 0 {
		return v.st.Version
	}
	if v.cfg.Version != 0 {
		return v.cfg.Version
	}
	return 2
}

func (v view) ipv6() bool {
	if v.st.Family != "" {
		return v.st.Family == "inet6"
	}
	return v.cfg.Family == 6
}

func (v view) unicast() bool { return len(v.cfg.UnicastPeers) > 0 }

func (v view) adverInt() time.Duration {
	if v.cfg.AdverInt > 0 {
		return v.cfg.AdverInt
	}
	return time.Second
}

// masterAdverInt is Master_Adver_Interval: the snapshot's (learned from the
// master in v3 BACKUP, our own otherwise), else the configured interval.
func (v view) masterAdverInt() time.Duration {
	if v.st.MasterAdverInt > 0 {
		return v.st.MasterAdverInt
	}
	return v.adverInt()
}

// masterPriority is keepalived's master_priority: the priority of the last
// advert accepted from another router as BACKUP. keepalived never sets it
// from its own priority, so while govrrp's snapshot names this node as the
// master (MASTER, or FAULT/BACKUP since it was) it is written 0: keepalived's
// value when no other master was heard since start. After a takeover
// keepalived keeps the previous master's priority, which the snapshot does not
// carry (unverified in the lab: its MASTER instances never were BACKUP with a
// master).
func (v view) masterPriority() uint8 {
	if v.st.State == "MASTER" || (v.st.Master != "" && v.st.Master == v.st.Source) {
		return 0
	}
	return v.st.MasterPriority
}

// state is keepalived's spelling of the state: INIT, BACKUP, MASTER, FAULT.
func (v view) state() string {
	switch v.st.State {
	case "BACKUP", "MASTER", "FAULT", "INIT":
		return v.st.State
	}
	return "INIT"
}

// stateNum is keepalived's VRRP_STATE_* number (INIT 0 unverified).
func stateNum(s string) int {
	switch s {
	case "BACKUP":
		return 1
	case "MASTER":
		return 2
	case "FAULT":
		return 3
	}
	return 0
}

// vipsSet: govrrp holds an instance's addresses while it is MASTER, and while
// a stopped master waits for its successor (RELEASING, shown as INIT).
func (v view) vipsSet() bool { return v.st.State == "MASTER" || v.st.State == "RELEASING" }

// accept is keepalived's accept mode (kaconf's rule, the daemon's too).
func (v view) accept() bool { return v.cfg.AcceptMode() }

// faults counts the tracks that put the instance in FAULT now.
func (v view) faults() int {
	n := 0
	for _, t := range v.st.Tracks {
		if t.Effect == "FAULT" {
			n++
		}
	}
	return n
}

// scriptsInit counts track scripts that have not reported yet.
func (v view) scriptsInit() int {
	n := 0
	for _, t := range v.st.Tracks {
		if t.Kind == "track_script" && t.State == "pending" {
			n++
		}
	}
	return n
}

// masterDownUsecs is keepalived's ms_down_timer: down_timer_adverts adverts
// plus the skew of the current effective priority, both of
// Master_Adver_Interval (learned from the master in v3).
func (v view) masterDownUsecs() int64 {
	adv := v.masterAdverInt().Microseconds()
	n := int64(v.cfg.DownTimerAdverts)
	if n == 0 {
		n = 3
	}
	prio := int64(v.st.EffectivePriority)
	return n*adv + (256-prio)*adv/256
}

// tsText is keepalived's timestamp in .data: "SEC.USEC (Www Mmm dd hh:mm:ss.USEC yyyy)",
// in t's location. The zero time is the epoch.
func tsText(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0).UTC()
	}
	usec := t.Nanosecond() / 1000
	return fmt.Sprintf("%d.%06d (%s.%06d %s)", t.Unix(), usec, t.Format("Mon Jan _2 15:04:05"), usec, t.Format("2006"))
}

// tsFloat is a timestamp as keepalived.json's float: SEC.USEC.
func tsFloat(t time.Time) string {
	if t.IsZero() {
		return "0.000000"
	}
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// secs is a duration in whole seconds, truncated (keepalived prints its
// microsecond timers divided by TIMER_HZ).
func secs(d time.Duration) int64 { return int64(d / time.Second) }

// fsecs is a duration as "%f" seconds.
func fsecs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

func onOff(b bool, on, off string) string {
	if b {
		return on
	}
	return off
}

// vipText is keepalived's one-line form of an address:
// "ADDR[/LEN] [brd B] dev IF scope S [label L]" with " preferred_lft forever"
// for IPv6 and " set" while it is installed. A host-length prefix prints as
// the bare address (verified for a bare IPv4 address; an explicit /32 or an
// IPv6 /128 is assumed to print the same). peer is unverified.
func vipText(a kaconf.VIP, ifname string, set bool) string {
	var b strings.Builder
	p := a.Prefix
	if p.Bits() == p.Addr().BitLen() {
		b.WriteString(p.Addr().String())
	} else {
		b.WriteString(p.String())
	}
	if a.Peer.IsValid() {
		b.WriteString(" peer " + a.Peer.String())
	}
	if a.Broadcast.IsValid() {
		b.WriteString(" brd " + a.Broadcast.String())
	}
	dev := a.Dev
	if dev == "" {
		dev = ifname
	}
	b.WriteString(" dev " + dev)
	scope := a.Scope
	if scope == "" {
		scope = "global"
	}
	b.WriteString(" scope " + scope)
	if a.Label != "" {
		b.WriteString(" label " + a.Label)
	}
	if p.Addr().Is6() && !p.Addr().Is4In6() {
		b.WriteString(" preferred_lft forever")
	}
	if set {
		b.WriteString(" set")
	}
	return b.String()
}

// commandText is a script command as keepalived prints it: each word in
// single quotes, separated by spaces. keepalived prints argv[0] resolved
// (PATH search, symlinks: /bin/true is '/usr/bin/true' on a merged-/usr
// system); govrrp prints it as configured.
func commandText(cmd string) string {
	words, err := kaconf.SplitCommand(cmd)
	if err != nil || len(words) == 0 {
		words = strings.Fields(cmd)
	}
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + w + "'"
	}
	return strings.Join(q, " ")
}

// ids is "UID:GID" for a script run as userName[:group], keepalived's way:
// the line's own user, else global script_user, else keepalived_script when
// it exists, else the daemon's own ids. Names that do not resolve print as
// the daemon's ids.
func ids(userName, group string, g *kaconf.GlobalDefs) string {
	if userName == "" && g != nil {
		userName, group = g.ScriptUser, g.ScriptGroup
	}
	if userName == "" {
		if u, err := user.Lookup("keepalived_script"); err == nil {
			return u.Uid + ":" + u.Gid
		}
		return strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid())
	}
	u, err := lookupUser(userName)
	if err != nil {
		return strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid())
	}
	gid := u.Gid
	if group != "" {
		if gr, err := lookupGroup(group); err == nil {
			gid = gr.Gid
		}
	}
	return u.Uid + ":" + gid
}

func lookupUser(s string) (*user.User, error) {
	if _, err := strconv.ParseUint(s, 10, 32); err == nil {
		return user.LookupId(s)
	}
	return user.Lookup(s)
}

func lookupGroup(s string) (*user.Group, error) {
	if _, err := strconv.ParseUint(s, 10, 32); err == nil {
		return user.LookupGroupId(s)
	}
	return user.LookupGroup(s)
}

// routerID is global_defs router_id, else the host name (keepalived's
// default).
func routerID(cfg *kaconf.Config) string {
	if cfg != nil && cfg.Global.RouterID != "" {
		return cfg.Global.RouterID
	}
	h, _ := os.Hostname()
	return h
}

// trackFor finds the snapshot's row for a tracked object.
func (v view) trackFor(kind, name string) (control.Track, bool) {
	for _, t := range v.st.Tracks {
		if t.Kind == kind && t.Name == name {
			return t, true
		}
	}
	return control.Track{}, false
}

// link is what the dump can say about one interface: its name, the state
// its track rows report, and the instances that use or track it.
type link struct {
	name    string
	ok      bool
	seen    bool   // a track row reported on it
	detail  string // internal/track: "up", "admin down", "carrier down", "no such interface"
	v4, v6  netip.Addr
	tracked []linkUse
}

type linkUse struct {
	instance string
	weight   int
}

// links lists the interfaces the instances use (their own interface,
// weight 0 unless dont_track_primary) and track (track_interface), in order
// of first use.
func links(vs []view) []*link {
	var out []*link
	get := func(name string) *link {
		i := slices.IndexFunc(out, func(l *link) bool { return l.name == name })
		if i >= 0 {
			return out[i]
		}
		l := &link{name: name}
		out = append(out, l)
		return l
	}
	note := func(l *link, v view, kind string) {
		if t, ok := v.trackFor(kind, l.name); ok && t.State != "pending" {
			l.ok, l.seen, l.detail = t.OK, true, t.Detail
		}
	}
	for _, v := range vs {
		l := get(v.st.Interface)
		if !v.cfg.DontTrackPrimary {
			l.tracked = append(l.tracked, linkUse{v.st.Name, 0})
		}
		note(l, v, "interface")
		// An instance whose source is not configured sends from the
		// interface's primary address: keepalived's "IPv4/IPv6 address".
		if src, err := netip.ParseAddr(v.st.Source); err == nil && !v.cfg.UnicastSrcIP.IsValid() && !v.cfg.McastSrcIP.IsValid() {
			if src.Is4() && !l.v4.IsValid() {
				l.v4 = src
			} else if src.Is6() && !l.v6.IsValid() {
				l.v6 = src
			}
		}
	}
	for _, v := range vs {
		for _, r := range v.cfg.TrackInterfaces {
			l := get(r.Name)
			l.tracked = append(l.tracked, linkUse{v.st.Name, r.Weight})
			note(l, v, "track_interface")
		}
	}
	return out
}

// flagsText is keepalived's "State = " of an interface from govrrp's track
// detail (verified: "UP, RUNNING", "UP, not RUNNING", "not UP, not RUNNING").
func (l *link) flagsText() string {
	switch {
	case l.detail == "up" || (l.seen && l.ok && l.detail == ""):
		return "UP, RUNNING"
	case l.detail == "carrier down":
		return "UP, not RUNNING"
	}
	return "not UP, not RUNNING"
}
