package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// fakeNet is an in-memory stand-in for interfaces and sockets: every send
// and every socket open/close is appended to log, so a test compares one
// transcript.
type fakeNet struct {
	ifis     map[string]*net.Interface
	log      []string
	failNext int // how many upcoming writes fail
	opens    int
}

func (f *fakeNet) lookup(name string) (*net.Interface, error) {
	ifi, ok := f.ifis[name]
	if !ok {
		return nil, fmt.Errorf("no such interface %q", name)
	}
	c := *ifi
	return &c, nil
}

func (f *fakeNet) write(ifi *net.Interface, what string) error {
	if f.failNext > 0 {
		f.failNext--
		f.log = append(f.log, fmt.Sprintf("fail %s %s#%d", what, ifi.Name, ifi.Index))
		return errors.New("injected write failure")
	}
	f.log = append(f.log, fmt.Sprintf("%s %s#%d", what, ifi.Name, ifi.Index))
	return nil
}

type fakeARP struct {
	f   *fakeNet
	ifi *net.Interface
}

func (w *fakeARP) WriteTo(b []byte, _ net.Addr) (int, error) {
	return len(b), w.f.write(w.ifi, "garp "+garpSenderIP(b))
}

func (w *fakeARP) Close() error {
	w.f.log = append(w.f.log, "close arp "+w.ifi.Name)
	return nil
}

// garpSenderIP extracts the sender IP of a GARP frame (bytes 28..32).
func garpSenderIP(b []byte) string {
	if len(b) < 32 {
		return "short"
	}
	ip, _ := netip.AddrFromSlice(b[28:32])
	return ip.String()
}

type fakeND struct {
	f   *fakeNet
	ifi *net.Interface
}

func (w *fakeND) WriteTo(m ndp.Message, _ *ipv6.ControlMessage, dst netip.Addr) error {
	na := m.(*ndp.NeighborAdvertisement)
	return w.f.write(w.ifi, fmt.Sprintf("na %s->%s", na.TargetAddress, dst))
}

func (w *fakeND) Close() error {
	w.f.log = append(w.f.log, "close nd "+w.ifi.Name)
	return nil
}

func newFakeAnnouncer(f *fakeNet) *Announcer {
	n := NewAnnouncer()
	n.lookup = f.lookup
	n.watch = nil // no link subscription: every send looks up (tests that re-create interfaces)
	n.openARP = func(ifi *net.Interface) (frameWriter, error) {
		f.opens++
		f.log = append(f.log, fmt.Sprintf("open arp %s#%d", ifi.Name, ifi.Index))
		return &fakeARP{f: f, ifi: ifi}, nil
	}
	n.openND = func(ifi *net.Interface) (naWriter, error) {
		f.opens++
		f.log = append(f.log, fmt.Sprintf("open nd %s#%d", ifi.Name, ifi.Index))
		return &fakeND{f: f, ifi: ifi}, nil
	}
	return n
}

func twoIfis() map[string]*net.Interface {
	return map[string]*net.Interface{
		"eth0": {Index: 2, Name: "eth0", HardwareAddr: testMAC},
		"eth1": {Index: 3, Name: "eth1", HardwareAddr: testMAC},
	}
}

func addr(p, dev string) Address { return Address{Prefix: netip.MustParsePrefix(p), Dev: dev} }

func TestAnnounceCachesAndReopens(t *testing.T) {
	f := &fakeNet{ifis: twoIfis()}
	n := newFakeAnnouncer(f)
	steps := []func() error{
		func() error { return n.Announce(addr("192.0.2.10/32", "eth0")) },
		func() error { return n.Announce(addr("192.0.2.11/32", "eth0")) }, // cached socket
		func() error { return n.Announce(addr("2001:db8::10/128", "eth0")) },
		func() error { f.ifis["eth0"].Index = 7; return nil }, // interface re-created
		func() error { return n.Announce(addr("192.0.2.10/32", "eth0")) },
		func() error { f.failNext = 1; return n.Announce(addr("2001:db8::10/128", "eth1")) }, // retried once
		func() error { return n.Close() },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := []string{
		"open arp eth0#2", "garp 192.0.2.10 eth0#2",
		"garp 192.0.2.11 eth0#2",
		"open nd eth0#2", "na 2001:db8::10->ff02::1 eth0#2",
		"close arp eth0", "open arp eth0#7", "garp 192.0.2.10 eth0#7",
		"open nd eth1#3", "fail na 2001:db8::10->ff02::1 eth1#3", "close nd eth1",
		"open nd eth1#3", "na 2001:db8::10->ff02::1 eth1#3",
	}
	// Close order over maps is random: compare the sends, then the closes.
	if diff := cmp.Diff(want, f.log[:len(want)]); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(3, len(f.log)-len(want)); diff != "" {
		t.Errorf("closes on Close (-want +got):\n%s\nlog: %q", diff, f.log[len(want):])
	}
	if err := n.Announce(addr("192.0.2.10/32", "eth0")); !errors.Is(err, ErrClosed) {
		t.Errorf("Announce after Close = %v, want ErrClosed", err)
	}
}

func TestAnnounceErrors(t *testing.T) {
	tests := []struct {
		name string
		a    Address
		fail int
	}{
		{name: "no such interface", a: addr("192.0.2.10/32", "eth9")},
		{name: "no prefix", a: Address{Dev: "eth0"}},
		{name: "no dev", a: Address{Prefix: netip.MustParsePrefix("192.0.2.10/32")}},
		{name: "write fails twice", a: addr("192.0.2.10/32", "eth0"), fail: 2},
		{name: "no MAC", a: addr("192.0.2.10/32", "lo")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeNet{ifis: twoIfis(), failNext: tt.fail}
			f.ifis["lo"] = &net.Interface{Index: 1, Name: "lo"}
			n := newFakeAnnouncer(f)
			t.Cleanup(func() { _ = n.Close() })
			if err := n.Announce(tt.a); err == nil {
				t.Fatalf("Announce(%v) = nil, want error; log %q", tt.a, f.log)
			}
		})
	}
}

func TestAnnounceBurst(t *testing.T) {
	tests := []struct {
		name    string
		addrs   []Address
		repeat  int
		fail    int
		want    []string
		wantErr bool
	}{
		{
			name:   "repeat is the outer loop, like keepalived",
			addrs:  []Address{addr("192.0.2.10/32", "eth0"), addr("2001:db8::10/128", "eth1")},
			repeat: 2,
			want: []string{
				"open arp eth0#2", "garp 192.0.2.10 eth0#2",
				"open nd eth1#3", "na 2001:db8::10->ff02::1 eth1#3",
				"garp 192.0.2.10 eth0#2", "na 2001:db8::10->ff02::1 eth1#3",
			},
		},
		{name: "zero repeat sends nothing", addrs: []Address{addr("192.0.2.10/32", "eth0")}, repeat: 0},
		{name: "negative repeat sends nothing", addrs: []Address{addr("192.0.2.10/32", "eth0")}, repeat: -3},
		{
			name:    "bad address does not stop the others",
			addrs:   []Address{addr("192.0.2.10/32", "eth9"), addr("192.0.2.11/32", "eth0")},
			repeat:  2,
			want:    []string{"open arp eth0#2", "garp 192.0.2.11 eth0#2", "garp 192.0.2.11 eth0#2"},
			wantErr: true,
		},
		{
			name:   "failing address is skipped after its retry",
			addrs:  []Address{addr("192.0.2.10/32", "eth0"), addr("2001:db8::10/128", "eth1")},
			repeat: 2,
			fail:   2,
			want: []string{
				"open arp eth0#2", "fail garp 192.0.2.10 eth0#2", "close arp eth0",
				"open arp eth0#2", "fail garp 192.0.2.10 eth0#2", "close arp eth0",
				"open nd eth1#3", "na 2001:db8::10->ff02::1 eth1#3",
				"na 2001:db8::10->ff02::1 eth1#3",
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeNet{ifis: twoIfis(), failNext: tt.fail}
			n := newFakeAnnouncer(f)
			err := n.AnnounceBurst(context.Background(), tt.addrs, tt.repeat)
			if (err != nil) != tt.wantErr {
				t.Fatalf("AnnounceBurst error = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, f.log); diff != "" {
				t.Errorf("transcript (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnnounceBurstCancelled(t *testing.T) {
	f := &fakeNet{ifis: twoIfis()}
	n := newFakeAnnouncer(f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := n.AnnounceBurst(ctx, []Address{addr("192.0.2.10/32", "eth0")}, 5)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("AnnounceBurst on cancelled ctx = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff([]string(nil), f.log); diff != "" {
		t.Errorf("sent after cancel (-want +got):\n%s", diff)
	}
}
