package daemon

import (
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/fsmconf"
	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/internal/vip"
	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// instance is the runtime of one vrrp_instance: its state machine, the socket
// it shares with the other instances of its interface+family, its VIPs and
// its timers. All fields but the atomic snapshot are owned by the daemon loop.
type instance struct {
	name    string
	ifname  string // the configured interface, or the one holding unicast_src_ip
	cfg     *kaconf.Instance
	family  vrrp.Family
	version vrrp.Version
	src     netip.Addr   // source of our adverts (and the tie-break address)
	dsts    []netip.Addr // multicast group, or the unicast peers
	vips    []vip.Address
	sockCfg transport.Config
	vmac    *vip.VMAC // use_vmac: the instance's macvlan (vmac.go); nil without
	// addrVMACs: VMACs of VIPs (use_vmac_addr, a VIP's use_vmac), in
	// creation order (vmac_addr.go).
	addrVMACs []vip.VMAC
	// rx is what the socket reader checks adverts against; the loop
	// replaces it whole (reload), the reader only loads it.
	rx  atomic.Pointer[rxConfig]
	mux *transport.Mux

	machine *fsm.Machine
	timers  [3]instanceTimer // indexed by fsm.TimerKind
	fast    fastPath         // adverts the reader absorbs for the loop (fastpath.go)
	garp    garpTimers       // follow-up gratuitous ARP/NA bursts (garp.go)

	advert  vrrp.Advert // template for our adverts
	sendBuf []byte
	auth    instanceAuth // auth_hmac: signing and anti-replay state (auth.go)

	tracks     []trackUse // what this instance tracks, with its weights
	trackDelta int        // sum of track weights last given to the machine
	trackFault bool       // a track holds the machine in FAULT
	deleting   bool       // removed by a reload: its stop is notified as DELETED

	// view is what `govrrp status` shows of the instance, immutable once
	// stored: the loop publishes a new one when something in it changes.
	view    atomic.Pointer[control.Instance]
	changes *control.Notifier // told of every new view; nil in tests that do not watch
	// shownPrio, shownMaster, shownMasterPrio and shownMAI are what view
	// shows, to compare without formatting addresses on every advert.
	shownPrio       uint8
	shownMaster     netip.Addr
	shownMasterPrio uint8
	shownMAI        time.Duration
	// masterPrio is the priority of the master the machine knows
	// (MasterAddr): of the last advert it accepted from it as BACKUP, our
	// own while MASTER.
	masterPrio uint8

	mu       sync.Mutex // guards counters: the socket reader counts too
	counters instanceCounters
}

// instanceTimer is one of the machine's timers. gen is read by the expiry
// callback; due is owned by the loop.
type instanceTimer struct {
	timer *time.Timer
	gen   atomic.Uint64
	due   time.Time
}

// instanceCounters are the instance's traffic counters.
type instanceCounters struct {
	sent        uint64
	priZeroSent uint64 // priority-0 adverts among sent
	// received and priZeroRx are counted by the socket reader on every
	// accepted advert: atomics, not mu (issue 11, the backup's per-advert cost).
	received, priZeroRx atomic.Uint64
	drops, warnings     map[string]uint64
}

// rxConfig is an instance's receive side: immutable once published.
type rxConfig struct {
	name   string
	vrid   uint8
	family vrrp.Family
	peers  map[netip.Addr]peerTTL // unicast: the only accepted senders; nil for multicast
	self   netip.Addr             // our own source: an advert from it is our own, looped back
	params vrrp.InstanceParams
	old    oldSeen // old_unicast_checksum auto-detection logged (oldchecksum.go)
}

// peerTTL is a unicast peer's accepted TTL range (unicast_peer's min_ttl /
// max_ttl); -1 means no bound.
type peerTTL struct{ min, max int }

// accepts reports whether an advert with ttl is in the peer's range.
func (p peerTTL) accepts(ttl int) bool {
	return (p.min < 0 || ttl >= p.min) && (p.max < 0 || ttl <= p.max)
}

// LookupVRID makes the receive side the vrrp.Lookup for its own VRID: the
// mux already routed the packet here by VRID, so any other VRID is unknown.
func (rx *rxConfig) LookupVRID(vrid uint8) (*vrrp.InstanceParams, bool) {
	if vrid != rx.vrid {
		return nil, false
	}
	return &rx.params, true
}

func (in *instance) countDrop(reason string) {
	in.mu.Lock()
	bump(&in.counters.drops, reason)
	in.mu.Unlock()
}

// countSent counts one advert sent with priority prio.
func (in *instance) countSent(prio uint8) {
	in.mu.Lock()
	in.counters.sent++
	if prio == 0 {
		in.counters.priZeroSent++
	}
	in.mu.Unlock()
}

// countReceived counts an accepted advert of priority prio and the warnings
// it carried.
func (in *instance) countReceived(prio uint8, warning string) {
	in.counters.received.Add(1)
	if prio == 0 {
		in.counters.priZeroRx.Add(1)
	}
	if warning != "" {
		in.mu.Lock()
		bump(&in.counters.warnings, warning)
		in.mu.Unlock()
	}
}

func bump(m *map[string]uint64, key string) {
	if *m == nil {
		*m = make(map[string]uint64)
	}
	(*m)[key]++
}

// snapshot is the instance as `govrrp status` shows it: the published view
// with the counters at this moment. Any goroutine may call it.
func (in *instance) snapshot() control.Instance {
	ci := *in.view.Load()
	in.mu.Lock()
	defer in.mu.Unlock()
	ci.AdvertsSent, ci.AdvertsReceived = in.counters.sent, in.counters.received.Load()
	ci.PriorityZeroSent, ci.PriorityZeroReceived = in.counters.priZeroSent, in.counters.priZeroRx.Load()
	ci.Drops, ci.Warnings = maps.Clone(in.counters.drops), maps.Clone(in.counters.warnings)
	return ci
}

// publish stores a new view: a copy of the current one changed by edit.
// Loop only; edit must not keep the pointer.
func (in *instance) publish(edit func(*control.Instance)) {
	v := *in.view.Load()
	edit(&v)
	in.view.Store(&v)
	if in.changes != nil {
		in.changes.Notify() // `govrrp status --watch`
	}
}

// publishDynamic republishes the machine's priority, master, master's
// priority and Master_Adver_Interval when they changed since the last view;
// the advert path (nothing changes) allocates nothing.
func (in *instance) publishDynamic() {
	prio, master, mai := in.machine.EffectivePriority(), in.machine.MasterAddr(), in.machine.MasterAdverInt()
	in.fast.noteState(in.machine.State(), prio, mai) // the reader's gap histogram (fastpath.go)
	if in.machine.State() == fsm.Master {
		in.masterPrio = prio
	}
	mprio := in.masterPrio
	if in.shownPrio == prio && in.shownMaster == master && in.shownMasterPrio == mprio && in.shownMAI == mai {
		return
	}
	in.shownPrio, in.shownMaster, in.shownMasterPrio, in.shownMAI = prio, master, mprio, mai
	in.publish(func(ci *control.Instance) {
		ci.EffectivePriority, ci.Master, ci.MasterPriority, ci.MasterAdverInt = prio, addrString(master), mprio, mai
	})
}

// noteAdvert records the priority of an advert the machine accepted from
// the master, given the actions it returned for it: as BACKUP an accepted
// advert re-arms the master-down timer. A lower-priority advert the backup
// ignores in order to preempt arms nothing, and priority 0 (the master
// resigning) only arms the skew and is no master's priority (keepalived
// keeps master_priority alike). Loop only; allocates nothing.
func (in *instance) noteAdvert(ev fsm.Event, acts []fsm.Action) {
	if ev.Kind != fsm.EvAdvert || ev.Priority == 0 || in.machine.State() != fsm.Backup {
		return
	}
	for _, a := range acts {
		if a.Kind == fsm.ActArmTimer && a.Timer == fsm.TimerMasterDown {
			in.masterPrio = ev.Priority
			return
		}
	}
}

// identityView is the part of the view that comes from the configuration.
func (in *instance) identityView(ci *control.Instance) {
	ci.Name, ci.Interface, ci.VRID, ci.Version = in.name, in.ifname, in.cfg.VRID, uint8(in.version)
	ci.Family = "inet"
	if in.family == vrrp.IPv6 {
		ci.Family = "inet6"
	}
	ci.Priority, ci.Source = in.cfg.Priority, in.src.String()
	ci.Auth = authLabel(in.cfg)
	ci.VIPs = nil
	for _, v := range in.vips {
		ci.VIPs = append(ci.VIPs, v.Prefix.String())
	}
}

// addrLookup finds addresses and interfaces of this host.
type addrLookup struct {
	primary     func(ifname string, ipv6 bool) (netip.Addr, error)
	interfaceOf func(netip.Addr) (string, error)
}

// newInstance resolves everything an instance needs from its configuration:
// family, source address, destinations, VIPs and the receive-side rules; its
// machine releases VIPs on a stop as release says (the daemon's option).
func newInstance(c *kaconf.Instance, sys addrLookup, release fsm.ReleaseMode) (*instance, error) {
	if err := refuseAH(c); err != nil {
		return nil, err
	}
	in := &instance{name: c.Name, cfg: c, family: vrrp.IPv4, version: vrrp.Version(c.Version)}
	in.fast.base = time.Now() // before any reader or timer goroutine (fastpath.go)
	if c.Family == 6 {
		in.family = vrrp.IPv6
	}
	ipv6 := in.family == vrrp.IPv6
	unicast := len(c.UnicastPeers) > 0
	var err error
	if in.ifname, err = resolveInterface(c, sys); err != nil {
		return nil, err
	}
	if in.src, err = resolveSource(c, in.ifname, ipv6, sys); err != nil {
		return nil, err
	}
	var peers map[netip.Addr]peerTTL
	in.dsts, peers = destinations(c, in.ifname, ipv6)
	in.sockCfg = transport.Config{Interface: in.ifname, IPv6: ipv6, Multicast: !unicast}
	in.vips = vipAddresses(c, in.ifname)
	in.vmac = vmacOf(c, in.ifname, ipv6)
	in.vips = onVMAC(in.vips, in.ifname, in.vmac)
	in.sockCfg.Interface = vmacSocketInterface(c, in.ifname, in.vmac)

	rx := &rxConfig{name: c.Name, vrid: c.VRID, family: in.family, peers: peers, self: in.src,
		params: vrrp.InstanceParams{Version: in.version, AdverInt: c.AdverInt, CheckTTL: !unicast, Owner: c.Priority == 255,
			OldChecksum: oldChecksumPolicy(c)}} // oldchecksum.go
	in.advert = vrrp.Advert{Version: in.version, VRID: c.VRID, AdverInt: c.AdverInt}
	if in.version == vrrp.V2 && c.AuthType == "PASS" {
		rx.params.AuthType, rx.params.AuthData = vrrp.AuthPass, c.AuthPass
		in.advert.AuthType, in.advert.AuthData = vrrp.AuthPass, c.AuthPass
	}
	if err := in.setupAuth(c, rx); err != nil {
		return nil, err
	}
	in.rx.Store(rx)
	for _, v := range c.VIPs {
		// Adverts carry the addresses of the instance's own family only;
		// keepalived puts the same list in its packets.
		if v.Prefix.Addr().Is6() == ipv6 {
			in.advert.Addrs = append(in.advert.Addrs, v.Prefix.Addr())
		}
	}

	mc := fsmconf.For(c, in.src)
	mc.ReleaseVIPs = release
	in.machine = fsm.New(mc)
	v := &control.Instance{State: in.machine.State().String(), EffectivePriority: in.machine.EffectivePriority(),
		MasterAdverInt: in.machine.MasterAdverInt(), Since: time.Now()}
	in.identityView(v)
	in.view.Store(v)
	return in, nil
}

// refuseAH: govrrp cannot speak AH, and running unauthenticated against AH
// peers would be a silent downgrade.
func refuseAH(c *kaconf.Instance) error {
	if c.AuthType == "AH" {
		return fmt.Errorf("instance %s: authentication AH is not supported by govrrp (use PASS or none)", c.Name)
	}
	return nil
}

// resolveInterface is the configured interface; keepalived lets a unicast
// instance omit it, and then it is the one that holds unicast_src_ip.
func resolveInterface(c *kaconf.Instance, sys addrLookup) (string, error) {
	if c.Interface != "" {
		return c.Interface, nil
	}
	if !c.UnicastSrcIP.IsValid() {
		return "", fmt.Errorf("instance %s: no interface and no unicast_src_ip to find it by", c.Name)
	}
	name, err := sys.interfaceOf(c.UnicastSrcIP)
	if err != nil {
		return "", fmt.Errorf("instance %s: %w", c.Name, err)
	}
	return name, nil
}

// resolveSource picks the source of our adverts: unicast_src_ip or
// mcast_src_ip when given, else the interface's primary address (IPv4) or
// link-local address (IPv6).
func resolveSource(c *kaconf.Instance, ifname string, ipv6 bool, sys addrLookup) (netip.Addr, error) {
	unicast := len(c.UnicastPeers) > 0
	src := c.McastSrcIP
	if unicast {
		src = c.UnicastSrcIP
	}
	if !src.IsValid() {
		a, err := sys.primary(ifname, ipv6)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("instance %s: no source address on %s: %w", c.Name, ifname, err)
		}
		src = a
	}
	if src.Is6() != ipv6 {
		return netip.Addr{}, fmt.Errorf("instance %s: source address %s is not of the instance's family", c.Name, src)
	}
	return src, nil
}

// destinations are the unicast peers (also the only accepted senders), or
// the VRRP multicast group of the family.
func destinations(c *kaconf.Instance, ifname string, ipv6 bool) ([]netip.Addr, map[netip.Addr]peerTTL) {
	switch {
	case len(c.UnicastPeers) > 0:
		peers := make(map[netip.Addr]peerTTL, len(c.UnicastPeers))
		var dsts []netip.Addr
		for _, p := range c.UnicastPeers {
			dsts = append(dsts, p.Addr)
			peers[p.Addr] = peerTTL{min: p.MinTTL, max: p.MaxTTL}
		}
		return dsts, peers
	case ipv6:
		return []netip.Addr{vrrp.MulticastIPv6.WithZone(ifname)}, nil
	default:
		return []netip.Addr{vrrp.MulticastIPv4}, nil
	}
}

// vipAddresses are the instance's VIPs as internal/vip installs them; a VIP
// without dev goes on the instance's interface.
func vipAddresses(c *kaconf.Instance, ifname string) []vip.Address {
	var out []vip.Address
	for _, v := range c.VIPs {
		dev := v.Dev
		if dev == "" {
			dev = ifname
		}
		out = append(out, vip.Address{Prefix: v.Prefix, Dev: dev, Label: v.Label, Scope: v.Scope, Broadcast: v.Broadcast})
	}
	return append(out, excludedVIPs(c, ifname)...) // routes.go
}

// socketStats counts what a shared socket drops before any instance sees it.
type socketStats struct {
	Interface string
	Family    string
	mu        sync.Mutex
	drops     map[string]uint64
	// kernelDrops reads the socket's kernel drop counter (a full receive
	// buffer, transport.Mux.KernelDrops); nil in tests without a socket.
	kernelDrops func() uint64
	readBuffer  func() int // the socket's SO_RCVBUF; nil likewise
}

// dropKernelRcvbuf is the reason of packets the kernel dropped because the
// socket's receive buffer was full (SO_RXQ_OVFL).
const dropKernelRcvbuf = "kernel_rcvbuf_overflow"

func newSocketStats(c transport.Config) *socketStats {
	fam := "inet"
	if c.IPv6 {
		fam = "inet6"
	}
	return &socketStats{Interface: c.Interface, Family: fam, drops: map[string]uint64{}}
}

func (s *socketStats) countDrop(reason string) {
	s.mu.Lock()
	s.drops[reason]++
	s.mu.Unlock()
}

func (s *socketStats) snapshot() map[string]uint64 {
	s.mu.Lock()
	out := maps.Clone(s.drops)
	s.mu.Unlock()
	if s.kernelDrops != nil {
		if n := s.kernelDrops(); n > 0 {
			out[dropKernelRcvbuf] = n
		}
	}
	return out
}
