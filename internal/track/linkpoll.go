package track

import (
	"context"
	"errors"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linkbeat polling (keepalived's linkbeat_interfaces / linkbeat_use_polling):
// the carrier of an interface is read by ioctl at a fixed interval instead
// of being followed over netlink, for drivers whose netlink carrier events
// are unreliable. As keepalived.conf(5) documents, MII is preferred, then
// ETHTOOL, then IOCTL; a method the device does not support falls back to
// the next (keepalived 2.2.7 on a veth: "Configured linkbeat type MII not
// supported, using ETHTOOL").
//
//   - MII: SIOCGMIIPHY then SIOCGMIIREG of the PHY's BMSR, link status bit.
//   - ETHTOOL: SIOCETHTOOL ETHTOOL_GLINK (the driver's carrier).
//   - IOCTL: SIOCGIFFLAGS, IFF_RUNNING.
//
// Whatever the method, an interface that is not administratively up
// (IFF_UP) is down, as with netlink.

// Poll methods, as written in linkbeat_interfaces.
const (
	PollMII     = "MII"
	PollEthtool = "ETHTOOL"
	PollIoctl   = "IOCTL"
)

// LinkPollInterval is how often polled carriers are read: keepalived's
// linkbeat polling runs once a second.
const LinkPollInterval = time.Second

// PollConfig is one polled interface and its preferred method ("" = MII).
type PollConfig struct {
	Name string
	Type string
}

// LinkPoll polls the carrier of interfaces; it reports like Links (Kind
// KindInterface, same details), with Method "linkbeat <METHOD>".
type LinkPoll struct {
	ifs      []PollConfig
	interval time.Duration
	// probe reads one interface; a seam for tests without root.
	probe func(fd int, name, method string) (ok bool, detail string, err error)
}

// NewLinkPoll returns a poller of ifs every interval (<= 0: LinkPollInterval).
func NewLinkPoll(ifs []PollConfig, interval time.Duration) *LinkPoll {
	if interval <= 0 {
		interval = LinkPollInterval
	}
	return &LinkPoll{ifs: ifs, interval: interval, probe: probeLink}
}

// Run reports every interface once, then on every change, until ctx ends.
// The ioctl socket is opened in the caller's network namespace.
func (p *LinkPoll) Run(ctx context.Context, report Sink) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	reported := map[string]Result{}
	emit := func(r Result) {
		if prev, ok := reported[r.Name]; ok && prev.OK == r.OK && prev.Detail == r.Detail && prev.Method == r.Method {
			return
		}
		reported[r.Name] = r
		r.At = time.Now()
		report(r)
	}
	if err != nil {
		for _, c := range p.ifs {
			emit(Result{Kind: KindInterface, Name: c.Name, Method: "linkbeat", Detail: "linkbeat socket: " + err.Error()})
		}
		<-ctx.Done()
		return
	}
	defer unix.Close(fd)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		for _, c := range p.ifs {
			emit(p.poll(fd, c))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll reads one interface with the first supported method in
// keepalived's order, starting from the preferred one.
func (p *LinkPoll) poll(fd int, c PollConfig) Result {
	r := Result{Kind: KindInterface, Name: c.Name}
	for _, m := range pollOrder(c.Type) {
		ok, detail, err := p.probe(fd, c.Name, m)
		if errors.Is(err, errUnsupported) {
			continue
		}
		r.Method = "linkbeat " + m
		if m != pollOrder(c.Type)[0] {
			r.Method += " (" + pollOrder(c.Type)[0] + " not supported)"
		}
		switch {
		case errors.Is(err, unix.ENODEV):
			r.Detail = linkMissing
		case err != nil:
			r.Detail = "linkbeat " + m + ": " + err.Error()
		default:
			r.OK, r.Detail = ok, detail
		}
		return r
	}
	r.Method, r.Detail = "linkbeat", "no poll method supported"
	return r
}

// pollOrder is the methods tried for a preferred one: it first, then the
// rest in keepalived's default order.
func pollOrder(pref string) []string {
	all := []string{PollMII, PollEthtool, PollIoctl}
	if pref == "" || pref == PollMII {
		return all
	}
	out := []string{pref}
	for _, m := range all {
		if m != pref {
			out = append(out, m)
		}
	}
	return out
}

// LinkMissing is the Detail of an interface that does not exist (Links
// and LinkPoll).
const LinkMissing = linkMissing

// errUnsupported: the device does not implement the method.
var errUnsupported = errors.New("track: linkbeat method not supported by the device")

// probeLink reads name's state by method. IFF_UP comes from SIOCGIFFLAGS
// whatever the method; ENODEV is returned as is.
func probeLink(fd int, name, method string) (bool, string, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return false, "", err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return false, "", err
	}
	flags := uint32(ifr.Uint16())
	var carrier bool
	switch method { // read even when admin down: an unsupported method falls back
	case PollMII:
		carrier, err = miiCarrier(fd, name)
	case PollEthtool:
		carrier, err = ethtoolCarrier(fd, name)
	default:
		carrier = flags&unix.IFF_RUNNING != 0
	}
	switch {
	case err != nil:
		return false, "", err
	case flags&unix.IFF_UP == 0:
		return false, linkAdminDown, nil
	case !carrier:
		return false, linkCarrierDown, nil
	}
	return true, linkUp, nil
}

// unsupported maps the errors a driver gives for an ioctl it lacks.
func unsupported(err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.ENOSYS) {
		return errUnsupported
	}
	return err
}

// ifreqMII is struct ifreq with struct mii_ioctl_data in its union.
type ifreqMII struct {
	name                    [unix.IFNAMSIZ]byte
	phy, reg, valIn, valOut uint16
	_                       [24 - 8]byte
}

// miiBMSR is the MII basic mode status register; bmsrLinkStatus its link bit.
const (
	miiBMSR        = 1
	bmsrLinkStatus = 0x0004
)

func miiCarrier(fd int, name string) (bool, error) {
	var r ifreqMII
	copy(r.name[:], name)
	if err := ioctlPtr(fd, unix.SIOCGMIIPHY, unsafe.Pointer(&r)); err != nil {
		return false, unsupported(err)
	}
	r.reg = miiBMSR
	if err := ioctlPtr(fd, unix.SIOCGMIIREG, unsafe.Pointer(&r)); err != nil {
		return false, unsupported(err)
	}
	// BMSR's link bit latches low: read twice for the current state.
	if err := ioctlPtr(fd, unix.SIOCGMIIREG, unsafe.Pointer(&r)); err != nil {
		return false, unsupported(err)
	}
	return r.valOut&bmsrLinkStatus != 0, nil
}

// ethtoolValue is struct ethtool_value; ifreqData an ifreq whose union is
// a pointer to it.
type ethtoolValue struct{ cmd, data uint32 }

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

func ethtoolCarrier(fd int, name string) (bool, error) {
	v := ethtoolValue{cmd: unix.ETHTOOL_GLINK}
	r := ifreqData{data: unsafe.Pointer(&v)}
	copy(r.name[:], name)
	if err := ioctlPtr(fd, unix.SIOCETHTOOL, unsafe.Pointer(&r)); err != nil {
		return false, unsupported(err)
	}
	return v.data != 0, nil
}

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); e != 0 {
		return e
	}
	return nil
}
