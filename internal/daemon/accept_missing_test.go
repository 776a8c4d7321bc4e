package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/firewall"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// lockedBuf is a log sink the loop's goroutine writes while the test reads.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines is the log lines containing s.
func (l *lockedBuf) lines(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ln := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(ln, s) {
			out = append(out, ln)
		}
	}
	return out
}

// goneFirewall is a firewaller whose Unresolved reports every link-local
// drop on an interface in gone, as the nft one does for a missing link.
type goneFirewall struct {
	dropRecorder
	mu   sync.Mutex
	gone map[string]bool
}

func (g *goneFirewall) Unresolved(_ firewall.Config, drops []firewall.Drop) []firewall.Drop {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []firewall.Drop
	for _, d := range drops {
		if d.Addr.IsLinkLocalUnicast() && !d.ByName && g.gone[d.Ifname] {
			out = append(out, d)
		}
	}
	return out
}

func (g *goneFirewall) set(ifname string, gone bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gone[ifname] = gone
}

const missingWarn = "no_accept: interface missing"

// TestAcceptWarnsMissingInterface: when the firewall leaves a link-local
// VIP's drop out because its interface is missing (firewall.Table.Replace
// skips it, so the VIP is reachable though no_accept says otherwise), the
// daemon says so at once, naming the instance, the interface and the VIPs;
// a global VIP is never reported.
func TestAcceptWarnsMissingInterface(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf := `global_defs {
    nftables_ifindex
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    version 3
    no_accept
    dont_track_primary
    virtual_ipaddress {
        2001:db8::51/64
        fe80::51/64
        fe80::52/64
    }
}
`
		fw := &goneFirewall{gone: map[string]bool{"eth0": true}}
		var logs lockedBuf
		n := newNode(t, transport.NewSegment(), "fe80::11", conf, nil)
		n.d.log = slog.New(slog.NewTextHandler(&logs, nil))
		n.d.accept.fw = fw
		n.start()
		time.Sleep(5 * time.Second)
		if got := n.state(); got != "MASTER" {
			t.Fatalf("state %s, want MASTER", got)
		}
		got := logs.lines(missingWarn)
		if len(got) != 1 {
			t.Fatalf("want one warning (start-up and takeover are within a minute), got %q", got)
		}
		for _, w := range []string{"instance=VI_1", "interface=eth0", "fe80::51", "fe80::52"} {
			if !strings.Contains(got[0], w) {
				t.Errorf("warning %q lacks %q", got[0], w)
			}
		}
		if strings.Contains(got[0], "2001:db8::51") {
			t.Errorf("warning %q names a global VIP, which is dropped without an interface", got[0])
		}
		n.stop(t)
	})
}

// TestAcceptMissingRateLimit: one (instance, interface) pair is warned
// about once, then at most every missingLogEvery while it stays missing;
// once resolved, its next loss warns at once; another instance on the same
// interface has its own line, an accepting instance none.
func TestAcceptMissingRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs lockedBuf
		fw := &goneFirewall{gone: map[string]bool{"eth1": true}}
		inst := func(name string, accept bool, addr string) *instance {
			return &instance{name: name, cfg: &kaconf.Instance{Name: name, Priority: 100, Accept: &accept},
				vips: []vip.Address{{Prefix: netip.MustParsePrefix(addr), Dev: "eth1"}}}
		}
		d := &Daemon{ctx: context.Background(), log: slog.New(slog.NewTextHandler(&logs, nil)),
			instances: []*instance{inst("A", false, "fe80::a/64"), inst("B", false, "fe80::b/64"), inst("C", true, "fe80::c/64")}}
		d.accept.fw = fw
		drops := []firewall.Drop{{Addr: netip.MustParseAddr("fe80::a"), Ifname: "eth1"}, {Addr: netip.MustParseAddr("fe80::b"), Ifname: "eth1"}}
		warned := func() (a, b int) {
			for _, l := range logs.lines(missingWarn) {
				switch {
				case strings.Contains(l, "instance=A"):
					a++
				case strings.Contains(l, "instance=B"):
					b++
				default:
					t.Errorf("unexpected warning %q", l)
				}
			}
			return a, b
		}
		step := func(what string, wantA, wantB int) {
			t.Helper()
			d.acceptWarnMissing(firewall.Config{}, drops)
			if a, b := warned(); a != wantA || b != wantB {
				t.Errorf("%s: warnings A %d, B %d; want %d, %d", what, a, b, wantA, wantB)
			}
		}
		step("first loss", 1, 1)
		step("again at once", 1, 1)
		time.Sleep(missingLogEvery - time.Second)
		step("within the interval", 1, 1)
		time.Sleep(time.Second)
		step("interval over", 2, 2)
		fw.set("eth1", false)
		step("resolved", 2, 2)
		fw.set("eth1", true)
		step("lost again", 3, 3)
	})
}
