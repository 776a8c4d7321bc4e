package daemon

import (
	"net"

	"github.com/govrrp/govrrp/internal/transport"
	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/govrrp/govrrp/pkg/vrrp"
)

// Receive buffers sized to need (issue 11; README "Receive buffers"). Every
// apply gives each instance's socket its share: keepalived's
// vrrp_rx_bufs_policy / vrrp_rx_bufs_multiplier / kernel_rx_buf_size when
// given (transport.RxBufPolicy.Share), else govrrp's default (the Mux sizes
// a socket with no explicit share to its instance count). The Mux resizes
// only when the request changed, so a reload that changes nothing makes no
// syscall.

// rxBufPolicy is the configuration's global policy.
func rxBufPolicy(g *kaconf.GlobalDefs) transport.RxBufPolicy {
	p := transport.RxBufPolicy{Multiplier: g.RxBufsMultiplier}
	switch g.RxBufsPolicy {
	case "MTU":
		p.Kind = transport.RxBufMTU
	case "ADVERT":
		p.Kind = transport.RxBufAdvert
	case "NUMBER":
		p.Kind, p.Number = transport.RxBufNumber, g.RxBufsSize
	}
	return p
}

// sizeRxBufs gives every attached instance's socket its share. Loop only.
func (d *Daemon) sizeRxBufs() {
	p := rxBufPolicy(&d.cfg.Global)
	for _, in := range d.instances {
		if in.mux == nil {
			continue
		}
		share := p.Share(d.socketMTU(in, p), advertPacketLen(in), in.cfg.KernelRxBufSize)
		if err := in.mux.SetReadBufferShare(in.cfg.VRID, share); err != nil {
			d.log.Warn("cannot size the socket's receive buffer", "instance", in.name, "interface", in.sockCfg.Interface, "err", err)
		}
	}
}

// socketMTU is the MTU of the instance's socket interface, looked up only
// for policy MTU (keepalived takes the interface's MTU).
func (d *Daemon) socketMTU(in *instance, p transport.RxBufPolicy) int {
	if p.Kind != transport.RxBufMTU {
		return 0
	}
	ifi, err := net.InterfaceByName(in.sockCfg.Interface)
	if err != nil {
		return 1500
	}
	return ifi.MTU
}

// advertPacketLen is the IP packet size of the instance's advert, as
// keepalived's ADVERT policy counts it: IP header, VRRP header, the
// addresses, and VRRPv2's 8 authentication bytes.
func advertPacketLen(in *instance) int {
	hdr, per := 20, 4
	if in.family == vrrp.IPv6 {
		hdr, per = 40, 16
	}
	n := hdr + 8 + per*len(in.advert.Addrs)
	if in.version == vrrp.V2 {
		n += 8
	}
	return n
}

// rcvbuf is the socket's receive buffer for status, 0 unknown.
func (s *socketStats) rcvbuf() int {
	if s.readBuffer == nil {
		return 0
	}
	return max(s.readBuffer(), 0)
}
