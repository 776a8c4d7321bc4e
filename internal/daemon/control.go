package daemon

import (
	"net/netip"
	"os"

	"github.com/govrrp/govrrp/internal/control"
)

// statusProvider adapts the daemon to the control socket. The instance list
// is fixed after start-up; per-instance stats are read under their lock.
type statusProvider struct {
	d    *Daemon
	path string
}

func startControl(path string, d *Daemon) (*control.Server, error) {
	if path == "" {
		path = DefaultSocket
	}
	return control.Listen(path, &statusProvider{d: d, path: path})
}

func (p *statusProvider) Status() control.Status {
	d := p.d
	st := control.Status{Pid: os.Getpid(), Config: d.configPath, StartedAt: d.start}
	for _, in := range d.instances {
		s := in.snapshot()
		ci := control.Instance{
			Name:              in.name,
			Interface:         in.ifname,
			VRID:              in.cfg.VRID,
			Version:           uint8(in.version),
			Family:            "inet",
			State:             s.State,
			Reason:            s.Reason,
			Since:             s.Since,
			Priority:          in.cfg.Priority,
			EffectivePriority: s.EffectivePriority,
			Master:            addrString(s.MasterAddr),
			Source:            in.src.String(),
			AdvertsSent:       s.AdvertsSent,
			AdvertsReceived:   s.AdvertsReceived,
			Drops:             s.Drops,
			Warnings:          s.Warnings,
			Transitions:       s.Transitions,
			Tracks:            s.Tracks,
		}
		if in.family == 6 {
			ci.Family = "inet6"
		}
		for _, v := range in.vips {
			ci.VIPs = append(ci.VIPs, v.Prefix.String())
		}
		st.Instances = append(st.Instances, ci)
	}
	for _, sock := range d.sockets {
		st.Sockets = append(st.Sockets, control.Socket{Interface: sock.Interface, Family: sock.Family, Drops: sock.snapshot()})
	}
	return st
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
