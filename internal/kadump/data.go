package kadump

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// WriteData writes keepalived.data as keepalived 2.2.7's VRRP process does,
// section by section: Global definitions, VRRP Topology, VRRP Sockpool, VRRP
// Scripts, VRRP Track files, VRRP Track processes, Interfaces. A nil cfg
// renders the snapshot with keepalived's defaults.
//
// "Master priority" and, for v3, the master's advert interval are the
// snapshot's MasterPriority (see view.masterPriority) and MasterAdverInt.
// Written as keepalived's unset value because control.Status has no source
// yet: "Read timeout" (the next timer expiry: DISABLED); socket fds (-1); the v6 multicast ifindex (0).
// Interfaces lists only those the configuration uses or tracks, with
// index 0, MTU 0, no MAC lines and HW Type UNKNOWN (unverified spelling),
// addresses from the instances' sources. Settings of other keepalived
// subsystems (LVS, checkers, BFD, SNMP, DBus, process tuning) are written as
// keepalived's defaults.
func WriteData(w io.Writer, st control.Status, cfg *kaconf.Config) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format+"\n", a...) }
	vs := views(st, cfg)
	if cfg == nil {
		cfg = &kaconf.Config{Global: defaultGlobal()}
	}
	writeGlobal(p, cfg)
	p("------< VRRP Topology >------")
	for _, v := range vs {
		writeInstance(p, v, &cfg.Global)
	}
	writeSockpool(p, vs)
	writeScripts(p, vs, cfg)
	writeTrackFiles(p, vs, cfg)
	writeTrackProcesses(p, vs, cfg)
	writeTrackBFDs(p, st, vs, cfg) // bfd.go
	writeInterfaces(p, vs)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("kadump: %w", err)
	}
	return nil
}

type printer func(format string, a ...any)

// defaultGlobal is global_defs with nothing given (kaconf's defaults).
func defaultGlobal() kaconf.GlobalDefs {
	return kaconf.GlobalDefs{VRRPVersion: 2, GarpMasterRepeat: 5, GarpMasterDelay: 5e9, GarpMasterRefreshRepeat: 1,
		GarpLowerPrioRepeat: 5, GarpLowerPrioDelay: 5e9, DownTimerAdverts: 3, DefaultInterface: "eth0"}
}

func tristate(b *bool) string {
	if b == nil {
		return "unset"
	}
	return strconv.FormatBool(*b) // unverified for a set value
}

func writeGlobal(p printer, cfg *kaconf.Config) {
	g := &cfg.Global
	p("------< Global definitions >------")
	ns := netNamespace(cfg)
	if ns == "" {
		ns = "(default)"
	}
	p(" Network namespace = %s", ns)
	p(" Network namespace ipvs = (main namespace)")
	p(" Router ID = %s", routerID(cfg))
	p(" Default smtp_alert = %s", tristate(g.SMTPAlert))
	p(" Default smtp_alert_vrrp = %s", tristate(g.SMTPAlertVRRP))
	p(" Default smtp_alert_checker = unset")
	p(" Checkers log all failures = false")
	p(" No test config before reload")
	p(" Dynamic interfaces = %t", g.DynamicInterfaces)
	p(" Default interface = %s", cmp.Or(g.DefaultInterface, "eth0"))
	p(" Disable local IGMP = no")
	p(" LVS flush = false")
	p(" LVS flush on stop = disabled")
	p(" FIFO write vrrp states on reload = false")
	p(" VRRP notify priority changes = %t", g.VRRPNotifyPriorityChanges)
	p(" VRRP IPv4 mcast group = %s", addrOr(g.McastGroup4.String(), "224.0.0.18"))
	p(" VRRP IPv6 mcast group = %s", addrOr(g.McastGroup6.String(), "ff02::12"))
	p(" Gratuitous ARP delay = %d", secs(g.GarpMasterDelay))
	p(" Gratuitous ARP repeat = %d", g.GarpMasterRepeat)
	p(" Gratuitous ARP refresh timer = %d", secs(g.GarpMasterRefresh))
	p(" Gratuitous ARP refresh repeat = %d", g.GarpMasterRefreshRepeat)
	p(" Gratuitous ARP lower priority delay = %d", secs(g.GarpLowerPrioDelay))
	p(" Gratuitous ARP lower priority repeat = %d", g.GarpLowerPrioRepeat)
	p(" Num adverts before down = %d", g.DownTimerAdverts)
	p(" Gratuitous ARP for each secondary VMAC = 0s")
	p(" Send advert after receive lower priority advert = %t", !g.LowerPrioNoAdvert)
	p(" Send advert after receive higher priority advert = %t", g.HigherPrioSendAdvert)
	p(" Gratuitous ARP interval = %s", fsecs(g.GarpInterval))
	p(" Gratuitous NA interval = %s", fsecs(g.GnaInterval))
	p(" VRRP default protocol version = %d", cmp.Or(g.VRRPVersion, 2))
	// Debian 12's build: nftables support, libnftnl 1.2.3.
	p(" nftables without counters")
	p(" libnftnl version 1.2.3")
	p(" VRRP check unicast_src = %t", g.CheckUnicastSrc)
	p(" VRRP skip check advert addresses = %t", g.SkipCheckAdvAddr)
	p(" VRRP strict mode = %t", g.Strict)
	p(" Max auto priority = 0")
	p(" Min auto priority delay = 1000000 usecs")
	for _, proc := range []string{"VRRP", "Checker", "BFD"} {
		p(" %s process priority = 0", proc)
		p(" %s don't swap = false", proc)
		p(" %s realtime priority = 0", proc)
		p(" %s realtime limit = 10000", proc)
	}
	p(" SNMP vrrp %s", onOff(g.SNMP.VRRP, "enabled", "disabled"))
	p(" SNMP checker disabled")
	p(" SNMP RFCv2 %s", onOff(g.SNMP.RFCv2, "enabled", "disabled"))
	p(" SNMP RFCv3 %s", onOff(g.SNMP.RFCv3, "enabled", "disabled"))
	p(" SNMP traps %s", onOff(g.SNMP.Traps, "enabled", "disabled"))
	p(" SNMP socket = %s", onOff(g.SNMP.Socket != "", g.SNMP.Socket, "default (unix:/var/agentx/master)"))
	p(" DBus %s", onOff(g.EnableDBus, "enabled", "disabled"))
	p(" DBus service name = %s", g.DBusServiceName)
	p(" Script security %s", onOff(g.EnableScriptSecurity, "enabled", "disabled")) // "enabled" unverified
	p(" Default script uid:gid %s", ids("", "", g))
	bufs := []struct {
		name  string
		size  int
		force bool
	}{
		{"vrrp_netlink_cmd", g.NetlinkCmdRcvBufs, g.NetlinkCmdRcvBufsForce},
		{"vrrp_netlink_monitor", g.NetlinkMonRcvBufs, g.NetlinkMonRcvBufsForce},
		{"process_monitor", g.ProcessMonRcvBufs, g.ProcessMonRcvBufsForce},
		{"lvs_netlink_cmd", 0, false}, // LVS: govrrp keeps no value
		{"lvs_netlink_monitor", 0, false},
	}
	for _, b := range bufs {
		p(" %s_rcv_bufs = %d", b.name, b.size)
		p(" %s_rcv_bufs_force = %d", b.name, b2i(b.force))
	}
	p(" rs_init_notifies = 0")
	p(" no_checker_emails = 0")
	p(" rx_bufs_multiples = 3")
	p(" umask = 0177")
}

// addrOr is s unless it is the zero netip.Addr's "invalid IP".
func addrOr(s, def string) string {
	if s == "" || s == "invalid IP" {
		return def
	}
	return s
}

func writeInstance(p printer, v view, g *kaconf.GlobalDefs) {
	c := v.cfg
	state := v.state()
	p(" VRRP Instance = %s", v.st.Name)
	p("   VRRP Version = %d", v.version())
	if v.ipv6() {
		p("   Using Native IPv6")
	}
	p("   State = %s", state)
	if state == "BACKUP" {
		// Master router: the zero address before any advert (unverified).
		p("   Master router = %s", cmp.Or(v.st.Master, "0.0.0.0"))
		p("   Master priority = %d", v.masterPriority())
		if v.version() == 3 {
			p("   Master advert int = %.2f sec", v.masterAdverInt().Seconds())
		}
	}
	if v.unicast() {
		p("   Flags:")
		p("     Using unicast")
	} else {
		p("   Flags: none")
	}
	p("   Wantstate = %s", state)
	p("   Number of config faults = 0")
	p("   Number of interface and track script faults = %d", v.faults())
	p("   Number of track scripts init = %d", v.scriptsInit())
	p("   Last transition = %s", tsText(v.st.Since))
	p("   Read timeout = DISABLED") // not in control.Instance: the next timer expiry
	p("   Master down timer = %d usecs", v.masterDownUsecs())
	p("   Interface = %s", v.st.Interface)
	fromCfg := c.UnicastSrcIP.IsValid() || c.McastSrcIP.IsValid()
	p("   Using src_ip = %s%s", v.st.Source, onOff(fromCfg, " (from configuration)", ""))
	if !v.unicast() {
		group := mcastGroup(v, g)
		if v.ipv6() {
			p("   Multicast address %s, ifindex 0", group) // ifindex: not in control.Status
		} else {
			p("   Multicast address %s", group)
		}
	}
	p("   Gratuitous ARP delay = %d", secs(c.GarpMasterDelay))
	p("   Gratuitous ARP repeat = %d", c.GarpMasterRepeat)
	p("   Gratuitous ARP refresh = %d", secs(c.GarpMasterRefresh))
	p("   Gratuitous ARP refresh repeat = %d", c.GarpMasterRefreshRepeat)
	p("   Gratuitous ARP lower priority delay = %d", secs(c.GarpLowerPrioDelay))
	p("   Gratuitous ARP lower priority repeat = %d", c.GarpLowerPrioRepeat)
	p("   Down timer adverts = %d", c.DownTimerAdverts)
	p("   Send advert after receive lower priority advert = %t", !c.LowerPrioNoAdvert)
	p("   Send advert after receive higher priority advert = %t", c.HigherPrioSendAdvert)
	p("   Virtual Router ID = %d", v.st.VRID)
	p("   Priority = %d", v.st.Priority)
	p("   Effective priority = %d", v.st.EffectivePriority)
	p("   Total priority = %d", v.st.EffectivePriority)
	if v.version() == 3 {
		p("   Advert interval = %d milli-sec", v.adverInt().Milliseconds())
		if state == "BACKUP" {
			p("   Master advert interval = %d milli-sec", v.masterAdverInt().Milliseconds())
		}
	} else {
		p("   Advert interval = %d sec", secs(v.adverInt()))
	}
	p("   Accept = %s", onOff(v.accept(), "enabled", "disabled"))
	p("   Preempt = %s", onOff(!c.Nopreempt, "enabled", "disabled"))
	if c.PreemptDelay > 0 {
		p("   Preempt delay = %d secs", secs(c.PreemptDelay))
	}
	p("   Promote_secondaries = %s", onOff(c.PromoteSecondaries, "enabled", "disabled"))
	if v.version() == 2 {
		switch c.AuthType {
		case "PASS":
			p("   Authentication type = SIMPLE_PASSWORD")
			p("   Password = %s", authText(c))
		case "AH":
			p("   Authentication type = IPSEC_AH") // unverified
		default:
			p("   Authentication type = none")
		}
	}
	if len(c.VIPs) > 0 {
		p("   Virtual IP (%d):", len(c.VIPs))
		for _, a := range c.VIPs {
			p("     %s", vipText(a, v.st.Interface, v.vipsSet()))
		}
	}
	if len(c.ExcludedVIPs) > 0 {
		p("   Virtual IP Excluded :")
		for _, a := range c.ExcludedVIPs {
			p("     %s", vipText(a, v.st.Interface, v.vipsSet()))
		}
	}
	if v.unicast() {
		ttl := c.UnicastTTL
		if ttl == 0 {
			ttl = 255
		}
		p("   Unicast TTL = %d", ttl)
		p("   Check unicast src : %s", onOff(c.CheckUnicastSrc || g.CheckUnicastSrc, "yes", "no"))
		p("   Unicast Peer :")
		for _, u := range c.UnicastPeers {
			lo, hi := u.MinTTL, u.MaxTTL
			if lo < 0 {
				lo = 0
			}
			if hi < 0 {
				hi = 255
			}
			p("     %s min_ttl %d max_ttl %d", u.Addr, lo, hi)
		}
		p("   Unicast checksum compatibility = %s", onOff(c.V3ChecksumAsV2, "yes", "no"))
	}
	p("   fd_in -1, fd_out -1") // not in control.Status
	if len(c.TrackInterfaces) > 0 {
		p("   Tracked interfaces :")
		for _, r := range c.TrackInterfaces {
			p("     %s weight %d", r.Name, r.Weight)
		}
	}
	if len(c.TrackScripts) > 0 {
		p("   Tracked scripts :")
		for _, r := range c.TrackScripts {
			p("     %s weight %d", r.Name, r.Weight)
		}
	}
	if len(c.TrackFiles) > 0 {
		p("   Tracked files :")
		for _, r := range c.TrackFiles {
			p("     %s, weight %d", r.Name, r.Weight)
		}
	}
	if len(c.TrackProcesses) > 0 {
		p("   Tracked processes :")
		for _, r := range c.TrackProcesses {
			p("     %s, weight %d", r.Name, r.Weight)
		}
	}
	writeInstanceBFDs(p, c) // bfd.go
	p("   Using smtp notification = %s", onOff(c.SmtpAlert, "yes", "no"))
	p("   Notify deleted = %s", onOff(c.NotifyDeletedSet, "Deleted", "Fault"))
	for _, n := range notifyScripts(c) {
		p("   %s state transition script = %s, uid:gid %s", n.label, commandText(n.cmd), ids(n.runAs.User, n.runAs.Group, g))
	}
	p("   Notify priority changes = %t", c.NotifyPriorityChanges)
}

// authText is the password as keepalived keeps it: at most 8 bytes.
func authText(c *kaconf.Instance) string {
	s := string(c.AuthPass[:])
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s
}

func mcastGroup(v view, g *kaconf.GlobalDefs) string {
	if v.cfg.McastDstIP.IsValid() {
		return v.cfg.McastDstIP.String()
	}
	if v.ipv6() {
		return addrOr(g.McastGroup6.String(), "ff02::12")
	}
	return addrOr(g.McastGroup4.String(), "224.0.0.18")
}

type notifyScript struct {
	label, key, jsonKey, cmd string
	runAs                    kaconf.RunAs
}

// notifyScripts are an instance's notify lines in keepalived's order.
func notifyScripts(c *kaconf.Instance) []notifyScript {
	all := []notifyScript{
		{"Backup", "notify_backup", "script_backup", c.NotifyBackup, kaconf.RunAs{}},
		{"Master", "notify_master", "script_master", c.NotifyMaster, kaconf.RunAs{}},
		{"Fault", "notify_fault", "script_fault", c.NotifyFault, kaconf.RunAs{}},
		{"Stop", "notify_stop", "script_stop", c.NotifyStop, kaconf.RunAs{}},
		{"Deleted", "notify_deleted", "script_deleted", c.NotifyDeleted, kaconf.RunAs{}},
		{"Generic", "notify", "script", c.Notify, kaconf.RunAs{}},
		{"Master rx lower pri", "notify_master_rx_lower_pri", "script_master_rx_lower_pri", c.NotifyMasterRxLowerPri, kaconf.RunAs{}},
	}
	out := all[:0]
	for _, n := range all {
		if n.cmd != "" {
			n.runAs = c.RunAs[n.key]
			out = append(out, n)
		}
	}
	return out
}

// sockKey is one of keepalived's pooled sockets: interface, family, and
// unicast with its source or multicast.
type sockKey struct {
	ifname  string
	ipv6    bool
	unicast bool
	src     string
}

func writeSockpool(p printer, vs []view) {
	p("------< VRRP Sockpool >------")
	var keys []sockKey
	users := map[sockKey][]view{}
	for _, v := range vs {
		k := sockKey{ifname: v.st.Interface, ipv6: v.ipv6(), unicast: v.unicast()}
		if k.unicast {
			k.src = v.st.Source
		}
		if _, ok := users[k]; !ok {
			keys = append(keys, k)
		}
		users[k] = append(users[k], v)
	}
	for _, k := range keys {
		p(" fd_in -1 fd_out = -1") // not in control.Status
		p("   Interface = %s", k.ifname)
		p("   Family = %s", onOff(k.ipv6, "IPv6", "IPv4"))
		p("   Protocol = VRRP")
		p("   Type = %s", onOff(k.unicast, "Unicast", "Multicast"))
		if k.unicast {
			p("   Address = %s", k.src)
		}
		p("   Rx buf size = 0")
		p("   VRRP instances")
		for _, v := range users[k] {
			p("     %s vrid %d", v.st.Name, v.st.VRID)
		}
	}
}

// trackers lists "NAME, weight W" of the instances tracking object name
// through refs(instance).
func trackers(vs []view, name string, refs func(*kaconf.Instance) []kaconf.TrackRef) []linkUse {
	var out []linkUse
	for _, v := range vs {
		for _, r := range refs(v.cfg) {
			if r.Name == name {
				out = append(out, linkUse{v.st.Name, r.Weight})
			}
		}
	}
	return out
}

// trackedObj is a tracked object with the instances that track it.
type trackedObj[T any] struct {
	obj   *T
	users []linkUse
}

// tracked lists, in file order, the objects of m that some instance tracks
// (refs): keepalived lists only those, and writes no section header when
// there are none (seen beside it: no "VRRP Scripts" for a file without a
// vrrp_script).
func tracked[T any](vs []view, m map[string]*T, key func(*T) (string, kaconf.Pos), refs func(*kaconf.Instance) []kaconf.TrackRef) []trackedObj[T] {
	var out []trackedObj[T]
	for _, x := range kaconf.InFileOrder(m, func(x *T) kaconf.Pos { _, pos := key(x); return pos }) {
		name, _ := key(x)
		if users := trackers(vs, name, refs); len(users) > 0 {
			out = append(out, trackedObj[T]{x, users})
		}
	}
	return out
}

// scriptRow finds the first snapshot row of a tracked script.
func scriptRow(vs []view, kind, name string) (control.Track, bool) {
	for _, v := range vs {
		if t, ok := v.trackFor(kind, name); ok {
			return t, true
		}
	}
	return control.Track{}, false
}

// writeScripts: every vrrp_script some instance tracks (keepalived drops
// unused ones), in file order.
//
// Result is keepalived's rise/fall counter: rise+fall-1 while GOOD, 0 while
// BAD (verified); before the first result rise-1 with Status INIT
// (unverified). Timeout: keepalived prints 0 when none was given; kaconf
// derives timeout = interval, so a timeout equal to the interval prints 0.
// Insecure is "no" (govrrp refuses insecure scripts under script security).
func writeScripts(p printer, vs []view, cfg *kaconf.Config) {
	scripts := tracked(vs, cfg.Scripts, func(s *kaconf.Script) (string, kaconf.Pos) { return s.Name, s.Pos },
		func(c *kaconf.Instance) []kaconf.TrackRef { return c.TrackScripts })
	if len(scripts) == 0 {
		return
	}
	p("------< VRRP Scripts >------")
	for _, it := range scripts {
		s, users := it.obj, it.users
		timeout := s.Timeout
		if timeout == s.Interval {
			timeout = 0
		}
		result, status := s.Rise-1, "INIT"
		if t, ok := scriptRow(vs, "track_script", s.Name); ok && t.State != "pending" {
			result, status = 0, "BAD"
			if t.OK {
				result, status = s.Rise+s.Fall-1, "GOOD"
			}
		}
		p(" VRRP Script = %s", s.Name)
		p("   Command = %s", commandText(s.Script))
		p("   Interval = %d sec", secs(s.Interval))
		p("   Timeout = %d sec", secs(timeout))
		p("   Weight = %d", s.Weight)
		p("   Rise = %d", s.Rise)
		p("   Fall = %d", s.Fall)
		p("   Result = %d", result)
		p("   Insecure = no")
		p("   Init state = %s", onOff(s.InitFail, "failed", "unknown")) // "failed" unverified
		p("   Status = %s", status)
		p("   Script uid:gid = %s", ids(s.User, s.Group, &cfg.Global))
		p("   VRRP instances :")
		p("   Tracking instances :")
		for _, u := range users {
			p("     %s, weight %d", u.instance, u.weight)
		}
		p("   State = idle")
	}
}

// writeTrackFiles: Status is the value last read (0 before one).
func writeTrackFiles(p printer, vs []view, cfg *kaconf.Config) {
	files := tracked(vs, cfg.TrackFiles, func(f *kaconf.TrackFile) (string, kaconf.Pos) { return f.Name, f.Pos },
		func(c *kaconf.Instance) []kaconf.TrackRef { return c.TrackFiles })
	if len(files) == 0 {
		return
	}
	p("------< VRRP Track files >------")
	for _, it := range files {
		f := it.obj
		value := 0
		if t, ok := scriptRow(vs, "track_file", f.Name); ok {
			if n, ok := strings.CutPrefix(t.State, "value "); ok {
				value, _ = strconv.Atoi(n)
			}
		}
		p(" Track file = %s", f.Name)
		p("   File = %s", f.File)
		p("   Status = %d", value)
		p("   Weight = %d", f.Weight)
		p("   Tracking instances :")
		for _, u := range it.users {
			p("     %s, weight %d", u.instance, u.weight)
		}
	}
}

// writeTrackProcesses: Current processes is the count internal/track reports
// in its detail ("N running (quorum ...)"), 0 before a report.
// "Max processes" (quorum_max) is unverified.
func writeTrackProcesses(p printer, vs []view, cfg *kaconf.Config) {
	procs := tracked(vs, cfg.TrackProcesses, func(tp *kaconf.TrackProcess) (string, kaconf.Pos) { return tp.Name, tp.Pos },
		func(c *kaconf.Instance) []kaconf.TrackRef { return c.TrackProcesses })
	if len(procs) == 0 {
		return
	}
	p("------< VRRP Track processes >------")
	for _, it := range procs {
		tp := it.obj
		n, quorum := 0, false
		if t, ok := scriptRow(vs, "track_process", tp.Name); ok && t.State != "pending" {
			quorum = t.OK
			if f := strings.Fields(t.Detail); len(f) > 0 {
				n, _ = strconv.Atoi(f[0])
			}
		}
		p(" VRRP Track process = %s", tp.Name)
		p("   Process = %s", strings.Join(tp.Process, " "))
		if tp.ParamMatch != "" {
			p("   Parameter match = %s", tp.ParamMatch) // unverified
		}
		p("   Min processes = %d", cmp.Or(tp.Quorum, 1))
		if tp.QuorumMax > 0 {
			p("   Max processes = %d", tp.QuorumMax)
		}
		p("   Current processes = %d", n)
		p("   Have quorum = %t", quorum)
		p("   Weight = %d", tp.Weight)
		p("   Terminate delay = %ss", fsecs(tp.TerminateDelay))
		p("   Fork delay = %ss", fsecs(tp.ForkDelay))
		p("   Fork delay timer not running")
		p("   Terminate delay timer not running")
		p("   Full command = %t", tp.FullCommand)
		p("   Tracking instances :")
		for _, u := range it.users {
			p("     %s, weight %d", u.instance, u.weight)
		}
	}
}

func writeInterfaces(p printer, vs []view) {
	p("------< Interfaces >------")
	for _, l := range links(vs) {
		p(" Name = %s", l.name)
		p("   index = 0") // not in control.Status
		p("   IPv4 address = %s", addrText(l.v4.String()))
		p("   IPv6 address = %s", addrText(l.v6.String()))
		p("   State = %s", l.flagsText())
		p("   Seen up = %d", boolNum(l.seen && l.ok))
		p("   Delayed state change running = false")
		p("   Up debounce timer = 0us")
		p("   Down debounce timer = 0us")
		p("   MTU = 0")
		p("   HW Type = UNKNOWN")
		p("   NIC netlink status update")
		p("   Reset ARP config counter 0")
		p("   Original arp_ignore 0")
		p("   Original arp_filter 0")
		p("   Original promote_secondaries 0")
		p("   Reset promote_secondaries counter 0")
		if len(l.tracked) > 0 {
			p("   Tracking VRRP instances :")
			for _, u := range l.tracked {
				p("     %s, weight %d", u.instance, u.weight)
			}
		}
	}
}

func addrText(s string) string { return addrOr(s, "(none)") }

func boolNum(b bool) int {
	if b {
		return 1
	}
	return 0
}
