package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/govrrp/govrrp/internal/control"
)

// statusProvider adapts the daemon to the control socket. It reads only
// what the loop publishes: the daemon's view (which instances and sockets)
// and each instance's view and counters.
type statusProvider struct {
	d    *Daemon
	path string
}

func startControl(path, group string, d *Daemon) (*control.Server, error) {
	if path == "" {
		path = DefaultSocket
	}
	return control.ListenWithOptions(path, &statusProvider{d: d, path: path}, control.ListenOptions{Group: group})
}

// Changes wakes `govrrp status --watch` whenever the loop publishes.
func (p *statusProvider) Changes() <-chan struct{} { return p.d.changes.Changes() }

// Reload asks the loop to reload the file (as SIGHUP does) and waits for the
// outcome, or until ctx ends (the reload then still completes on the loop).
func (p *statusProvider) Reload(ctx context.Context) (control.ReloadResult, error) {
	reply := make(chan reloadOutcome, 1)
	select {
	case p.d.events <- loopEvent{reload: reply}:
	case <-ctx.Done():
		return control.ReloadResult{}, ctx.Err()
	}
	select {
	case out := <-reply:
		return reloadResult(out), nil
	case <-ctx.Done():
		return control.ReloadResult{}, fmt.Errorf("no answer from the daemon's loop: %w", ctx.Err())
	}
}

// reloadResult is a reload's outcome as `govrrp reload` prints it: the
// FILE:LINE:COL errors of a rejected file, or what changed.
func reloadResult(out reloadOutcome) control.ReloadResult {
	if out.err != nil {
		return control.ReloadResult{Errors: strings.Split(strings.TrimSpace(out.err.Error()), "\n"),
			Summary: "rejected; the running configuration stays in place"}
	}
	var changed []string
	for _, n := range out.report.Added {
		changed = append(changed, "added "+n)
	}
	for _, n := range out.report.Removed {
		changed = append(changed, "removed "+n)
	}
	for _, n := range out.report.Kept {
		changed = append(changed, "reconfigured "+n)
	}
	return control.ReloadResult{Changed: changed, Summary: out.report.String()}
}

func (p *statusProvider) Status() control.Status {
	d := p.d
	st := control.Status{Pid: os.Getpid(), Config: d.configPath, StartedAt: d.start, Mail: d.mailStatus(), BFD: d.bfdStatus()}
	view := d.view.Load()
	if view == nil {
		return st
	}
	for _, in := range view.instances {
		st.Instances = append(st.Instances, in.snapshot())
	}
	for _, sock := range view.sockets {
		st.Sockets = append(st.Sockets, control.Socket{Interface: sock.Interface, Family: sock.Family, Drops: sock.snapshot(), ReadBuffer: sock.rcvbuf()})
	}
	return st
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
