package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// fakeVMACs records what the daemon asks of the VMAC links.
type fakeVMACs struct {
	mu     sync.Mutex
	calls  []string
	exists map[string]bool
}

func (f *fakeVMACs) Ensure(v vip.VMAC) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("ensure %s on %s %s", v.Name, v.Parent, v.MAC()))
	reused := f.exists[v.Name]
	f.exists[v.Name] = true
	return reused, nil
}

func (f *fakeVMACs) Delete(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "delete "+name)
	delete(f.exists, name)
	return nil
}

func (f *fakeVMACs) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

const vmacNodeConf = `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 0.1
    version 3
    %s
    virtual_ipaddress {
        192.0.2.100/24
        198.51.100.7/32 dev eth1
    }
}
`

// TestVMACLifecycleInDaemon: the VMAC is ensured before the instance's
// socket opens, the socket and the VIPs without another dev are on it, and
// it is deleted when the daemon stops and when a reload removes the
// instance.
func TestVMACLifecycleInDaemon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		links := &fakeVMACs{exists: map[string]bool{}}
		with := func(dp *deps) { dp.vmacs = links }
		a := startNodeWith(t, seg, "192.0.2.11", fmt.Sprintf(vmacNodeConf, 150, "use_vmac"), with)
		time.Sleep(time.Second)
		if a.state() != "MASTER" {
			t.Fatalf("state %s, want MASTER", a.state())
		}
		in := a.d.instances[0]
		if in.sockCfg.Interface != "vrrp.51" {
			t.Errorf("socket on %q, want the VMAC vrrp.51", in.sockCfg.Interface)
		}
		if got := []string{in.vips[0].Dev, in.vips[1].Dev}; !cmp.Equal(got, []string{"vrrp.51", "eth1"}) {
			t.Errorf("VIP devs %v, want [vrrp.51 eth1] (a VIP with another dev stays there)", got)
		}
		a.stop(t)
		want := []string{"ensure vrrp.51 on eth0 00:00:5e:00:01:33", "delete vrrp.51"}
		if diff := cmp.Diff(want, links.log()); diff != "" {
			t.Errorf("VMAC calls (-want +got):\n%s", diff)
		}
	})
}

// TestVMACReloadRemoves: removing the instance deletes its VMAC; renaming
// the VMAC is a new virtual router (old link deleted, new one ensured).
func TestVMACReloadRemoves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		links := &fakeVMACs{exists: map[string]bool{}}
		n := newNode(t, seg, "192.0.2.11", fmt.Sprintf(vmacNodeConf, 150, "use_vmac vm1"), func(dp *deps) { dp.vmacs = links })
		n.start()
		time.Sleep(time.Second)
		for _, conf := range []string{fmt.Sprintf(vmacNodeConf, 150, "use_vmac vm2"), strings.Replace(fmt.Sprintf(vmacNodeConf, 150, ""), "VI_1", "VI_2", 1)} {
			cfg := loadConf(t, conf)
			done := make(chan error, 1)
			n.d.events <- loopEvent{do: func() { _, err := n.d.apply(cfg); done <- err }}
			if err := <-done; err != nil {
				t.Fatalf("apply: %v", err)
			}
			time.Sleep(time.Second) // the removed master's release ends
		}
		n.stop(t)
		// The renamed instance is the same VRID: the old one's release ends
		// at once (releaseConflicting), so vm1 goes before vm2 comes.
		want := []string{"ensure vm1 on eth0 00:00:5e:00:01:33", "delete vm1", "ensure vm2 on eth0 00:00:5e:00:01:33", "delete vm2"}
		got := links.log()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("VMAC calls (-want +got):\n%s", diff)
		}
	})
}

// TestVMACNeedsSupport: a daemon without VMAC support refuses use_vmac by
// name instead of running without it.
func TestVMACNeedsSupport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		n := newNode(t, seg, "192.0.2.11", fmt.Sprintf(vmacNodeConf, 150, "use_vmac"), nil)
		n.start()
		err := <-n.done
		if err == nil || !strings.Contains(err.Error(), "use_vmac") {
			t.Fatalf("run = %v, want a use_vmac refusal", err)
		}
	})
}

func TestVMACSocketInterface(t *testing.T) {
	v := &vip.VMAC{Name: "vrrp.9", Parent: "eth0", VRID: 9}
	for _, c := range []struct {
		name string
		in   kaconf.Instance
		v    *vip.VMAC
		want string
	}{
		{"no vmac", kaconf.Instance{}, nil, "eth0"},
		{"vmac", kaconf.Instance{}, v, "vrrp.9"},
		{"xmit base", kaconf.Instance{VMACXmitBase: true}, v, "eth0"},
		{"unicast", kaconf.Instance{UnicastPeers: []kaconf.UnicastPeer{{}}}, v, "eth0"},
	} {
		if got := vmacSocketInterface(&c.in, "eth0", c.v); got != c.want {
			t.Errorf("%s: socket on %s, want %s", c.name, got, c.want)
		}
	}
}

// TestVMACNamesUnique: two instances on one VMAC name are refused, naming
// both, before anything changes.
func TestVMACNamesUnique(t *testing.T) {
	conf := fmt.Sprintf(vmacNodeConf, 150, "use_vmac vmx") + strings.NewReplacer("VI_1", "VI_2", "virtual_router_id 51", "virtual_router_id 52").Replace(fmt.Sprintf(vmacNodeConf, 150, "use_vmac vmx"))
	cfg := loadConf(t, conf)
	d := newDaemon(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, deps{
		lookup: addrLookup{primary: func(string, bool) (netip.Addr, error) { return netip.MustParseAddr("192.0.2.11"), nil }},
	})
	_, err := d.resolveInstances(cfg)
	if err == nil || !strings.Contains(err.Error(), "VI_1 and VI_2 both use VMAC vmx") {
		t.Fatalf("resolveInstances = %v, want both instances named", err)
	}
}

// TestVMACIPv6DefaultName: an IPv4 and an IPv6 instance of VRID 51 with
// default names get vrrp.51 and vrrp6.51 (keepalived 2.2.7); the IPv6 one's
// socket and VIPs follow.
func TestVMACIPv6DefaultName(t *testing.T) {
	conf := fmt.Sprintf(vmacNodeConf, 150, "use_vmac") + `vrrp_instance VI_6 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    version 3
    use_vmac
    virtual_ipaddress {
        2001:db8::100/64
    }
}
`
	cfg := loadConf(t, conf)
	d := newDaemon(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, deps{
		lookup: addrLookup{primary: func(_ string, v6 bool) (netip.Addr, error) {
			if v6 {
				return netip.MustParseAddr("fe80::1"), nil
			}
			return netip.MustParseAddr("192.0.2.11"), nil
		}},
	})
	next, err := d.resolveInstances(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{next[0].vmacName(), next[1].vmacName(), next[1].sockCfg.Interface, next[1].vips[0].Dev}
	if diff := cmp.Diff([]string{"vrrp.51", "vrrp6.51", "vrrp6.51", "vrrp6.51"}, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

// TestVMACGivenMAC: use_vmac NAME MAC uses that MAC; five octets get the
// VRID as the sixth (keepalived).
func TestVMACGivenMAC(t *testing.T) {
	for _, c := range []struct{ arg, want string }{
		{"use_vmac vm1 02:11:22:33:44:55", "02:11:22:33:44:55"},
		{"use_vmac vm1 02:11:22:33:44", "02:11:22:33:44:33"},
		{"use_vmac vm1", "00:00:5e:00:01:33"},
	} {
		cfg := loadConf(t, fmt.Sprintf(vmacNodeConf, 150, c.arg))
		if got := vmacOf(cfg.Instances[0], "eth0", false).MAC().String(); got != c.want {
			t.Errorf("%s: MAC %s, want %s", c.arg, got, c.want)
		}
	}
}
