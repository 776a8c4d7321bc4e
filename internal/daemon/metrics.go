package daemon

import (
	"context"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govrrp/govrrp/internal/control"
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

// gapWatch is a socket reader's memory of an instance's last accepted
// advert, for the inter-arrival histogram. Reader only: each receiver
// closure has its own (a new one after every re-registration, so the first
// advert after a start or reload has no previous one).
type gapWatch struct {
	from netip.Addr // invalid until the first advert
	at   int64      // ns since the instance's fastPath.base
}

// observeGap feeds the inter-arrival histogram on the reader, before the
// fast path (issue 11: the fast path works with --metrics-listen): the gap
// between two accepted adverts of the same sender while the loop last
// published BACKUP, against the Master_Down_Interval it published with it.
// Stamped at receipt, not when the loop got to the advert. Lock-free:
// Prometheus histograms observe with atomics; nil metrics: nothing.
func (d *Daemon) observeGap(in *instance, w *gapWatch, src netip.Addr) {
	if d.metrics == nil {
		return
	}
	now := in.fast.now()
	if down := time.Duration(in.fast.gapDown.Load()); down > 0 && w.from.IsValid() && src == w.from {
		d.metrics.AdvertGap(in.name, time.Duration(now-w.at), down)
	}
	w.from, w.at = src, now
}

// observeTrack records a script run's duration and outcome.
func (d *Daemon) observeTrack(r track.Result) {
	if r.Kind == track.KindScript && r.Took > 0 {
		d.metrics.ScriptRun(r.Name, r.Took, r.Value == 0)
	}
}
