package daemon

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// linkbeat_interfaces, top-level linkbeat_use_polling and the deprecated
// instance linkbeat_use_polling move interfaces from the netlink watcher to
// the poller; nothing else does.
func TestLinkSpecsSplitPolled(t *testing.T) {
	const inst = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    %s
    track_interface {
        eth1
        eth2
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`
	tests := []struct {
		name, top, instLine string
		want                []string
	}{
		{"none", "", "", []string{"links [eth0 eth1 eth2]"}},
		{"block", "linkbeat_interfaces {\n    eth1 ETHTOOL\n}\n", "", []string{"links [eth0 eth2]", "linkbeat [{Name:eth1 Type:ETHTOOL}]"}},
		{"global", "linkbeat_use_polling\n", "", []string{"linkbeat [{Name:eth0 Type:} {Name:eth1 Type:} {Name:eth2 Type:}]"}},
		{"instance", "", "linkbeat_use_polling", []string{"links [eth1 eth2]", "linkbeat [{Name:eth0 Type:}]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConf(t, tt.top+fmtInst(inst, tt.instLine))
			var got []string
			for _, s := range linkSpecs(cfg, []string{"eth0", "eth1", "eth2"}) {
				got = append(got, s.id+" "+s.fp)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("specs (-want +got):\n%s", diff)
			}
		})
	}
}

func fmtInst(f, line string) string { return fmt.Sprintf(f, line) }
