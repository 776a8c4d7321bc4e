package kaconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIGMPNftProcBufs: disable_local_igmp, nftables_ifindex and
// process_monitor_rcv_bufs[_force] land in GlobalDefs (a bare _force is on,
// as in keepalived); a bad buffer size is reported.
func TestIGMPNftProcBufs(t *testing.T) {
	type got struct {
		IGMP, Ifindex bool
		Proc          int
		ProcForce     bool
	}
	for _, tt := range []struct {
		name, lines string
		want        got
		bad         bool
	}{
		{name: "unset"},
		{name: "all", lines: "disable_local_igmp\nnftables_ifindex\nprocess_monitor_rcv_bufs 500000\nprocess_monitor_rcv_bufs_force\n",
			want: got{IGMP: true, Ifindex: true, Proc: 500000, ProcForce: true}},
		{name: "force off", lines: "process_monitor_rcv_bufs 300000\nprocess_monitor_rcv_bufs_force off\n", want: got{Proc: 300000}},
		{name: "not a number", lines: "process_monitor_rcv_bufs lots\n", bad: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := "global_defs {\n" + tt.lines + "}\n" + "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        192.0.2.1\n    }\n}\n"
			cfg, diags, err := buildSrc(t, src, LoadOptions{})
			if tt.bad {
				if err == nil && len(diagStrings(diags, SevError)) == 0 && len(diagStrings(diags, SevWarning)) == 0 {
					t.Fatalf("bad value accepted silently: %v", diags)
				}
				return
			}
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			g := cfg.Global
			if d := cmp.Diff(tt.want, got{g.DisableLocalIGMP, g.NFTablesIfindex, g.ProcessMonRcvBufs, g.ProcessMonRcvBufsForce}); d != "" {
				t.Errorf("global_defs (-want +got):\n%s", d)
			}
		})
	}
}
