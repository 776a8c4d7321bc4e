package kaconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNetlinkRcvBufs: keepalived's four netlink buffer keywords land in
// GlobalDefs (a bare _force is on, as in keepalived); bad values are errors.
func TestNetlinkRcvBufs(t *testing.T) {
	type bufs struct {
		Cmd      int
		CmdForce bool
		Mon      int
		MonForce bool
	}
	for _, tt := range []struct {
		name, lines string
		want        bufs
		errs        int
	}{
		{name: "unset", want: bufs{}},
		{name: "all four", lines: "vrrp_netlink_cmd_rcv_bufs 4194304\nvrrp_netlink_cmd_rcv_bufs_force\nvrrp_netlink_monitor_rcv_bufs 3000000\nvrrp_netlink_monitor_rcv_bufs_force on\n",
			want: bufs{Cmd: 4194304, CmdForce: true, Mon: 3000000, MonForce: true}},
		{name: "force off", lines: "vrrp_netlink_monitor_rcv_bufs 1000000\nvrrp_netlink_monitor_rcv_bufs_force off\n", want: bufs{Mon: 1000000}},
		{name: "not a number", lines: "vrrp_netlink_cmd_rcv_bufs lots\n", errs: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := "global_defs {\n" + tt.lines + "}\n" + "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        192.0.2.1\n    }\n}\n"
			cfg, diags, err := buildSrc(t, src, LoadOptions{})
			if tt.errs > 0 {
				if err == nil && len(diagStrings(diags, SevError)) == 0 && len(diagStrings(diags, SevWarning)) == 0 {
					t.Fatalf("bad value accepted silently: %v", diags)
				}
				return
			}
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			g := cfg.Global
			got := bufs{g.NetlinkCmdRcvBufs, g.NetlinkCmdRcvBufsForce, g.NetlinkMonRcvBufs, g.NetlinkMonRcvBufsForce}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("netlink buffers (-want +got):\n%s", d)
			}
		})
	}
}
