package kaconf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Fallbacks: a value keepalived 2.2.7 reports while loading and then replaces
// (a default, the value before, nothing) is a warning with Fallback set, and
// the typed Config holds what keepalived runs with, so `govrrp run` starts
// where keepalived starts. LoadOptions.Strict makes the same diagnostics
// errors, for pipelines that want a clean file. Only what keepalived refuses
// to run (or what leaves an instance unable to work) is an error regardless.

// fallbackf reports a line keepalived accepts with a fallback; what is
// says what keepalived and govrrp do instead.
func (c *ctx) fallbackf(p Pos, instead string, format string, a ...any) {
	sev := SevWarning
	if c.o.Strict {
		sev = SevError
	}
	msg := fmt.Sprintf(format, a...)
	if instead != "" {
		msg += "; keepalived 2.2.7 and govrrp " + instead
	}
	if c.o.Strict {
		msg += " (strict: an error)"
	}
	c.diags = append(c.diags, Diagnostic{Pos: p, Severity: sev, Msg: msg, Fallback: true})
}

// bad reports an invalid value: a fallback when the keyword being read has
// one (c.fb, set by dispatch from the keyword row), else an error.
func (c *ctx) bad(p Pos, format string, a ...any) {
	if c.fb != "" {
		c.fallbackf(p, c.fb, format, a...)
		return
	}
	c.errf(p, format, a...)
}

// withFallback runs fn with instead as the fallback of invalid values.
func (c *ctx) withFallback(instead string, fn func()) {
	prev := c.fb
	c.fb = instead
	defer func() { c.fb = prev }()
	fn()
}

// orElse gives a keyword row a fallback: what keepalived (and govrrp) do when
// the line's value is invalid, e.g. "ignore the line (default 3)".
func (k keyword[T]) orElse(instead string) keyword[T] {
	k.fallback = instead
	return k
}

// Fallbacks returns the diagnostics that keepalived accepts with a fallback.
func Fallbacks(diags []Diagnostic) []Diagnostic {
	var out []Diagnostic
	for _, d := range diags {
		if d.Fallback {
			out = append(out, d)
		}
	}
	return out
}

// instPriority reads priority. keepalived 2.2.7 replaces an invalid one with
// 100 explicitly, so state MASTER does not then make it 255.
func instPriority(c *ctx, n *Node, in *Instance) {
	c.markSet(in, "priority")
	v, ok := c.intArg(n, 0, 1, 255)
	if !ok {
		v = 100
	}
	in.Priority, in.PrioritySet = uint8(v), true
}

// badPrefix handles an ADDR/LEN netip refuses: keepalived 2.2.7 makes a
// length beyond the family's a host prefix ("using 32"); anything else is
// an invalid address.
func (c *ctx) badPrefix(t Token) (netip.Prefix, bool) {
	as, ls, _ := strings.Cut(t.Text, "/")
	a, err := netip.ParseAddr(as)
	if err != nil || a.Zone() != "" {
		c.bad(t.Pos, "invalid address/prefix %q", t.Text)
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	if l, err := strconv.Atoi(ls); err == nil && l > a.BitLen() {
		c.fallbackf(t.Pos, fmt.Sprintf("use /%d", a.BitLen()), "address %q: prefix length %d is longer than %d", t.Text, l, a.BitLen())
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	c.bad(t.Pos, "invalid address/prefix %q", t.Text)
	return netip.Prefix{}, false
}

// instMcastDst reads mcast_dst_ip: keepalived 2.2.7 skips a unicast address.
func instMcastDst(c *ctx, n *Node, in *Instance) {
	a, ok := c.addrArg(n, 0)
	if !ok {
		return
	}
	if !a.IsMulticast() {
		c.bad(n.Args[0].Pos, "mcast_dst_ip %s is not a multicast address", a)
		return
	}
	in.McastDstIP = a
}

func (c *ctx) markWhere(obj any, kw string, p Pos) {
	m := c.where[obj]
	if m == nil {
		m = map[string]Pos{}
		c.where[obj] = m
	}
	m[kw] = p
}

// before orders positions within one file (includes: by file name, which
// is enough to make the choice deterministic).
func before(a, b Pos) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

// instanceFamily: keepalived 2.2.7 takes the family from the instance's first
// address in file order (a VIP, unicast_src_ip, mcast_src_ip or peer; checked
// with keepalived -t: an IPv6 mcast_src_ip before IPv4 VIPs makes the VIPs
// the wrong family); IPv4 when there is none.
func (c *ctx) instanceFamily(in *Instance) uint8 {
	var first Pos
	fam := uint8(0)
	consider := func(p Pos, a netip.Addr) {
		if a.IsValid() && (fam == 0 || before(p, first)) {
			first, fam = p, familyOf(a.Is4())
		}
	}
	if len(in.VIPs) > 0 {
		consider(in.VIPs[0].Pos, in.VIPs[0].Prefix.Addr())
	}
	if len(in.UnicastPeers) > 0 {
		consider(in.UnicastPeers[0].Pos, in.UnicastPeers[0].Addr)
	}
	consider(c.where[in]["unicast_src_ip"], in.UnicastSrcIP)
	consider(c.where[in]["mcast_src_ip"], in.McastSrcIP)
	if p, ok := c.where[in]["native_ipv6"]; ok {
		consider(p, netip.IPv6Unspecified()) // keepalived: the instance is IPv6
	}
	if fam == 0 {
		return 4
	}
	return fam
}

// dropOtherFamily removes the VIPs, peers and source addresses that are not
// of the instance's family: keepalived 2.2.7 ignores them ("address family
// must match VRRP instance - ignoring").
func (c *ctx) dropOtherFamily(in *Instance) {
	is4 := in.Family == 4
	const instead = "ignore it (use virtual_ipaddress_excluded for the other family)"
	vips := in.VIPs[:0]
	for _, v := range in.VIPs {
		if v.Prefix.Addr().Is4() != is4 {
			c.fallbackf(v.Pos, instead, "(%s) virtual_ipaddress %s is not IPv%d like the instance", in.Name, v.Prefix, in.Family)
			continue
		}
		vips = append(vips, v)
	}
	in.VIPs = vips
	peers := in.UnicastPeers[:0]
	for _, p := range in.UnicastPeers {
		if p.Addr.Is4() != is4 {
			c.fallbackf(p.Pos, "ignore the peer", "(%s) unicast_peer %s is not IPv%d like the instance", in.Name, p.Addr, in.Family)
			continue
		}
		peers = append(peers, p)
	}
	in.UnicastPeers = peers
	for _, s := range []struct {
		kw string
		a  *netip.Addr
	}{{"unicast_src_ip", &in.UnicastSrcIP}, {"mcast_src_ip", &in.McastSrcIP}} {
		if s.a.IsValid() && s.a.Is4() != is4 {
			c.fallbackf(c.where[in][s.kw], "ignore it", "(%s) %s %s is not IPv%d like the instance", in.Name, s.kw, *s.a, in.Family)
			*s.a = netip.Addr{}
		}
	}
}

// ignore is the fallback of a line keepalived 2.2.7 skips when its value is
// invalid: the value before it (the default, or global_defs') stays.
const ignore = "ignore the line (the default or earlier value stays)"

// instGarpRefreshRepeat: keepalived 2.2.7 makes 0 a 1 ("must be greater
// than 0, setting to 1") and ignores other invalid values.
func instGarpRefreshRepeat(c *ctx, n *Node, in *Instance) {
	if n.Args[0].Text == "0" {
		c.fallbackf(n.Args[0].Pos, "use 1", "garp_master_refresh_repeat: must be greater than 0")
		in.GarpMasterRefreshRepeat = 1
		c.markSet(in, n.Keyword.Text)
		return
	}
	if v, ok := c.intArg(n, 0, 1, 1<<32-1); ok {
		in.GarpMasterRefreshRepeat = int(v)
		c.markSet(in, n.Keyword.Text)
	}
}

// globalGarpRefreshRepeat is vrrp_garp_master_refresh_repeat, read as the
// instance keyword is (0 becomes 1).
func globalGarpRefreshRepeat(c *ctx, n *Node, g *GlobalDefs) {
	if n.Args[0].Text == "0" {
		c.fallbackf(n.Args[0].Pos, "use 1", "vrrp_garp_master_refresh_repeat: must be greater than 0")
		g.GarpMasterRefreshRepeat = 1
		c.markSet(g, n.Keyword.Text)
		return
	}
	if v, ok := c.intArg(n, 0, 1, 1<<32-1); ok {
		g.GarpMasterRefreshRepeat = int(v)
		c.markSet(g, n.Keyword.Text) // vrrp_min_garp keeps a written value
	}
}

// gOtherCheck is a global keyword kept raw whose value keepalived 2.2.7
// checks while loading; check reports what keepalived reports.
func gOtherCheck(name, args string, min, max int, doc string, check func(*ctx, *Node)) kwG {
	return kwG{name: name, args: args, min: min, max: max, status: ParsedOnly, doc: doc, fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			g.Other = append(g.Other, raw(n))
			check(c, n)
		}}
}

func checkInt(lo, hi int64) func(*ctx, *Node) {
	return func(c *ctx, n *Node) { c.intArg(n, 0, lo, hi) }
}

// checkRTPriority: keepalived 2.2.7 caps vrrp_rt_priority at 99.
func checkRTPriority(c *ctx, n *Node) {
	v, err := strconv.ParseInt(n.Args[0].Text, 10, 64)
	if err == nil && v > 99 {
		c.fallbackf(n.Args[0].Pos, "use 99", "%s: %d greater than the maximum 99", n.Keyword.Text, v)
		return
	}
	c.intArg(n, 0, 1, 99)
}

// checkUmask accepts a number or IRUSR|IWUSR|... bits, as keepalived does.
func checkUmask(c *ctx, n *Node) {
	if len(n.Args) == 1 {
		if _, err := strconv.ParseUint(n.Args[0].Text, 0, 32); err == nil {
			return
		}
	}
	for _, a := range n.Args {
		for _, bit := range strings.Split(a.Text, "|") {
			switch bit {
			case "", "IRUSR", "IWUSR", "IXUSR", "IRGRP", "IWGRP", "IXGRP", "IROTH", "IWOTH", "IXOTH":
			default:
				c.fallbackf(a.Pos, ignore, "umask: unknown bit %q", bit)
				return
			}
		}
	}
}

// checkLVSTimeouts: "tcp|tcpfin|udp SECONDS" pairs.
func checkLVSTimeouts(c *ctx, n *Node) {
	for i := 0; i < len(n.Args); i += 2 {
		switch k := n.Args[i].Text; k {
		case "tcp", "tcpfin", "udp":
			if i+1 >= len(n.Args) {
				c.fallbackf(n.Args[i].Pos, "ignore it", "lvs_timeouts: %s needs a value", k)
				return
			}
			if _, err := strconv.ParseUint(n.Args[i+1].Text, 10, 32); err != nil {
				c.fallbackf(n.Args[i+1].Pos, "ignore it", "lvs_timeouts: invalid %s timeout %q", k, n.Args[i+1].Text)
			}
		default:
			c.fallbackf(n.Args[i].Pos, "ignore it", "lvs_timeouts: unknown timeout %q", k)
		}
	}
}

// globalSMTPServer: keepalived 2.2.7 resolves the server while loading and
// ignores it when that fails; govrrp checks the port and flags a name that
// is not an IP address literal (internal/mail resolves it for each mail).
func globalSMTPServer(c *ctx, n *Node, g *GlobalDefs) {
	host, port := n.Args[0].Text, 0
	if len(n.Args) > 1 {
		p, err := strconv.ParseUint(n.Args[1].Text, 10, 16)
		if err != nil || p == 0 {
			c.fallbackf(n.Args[1].Pos, "ignore smtp_server", "smtp_server: port %q outside range [1, 65535]", n.Args[1].Text)
			return
		}
		port = int(p)
	}
	if _, err := netip.ParseAddr(host); err != nil {
		c.fallbackf(n.Args[0].Pos, "", "smtp_server: %q is not an IP address; keepalived 2.2.7 ignores it unless it resolves while loading (govrrp resolves it for each mail)", host)
	}
	g.SMTPServer, g.SMTPServerPort = host, port
}

// scriptInterval: keepalived 2.2.7 makes 0 a 1 s interval ("must be greater
// than 0, setting to 1") and ignores other invalid values.
func scriptInterval(c *ctx, n *Node, s *Script) {
	if v, err := strconv.ParseFloat(n.Args[0].Text, 64); err == nil && v == 0 {
		c.fallbackf(n.Args[0].Pos, "use 1 s", "interval: must be greater than 0")
		s.Interval = time.Second
		return
	}
	setSecs(c, n, 1e-6, 4294, &s.Interval)
}

// processQuorumMax: keepalived 2.2.7 ignores a quorum_max below quorum.
func processQuorumMax(c *ctx, n *Node, p *TrackProcess) {
	v, ok := c.intArg(n, 0, 1, 65535)
	if !ok {
		return
	}
	if int(v) < p.Quorum {
		c.fallbackf(n.Args[0].Pos, ignore, "quorum_max %d is less than quorum %d", v, p.Quorum)
		return
	}
	p.QuorumMax = int(v)
}

// validIfName is the kernel's rule for interface names (dev_valid_name):
// 1..15 bytes, not "." or "..", no '/', ':' or white space.
func validIfName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/: \t\n\r\v\f")
}

// nonNumberAs models a keepalived 2.2.7 quirk of the GARP timers: a word
// that is not a number is read as 0 (then raised to the keyword's minimum:
// garp_master_repeat becomes 1) although keepalived logs "ignoring"; a number
// out of range is ignored. Measured with -d, see testdata/fallbacks/*garp*.
func (k keyword[T]) nonNumberAs(desc string, set func(T)) keyword[T] {
	fn := k.fn
	k.fn = func(c *ctx, n *Node, t T) {
		if _, err := strconv.ParseFloat(n.Args[0].Text, 64); err != nil {
			c.fallbackf(n.Args[0].Pos, "use "+desc+" (keepalived reads a word that is not a number as 0)",
				"%s: %q is not a number", n.Keyword.Text, n.Args[0].Text)
			set(t)
			c.markSet(t, n.Keyword.Text)
			return
		}
		fn(c, n, t)
	}
	return k
}

// scriptWeight: keepalived 2.2.7 logs a vrrp_script weight outside
// [-253, 253] but keeps it (-d shows Weight = 300); the daemon's priority
// clamp to 1..254 then applies as in keepalived.
func scriptWeight(c *ctx, n *Node, s *Script) {
	v, err := strconv.ParseInt(n.Args[0].Text, 10, 32)
	if err == nil && (v < -253 || v > 253) {
		c.fallbackf(n.Args[0].Pos, "use it anyway (the priority stays within 1..254)", "weight: %d outside range [-253, 253]", v)
		s.Weight, s.Reverse = int(v), reverseArg(c, n)
		return
	}
	s.Weight, s.Reverse = weightArgs(c, n, -253, 253, s.Weight)
}

// blockEnd is where keepalived reports a problem found at the end of a
// block: its closing brace.
func blockEnd(n *Node) Pos {
	if n.Block && n.End.Line > 0 {
		return n.End
	}
	return n.Pos()
}

// dropOwnInterface: keepalived 2.2.7 ignores a track_interface entry naming
// the instance's own interface ("Ignoring track_interface X since own
// interface"); that interface's state already drives the instance.
func dropOwnInterface(c *ctx, in *Instance) []TrackRef {
	out := in.TrackInterfaces[:0]
	for _, r := range in.TrackInterfaces {
		if r.Name == in.Interface && in.Interface != "" && in.UseVMAC == "" {
			c.fallbackf(r.Pos, "ignore the entry", "(%s) track_interface %s is the instance's own interface", in.Name, r.Name)
			continue
		}
		out = append(out, r)
	}
	return out
}

// checkAllInts: every argument an integer in [lo, hi] (CPU numbers).
func checkAllInts(lo, hi int64) func(*ctx, *Node) {
	return func(c *ctx, n *Node) {
		for i := range n.Args {
			if _, ok := c.intArg(n, i, lo, hi); !ok {
				return
			}
		}
	}
}

// checkRxBufsPolicy: MTU, ADVERT or a number.
func checkRxBufsPolicy(c *ctx, n *Node) {
	t := n.Args[0]
	if t.Text == "MTU" || t.Text == "ADVERT" {
		return
	}
	if _, err := strconv.ParseUint(t.Text, 10, 32); err != nil {
		c.bad(t.Pos, "%s: %q is not MTU, ADVERT or a number", n.Keyword.Text, t.Text)
	}
}

// checkOptBool: an optional boolean.
func checkOptBool(c *ctx, n *Node) { c.boolArg(n, 0) }

// checkNeedsArg: keepalived 2.2.7 ignores these keywords without a value
// ("emailfrom missing - ignoring") instead of refusing the file.
func checkNeedsArg(c *ctx, n *Node) {
	if len(n.Args) == 0 {
		c.fallbackf(n.Pos(), ignore, "%s: missing value", n.Keyword.Text)
	}
}

// iOtherCheck is iOther with keepalived 2.2.7's check of the value.
func iOtherCheck(name, args string, min, max int, doc string, check func(*ctx, *Node)) kwI {
	return kwI{name: name, args: args, min: min, max: max, status: ParsedOnly, doc: doc, fallback: ignore,
		fn: func(c *ctx, n *Node, in *Instance) {
			in.Other = append(in.Other, raw(n))
			check(c, n)
		}}
}

// notIn227: a keyword of other keepalived versions that 2.2.7 reports as
// unknown and ignores.
func notIn227(c *ctx, n *Node) {
	c.fallbackf(n.Pos(), "ignore the line", "%s: keepalived 2.2.7 does not know this keyword here", n.Keyword.Text)
}

// oldUnicastChecksumMode: "old" bare, "never" with never; any other word
// makes keepalived 2.2.7 ignore the line (it then sends the current form,
// seen on the wire), "".
func oldUnicastChecksumMode(c *ctx, n *Node) string {
	if len(n.Args) == 0 {
		return "old"
	}
	if n.Args[0].Text != "never" {
		c.fallbackf(n.Args[0].Pos, "ignore the option", "old_unicast_checksum: unknown mode %q", n.Args[0].Text)
		return ""
	}
	return "never"
}

// unicastWithoutPeers: keepalived 2.2.7 sends multicast when an instance has
// unicast settings but no peer (unless unicast_fault_no_peer), and drops
// unicast_ttl then ("Cannot use unicast_ttl without unicast peers").
func (c *ctx) unicastWithoutPeers(in *Instance) {
	if len(in.UnicastPeers) > 0 || in.UnicastFaultNoPeer {
		return
	}
	if c.isSet(in, "unicast_ttl") {
		c.fallbackf(c.instEnd[in], "reset it", "(%s) unicast_ttl without unicast_peer", in.Name)
		in.UnicastTTL = 0
	}
	for _, kw := range []string{"unicast_src_ip", "check_unicast_src", "old_unicast_checksum"} {
		if c.isGiven(in, kw) && (kw != "unicast_src_ip" || in.UnicastSrcIP.IsValid()) {
			c.fallbackf(c.where[in][kw], "send multicast adverts", "(%s) %s without unicast_peer", in.Name, kw)
			return
		}
	}
}

// vmacXmitBaseAlone: vmac_xmit_base only means something with use_vmac.
func (c *ctx) vmacXmitBaseAlone(in *Instance) {
	if in.VMACXmitBase && in.UseVMAC == "" {
		c.fallbackf(c.where[in]["vmac_xmit_base"], "ignore it", "(%s) vmac_xmit_base without use_vmac", in.Name)
		in.VMACXmitBase = false
	}
}

// deriveStrict applies what keepalived 2.2.7 changes in strict_mode (each
// checked with -t and -d, testdata/fallbacks/derive_strict_*): no
// authentication, no accept mode with VRRPv2, and the address owner starts
// as MASTER even when state BACKUP is written.
func (c *ctx) deriveStrict(in *Instance) {
	if !in.StrictMode {
		return
	}
	if in.AuthType != "" {
		c.fallbackf(in.Pos, "run the instance without authentication", "(%s) strict_mode does not allow authentication", in.Name)
		in.AuthType, in.AuthPass, in.AuthPassRaw = "", [8]byte{}, ""
	}
	if in.Version == 2 && in.Accept != nil && *in.Accept {
		c.fallbackf(c.where[in]["accept"], "use no_accept", "(%s) accept with VRRPv2 in strict_mode does not comply with RFC 3768", in.Name)
		f := false
		in.Accept = &f
	}
	if in.Priority == 255 && in.State != "MASTER" {
		c.fallbackf(in.Pos, "start it as MASTER", "(%s) strict_mode: the address owner (priority 255) must have state MASTER", in.Name)
		in.State = "MASTER"
	}
	c.deriveStrictResets(in)
}

// deriveStrictResets: what keepalived 2.2.7 -t reports and -d shows reset
// in strict_mode (checked by hand in a namespace): a non-owner's state
// MASTER (Wantstate = BACKUP), preempt_delay, garp_lower_prio_repeat/
// _delay written in the instance, higher_prio_send_advert, vmac_xmit_base.
func (c *ctx) deriveStrictResets(in *Instance) {
	if in.Priority != 255 && in.State == "MASTER" && c.isGiven(in, "state") {
		c.fallbackf(c.where[in]["state"], "start it as BACKUP", "(%s) strict_mode: state MASTER must match being address owner (priority 255)", in.Name)
		in.State = "BACKUP"
	}
	if in.PreemptDelay != 0 {
		c.fallbackf(c.where[in]["preempt_delay"], "reset it to 0", "(%s) preempt_delay is incompatible with strict_mode", in.Name)
		in.PreemptDelay = 0
	}
	if in.GarpLowerPrioRepeat != 0 {
		c.fallbackf(c.where[in]["garp_lower_prio_repeat"], "reset it to 0", "(%s) strict_mode requires no garp_lower_prio_repeat", in.Name)
		in.GarpLowerPrioRepeat = 0
	}
	if in.GarpLowerPrioDelay != 0 {
		c.fallbackf(c.where[in]["garp_lower_prio_delay"], "reset it to 0", "(%s) strict_mode requires no garp_lower_prio_delay", in.Name)
		in.GarpLowerPrioDelay = 0
	}
	if in.HigherPrioSendAdvert {
		c.fallbackf(c.where[in]["higher_prio_send_advert"], "clear it", "(%s) strict_mode requires higher_prio_send_advert to be clear", in.Name)
		in.HigherPrioSendAdvert = false
	}
	if in.VMACXmitBase {
		c.fallbackf(c.where[in]["vmac_xmit_base"], "clear it", "(%s) vmac_xmit_base is incompatible with strict_mode", in.Name)
		in.VMACXmitBase = false
	}
	if in.Family == 6 && len(in.VIPs) > 0 && !in.VIPs[0].Prefix.Addr().IsLinkLocalUnicast() {
		// RFC 5798 5.2.9; keepalived only reports it.
		c.fallbackf(in.Pos, "run it as written", "(%s) strict_mode: the first IPv6 VIP address must be link local", in.Name)
	}
}
