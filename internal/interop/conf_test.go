package interop

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The two-host lab every scenario uses: one segment, eth0 on both hosts.
var (
	lanV4 = netip.MustParsePrefix("192.0.2.0/24")
	lanV6 = netip.MustParsePrefix("2001:db8::/64")

	addrA4 = netip.MustParsePrefix("192.0.2.11/24")
	addrA6 = netip.MustParsePrefix("2001:db8::11/64")
	addrB4 = netip.MustParsePrefix("192.0.2.12/24")
	addrB6 = netip.MustParsePrefix("2001:db8::12/64")

	vip4 = netip.MustParseAddr("192.0.2.100")
	vip6 = netip.MustParseAddr("2001:db8::100")
)

const (
	ifname = "eth0"
	vrid   = 51
)

// scenario is one protocol setup; both nodes get the same config text
// except for priority, router_id and unicast addresses.
type scenario struct {
	name     string
	version  int // 2 or 3
	ipv6     bool
	unicast  bool
	advert   time.Duration
	authPass string // v2 auth_type PASS when set
}

// scenarios are issue scenarios 1-4.
var scenarios = []scenario{
	{name: "v2-ipv4-mcast-pass", version: 2, advert: time.Second, authPass: "longpassword42"},
	{name: "v3-ipv4-mcast-100ms", version: 3, advert: 100 * time.Millisecond},
	{name: "v3-ipv6-mcast-100ms", version: 3, ipv6: true, advert: 100 * time.Millisecond},
	{name: "v2-ipv4-unicast", version: 2, unicast: true, advert: time.Second},
}

// vip is the virtual address of the scenario's family.
func (s scenario) vip() netip.Addr {
	if s.ipv6 {
		return vip6
	}
	return vip4
}

// masterDown is RFC 9568's Master_Down_Interval for a backup of priority
// prio: 3×advert + skew, skew = (256−prio)·advert/256 (multiply first).
func (s scenario) masterDown(prio int) time.Duration {
	return 3*s.advert + time.Duration(256-prio)*s.advert/256
}

// nodeConf is what differs between the two nodes.
type nodeConf struct {
	routerID string
	priority int
	self     netip.Addr // unicast_src_ip (unicast scenarios)
	peer     netip.Addr // unicast_peer
}

// conf renders keepalived.conf text that keepalived and govrrp both read.
func (s scenario) conf(n nodeConf) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n\n", n.routerID)
	b.WriteString("vrrp_instance VI_IOP {\n")
	line := func(format string, args ...any) { fmt.Fprintf(&b, "    "+format+"\n", args...) }
	line("state BACKUP")
	line("interface %s", ifname)
	line("virtual_router_id %d", vrid)
	line("version %d", s.version)
	line("priority %d", n.priority)
	line("advert_int %s", strconv.FormatFloat(s.advert.Seconds(), 'f', -1, 64))
	if s.authPass != "" {
		line("authentication {")
		line("    auth_type PASS")
		line("    auth_pass %s", s.authPass)
		line("}")
	}
	if s.unicast {
		line("unicast_src_ip %s", n.self)
		line("unicast_peer {")
		line("    %s", n.peer)
		line("}")
	}
	bits := 24
	if s.ipv6 {
		bits = 64
	}
	line("virtual_ipaddress {")
	line("    %s/%d", s.vip(), bits)
	line("}")
	b.WriteString("}\n")
	return b.String()
}
