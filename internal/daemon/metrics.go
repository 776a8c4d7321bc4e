package daemon

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/fsm"
	"github.com/govrrp/govrrp/internal/track"
)

// startMetrics serves Prometheus metrics on addr (--metrics-listen) from a
// registry of the daemon's own; the scrape reads the same published views
// as the control socket. The returned stop ends the server.
func (d *Daemon) startMetrics(ctx context.Context, addr string) (func(), error) {
	reg, err := d.newMetrics()
	if err != nil {
		return nil, err
	}
	stop, err := control.ServeMetrics(ctx, addr, reg)
	if err != nil {
		return nil, err
	}
	d.log.Info("serving metrics", "addr", addr, "path", "/metrics")
	return stop, nil
}

// newMetrics sets up the daemon's metrics on a registry of their own. Call
// it before the loop runs (d.metrics is the loop's afterwards).
func (d *Daemon) newMetrics() (*prometheus.Registry, error) {
	reg := control.NewRegistry()
	m, err := control.NewMetrics(reg, &statusProvider{d: d})
	if err != nil {
		return nil, err
	}
	d.metrics = m
	if err := d.registerMailMetrics(reg); err != nil { // mail.go
		return nil, err
	}
	return reg, nil
}

// observeAdvert feeds the inter-arrival histogram: the gap between two
// adverts of the same master as seen by a backup, against the master-down
// interval it must stay below. Nil metrics: nothing (the call is cheap).
func (d *Daemon) observeAdvert(in *instance, ev fsm.Event) {
	if d.metrics == nil {
		return
	}
	now := time.Now()
	if in.machine.State() == fsm.Backup && ev.Src == in.lastAdvertFrom && !in.lastAdvertAt.IsZero() {
		down := fsm.MasterDownInterval(in.machine.EffectivePriority(), in.machine.MasterAdverInt())
		d.metrics.AdvertGap(in.name, now.Sub(in.lastAdvertAt), down)
	}
	in.lastAdvertFrom, in.lastAdvertAt = ev.Src, now
}

// observeTrack records a script run's duration and outcome.
func (d *Daemon) observeTrack(r track.Result) {
	if r.Kind == track.KindScript && r.Took > 0 {
		d.metrics.ScriptRun(r.Name, r.Took, r.Value == 0)
	}
}
