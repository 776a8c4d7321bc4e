package track

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// linkMethod is Result.Method for interfaces and addresses.
const linkMethod = "netlink"

// Details reported for interfaces.
const (
	linkUp          = "up"
	linkAdminDown   = "admin down"
	linkCarrierDown = "carrier down"
	linkMissing     = "no such interface"
)

// nlRcvBuf is the receive buffer asked for on the subscription sockets:
// a burst of changes (hundreds of VLANs flapping with their parent) must
// not overflow it. If it does, the kernel says ENOBUFS, the library ends
// the subscription, and Run subscribes again and re-reads the full state.
const nlRcvBuf = 1 << 20

// Backoff between subscription attempts after netlink failed (bounded so
// a transient failure costs little and a permanent one no busy loop).
const (
	nlRetryMin = 100 * time.Millisecond
	nlRetryMax = 5 * time.Second
)

// Links watches interfaces by name over rtnetlink: one subscription to
// link changes for all of them, no polling. An interface is up, as for
// keepalived, when it is administratively up (IFF_UP) and running
// (IFF_RUNNING, which the kernel sets while the operational state is up
// or unknown — so a veth whose peer is down, a cable pulled or a
// LOWERLAYERDOWN VLAN is "carrier down"). Interfaces are followed by
// name: one deleted and re-created under the same name (a new ifindex),
// or renamed to or away from the name, is picked up.
//
// Run watches the network namespace of the OS thread that calls it — the
// daemon's, as started by `ip netns exec`.
type Links struct {
	names []string
}

// NewLinks returns a tracker for the named interfaces.
func NewLinks(names []string) *Links {
	return &Links{names: linkNamesSorted(names)}
}

// Run reports every interface once with its current state, then on every
// change of OK or Detail, until ctx ends.
func (l *Links) Run(ctx context.Context, report Sink) {
	st := newLinkState(l.names, report)
	nlRunSubscribed(ctx, func(ctx context.Context, ns netns.NsHandle) error {
		return l.watch(ctx, ns, st)
	}, st.fail)
}

// nlRunSubscribed calls watch until ctx ends, again after each failure with
// a backoff; fail reports why the state is unknown while watch is down.
func nlRunSubscribed(ctx context.Context, watch func(context.Context, netns.NsHandle) error, fail func(error)) {
	// The namespace handle pins the caller's namespace: re-subscribing
	// later from whatever thread the goroutine is on then still uses it.
	ns, err := netns.Get()
	if err != nil {
		fail(fmt.Errorf("netns: %w", err))
		<-ctx.Done()
		return
	}
	defer ns.Close()
	backoff := nlRetryMin
	for ctx.Err() == nil {
		start := time.Now()
		err := watch(ctx, ns)
		if ctx.Err() != nil {
			return
		}
		fail(err)
		if time.Since(start) > nlRetryMax {
			backoff = nlRetryMin // it worked for a while: retry soon
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, nlRetryMax)
	}
}

// watch subscribes, reads the full state, then follows updates until the
// subscription ends (error) or ctx does (nil).
func (l *Links) watch(ctx context.Context, ns netns.NsHandle, st *linkState) error {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	errc := make(chan error, 1)
	err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
		Namespace:              &ns,
		ErrorCallback:          nlKeepFirstError(errc),
		ReceiveBufferSize:      monitorRcvBufSize(), // netlinkbuf.go
		ReceiveBufferForceSize: monitorRcvBufForce(),
	})
	if err != nil {
		close(done)
		return fmt.Errorf("subscribe: %w", err)
	}
	// The library goroutine may be blocked sending to ch: drain it until it
	// sees its socket closed and closes ch.
	defer func() { close(done); nlDrain(ch) }()

	// Subscribed first, listed second: a change in between is both in the
	// list and queued, and every update carries the whole link state, so
	// applying the queue after the list only ever moves to newer states.
	links, err := listLinks(ns)
	if err != nil {
		return err
	}
	st.resync(links)
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-ch:
			if !ok {
				return nlSubscriptionEnded(errc)
			}
			st.update(u)
		}
	}
}

// nlKeepFirstError is an ErrorCallback that remembers the first error. The
// library calls it from its goroutine, also for errors it survives.
func nlKeepFirstError(errc chan error) func(error) {
	return func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
}

// nlSubscriptionEnded says why the library closed the update channel.
func nlSubscriptionEnded(errc chan error) error {
	select {
	case err := <-errc:
		return fmt.Errorf("subscription ended: %w", err)
	default:
		return errors.New("subscription ended")
	}
}

// nlDrain empties ch until it is closed.
func nlDrain[T any](ch <-chan T) {
	for range ch {
	}
}

func listLinks(ns netns.NsHandle) ([]netlink.Link, error) {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink handle: %w", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	return links, nil
}

// linkState is what is known about the tracked names and what was last
// reported for each.
type linkState struct {
	report   Sink
	tracked  map[string]bool
	names    []string
	flags    map[string]uint32 // present tracked interfaces: ifi_flags
	byIndex  map[int]string    // ifindex -> tracked name it had
	reported map[string]Result
}

func newLinkState(names []string, report Sink) *linkState {
	st := &linkState{report: report, tracked: map[string]bool{}, names: names,
		flags: map[string]uint32{}, byIndex: map[int]string{}, reported: map[string]Result{}}
	for _, n := range names {
		st.tracked[n] = true
	}
	return st
}

// resync replaces everything with a full listing and reports changes.
func (st *linkState) resync(links []netlink.Link) {
	clear(st.flags)
	clear(st.byIndex)
	for _, l := range links {
		a := l.Attrs()
		if st.tracked[a.Name] {
			st.flags[a.Name] = a.RawFlags
			st.byIndex[a.Index] = a.Name
		}
	}
	for _, n := range st.names {
		st.emit(n, nil)
	}
}

// update applies one RTM_NEWLINK/RTM_DELLINK.
func (st *linkState) update(u netlink.LinkUpdate) {
	// AF_BRIDGE messages describe bridge port state: an RTM_DELLINK of
	// that family means "no longer a bridge port", not "deleted".
	if u.Family == unix.AF_BRIDGE || u.Link == nil {
		return
	}
	a := u.Attrs()
	old, had := st.byIndex[a.Index]
	if had && (old != a.Name || u.Header.Type == unix.RTM_DELLINK) {
		// Renamed away from a tracked name, or deleted.
		delete(st.byIndex, a.Index)
		delete(st.flags, old)
		st.emit(old, nil)
	}
	if u.Header.Type == unix.RTM_DELLINK || !st.tracked[a.Name] {
		return
	}
	for i, n := range st.byIndex { // an ifindex whose deletion we missed
		if n == a.Name && i != a.Index {
			delete(st.byIndex, i)
		}
	}
	st.byIndex[a.Index] = a.Name
	st.flags[a.Name] = a.RawFlags
	st.emit(a.Name, nil)
}

// fail reports every interface as unknown because netlink failed.
func (st *linkState) fail(err error) {
	for _, n := range st.names {
		st.emit(n, err)
	}
}

// emit reports name's state if it differs from what was last reported.
func (st *linkState) emit(name string, err error) {
	r := Result{Kind: KindInterface, Name: name, Method: linkMethod}
	if err != nil {
		r.Detail = "netlink error: " + err.Error()
	} else if f, ok := st.flags[name]; ok {
		r.OK, r.Detail = linkVerdict(f)
	} else {
		r.Detail = linkMissing
	}
	if prev, ok := st.reported[name]; ok && prev.OK == r.OK && prev.Detail == r.Detail {
		return
	}
	st.reported[name] = r
	r.At = time.Now()
	st.report(r)
}

// linkVerdict is keepalived's test: IFF_UP and IFF_RUNNING both set.
func linkVerdict(flags uint32) (bool, string) {
	switch {
	case flags&unix.IFF_UP == 0:
		return false, linkAdminDown
	case flags&unix.IFF_RUNNING == 0:
		return false, linkCarrierDown
	}
	return true, linkUp
}

func linkNamesSorted(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Addrs watches whether addresses are configured on interfaces, for
// keepalived's track_src_ip: an instance whose source address
// (unicast_src_ip / mcast_src_ip) disappears goes to FAULT. It subscribes
// to rtnetlink address changes and, when one concerns a watched address,
// re-reads that address's interface; nothing is polled.
//
// Each address is reported with Kind KindInterface and Name "addr:" +
// the address in netip.Addr.String form ("addr:192.0.2.1",
// "addr:2001:db8::1"). OK means present and usable: an IPv6 address that
// is tentative (DAD in progress) or failed DAD cannot be a source yet and
// is reported not OK ("tentative", "duplicate"). An address listed under
// several interfaces is watched on the first in sort order only; the
// interface name "" means any interface.
type Addrs struct {
	want []addrWant
}

type addrWant struct {
	ifname string
	addr   netip.Addr
	name   string // Result.Name
}

// NewAddrs returns a tracker for addresses by interface name.
func NewAddrs(addrs map[string][]netip.Addr) *Addrs {
	ifnames := make([]string, 0, len(addrs))
	for n := range addrs {
		ifnames = append(ifnames, n)
	}
	sort.Strings(ifnames)
	seen := map[netip.Addr]bool{}
	a := &Addrs{}
	for _, ifname := range ifnames {
		for _, ip := range addrs[ifname] {
			ip = ip.Unmap().WithZone("")
			if !ip.IsValid() || seen[ip] {
				continue
			}
			seen[ip] = true
			a.want = append(a.want, addrWant{ifname: ifname, addr: ip, name: AddrResultName(ip)})
		}
	}
	return a
}

// AddrResultPrefix starts the Result.Name of every address Addrs reports.
const AddrResultPrefix = "addr:"

// AddrResultName is the Result.Name under which Addrs reports ip.
func AddrResultName(ip netip.Addr) string { return AddrResultPrefix + ip.Unmap().WithZone("").String() }

// Run reports every address once, then on every change of OK or Detail,
// until ctx ends. Like Links.Run it watches the caller's namespace.
func (a *Addrs) Run(ctx context.Context, report Sink) {
	reported := map[string]Result{}
	emit := func(r Result) {
		r.Kind, r.Method = KindInterface, linkMethod
		if prev, ok := reported[r.Name]; ok && prev.OK == r.OK && prev.Detail == r.Detail {
			return
		}
		reported[r.Name] = r
		r.At = time.Now()
		report(r)
	}
	nlRunSubscribed(ctx, func(ctx context.Context, ns netns.NsHandle) error {
		return a.watch(ctx, ns, emit)
	}, func(err error) {
		for _, w := range a.want {
			emit(Result{Name: w.name, Detail: "netlink error: " + err.Error()})
		}
	})
}

// watch subscribes, checks every address, then re-checks those an update
// concerns until the subscription or ctx ends.
func (a *Addrs) watch(ctx context.Context, ns netns.NsHandle, emit func(Result)) error {
	ch := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	errc := make(chan error, 1)
	err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{
		Namespace:              &ns,
		ErrorCallback:          nlKeepFirstError(errc),
		ReceiveBufferSize:      monitorRcvBufSize(), // netlinkbuf.go
		ReceiveBufferForceSize: monitorRcvBufForce(),
	})
	if err != nil {
		close(done)
		return fmt.Errorf("subscribe: %w", err)
	}
	defer func() { close(done); nlDrain(ch) }()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink handle: %w", err)
	}
	defer h.Close()
	for _, w := range a.want { // subscribed first: see Links.watch
		emit(a.check(h, w))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-ch:
			if !ok {
				return nlSubscriptionEnded(errc)
			}
			ip, _ := netip.AddrFromSlice(u.LinkAddress.IP)
			for _, w := range a.want {
				if w.addr == ip.Unmap() {
					emit(a.check(h, w))
				}
			}
		}
	}
}

// check reads w's interface's addresses now.
func (a *Addrs) check(h *netlink.Handle, w addrWant) Result {
	r := Result{Name: w.name}
	var link netlink.Link
	where := "any interface"
	if w.ifname != "" {
		var err error
		where = w.ifname
		if link, err = h.LinkByName(w.ifname); err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				r.Detail = linkMissing + " " + w.ifname
			} else {
				r.Detail = "netlink error: " + err.Error()
			}
			return r
		}
	}
	family := netlink.FAMILY_V4
	if w.addr.Is6() {
		family = netlink.FAMILY_V6
	}
	list, err := h.AddrList(link, family)
	if err != nil {
		r.Detail = "netlink error: " + err.Error()
		return r
	}
	for _, ad := range list {
		if ip, ok := netip.AddrFromSlice(ad.IP); !ok || ip.Unmap() != w.addr {
			continue
		}
		switch {
		case ad.Flags&unix.IFA_F_DADFAILED != 0:
			r.Detail = "duplicate on " + where
		case ad.Flags&unix.IFA_F_TENTATIVE != 0:
			r.Detail = "tentative on " + where
		default:
			r.OK, r.Detail = true, "present on "+where
		}
		return r
	}
	r.Detail = "absent from " + where
	return r
}
