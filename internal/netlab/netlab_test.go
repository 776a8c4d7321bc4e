package netlab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	lan4 = netip.MustParsePrefix("192.0.2.0/24")
	lan6 = netip.MustParsePrefix("2001:db8::/64")
	vip  = netip.MustParseAddr("192.0.2.100")
)

func TestCheckPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string // "" = invalid prefix (none)
		want bool   // accepted
	}{
		{"", true},
		{"192.0.2.11/24", true},
		{"198.51.100.7/32", true},
		{"2001:db8::11/64", true},
		{"2001:db8:ffff::1/128", true},
		{"192.0.2.0/23", false}, // wider than the allowed /24
		{"10.0.0.1/8", false},
		{"203.0.113.1/24", false},
		{"2001:db9::1/64", false},
		{"fe80::1/64", false},
	}
	for _, tt := range tests {
		var p netip.Prefix
		if tt.in != "" {
			p = netip.MustParsePrefix(tt.in)
		}
		if diff := cmp.Diff(tt.want, checkPrefix(p) == nil); diff != "" {
			t.Errorf("checkPrefix(%q) accepted mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestWaitFor(t *testing.T) {
	t.Parallel()
	stop := errors.New("broken for good")
	tests := []struct {
		name    string
		cond    func(n int) (bool, error)
		wantErr string // substring; "" = success
		maxN    int    // cond must not be called more often than this
	}{
		{"true at once", func(int) (bool, error) { return true, nil }, "", 1},
		{"true on third try", func(n int) (bool, error) { return n >= 3, nil }, "", 3},
		{"reports last reason", func(n int) (bool, error) { return false, fmt.Errorf("VIP not on B (try %d)", n) },
			"last: VIP not on B", 1000},
		{"never true", func(int) (bool, error) { return false, nil }, "condition never true", 1000},
		{"permanent stops", func(int) (bool, error) { return false, Permanent(stop) }, "broken for good", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := WaitFor(context.Background(), 50*time.Millisecond, time.Millisecond, func() (bool, error) {
				n++
				return tt.cond(n)
			})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && !strings.Contains(got, tt.wantErr) {
				t.Fatalf("WaitFor error = %q, want containing %q", got, tt.wantErr)
			}
			if n > tt.maxN {
				t.Errorf("cond called %d times, want <= %d", n, tt.maxN)
			}
		})
	}
}

// twoHosts builds hosts a (.11) and b (.12) on one segment.
func twoHosts(t *testing.T) (*Lab, *Host, *Host) {
	t.Helper()
	l := New(t)
	seg := l.AddSegment("lan", lan4, lan6)
	a, b := l.AddHost("a"), l.AddHost("b")
	for i, h := range []*Host{a, b} {
		v4 := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i)}), 24)
		v6 := netip.MustParsePrefix(fmt.Sprintf("2001:db8::%d/64", 11+i))
		if err := h.Connect(seg, "eth0", v4, v6); err != nil {
			t.Fatal(err)
		}
	}
	return l, a, b
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestTwoHostsPing(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "ping")
	_, a, b := twoHosts(t)

	got, err := b.Addrs("eth0")
	if err != nil {
		t.Fatal(err)
	}
	var global []netip.Prefix
	for _, p := range got {
		if !p.Addr().IsLinkLocalUnicast() {
			global = append(global, p)
		}
	}
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.12/24"), netip.MustParsePrefix("2001:db8::12/64")}
	if diff := cmp.Diff(want, global, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Errorf("b eth0 addresses (-want +got):\n%s", diff)
	}

	for _, dst := range []string{"192.0.2.12", "2001:db8::12"} {
		if out, err := a.Exec(ctxT(t, 10*time.Second), "ping", "-c1", "-W1", dst); err != nil {
			t.Errorf("a: ping %s: %v\n%s", dst, err, out)
		}
	}
}

func TestProcSignalWait(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "sh")
	l := New(t)
	h := l.AddHost("p")
	// The shell says "ready" once its trap is installed, then idles.
	// "rea""dy" keeps the marker out of the argv that the log header echoes.
	script := `trap 'echo got-term; exit 7' TERM; echo "rea""dy"; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`
	tests := []struct {
		name     string
		argv     []string
		sig      syscall.Signal // 0 = let it exit by itself
		wantCode int
		wantLog  string
	}{
		{"exit by itself", []string{"sh", "-c", "echo bye; exit 3"}, 0, 3, "bye"},
		{"SIGTERM handled", []string{"sh", "-c", script}, syscall.SIGTERM, 7, "got-term"},
		{"SIGKILL", []string{"sh", "-c", script}, syscall.SIGKILL, 128 + 9, "\nready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := h.Start(sanitize(tt.name, 20), tt.argv...)
			if err != nil {
				t.Fatal(err)
			}
			if tt.sig != 0 {
				err := WaitFor(context.Background(), 10*time.Second, 10*time.Millisecond, func() (bool, error) {
					return strings.Contains(p.Log(), "\nready\n"), errors.New("no 'ready' in log")
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Signal(tt.sig); err != nil {
					t.Fatal(err)
				}
			}
			code, err := p.Wait(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantCode, code); diff != "" {
				t.Errorf("exit code (-want +got):\n%s", diff)
			}
			if !strings.Contains(p.Log(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, p.Log())
			}
			if err := p.Signal(syscall.SIGTERM); err == nil {
				t.Errorf("Signal after exit: got nil error")
			}
		})
	}
}

func TestCaptureSeesPing(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "ping", "tcpdump")
	_, a, b := twoHosts(t)
	c, err := b.Capture("eth0", "icmp")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := a.Exec(ctxT(t, 10*time.Second), "ping", "-c1", "-W1", "192.0.2.12"); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	path, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	text, err := ReadPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"192.0.2.11 > 192.0.2.12: ICMP echo request", "192.0.2.12 > 192.0.2.11: ICMP echo reply"} {
		if !strings.Contains(text, want) {
			t.Errorf("capture lacks %q:\n%s", want, text)
		}
	}
}

func TestCloseLeavesNothing(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "sleep")
	l, err := NewStandalone("closetest")
	if err != nil {
		t.Fatal(err)
	}
	seg, err := l.AddSegmentE("lan", lan4, netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := l.AddHostE("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(seg, "eth0", netip.MustParsePrefix("192.0.2.21/24"), netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	p, err := h.Start("sleeper", "sleep", "300")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() {
		t.Errorf("process %d still running after Close", p.Pid())
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v\n%s", err, out)
	}
	if strings.Contains(string(out), l.Prefix()) {
		t.Errorf("namespaces with prefix %s left after Close:\n%s", l.Prefix(), out)
	}
	if _, err := l.AddHostE("late"); err == nil {
		t.Errorf("AddHostE after Close: got nil error")
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConnectRejectsForeignAddresses(t *testing.T) {
	t.Parallel()
	Require(t, "ip")
	l := New(t)
	seg := l.AddSegment("lan", lan4, lan6)
	h := l.AddHost("h")
	tests := []struct{ v4, v6 string }{
		{"10.1.2.3/24", ""},
		{"", "2001:db9::1/64"},
		{"2001:db8::1/64", ""}, // v6 in the v4 slot
	}
	for _, tt := range tests {
		var v4, v6 netip.Prefix
		if tt.v4 != "" {
			v4 = netip.MustParsePrefix(tt.v4)
		}
		if tt.v6 != "" {
			v6 = netip.MustParsePrefix(tt.v6)
		}
		if err := h.Connect(seg, "eth0", v4, v6); err == nil {
			t.Errorf("Connect(%q, %q): got nil error", tt.v4, tt.v6)
		}
	}
}

// kaConf is a one-instance VRRPv3 keepalived.conf with 100 ms adverts.
func kaConf(router string, prio int) string {
	return fmt.Sprintf(`global_defs {
	router_id %s
	vrrp_version 3
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority %d
	advert_int 0.1
	virtual_ipaddress {
		192.0.2.100/24
	}
}
`, router, prio)
}

func TestKeepalivedSingleMaster(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "keepalived")
	l := New(t)
	seg := l.AddSegment("lan", lan4, netip.Prefix{})
	h := l.AddHost("ka")
	if err := h.Connect(seg, "eth0", netip.MustParsePrefix("192.0.2.11/24"), netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	p, err := h.StartKeepalived(kaConf("ka", 150))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.WaitAddr(ctxT(t, 20*time.Second), "eth0", vip, true, 15*time.Second); err != nil {
		t.Fatalf("%v\nlog:\n%s", err, p.Log())
	}
	if !strings.Contains(p.Log(), "Entering MASTER STATE") {
		t.Errorf("keepalived log lacks its MASTER transition (console logging broken?):\n%s", p.Log())
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(10 * time.Second); err != nil || code != 0 {
		t.Errorf("keepalived exit = %d, %v; want 0, nil", code, err)
	}
	if has, err := h.HasAddr("eth0", vip); err != nil || has {
		t.Errorf("VIP after keepalived stop: has=%v err=%v; want false", has, err)
	}
}

func TestKeepalivedPairFailover(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "keepalived")
	_, a, b := twoHosts(t)
	pa, err := a.StartKeepalived(kaConf("a", 150))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.StartKeepalived(kaConf("b", 100)); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 60*time.Second)
	if err := a.WaitAddr(ctx, "eth0", vip, true, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	// Both start as BACKUP with nearly equal master-down timers, so b may
	// briefly win the first election; wait for the settled state.
	if err := b.WaitAddr(ctx, "eth0", vip, false, 15*time.Second); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := pa.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var goneOnA, onB time.Duration
	err = WaitFor(ctx, 15*time.Second, 2*time.Millisecond, func() (bool, error) {
		if goneOnA == 0 {
			if has, err := a.HasAddr("eth0", vip); err == nil && !has {
				goneOnA = time.Since(start)
			}
		}
		has, err := b.HasAddr("eth0", vip)
		if err != nil {
			return false, err
		}
		if has {
			onB = time.Since(start)
			return true, nil
		}
		return false, errors.New("VIP not on b yet")
	})
	if err != nil {
		t.Fatal(err)
	}
	gap := "n/a (a still held it)"
	if goneOnA > 0 {
		gap = (onB - goneOnA).Round(time.Millisecond).String()
	}
	t.Logf("keepalived v3 100ms handover: SIGTERM->VIP on b %v; VIP gone on a at %v; removed on a->present on b %s",
		onB.Round(time.Millisecond), goneOnA.Round(time.Millisecond), gap)
	if code, err := pa.Wait(10 * time.Second); err != nil || code != 0 {
		t.Errorf("keepalived a exit = %d, %v; want 0, nil", code, err)
	}
}

func TestDropVRRPPartition(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "keepalived", "nft")
	_, a, b := twoHosts(t)
	if _, err := a.StartKeepalived(kaConf("a", 150)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.StartKeepalived(kaConf("b", 100)); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 60*time.Second)
	if err := a.WaitAddr(ctx, "eth0", vip, true, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitAddr(ctx, "eth0", vip, false, 15*time.Second); err != nil { // settled as backup
		t.Fatal(err)
	}
	// Partitioned, b no longer hears a and claims the VIP too (split brain).
	if err := b.DropVRRP("eth0", true); err != nil {
		t.Fatal(err)
	}
	if err := b.DropVRRP("eth0", true); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := b.WaitAddr(ctx, "eth0", vip, true, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	// Healed, b hears the higher priority again and steps back.
	if err := b.DropVRRP("eth0", false); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitAddr(ctx, "eth0", vip, false, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.DropVRRP("eth0", false); err != nil { // idempotent
		t.Fatal(err)
	}
}
