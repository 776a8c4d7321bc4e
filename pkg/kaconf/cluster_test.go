package kaconf

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func buildFor(t *testing.T, name, text string) Member {
	t.Helper()
	f, err := ParseBytes(name, []byte(text), ParseOptions{ConfigID: "test"})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	cfg, _, err := Build(f.Nodes, LoadOptions{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return Member{File: name, Config: cfg}
}

const clusterNode = `vrrp_script chk_web {
    script "/bin/true"
    weight %d
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int %s
    %s
    track_script {
        chk_web
    }
    virtual_ipaddress {
        %s
    }
}
`

func node(t *testing.T, name string, weight, vrid, prio int, adv, extra, vip string) Member {
	return buildFor(t, name, fmt.Sprintf(clusterNode, weight, vrid, prio, adv, extra, vip))
}

func TestCheckCluster(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Member
		want  []string // substrings, one per diagnostic, in order
	}{
		{"consistent pair", []Member{
			node(t, "a.conf", -60, 51, 150, "1", "", "192.0.2.100"),
			node(t, "b.conf", -60, 51, 100, "1", "", "192.0.2.100"),
		}, nil},
		{"weight too small to move the VIP (issue example)", []Member{
			node(t, "a.conf", 2, 51, 100, "1", "", "192.0.2.100"),
			node(t, "b.conf", 2, 51, 90, "1", "", "192.0.2.100"),
		}, []string{`a.conf:12:9: warning: (VI_1) a failing track_script "chk_web" on this node (priority 102 → 100 with weight 2) can never make it lose to b.conf (VI_1, priority 92)`}},
		{"negative weight that ties", []Member{
			node(t, "a.conf", -50, 51, 150, "1", "", "192.0.2.100"),
			node(t, "b.conf", -50, 51, 100, "1", "", "192.0.2.100"),
		}, []string{"priority 150 → 100 with weight -50"}},
		{"equal priorities", []Member{
			node(t, "a.conf", 0, 51, 100, "1", "", "192.0.2.100"),
			node(t, "b.conf", 0, 51, 100, "1", "", "192.0.2.100"),
		}, []string{"b.conf:5:1: warning: (VI_1) priority 100 equals that of a.conf"}},
		{"v2 interval, auth and VIPs differ", []Member{
			node(t, "a.conf", 0, 51, 150, "1", "authentication {\n auth_type PASS\n auth_pass one\n }", "192.0.2.100"),
			node(t, "b.conf", 0, 51, 100, "2", "authentication {\n auth_type PASS\n auth_pass two\n }", "192.0.2.101"),
		}, []string{"error: (VI_1) advert_int 2s here but 1s", "error: (VI_1) authentication differs", "error: (VI_1) virtual_ipaddress list [192.0.2.101/32] differs from [192.0.2.100/32]"}},
		{"instance on one node only", []Member{
			node(t, "a.conf", 0, 51, 150, "1", "", "192.0.2.100"),
			node(t, "b.conf", 0, 52, 100, "1", "", "192.0.2.100"),
		}, []string{"virtual_router_id 51 (IPv4) is configured on 1 of 2 nodes", "virtual_router_id 52 (IPv4) is configured on 1 of 2 nodes"}},
		{"unicast peers not pointing at each other", []Member{
			node(t, "a.conf", 0, 51, 150, "1", "unicast_src_ip 192.0.2.11\n unicast_peer {\n 192.0.2.99\n }", "192.0.2.100"),
			node(t, "b.conf", 0, 51, 100, "1", "unicast_src_ip 192.0.2.12\n unicast_peer {\n 192.0.2.11\n }", "192.0.2.100"),
		}, []string{"a.conf:5:1: error: (VI_1) unicast_peer does not list 192.0.2.12, the unicast_src_ip of b.conf"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range CheckCluster(tc.nodes) {
				got = append(got, d.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("diagnostic %d:\n%s", i, cmp.Diff(tc.want[i], got[i]))
				}
			}
		})
	}
}
