package interop

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// old_unicast_checksum on the wire, keepalived 2.2.7 (built with
// OLD_CHKSUM_COMPAT) beside govrrp, same files, same outcome. keepalived
// with the keyword sends the pre-1.3.6 form and drops the current one;
// without it, it accepts the old form but keeps sending the current one;
// with "never" it drops the old form. So a keyword on both sides, or on
// the master only with an auto backup, elects one master; "never" against
// the old form, or an auto master against an old-only backup, leaves two.
//
// The checksum form does not depend on the advert interval: 100 ms keeps
// each case to a few master-down intervals of wall time.

// ocAdvert is the cases' advert_int (VRRPv3 centiseconds).
const ocAdvert = 100 * time.Millisecond

func oldChecksumConf(name string, prio int, self, peer fmt.Stringer, mode string) string {
	return fmt.Sprintf(`global_defs {
    router_id oc_%s
}
vrrp_instance VI_OC {
    interface eth0
    virtual_router_id 51
    version 3
    priority %d
    advert_int %s
    unicast_src_ip %s
    unicast_peer {
        %s
    }
    %s
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`, name, prio, strconv.FormatFloat(ocAdvert.Seconds(), 'f', -1, 64), self, peer, mode)
}

func TestOldUnicastChecksumInterop(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		modeA, modeB string // a has priority 200, b 100
		owners       string // who holds the VIP once settled
	}{
		{"both_old", "old_unicast_checksum", "old_unicast_checksum", "a"},
		{"old_master_auto_backup", "old_unicast_checksum", "", "a"},
		{"old_master_never_backup", "old_unicast_checksum", "old_unicast_checksum never", "a,b"},
		{"auto_master_old_backup", "", "old_unicast_checksum", "a,b"},
	}
	for _, p := range pairings[:3] { // ka-ka validates the bodies; gv on either side
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel() // mostly idle daemons waiting out master-down intervals
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, a, b := twoHosts(t, p.a, p.b)
					a.start(oldChecksumConf("a", 200, a.ip4, b.ip4, tc.modeA), 200)
					b.start(oldChecksumConf("b", 100, b.ip4, a.ip4, tc.modeB), 100)
					t.Cleanup(func() { _ = a.kill(); _ = b.kill() })
					// b's master-down interval (3 adverts + skew) for both to
					// settle, then four more in which nothing may change.
					down := scenario{advert: ocAdvert}.masterDown(100)
					if err := waitOwner(startupMargin+4*down, sampleEvery(ocAdvert), vip4, tc.owners, a, b); err != nil {
						fail(t, err.Error(), a, b)
					}
					if _, err := holdOwner(4*down, sampleEvery(ocAdvert), vip4, tc.owners, a, b); err != nil {
						fail(t, err.Error(), a, b)
					}
					for _, n := range []*node{a, b} {
						if n.impl != govrrp {
							continue
						}
						st, err := n.status()
						if err != nil {
							fail(t, err.Error(), a, b)
						}
						dropsOld := n == b && tc.modeB == "old_unicast_checksum never" || n == b && tc.name == "auto_master_old_backup" ||
							n == a && tc.name == "old_master_never_backup"
						if got := st.Drops["checksum"] > 0; got != dropsOld {
							t.Errorf("govrrp on %s: checksum drops %d, want some: %v", n.name, st.Drops["checksum"], dropsOld)
						}
					}
					for _, n := range []*node{a, b} {
						if err := n.signal(syscall.SIGTERM); err == nil {
							_ = n.waitExit(exitTimeout)
						}
					}
				})
			}
		})
	}
}
