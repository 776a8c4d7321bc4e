package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/netlab"
)

// track_bfd on the wire: host a runs keepalived 2.2.7 with its BFD process
// (bfd_instance toward b) and a plain BACKUP at priority 100; host b runs
// govrrp, priority 150, tracking its bfd_instance toward a with weight -60.
//
// keepalived assumes a session Down until it is Up (observed with -d), and
// so does govrrp: b starts at 90, a is master; once the RFC 5880 session
// between keepalived's BFD process and govrrp's internal/bfd is Up, b is at
// 150 and takes the VIP. Dropping BFD (udp dport 3784) in a's namespace
// takes the session down: b falls to 90 and a preempts; removing the rule
// brings the session and the VIP back to b.
//
// Timing margins come from the protocols: BFD detection time 3 x 50 ms,
// VRRPv3 adverts every 100 ms (master-down 3 x 100 ms + skew).
func TestTrackBFDWithKeepalived(t *testing.T) {
	t.Parallel()
	lab, a, b := twoHosts(t, keepalived, govrrp)
	netlab.Require(t, "nft")
	_ = lab

	kaConf := fmt.Sprintf(`global_defs {
    router_id bfd_a
}
bfd_instance to_b {
    neighbor_ip %s
    source_ip %s
    min_rx 50
    min_tx 50
    idle_tx 1000
    multiplier 3
}
vrrp_instance VI_BFD {
    state BACKUP
    interface %s
    virtual_router_id %d
    priority 100
    version 3
    advert_int 0.1
    virtual_ipaddress {
        %s/24
    }
}
`, b.ip4, a.ip4, ifname, vrid, vip4)
	gvConf := fmt.Sprintf(`global_defs {
    router_id bfd_b
}
bfd_instance to_a {
    neighbor_ip %s
    source_ip %s
    min_rx 50
    min_tx 50
    idle_tx 1000
    multiplier 3
}
vrrp_instance VI_BFD {
    state BACKUP
    interface %s
    virtual_router_id %d
    priority 150
    version 3
    advert_int 0.1
    track_bfd {
        to_a weight -60
    }
    virtual_ipaddress {
        %s/24
    }
}
`, a.ip4, b.ip4, ifname, vrid, vip4)

	startKeepalivedWithBFD(t, a, kaConf)
	b.start(gvConf, 150)
	all := []*node{a, b}
	every := 10 * time.Millisecond

	// Session Up (both sides active, 50 ms), then b preempts.
	t0 := time.Now()
	if err := waitOwner(startupMargin, every, vip4, "b", all...); err != nil {
		fail(t, fmt.Sprintf("session never brought the VIP to b: %v; status: %+v", err, bfdStatus(t, b)), all...)
	}
	if s := bfdStatus(t, b); len(s) != 1 || s[0].State != "Up" || s[0].Neighbor != a.ip4.String() || s[0].DetectUs != 150000 {
		t.Errorf("b's BFD session in status = %+v, want Up toward %s, detection time 150 ms", s, a.ip4)
	}

	drop := "add table inet gvbfd\nadd chain inet gvbfd in { type filter hook input priority 0; }\nadd rule inet gvbfd in udp dport 3784 drop\n"
	t1 := time.Now()
	nft(t, a, drop)
	if err := waitOwner(startupMargin, every, vip4, "a", all...); err != nil {
		fail(t, fmt.Sprintf("BFD dropped at a: %v; status: %+v", err, bfdStatus(t, b)), all...)
	}
	st, err := b.status()
	if err != nil || st.State != "BACKUP" || st.EffectivePriority != 90 {
		fail(t, fmt.Sprintf("b with the session down: %+v %v, want BACKUP at 90", st, err), all...)
	}

	t2 := time.Now()
	nft(t, a, "delete table inet gvbfd\n")
	if err := waitOwner(startupMargin, every, vip4, "b", all...); err != nil {
		fail(t, fmt.Sprintf("BFD restored: %v; status: %+v", err, bfdStatus(t, b)), all...)
	}
	// Measured, not asserted: start-up to VIP on b, BFD dropped to VIP on
	// a, BFD restored to VIP on b.
	t.Logf("VIP on b %v after start; on a %v after the drop; back on b %v after the restore",
		t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
}

// startKeepalivedWithBFD runs keepalived without -P (netlab's StartKeepalived
// runs the VRRP process only), so its BFD process runs the bfd_instance.
func startKeepalivedWithBFD(t *testing.T, n *node, conf string) {
	t.Helper()
	dir := n.host.Lab().Dir()
	file := filepath.Join(dir, n.name+"-keepalived-bfd.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p1, p2, p3 := n.host.KeepalivedPidFiles()
	bfdPid := filepath.Join(dir, n.name+"-keepalived-bfd.pid")
	bin, err := netlab.LookPath("keepalived")
	if err != nil {
		t.Fatal(err)
	}
	p, err := n.host.Start("keepalived", bin, "-n", "-l", "-D", "--no-syslog", "-f", file, "-p", p1, "-r", p2, "-c", p3, "-b", bfdPid)
	if err != nil {
		t.Fatalf("interop: keepalived with BFD on %s: %v", n.name, err)
	}
	n.proc = p
	n.procs = append(n.procs, p)
}

// nft runs an nftables script in n's namespace.
func nft(t *testing.T, n *node, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f := filepath.Join(n.host.Lab().Dir(), n.name+"-bfd.nft")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := n.host.Exec(ctx, "nft", "-f", f); err != nil {
		t.Fatalf("nft on %s: %v: %s", n.name, err, out)
	}
}

// bfdStatus is the "bfd" part of `govrrp status --json` (nil when status
// fails: the caller's check then fails with it).
func bfdStatus(t *testing.T, n *node) []control.BFDSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.host.Exec(ctx, govrrpBin(t), "status", "--socket", n.host.GovrrpSocket(), "--json")
	if err != nil {
		t.Logf("status of %s: %v: %s", n.name, err, out)
		return nil
	}
	var doc struct {
		BFD []control.BFDSession `json:"bfd"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Logf("status of %s: %v: %s", n.name, err, out)
		return nil
	}
	return doc.BFD
}
