package daemon

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
)

// keepalived's vrrp_startup_delay: the instance stays in INIT (no adverts
// sent or acted on) for the delay, then starts as usual: here BACKUP for
// Master_Down_Interval (3 s + skew 0.5 s at priority 128), then MASTER.
func TestVRRPStartupDelay(t *testing.T) {
	for _, tc := range []struct {
		delay     string
		masterAt  time.Duration
		wantState map[time.Duration]string
	}{
		{"", 3500 * time.Millisecond, map[time.Duration]string{3400 * time.Millisecond: "BACKUP", 3600 * time.Millisecond: "MASTER"}},
		{"5", 8500 * time.Millisecond, map[time.Duration]string{
			4900 * time.Millisecond: "INIT", 5100 * time.Millisecond: "BACKUP", 8400 * time.Millisecond: "BACKUP", 8600 * time.Millisecond: "MASTER"}},
	} {
		t.Run("delay "+tc.delay, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				p := newPeer(t, seg, "192.0.2.50")
				conf := fmt.Sprintf(twoNodeConf, "BACKUP", 128, "1", "version 3")
				if tc.delay != "" {
					conf = "global_defs {\n vrrp_startup_delay " + tc.delay + "\n}\n" + conf
				}
				start := time.Now()
				a := startNode(t, seg, "192.0.2.11", conf)
				for _, at := range []time.Duration{3400 * time.Millisecond, 3600 * time.Millisecond, 4900 * time.Millisecond,
					5100 * time.Millisecond, 8400 * time.Millisecond, 8600 * time.Millisecond} {
					time.Sleep(time.Until(start.Add(at)))
					want, ok := tc.wantState[at]
					if got := a.state(); ok && got != want {
						t.Errorf("+%v: state %s, want %s", at, got, want)
					}
				}
				if got := p.between(0, tc.masterAt-time.Millisecond); len(got) != 0 {
					t.Errorf("adverts before +%v: %v, want none", tc.masterAt, got)
				}
				a.stop(t)
			})
		})
	}
}

// keepalived's log_unknown_vrids: govrrp always logs adverts for VRIDs no
// instance on the socket runs (rate-limited) and counts them per socket.
func TestUnknownVRIDLoggedAndCounted(t *testing.T) {
	var buf bytes.Buffer
	d := &Daemon{log: slog.New(slog.NewTextHandler(&buf, nil))}
	sock := &socketStats{Interface: "eth0", Family: "inet", drops: map[string]uint64{}}
	h := d.unknownReceiver(sock)
	h([]byte{0x31, 52, 100, 0, 0, 100, 0, 0}, transport.Meta{Src: netip.MustParseAddr("192.0.2.66"), TTL: 255})
	if !strings.Contains(buf.String(), "reason=unknown_vrid") || !strings.Contains(buf.String(), "from=192.0.2.66") {
		t.Errorf("log %q lacks the unknown-VRID drop", buf.String())
	}
	if got := sock.snapshot()["unknown_vrid"]; got != 1 {
		t.Errorf("unknown_vrid count %d, want 1", got)
	}
}

// keepalived's unicast_fault_no_peer: without peers the instance stays in
// FAULT and sends nothing (keepalived 2.2.7 also with the flag alone).
func TestUnicastFaultNoPeer(t *testing.T) {
	for _, tc := range []struct{ extra, want string }{
		{"unicast_fault_no_peer", "FAULT"},
		{"unicast_src_ip 192.0.2.11\n unicast_peer {\n }\n unicast_fault_no_peer", "FAULT"},
		{"unicast_src_ip 192.0.2.11\n unicast_peer {\n 192.0.2.50\n }\n unicast_fault_no_peer", "MASTER"},
		{"", "MASTER"},
	} {
		t.Run(tc.extra, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				p := newPeer(t, seg, "192.0.2.50")
				a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "BACKUP", 150, "1", "version 3\n "+tc.extra))
				time.Sleep(6 * time.Second)
				if got := a.state(); got != tc.want {
					t.Errorf("state %s, want %s", got, tc.want)
				}
				if sent := len(p.between(0, 6*time.Second)); (sent > 0) != (tc.want == "MASTER") {
					t.Errorf("%d adverts sent in state %s", sent, tc.want)
				}
				if a.addrs.holds("192.0.2.100/24") != (tc.want == "MASTER") {
					t.Errorf("VIP held %v in state %s", a.addrs.holds("192.0.2.100/24"), tc.want)
				}
				a.stop(t)
			})
		})
	}
}
