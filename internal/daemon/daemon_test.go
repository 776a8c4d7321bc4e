package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// fakeAddrs is an interface's address table.
type fakeAddrs struct {
	mu  sync.Mutex
	set map[netip.Prefix]bool
}

func (f *fakeAddrs) Add(a vip.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set[a.Prefix] = true
	return nil
}

func (f *fakeAddrs) Remove(a vip.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.set, a.Prefix)
	return nil
}

func (f *fakeAddrs) Has(a vip.Address) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set[a.Prefix], nil
}

// list is the addresses present, sorted.
func (f *fakeAddrs) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for p := range f.set {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}

func (f *fakeAddrs) holds(p string) bool {
	ok, _ := f.Has(vip.Address{Prefix: netip.MustParsePrefix(p)})
	return ok
}

// fakeAnnouncer records each burst as "+ELAPSED×REPEAT" since start.
type fakeAnnouncer struct {
	mu     sync.Mutex
	start  time.Time
	bursts []string
}

func (f *fakeAnnouncer) AnnounceBurst(_ context.Context, _ []vip.Address, repeat int) error {
	f.mu.Lock()
	f.bursts = append(f.bursts, fmt.Sprintf("+%v×%d", time.Since(f.start).Round(100*time.Millisecond), repeat))
	f.mu.Unlock()
	return nil
}

func (f *fakeAnnouncer) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bursts...)
}

func (f *fakeAnnouncer) Close() error { return nil }

// node is one daemon on an in-memory segment.
type node struct {
	d        *Daemon
	addrs    *fakeAddrs
	garp     *fakeAnnouncer
	cancel   context.CancelFunc
	done     chan error
	confPath string               // the file it runs; rewrite it and reload
	socket   string               // control socket; none when empty
	reg      *prometheus.Registry // the daemon's metrics, when the test made them
}

const twoNodeConf = `vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int %s
    %s
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

func loadConf(t *testing.T, text string) *kaconf.Config {
	t.Helper()
	cfg, _ := loadConfPath(t, text)
	return cfg
}

// loadConfPath is loadConf also giving the file it wrote (for reloads).
func loadConfPath(t *testing.T, text string) (*kaconf.Config, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := kaconf.Load(path, kaconf.LoadOptions{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg, path
}

func startNode(t *testing.T, seg *transport.Segment, src string, conf string, preset ...string) *node {
	t.Helper()
	return startNodeWith(t, seg, src, conf, nil, preset...)
}

// startNodeWith is startNode with the daemon's dependencies adjusted by
// with (trackers, notifier) before it starts.
func startNodeWith(t *testing.T, seg *transport.Segment, src string, conf string, with func(*deps), preset ...string) *node {
	t.Helper()
	n := newNode(t, seg, src, conf, with, preset...)
	n.start()
	return n
}

// newNode builds a node's daemon without starting it.
func newNode(t *testing.T, seg *transport.Segment, src string, conf string, with func(*deps), preset ...string) *node {
	t.Helper()
	addr := netip.MustParseAddr(src)
	n := &node{addrs: &fakeAddrs{set: map[netip.Prefix]bool{}}, garp: &fakeAnnouncer{start: time.Now()}, done: make(chan error, 1)}
	for _, p := range preset {
		n.addrs.set[netip.MustParsePrefix(p)] = true
	}
	dp := deps{
		listen:   seg.Listener(addr),
		addrs:    n.addrs,
		announce: n.garp,
		lookup: addrLookup{
			primary:     func(string, bool) (netip.Addr, error) { return addr, nil },
			interfaceOf: func(netip.Addr) (string, error) { return "eth0", nil },
		},
	}
	if with != nil {
		with(&dp)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", src)
	}
	cfg, path := loadConfPath(t, conf)
	n.confPath = path
	n.d = newDaemon(cfg, Options{Logger: log, ConfigPath: path}, dp)
	return n
}

// start runs the node's daemon (newNode leaves it unstarted).
func (n *node) start() {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	socket := n.socket
	if socket == "" {
		socket = noControl
	}
	go func() { n.done <- n.d.run(ctx, Options{SocketPath: socket}, signals{}) }()
}

func (n *node) stop(t *testing.T) {
	t.Helper()
	n.cancel()
	if err := <-n.done; err != nil {
		t.Fatalf("daemon: %v", err)
	}
}

func (n *node) state() string {
	n.d.events <- loopEvent{do: func() {}} // let the loop drain what is queued
	synctest.Wait()
	return n.d.instances[0].snapshot().State
}

func TestTwoNodesElectFailOverAndPreempt(t *testing.T) {
	for _, tc := range []struct {
		name, interval, extra string
		adver                 time.Duration
	}{
		{"v2", "1", "authentication {\n auth_type PASS\n auth_pass secret99\n }", time.Second},
		{"v3", "0.1", "version 3", 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, tc.interval, tc.extra))
				b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, tc.interval, tc.extra))

				time.Sleep(5 * tc.adver)
				if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
					t.Fatalf("after election states = %v, want [MASTER BACKUP]", got)
				}
				if !a.addrs.holds("192.0.2.100/24") || b.addrs.holds("192.0.2.100/24") {
					t.Fatalf("VIP on a=%v b=%v, want only a", a.addrs.holds("192.0.2.100/24"), b.addrs.holds("192.0.2.100/24"))
				}

				// Graceful stop: the priority-0 advert lets b take over after
				// skew time, well before its master-down interval.
				stopped := time.Now()
				a.stop(t)
				if a.addrs.holds("192.0.2.100/24") {
					t.Fatal("stopped master kept its VIP")
				}
				skew := time.Duration(256-100) * tc.adver / 256
				if tc.name == "v2" {
					skew = time.Duration(256-100) * time.Second / 256
				}
				time.Sleep(skew + time.Millisecond)
				if b.state() != "MASTER" || !b.addrs.holds("192.0.2.100/24") {
					t.Fatalf("%v after a's stop b is %s (VIP %v), want MASTER with the VIP", time.Since(stopped), b.state(), b.addrs.holds("192.0.2.100/24"))
				}

				// The higher-priority node comes back and preempts.
				a = startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, tc.interval, tc.extra))
				time.Sleep(5 * tc.adver)
				if got := []string{a.state(), b.state()}; !cmp.Equal(got, []string{"MASTER", "BACKUP"}) {
					t.Fatalf("after restart states = %v, want [MASTER BACKUP]", got)
				}
				if b.addrs.holds("192.0.2.100/24") {
					t.Fatal("backup kept the VIP after being preempted")
				}
				a.stop(t)
				b.stop(t)
				if a.addrs.holds("192.0.2.100/24") || b.addrs.holds("192.0.2.100/24") {
					t.Fatal("a VIP is left after both stopped")
				}
			})
		})
	}
}

// A node restarted after a crash finds its old VIP still configured; as a
// backup it must remove it at once, not after a master-down interval.
func TestStaleVIPRemovedAtStartupAsBackup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "0.1", "version 3"))
		time.Sleep(time.Second)
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "0.1", "version 3"), "192.0.2.100/24")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if b.addrs.holds("192.0.2.100/24") {
			t.Fatal("backup kept a stale VIP after start-up")
		}
		if b.state() != "BACKUP" || a.state() != "MASTER" {
			t.Fatalf("states a=%s b=%s", a.state(), b.state())
		}
		a.stop(t)
		b.stop(t)
	})
}

// Malformed and forged adverts are dropped with a reason and never move the
// VIP; a well-formed higher-priority advert does.
func TestForgedAdvertsNeverMoveTheVIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "0.1", "version 3"))
		attacker := seg.Attach(netip.MustParseAddr("192.0.2.66")).(*transport.SegmentConn)
		time.Sleep(time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("a is %s, want MASTER", a.state())
		}
		src, dst := netip.MustParseAddr("192.0.2.66"), vrrp.MulticastIPv4
		good := func(prio uint8, vrid uint8, interval time.Duration) []byte {
			adv := vrrp.Advert{Version: vrrp.V3, VRID: vrid, Priority: prio, AdverInt: interval, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
			b, err := adv.AppendMarshal(nil, vrrp.MarshalOptions{Family: vrrp.IPv4, Src: src, Dst: dst})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		flip := func(b []byte, i int, v byte) []byte { c := append([]byte(nil), b...); c[i] = v; return c }
		forged := []struct {
			name   string
			ttl    int
			packet []byte
			reason string
		}{
			{"ttl 64", 64, good(254, 51, 100*time.Millisecond), "ttl"},
			{"bad checksum", 255, flip(good(254, 51, 100*time.Millisecond), 6, 0xde), "checksum"},
			{"truncated", 255, good(254, 51, 100*time.Millisecond)[:10], "length"},
			{"wrong version", 255, flip(good(254, 51, 100*time.Millisecond), 0, 0x41), "version"},
			{"wrong type", 255, flip(good(254, 51, 100*time.Millisecond), 0, 0x32), "type"},
			{"lying count", 255, flip(good(254, 51, 100*time.Millisecond), 3, 4), "length"},
			{"zero interval", 255, good(254, 51, 0), "zero_interval"},
			{"unknown vrid", 255, good(254, 52, 100*time.Millisecond), "unknown_vrid"},
		}
		for _, f := range forged {
			for range 20 {
				if err := attacker.WriteWithTTL(f.packet, src, dst, f.ttl); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		synctest.Wait()
		if a.state() != "MASTER" || !a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("forged adverts moved the master: state %s", a.state())
		}
		drops := a.d.instances[0].snapshot().Drops
		for reason, n := range a.d.sockets[0].snapshot() {
			drops[reason] += n // adverts for VRIDs no instance runs
		}
		for _, f := range forged {
			if drops[f.reason] == 0 {
				t.Errorf("%s: no drop counted under %q (drops %v)", f.name, f.reason, drops)
			}
		}

		for range 5 {
			attacker.WriteWithTTL(good(200, 51, 100*time.Millisecond), src, dst, 255)
			time.Sleep(100 * time.Millisecond)
		}
		if a.state() != "BACKUP" || a.addrs.holds("192.0.2.100/24") {
			t.Fatalf("a well-formed priority-200 advert did not make the master yield: %s", a.state())
		}
		a.stop(t)
	})
}

// The backup's per-advert path (machine, timer re-arm, stats) must not
// allocate: at 10 ms adverts and hundreds of instances it is the hot loop.
func TestBackupAdvertPathAllocationFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		n := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "0.1", "version 3"))
		n.state() // started
		master := netip.MustParseAddr("192.0.2.11")
		done := make(chan float64)
		n.d.events <- loopEvent{do: func() {
			in := n.d.instances[0]
			done <- testing.AllocsPerRun(100, func() {
				n.d.handle(in, fsmAdvert(150, master))
			})
		}}
		if allocs := <-done; allocs != 0 {
			t.Errorf("backup advert path: %v allocs per advert, want 0", allocs)
		}
		n.stop(t)
	})
}

func fsmAdvert(prio uint8, src netip.Addr) fsm.Event {
	return fsm.Advert(prio, 100*time.Millisecond, src)
}

func TestRefusesKeywordsNotActedOn(t *testing.T) {
	cfg := loadConf(t, `global_defs {
    notification_email {
        ops@example.org
    }
}
vrrp_sync_group G {
    group {
        VI_1
    }
    track_bfd {
        b1
    }
}
`+fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", "use_ipvlan"))
	// A global_defs keyword not acted on is refused like any other (which
	// ones remain changes as they are implemented: this use is made up).
	cfg.NotActedOn = append(cfg.NotActedOn, kaconf.KeywordUse{Block: "global_defs", Name: "some_global", Pos: kaconf.Pos{File: "keepalived.conf", Line: 3, Col: 5}})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	err := checkNotActedOn(log, cfg, false)
	if err == nil {
		t.Fatal("a file with use_ipvlan and a sync group's track_bfd was accepted")
	}
	for _, want := range []string{"keepalived.conf:20:5: use_ipvlan (in vrrp_instance)", "keepalived.conf:3:5: some_global (in global_defs)", "--allow-unimplemented"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// track_bfd is acted on since issue 10's BFD (daemon/bfd.go).
	if strings.Contains(err.Error(), "notification_email") || strings.Contains(err.Error(), "track_bfd") {
		t.Errorf("a keyword govrrp acts on was refused:\n%v", err)
	}
	if err := checkNotActedOn(log, cfg, true); err != nil {
		t.Errorf("with --allow-unimplemented: %v", err)
	}
}

// keepalived's announcement schedule: garp_master_repeat on becoming master,
// the same again after garp_master_delay, then garp_master_refresh_repeat
// every garp_master_refresh while still master; nothing once it is not.
func TestGratuitousARPSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		garp := "version 3\n garp_master_repeat 3\n garp_master_delay 5\n garp_master_refresh 10\n garp_master_refresh_repeat 2"
		a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", garp))
		time.Sleep(28 * time.Second)
		// Master after the 3.4 s master-down interval; bursts at +3.4, +8.4,
		// then refreshes at +18.4 and +28.4 fall after the sleep's end.
		want := []string{"+3.4s×3", "+8.4s×3", "+18.4s×2"}
		if diff := cmp.Diff(want, a.garp.log()); diff != "" {
			t.Errorf("bursts (-want +got):\n%s", diff)
		}

		a.stop(t)

		// A higher-priority node takes over before a's second burst is due:
		// the demoted node must not announce the VIP again.
		a = startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", garp))
		time.Sleep(4400 * time.Millisecond) // a masters at +3.4 s
		b := startNode(t, seg, "192.0.2.12", fmt.Sprintf(twoNodeConf, "BACKUP", 200, "1", garp))
		time.Sleep(25 * time.Second) // b preempts at about +7.6 s, before a's +8.4 s burst
		if a.state() != "BACKUP" || b.state() != "MASTER" {
			t.Fatalf("states a=%s b=%s, want BACKUP MASTER", a.state(), b.state())
		}
		if diff := cmp.Diff([]string{"+3.4s×3"}, a.garp.log()); diff != "" {
			t.Errorf("demoted node's bursts (-want +got):\n%s", diff)
		}
		a.stop(t)
		b.stop(t)
	})
}

func TestNewInstanceResolvesAddresses(t *testing.T) {
	lookup := addrLookup{
		primary: func(ifname string, ipv6 bool) (netip.Addr, error) {
			if ipv6 {
				return netip.MustParseAddr("fe80::1"), nil
			}
			return netip.MustParseAddr("192.0.2.11"), nil
		},
		interfaceOf: func(a netip.Addr) (string, error) {
			if a == netip.MustParseAddr("192.0.2.21") {
				return "eth7", nil
			}
			return "", fmt.Errorf("no interface has %s", a)
		},
	}
	type resolved struct {
		Ifname, Src string
		Dsts, VIPs  []string
		Multicast   bool
	}
	tests := []struct {
		name, body string
		want       resolved
	}{
		{"multicast v4, primary address", "interface eth0\n virtual_ipaddress {\n 192.0.2.100/24\n 192.0.2.101 dev eth1\n }",
			resolved{"eth0", "192.0.2.11", []string{"224.0.0.18"}, []string{"192.0.2.100/24 dev eth0", "192.0.2.101/32 dev eth1"}, true}},
		{"mcast_src_ip", "interface eth0\n mcast_src_ip 192.0.2.99\n virtual_ipaddress {\n 192.0.2.100\n }",
			resolved{"eth0", "192.0.2.99", []string{"224.0.0.18"}, []string{"192.0.2.100/32 dev eth0"}, true}},
		{"v6 group carries the zone", "interface eth0\n virtual_ipaddress {\n 2001:db8::100\n }",
			resolved{"eth0", "fe80::1", []string{"ff02::12%eth0"}, []string{"2001:db8::100/128 dev eth0"}, true}},
		{"unicast without interface", "unicast_src_ip 192.0.2.21\n unicast_peer {\n 192.0.2.22\n 192.0.2.23\n }\n virtual_ipaddress {\n 192.0.2.100\n }",
			resolved{"eth7", "192.0.2.21", []string{"192.0.2.22", "192.0.2.23"}, []string{"192.0.2.100/32 dev eth7"}, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConf(t, "vrrp_instance VI_1 {\n virtual_router_id 51\n "+tc.body+"\n}\n")
			in, err := newInstance(cfg.Instances[0], lookup, fsm.ReleaseImmediate)
			if err != nil {
				t.Fatal(err)
			}
			got := resolved{Ifname: in.ifname, Src: in.src.String(), Multicast: in.sockCfg.Multicast}
			for _, d := range in.dsts {
				got.Dsts = append(got.Dsts, d.String())
			}
			for _, v := range in.vips {
				got.VIPs = append(got.VIPs, v.Prefix.String()+" dev "+v.Dev)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// AH is recognised by the reader but govrrp cannot speak it: refusing is
// better than running unauthenticated against AH peers.
func TestNewInstanceRefusesAH(t *testing.T) {
	cfg := loadConf(t, fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", "authentication {\n auth_type AH\n auth_pass secret\n }"))
	_, err := newInstance(cfg.Instances[0], addrLookup{primary: func(string, bool) (netip.Addr, error) { return netip.MustParseAddr("192.0.2.11"), nil }}, fsm.ReleaseImmediate)
	if err == nil || !strings.Contains(err.Error(), "AH is not supported") {
		t.Fatalf("err = %v, want AH refused", err)
	}
}
