package vip

import (
	"context"
	"errors"
	"net"
	"testing"
)

// fakeWatch is a link subscription the test drives.
type fakeWatch struct {
	changed func(bool)
	fail    bool
}

func (w *fakeWatch) watch(changed func(bool), _ <-chan struct{}) error {
	if w.fail {
		return errors.New("no netlink")
	}
	w.changed = changed
	return nil
}

// 255 bursts on one interface cost one lookup while the link stays as it
// is; a link change empties the cache (the next send sees the new MAC); a
// failed subscription caches nothing.
func TestAnnouncerInterfaceCache(t *testing.T) {
	f := &fakeNet{ifis: twoIfis()}
	n := newFakeAnnouncer(f)
	w := &fakeWatch{}
	n.watch = w.watch
	defer n.Close()
	vips := []Address{addr("192.0.2.10/32", "eth0"), addr("2001:db8::10/128", "eth0")}
	for range 255 {
		if err := n.AnnounceBurst(context.Background(), vips, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.ifis.lookups.Load(); got != 1 {
		t.Errorf("255 bursts: %d interface lookups, want 1", got)
	}
	f.ifis["eth0"].HardwareAddr = net.HardwareAddr{2, 0, 0, 0, 0, 9}
	w.changed(false) // RTM_NEWLINK: the MAC changed
	ifi, err := n.lookupDev("eth0")
	if err != nil || ifi.HardwareAddr.String() != "02:00:00:00:00:09" {
		t.Errorf("after a link change: %v, %v; want the new MAC", ifi, err)
	}
	if got := n.ifis.lookups.Load(); got != 2 {
		t.Errorf("lookups %d after a change, want 2", got)
	}
	w.changed(true) // the subscription ended: no more caching
	for range 3 {
		_ = n.Announce(vips[0])
	}
	if got := n.ifis.lookups.Load(); got != 5 {
		t.Errorf("lookups %d without a subscription, want 5", got)
	}

	off := newFakeAnnouncer(&fakeNet{ifis: twoIfis()})
	off.watch = (&fakeWatch{fail: true}).watch
	defer off.Close()
	for range 3 {
		_ = off.Announce(vips[0])
	}
	if got := off.ifis.lookups.Load(); got != 3 {
		t.Errorf("failed subscription: %d lookups for 3 sends, want 3", got)
	}
}

// A cached interface that was re-created (the change not read yet): the
// failed write looks it up again and the announcement still goes out.
func TestAnnouncerStaleCacheRetries(t *testing.T) {
	f := &fakeNet{ifis: twoIfis()}
	n := newFakeAnnouncer(f)
	n.watch = (&fakeWatch{}).watch
	defer n.Close()
	a := addr("192.0.2.10/32", "eth0")
	if err := n.Announce(a); err != nil {
		t.Fatal(err)
	}
	f.ifis["eth0"].Index = 9 // re-created; no event yet
	f.failNext = 2           // the stale socket fails twice (send's own retry)
	if err := n.Announce(a); err != nil {
		t.Fatalf("announce after re-create: %v", err)
	}
	if last := f.log[len(f.log)-1]; last != "garp 192.0.2.10 eth0#9" {
		t.Errorf("last send %q, want on the new index 9\n%v", last, f.log)
	}
}
