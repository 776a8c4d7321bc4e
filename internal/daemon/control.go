package daemon

import (
	"net/netip"
	"os"

	"github.com/govrrp/govrrp/internal/control"
)

// statusProvider adapts the daemon to the control socket. It reads only
// what the loop publishes: the daemon's view (which instances and sockets)
// and each instance's view and counters.
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
	view := d.view.Load()
	if view == nil {
		return st
	}
	for _, in := range view.instances {
		st.Instances = append(st.Instances, in.snapshot())
	}
	for _, sock := range view.sockets {
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
