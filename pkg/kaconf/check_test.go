package kaconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChecks(t *testing.T) {
	inst := func(name, body string) string {
		return "vrrp_instance " + name + " {\n" + body + "}\n"
	}
	tests := []struct {
		name string
		src  string
		want []string // error diagnostics
	}{
		{"duplicate VRID same interface and family",
			inst("A", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.1\n}\n") +
				inst("B", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.2\n}\n"),
			[]string{"t.conf:8:1: error: (B) virtual_router_id 7 already used on eth0 for IPv4 by A (t.conf:1:1)"}},
		{"same VRID other interface",
			inst("A", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.1\n}\n") +
				inst("B", "interface eth1\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.2\n}\n"),
			nil},
		{"same VRID other family",
			inst("A", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.1\n}\n") +
				inst("B", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n2001:db8::1\n}\n"),
			nil},
		{"same VRID unicast with disjoint peers",
			inst("A", "interface eth0\nvirtual_router_id 7\nunicast_peer {\n192.0.2.8\n}\nvirtual_ipaddress {\n192.0.2.1\n}\n") +
				inst("B", "interface eth0\nvirtual_router_id 7\nunicast_peer {\n192.0.2.9\n}\nvirtual_ipaddress {\n192.0.2.2\n}\n"),
			nil},
		{"same VRID unicast with a shared peer",
			inst("A", "interface eth0\nvirtual_router_id 7\nunicast_peer {\n192.0.2.8\n}\nvirtual_ipaddress {\n192.0.2.1\n}\n") +
				inst("B", "interface eth0\nvirtual_router_id 7\nunicast_peer {\n192.0.2.8\n}\nvirtual_ipaddress {\n192.0.2.2\n}\n"),
			[]string{"t.conf:11:1: error: (B) virtual_router_id 7 already used on eth0 for IPv4 by A (t.conf:1:1)"}},
		{"mixed VIP families",
			inst("A", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.1\n2001:db8::1\n}\n"),
			[]string{"t.conf:6:1: error: (A) virtual_ipaddress 2001:db8::1/128 is not IPv4 like the instance; keepalived 2.2.7 and govrrp ignore it (use virtual_ipaddress_excluded for the other family) (strict: an error)"}},
		{"excluded VIPs may mix",
			inst("A", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.1\n}\nvirtual_ipaddress_excluded {\n2001:db8::1\n}\n"),
			nil},
		{"unicast peer of the wrong family",
			inst("A", "interface eth0\nvirtual_router_id 7\nunicast_peer {\n2001:db8::2\n}\nvirtual_ipaddress {\n192.0.2.1\n}\n"),
			// keepalived 2.2.7: the first address decides the family (here the peer).
			[]string{
				"t.conf:8:1: error: (A) virtual_ipaddress 192.0.2.1/32 is not IPv6 like the instance; keepalived 2.2.7 and govrrp ignore it (use virtual_ipaddress_excluded for the other family) (strict: an error)",
				"t.conf:1:1: error: (A) no virtual_ipaddress: keepalived 2.2.7 refuses a VRRPv3, IPv6 or strict_mode instance without one",
			}},
		{"unicast peer of the wrong family after the VIPs",
			inst("A", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.1\n}\nunicast_peer {\n2001:db8::2\n}\n"),
			[]string{"t.conf:8:1: error: (A) unicast_peer 2001:db8::2 is not IPv4 like the instance; keepalived 2.2.7 and govrrp ignore the peer (strict: an error)"}},
		{"unicast_src_ip of the wrong family",
			inst("A", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.1\n}\nunicast_src_ip 2001:db8::2\n"),
			[]string{"t.conf:7:1: error: (A) unicast_src_ip 2001:db8::2 is not IPv4 like the instance; keepalived 2.2.7 and govrrp ignore it (strict: an error)"}},
		{"missing VRID",
			inst("A", "interface eth0\nvirtual_ipaddress {\n192.0.2.1\n}\n"),
			[]string{"t.conf:1:1: error: (A) virtual_router_id must be set"}},
		{"missing interface",
			inst("A", "virtual_router_id 7\nvirtual_ipaddress {\n192.0.2.1\n}\n"),
			[]string{"t.conf:1:1: error: (A) interface must be set (it may only be omitted with unicast_peer)"}},
		{"no interface with unicast",
			inst("A", "virtual_router_id 7\nunicast_peer {\n192.0.2.8\n}\nvirtual_ipaddress {\n192.0.2.1\n}\n"),
			nil},
		{"PASS without password",
			inst("A", "interface eth0\nvirtual_router_id 7\nauthentication {\nauth_type PASS\n}\nvirtual_ipaddress {\n192.0.2.1\n}\n"),
			[]string{"t.conf:1:1: error: (A) auth_type PASS without auth_pass; keepalived 2.2.7 and govrrp run the instance without authentication (strict: an error)"}},
		{"duplicate instance name",
			inst("A", "interface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n192.0.2.1\n}\n") +
				inst("A", "interface eth0\nvirtual_router_id 8\nvirtual_ipaddress {\n192.0.2.2\n}\n"),
			[]string{"t.conf:8:15: error: vrrp_instance \"A\" defined twice (first at t.conf:1:1)"}},
		{"duplicate script name",
			"vrrp_script s {\nscript /bin/true\n}\nvrrp_script s {\nscript /bin/false\n}\n",
			[]string{"t.conf:4:13: error: vrrp_script \"s\" defined twice"}},
		{"script without script",
			"vrrp_script s {\ninterval 2\n}\n",
			[]string{"t.conf:3:1: error: vrrp_script \"s\": no script given; keepalived 2.2.7 and govrrp remove the vrrp_script (strict: an error)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Strict: fallbacks are errors too; checkLenient tells them apart.
			_, ds, err := buildSrc(t, tt.src, LoadOptions{Strict: true})
			if (err != nil) != (len(tt.want) > 0) {
				t.Errorf("Build error = %v", err)
			}
			if diff := cmp.Diff(tt.want, diagStrings(ds, SevError)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			checkLenient(t, tt.src, ds)
		})
	}
}
