package control

// Prometheus metrics. Two halves:
//
//   - a scrape-time Collector that turns Provider.Status() into gauges and
//     counters (state, priorities, advert counters, drops, tracks); it holds
//     no state of its own, so an instance removed by a reload simply stops
//     being emitted;
//   - event-fed vectors the daemon loop updates (transitions, advert
//     inter-arrival, master-down margin, script runs). AdvertGap is on the
//     per-advert path and allocates nothing in steady state.
//
// Everything registers on an injected prometheus.Registerer, never on the
// global default registry, so tests and several daemons in one process do
// not collide.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/govrrp/govrrp/pkg/vrrp"
)

// LabelInstance is the label carrying the vrrp_instance name. It is not
// "instance": Prometheus attaches its own target label "instance"
// (host:port) to every scraped series, and an exposed "instance" label would
// be renamed to "exported_instance" (or, with honor_labels, overwrite the
// target's) — a trap in every query and alert rule.
const LabelInstance = "vrrp_instance"

// States are the values of govrrp_instance_state's "state" label, each
// always present for every instance.
var States = []string{"INIT", "BACKUP", "MASTER", "FAULT"}

// DaemonDropReasons are the drop reasons the daemon counts per instance
// besides vrrp.DropReason's: a unicast advert from a source that is not a
// configured peer, our own advert looped back to us, and an accepted advert
// lost because the loop's queue was full.
var DaemonDropReasons = []string{"not_a_peer", "own_advert", "queue_full"}

// socketDropReasons are what a shared socket counts before any instance sees
// a packet.
var socketDropReasons = []string{vrrp.DropUnknownVRID.String(), vrrp.DropTooShort.String()}

// Bucket layouts, in seconds or as a ratio.
var (
	// Advert inter-arrival, 10 ms .. 10 s. The bounds sit between the
	// multiples of the common intervals (0.1 s, 1 s, 2 s) rather than on
	// them, so a punctual advert, one lost advert (2x) and two lost (3x)
	// land in different buckets despite jitter: at 1 s, (0.75,1.25] is
	// normal, (1.75,2.5] one lost, (2.5,3.5] two lost.
	advertGapBuckets = []float64{0.01, 0.025, 0.05, 0.075, 0.125, 0.25, 0.5, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 10}
	// Master-down margin, 0 .. 1. Master_Down_Interval is 3 intervals plus
	// skew (< 1 interval), so a punctual advert leaves 0.67..0.75, one lost
	// 0.33..0.5, two lost 0..0.25; the fine steps near 0 resolve the close
	// calls.
	marginBuckets = []float64{0, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}
	// vrrp_script run time, 1 ms .. 30 s (keepalived's timeouts are seconds).
	scriptBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// Send lateness of an aligned batch, 1 ms .. 1 s: a batch later than
	// its backups' Master_Down_Interval minus one interval (26 ms at 10 ms
	// adverts, 2.6 s at 1 s) costs a spurious takeover.
	sendLateBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1}
)

// Metrics is govrrp's Prometheus instrumentation. Its methods are safe for
// concurrent use, and safe on a nil *Metrics (they do nothing), so the daemon
// can call them unconditionally when metrics are disabled.
type Metrics struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector // everything NewMetrics registered

	transitions *prometheus.CounterVec   // vrrp_instance, from, to
	advertGap   *prometheus.HistogramVec // vrrp_instance
	margin      *prometheus.HistogramVec // vrrp_instance
	scriptTime  *prometheus.HistogramVec // script
	scriptRuns  *prometheus.CounterVec   // script, result
	sendLate    *prometheus.HistogramVec // interface, family (of the socket)
	downWaits   *prometheus.CounterVec   // interface, family

	// mu guards the observer caches. It is held for writing whenever a
	// series is created or deleted, so a Forget can never leave a cached
	// observer pointing at a series that is no longer exported.
	mu      sync.RWMutex
	gaps    map[string]gapObservers
	scripts map[string]scriptObservers
}

type gapObservers struct{ gap, margin prometheus.Observer }

type scriptObservers struct {
	took     prometheus.Observer
	ok, fail prometheus.Counter
}

// NewMetrics registers govrrp's metrics on reg: a collector reading p.Status()
// at scrape time, and the event-fed vectors behind the methods of Metrics.
// On error nothing stays registered.
func NewMetrics(reg prometheus.Registerer, p Provider) (*Metrics, error) {
	if reg == nil || p == nil {
		return nil, errors.New("metrics: NewMetrics needs a registerer and a provider")
	}
	m := &Metrics{
		reg: reg,
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govrrp_transitions_total",
			Help: "State transitions seen by this process, by instance and from/to state.",
		}, []string{LabelInstance, "from", "to"}),
		advertGap: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "govrrp_advert_interarrival_seconds",
			Help:    "Time between consecutive accepted adverts from the master, as seen by a backup.",
			Buckets: advertGapBuckets,
		}, []string{LabelInstance}),
		margin: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "govrrp_master_down_margin_ratio",
			Help: "Share of Master_Down_Interval still left when an advert arrived: (master_down - gap) / master_down. " +
				"Near 0: the backup almost took over; <= 0: the timer would have expired.",
			Buckets: marginBuckets,
		}, []string{LabelInstance}),
		scriptTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "govrrp_script_duration_seconds",
			Help:    "Run time of vrrp_script checks.",
			Buckets: scriptBuckets,
		}, []string{"script"}),
		scriptRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govrrp_script_runs_total",
			Help: "vrrp_script runs by result (ok: exit status 0; fail: non-zero, timeout or exec error).",
		}, []string{"script", "result"}),
		sendLate: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "govrrp_advert_batch_send_lateness_seconds",
			Help: "How long after its schedule's due time a socket's batch of aligned adverts was written (sendmmsg returned). " +
				"A batch later than the backups' Master_Down_Interval minus one interval makes them take over.",
			Buckets: sendLateBuckets,
		}, []string{"interface", "family"}),
		downWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govrrp_master_down_reader_waits_total",
			Help: "Times a BACKUP's Master_Down_Timer ran out while adverts still waited unread in the socket, and waited for the reader. " +
				"A rising rate: the receive side is starved of CPU.",
		}, []string{"interface", "family"}),
		gaps:    make(map[string]gapObservers),
		scripts: make(map[string]scriptObservers),
	}
	for _, c := range []prometheus.Collector{newStatusCollector(p), m.transitions, m.advertGap, m.margin, m.scriptTime, m.scriptRuns, m.sendLate, m.downWaits} {
		if err := reg.Register(c); err != nil {
			m.Unregister()
			return nil, fmt.Errorf("metrics: %w", err)
		}
		m.collectors = append(m.collectors, c)
	}
	return m, nil
}

// Unregister removes everything NewMetrics registered from the registerer.
func (m *Metrics) Unregister() {
	if m == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
	m.collectors = nil
}

// SendLateness is the observer of a socket's batch send lateness (seconds),
// for its sender to keep: nil on a nil *Metrics. family is "inet" or
// "inet6", as in govrrp_socket_adverts_dropped_total.
func (m *Metrics) SendLateness(iface, family string) prometheus.Observer {
	if m == nil {
		return nil
	}
	return m.sendLate.WithLabelValues(iface, family)
}

// MasterDownWaits is the counter of a socket's master-down expiries that
// waited for its reader, for the socket's schedule to keep: nil on a nil
// *Metrics.
func (m *Metrics) MasterDownWaits(iface, family string) prometheus.Counter {
	if m == nil {
		return nil
	}
	return m.downWaits.WithLabelValues(iface, family)
}

// Transition counts one state change of an instance (states as fsm.State's
// String: INIT, BACKUP, MASTER, FAULT).
func (m *Metrics) Transition(instance, from, to string) {
	if m == nil {
		return
	}
	m.transitions.WithLabelValues(instance, from, to).Inc()
}

// AdvertGap records, for a backup, the time since the previous accepted
// advert of the current master (gap) and the Master_Down_Interval in force
// when it arrived (masterDown). It feeds two histograms:
//
//   - govrrp_advert_interarrival_seconds: the raw gap. Mass at the advert
//     interval is healthy; mass at 2x or 3x means adverts are being lost
//     (a congested or flapping link, a starved master).
//   - govrrp_master_down_margin_ratio: (masterDown-gap)/masterDown, the part
//     of the master-down timer that was still left when the advert reset
//     it — the timer's remaining margin. Healthy peers sit around 0.67..0.75
//     (one interval used of three plus skew). Observations near 0 mean the
//     backup came within a hair of a spurious takeover (a split brain, two
//     MASTERs, VIPs moving); <= 0 means the timer would have expired, i.e.
//     the backup did take over or the advert arrived after it would have.
//     Alert on rate(govrrp_master_down_margin_ratio_bucket{le="0.1"}[10m]) > 0.
//
// The first advert after a start, a reload or a master change has no
// previous one and must not be reported. Negative gaps are ignored. A
// masterDown of 0 or less records only the gap.
//
// AdvertGap is called per advert: after the first call for an instance it
// allocates nothing.
func (m *Metrics) AdvertGap(instance string, gap, masterDown time.Duration) {
	if m == nil || gap < 0 {
		return
	}
	m.mu.RLock()
	o, ok := m.gaps[instance]
	m.mu.RUnlock()
	if !ok {
		o = m.newGapObservers(instance)
	}
	o.gap.Observe(gap.Seconds())
	if masterDown > 0 {
		o.margin.Observe(float64(masterDown-gap) / float64(masterDown))
	}
}

func (m *Metrics) newGapObservers(instance string) gapObservers {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.gaps[instance]; ok {
		return o
	}
	o := gapObservers{gap: m.advertGap.WithLabelValues(instance), margin: m.margin.WithLabelValues(instance)}
	m.gaps[instance] = o
	return o
}

// ScriptRun records one run of a vrrp_script: how long it took and whether it
// succeeded. Both result series of a script exist from its first run on, so
// rate() of failures works from the first failure.
func (m *Metrics) ScriptRun(script string, took time.Duration, ok bool) {
	if m == nil {
		return
	}
	m.mu.RLock()
	o, found := m.scripts[script]
	m.mu.RUnlock()
	if !found {
		o = m.newScriptObservers(script)
	}
	o.took.Observe(took.Seconds())
	if ok {
		o.ok.Inc()
	} else {
		o.fail.Inc()
	}
}

func (m *Metrics) newScriptObservers(script string) scriptObservers {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.scripts[script]; ok {
		return o
	}
	o := scriptObservers{
		took: m.scriptTime.WithLabelValues(script),
		ok:   m.scriptRuns.WithLabelValues(script, "ok"),
		fail: m.scriptRuns.WithLabelValues(script, "fail"),
	}
	m.scripts[script] = o
	return o
}

// ForgetInstance deletes every event-fed series of an instance (call it when
// a reload removes the instance; the scrape-time part stops emitting it by
// itself).
func (m *Metrics) ForgetInstance(name string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.gaps, name)
	m.advertGap.DeleteLabelValues(name)
	m.margin.DeleteLabelValues(name)
	m.transitions.DeletePartialMatch(prometheus.Labels{LabelInstance: name})
}

// ForgetScript deletes the series of a vrrp_script a reload removed.
func (m *Metrics) ForgetScript(name string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.scripts, name)
	m.scriptTime.DeleteLabelValues(name)
	m.scriptRuns.DeletePartialMatch(prometheus.Labels{"script": name})
}

// statusCollector emits the daemon's Status at scrape time.
//
// govrrp_instance_state is a state set — one series per state, 1 for the
// current — rather than one numeric gauge: queries and alerts read
// `govrrp_instance_state{state="MASTER"} == 1` and `sum by (state)`
// without a code table, changes() counts flaps, and no enum numbering
// leaks into dashboards. It costs four series per instance.
type statusCollector struct {
	p Provider

	state, priority, effPriority, masterInfo             *prometheus.Desc
	sent, received, dropped, warned, transitions, lastTr *prometheus.Desc
	priZero, becameMaster                                *prometheus.Desc
	socketDropped                                        *prometheus.Desc
	trackOK, trackEffect, trackFault                     *prometheus.Desc

	dropReasons []string        // pre-registered instance drop reasons, in check order
	known       map[string]bool // dropReasons as a set
	warnings    []string        // every vrrp.Warning label
}

func newStatusCollector(p Provider) *statusCollector {
	inst := []string{LabelInstance, "interface", "vrid", "family"}
	with := func(extra ...string) []string { return append(slices.Clip(inst), extra...) }
	track := []string{LabelInstance, "kind", "name"}
	c := &statusCollector{
		p:           p,
		state:       prometheus.NewDesc("govrrp_instance_state", "VRRP state of the instance: 1 for the current state, 0 for the others.", with("state"), nil),
		priority:    prometheus.NewDesc("govrrp_instance_priority", "Configured priority.", inst, nil),
		effPriority: prometheus.NewDesc("govrrp_instance_effective_priority", "Priority after track weights (what adverts carry).", inst, nil),
		masterInfo:  prometheus.NewDesc("govrrp_instance_master_info", "The current master's address (always 1; absent while unknown).", with("master"), nil),
		sent:        prometheus.NewDesc("govrrp_adverts_sent_total", "Adverts sent.", inst, nil),
		received:    prometheus.NewDesc("govrrp_adverts_received_total", "Adverts accepted.", inst, nil),
		dropped:     prometheus.NewDesc("govrrp_adverts_dropped_total", "Adverts dropped, by reason (every known reason always present).", with("reason"), nil),
		warned:      prometheus.NewDesc("govrrp_adverts_warnings_total", "Adverts accepted with a warning, by warning (an advert with two warnings counts in both).", with("warning"), nil),
		transitions: prometheus.NewDesc("govrrp_instance_transitions_total", "State transitions since the daemon started.", inst, nil),
		lastTr:      prometheus.NewDesc("govrrp_instance_last_transition_timestamp_seconds", "Unix time the instance entered its current state.", inst, nil),
		priZero: prometheus.NewDesc("govrrp_priority_zero_adverts_total",
			"Priority-0 adverts (a master resigning: shutdown, fault, removal), sent or accepted, by direction.", with("direction"), nil),
		becameMaster: prometheus.NewDesc("govrrp_instance_became_master_total", "Transitions into MASTER since the daemon started.", inst, nil),
		socketDropped: prometheus.NewDesc("govrrp_socket_adverts_dropped_total",
			"Packets a shared socket dropped before any instance saw them, by reason.", []string{"interface", "family", "reason"}, nil),
		trackOK:     prometheus.NewDesc("govrrp_track_ok", "1 if the tracked object's last result is good, 0 if failed or still pending.", track, nil),
		trackEffect: prometheus.NewDesc("govrrp_track_effect", "Priority change the tracked object applies now (0 when it is not applied or forces FAULT).", track, nil),
		trackFault:  prometheus.NewDesc("govrrp_track_fault", "1 if the tracked object forces the instance into FAULT now.", track, nil),
		known:       make(map[string]bool),
	}
	for _, r := range vrrp.AllDropReasons() {
		c.dropReasons = append(c.dropReasons, r.String())
	}
	c.dropReasons = append(c.dropReasons, DaemonDropReasons...)
	for _, r := range c.dropReasons {
		c.known[r] = true
	}
	for i := range 8 {
		if w := vrrp.Warning(1 << i).String(); w != "" {
			c.warnings = append(c.warnings, w)
		}
	}
	return c
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.state, c.priority, c.effPriority, c.masterInfo, c.sent, c.received, c.dropped, c.warned,
		c.transitions, c.lastTr, c.priZero, c.becameMaster, c.socketDropped, c.trackOK, c.trackEffect, c.trackFault,
	} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Status()
	for i := range st.Instances {
		c.collectInstance(ch, &st.Instances[i])
	}
	for _, s := range st.Sockets {
		for _, r := range withExtras(socketDropReasons, s.Drops, nil) {
			emit(ch, c.socketDropped, prometheus.CounterValue, float64(s.Drops[r]), s.Interface, s.Family, r)
		}
	}
}

func (c *statusCollector) collectInstance(ch chan<- prometheus.Metric, in *Instance) {
	lv := []string{in.Name, in.Interface, strconv.Itoa(int(in.VRID)), in.Family}
	with := func(v string) []string { return append(slices.Clip(lv), v) }

	known := false
	for _, s := range States {
		v := 0.0
		if s == in.State {
			v, known = 1, true
		}
		emit(ch, c.state, prometheus.GaugeValue, v, with(s)...)
	}
	if !known && in.State != "" {
		emit(ch, c.state, prometheus.GaugeValue, 1, with(in.State)...)
	}
	emit(ch, c.priority, prometheus.GaugeValue, float64(in.Priority), lv...)
	emit(ch, c.effPriority, prometheus.GaugeValue, float64(in.EffectivePriority), lv...)
	if in.Master != "" {
		emit(ch, c.masterInfo, prometheus.GaugeValue, 1, with(in.Master)...)
	}
	emit(ch, c.sent, prometheus.CounterValue, float64(in.AdvertsSent), lv...)
	emit(ch, c.received, prometheus.CounterValue, float64(in.AdvertsReceived), lv...)
	for _, r := range withExtras(c.dropReasons, in.Drops, c.known) {
		emit(ch, c.dropped, prometheus.CounterValue, float64(in.Drops[r]), with(r)...)
	}
	// Warnings are keyed by the advert's whole set ("a|b"); count per warning.
	warned := make(map[string]uint64, len(c.warnings))
	for k, n := range in.Warnings {
		for w := range strings.SplitSeq(k, "|") {
			if w != "" {
				warned[w] += n
			}
		}
	}
	for _, w := range withExtras(c.warnings, warned, nil) {
		emit(ch, c.warned, prometheus.CounterValue, float64(warned[w]), with(w)...)
	}
	emit(ch, c.transitions, prometheus.CounterValue, float64(in.Transitions), lv...)
	emit(ch, c.becameMaster, prometheus.CounterValue, float64(in.BecameMaster), lv...)
	emit(ch, c.priZero, prometheus.CounterValue, float64(in.PriorityZeroSent), with("sent")...)
	emit(ch, c.priZero, prometheus.CounterValue, float64(in.PriorityZeroReceived), with("received")...)
	if !in.Since.IsZero() {
		emit(ch, c.lastTr, prometheus.GaugeValue, float64(in.Since.UnixNano())/1e9, lv...)
	}

	seen := make(map[[2]string]bool, len(in.Tracks))
	for _, t := range in.Tracks {
		key := [2]string{t.Kind, t.Name}
		if seen[key] { // a duplicate series would fail the whole scrape
			continue
		}
		seen[key] = true
		tl := []string{in.Name, t.Kind, t.Name}
		effect, fault := trackEffect(t.Effect)
		emit(ch, c.trackOK, prometheus.GaugeValue, b2f(t.OK), tl...)
		emit(ch, c.trackEffect, prometheus.GaugeValue, effect, tl...)
		emit(ch, c.trackFault, prometheus.GaugeValue, b2f(fault), tl...)
	}
}

// trackEffect reads Track.Effect: "+20", "-60", "0" or "FAULT".
func trackEffect(s string) (delta float64, fault bool) {
	if strings.EqualFold(s, "FAULT") {
		return 0, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return float64(n), false
}

// withExtras returns base followed by the keys of counts not in base (nor in
// known, when given), sorted, so a reason the daemon learns later is still
// exported.
func withExtras(base []string, counts map[string]uint64, known map[string]bool) []string {
	var extra []string
	for k := range counts {
		if (known != nil && known[k]) || (known == nil && slices.Contains(base, k)) {
			continue
		}
		extra = append(extra, k)
	}
	if extra == nil {
		return base
	}
	slices.Sort(extra)
	return append(slices.Clip(base), extra...)
}

func emit(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, lv ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, lv...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err) // reported by the registry, never a panic
	}
	ch <- m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// NewRegistry returns a fresh registry with the Go runtime, process and
// build-info collectors registered; pass it to NewMetrics and Handler.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return r
}

// Handler serves g in the Prometheus exposition formats. A collection error
// is logged and the metrics that were gathered are still served
// (ContinueOnError): one broken collector must not blind the monitoring of
// the rest. At most a few scrapes run at once; more get 503.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:            promLogger{slog.Default()},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// promLogger sends promhttp's errors to slog on one line each (a
// prometheus.MultiError formats as several lines).
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Error("metrics: " + strings.ReplaceAll(strings.TrimSpace(fmt.Sprint(v...)), "\n", "; "))
}

// ServeMetrics listens on addr (host:port, as --metrics-listen gives it) and
// serves g on /metrics, with a small index page on /. The listen happens
// before it returns, so a bad or busy address is an error at start-up. The
// server stops when ctx is done or stop is called; stop waits for it and
// may be called more than once.
func ServeMetrics(ctx context.Context, addr string, g prometheus.Gatherer) (stop func(), err error) {
	if addr == "" {
		return nil, errors.New("metrics: empty listen address")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: cannot listen on %s (check --metrics-listen): %w", addr, err)
	}
	return serveMetrics(ctx, ln, g), nil
}

const indexPage = `<!DOCTYPE html>
<html><head><title>govrrp</title></head>
<body><h1>govrrp</h1><p><a href="metrics">metrics</a></p></body></html>
`

func serveMetrics(ctx context.Context, ln net.Listener, g prometheus.Gatherer) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(g))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(indexPage))
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second, // > Handler's 10 s gather timeout
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Default().Error("metrics: serve", "addr", ln.Addr().String(), "err", err)
		}
	}()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
		case <-quit:
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		<-served
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}
}
