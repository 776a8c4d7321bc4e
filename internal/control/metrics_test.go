package control

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/govrrp/govrrp/pkg/vrrp"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/metrics golden files")

// metricsProvider is a Provider whose Status can be swapped under a scrape.
type metricsProvider struct{ st atomic.Pointer[Status] }

func newMetricsProvider(st Status) *metricsProvider {
	p := &metricsProvider{}
	p.st.Store(&st)
	return p
}

func (p *metricsProvider) Status() Status { return *p.st.Load() }

// twoInstances: VI_WEB is a BACKUP with tracks, drops and warnings; VI_DB is
// in FAULT because its interface is down.
func twoInstances() Status {
	return Status{
		Pid: 42,
		Instances: []Instance{{
			Name: "VI_WEB", Interface: "eth0", VRID: 51, Version: 3, Family: "inet",
			State: "BACKUP", Reason: "higher-priority master", Since: time.Date(2026, 1, 2, 3, 4, 5, 500_000_000, time.UTC),
			Priority: 100, EffectivePriority: 80, Master: "192.0.2.12", Source: "192.0.2.11",
			AdvertsSent: 3, AdvertsReceived: 1234,
			Drops:       map[string]uint64{"checksum": 2, "ttl": 1, "not_a_peer": 5, "queue_full": 1, "some_future_reason": 7},
			Warnings:    map[string]uint64{"addr_mismatch": 3, "src_not_link_local|addr_mismatch": 2},
			Transitions: 4, BecameMaster: 2, PriorityZeroReceived: 1,
			Tracks: []Track{
				{Kind: "track_script", Name: "chk_apache", State: "ok", OK: true, Weight: 20, Effect: "+20"},
				{Kind: "track_interface", Name: "eth1", State: "down", Weight: -40, Effect: "-40"},
				{Kind: "track_file", Name: "/run/govrrp/prio", State: "pending", Weight: 1, Effect: "0"},
				{Kind: "track_script", Name: "chk_apache", State: "ok", OK: true, Weight: 20, Effect: "+20"}, // duplicate: emitted once
			},
		}, {
			Name: "VI_DB", Interface: "eth1", VRID: 52, Version: 3, Family: "inet6",
			State: "FAULT", Reason: "interface eth1 down", Since: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC),
			Priority: 90, EffectivePriority: 0, BecameMaster: 1, PriorityZeroSent: 1,
			Tracks: []Track{{Kind: "interface", Name: "eth1", State: "down", Weight: 0, Effect: "FAULT"}},
		}},
		Sockets: []Socket{
			{Interface: "eth0", Family: "inet", Drops: map[string]uint64{"unknown_vrid": 9}},
			{Interface: "eth1", Family: "inet6"},
		},
	}
}

func newTestMetrics(t testing.TB, st Status) (*Metrics, *prometheus.Registry, *metricsProvider) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	p := newMetricsProvider(st)
	m, err := NewMetrics(reg, p)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg, p
}

func TestMetricsCollectorGolden(t *testing.T) {
	golden := filepath.Join("testdata", "metrics", "status.prom")
	c := newStatusCollector(newMetricsProvider(twoInstances()))
	if *updateGolden {
		// (testutil.CollectAndFormat with no names formats nothing.)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
		b := buf.Bytes()
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.CollectAndCompare(c, f); err != nil {
		t.Error(err)
	}
}

// The points the golden file encodes, asserted one by one so a careless
// -update cannot hide a regression.
func TestMetricsCollectorSemantics(t *testing.T) {
	_, reg, _ := newTestMetrics(t, twoInstances())
	expected := `
# HELP govrrp_instance_state VRRP state of the instance: 1 for the current state, 0 for the others.
# TYPE govrrp_instance_state gauge
govrrp_instance_state{family="inet",interface="eth0",state="BACKUP",vrid="51",vrrp_instance="VI_WEB"} 1
govrrp_instance_state{family="inet",interface="eth0",state="FAULT",vrid="51",vrrp_instance="VI_WEB"} 0
govrrp_instance_state{family="inet",interface="eth0",state="INIT",vrid="51",vrrp_instance="VI_WEB"} 0
govrrp_instance_state{family="inet",interface="eth0",state="MASTER",vrid="51",vrrp_instance="VI_WEB"} 0
govrrp_instance_state{family="inet6",interface="eth1",state="BACKUP",vrid="52",vrrp_instance="VI_DB"} 0
govrrp_instance_state{family="inet6",interface="eth1",state="FAULT",vrid="52",vrrp_instance="VI_DB"} 1
govrrp_instance_state{family="inet6",interface="eth1",state="INIT",vrid="52",vrrp_instance="VI_DB"} 0
govrrp_instance_state{family="inet6",interface="eth1",state="MASTER",vrid="52",vrrp_instance="VI_DB"} 0
# HELP govrrp_instance_effective_priority Priority after track weights (what adverts carry).
# TYPE govrrp_instance_effective_priority gauge
govrrp_instance_effective_priority{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB"} 80
govrrp_instance_effective_priority{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB"} 0
# HELP govrrp_instance_master_info The current master's address (always 1; absent while unknown).
# TYPE govrrp_instance_master_info gauge
govrrp_instance_master_info{family="inet",interface="eth0",master="192.0.2.12",vrid="51",vrrp_instance="VI_WEB"} 1
# HELP govrrp_instance_last_transition_timestamp_seconds Unix time the instance entered its current state.
# TYPE govrrp_instance_last_transition_timestamp_seconds gauge
govrrp_instance_last_transition_timestamp_seconds{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB"} 1.7673230455e+09
govrrp_instance_last_transition_timestamp_seconds{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB"} 1.7673228e+09
# HELP govrrp_adverts_warnings_total Adverts accepted with a warning, by warning (an advert with two warnings counts in both).
# TYPE govrrp_adverts_warnings_total counter
govrrp_adverts_warnings_total{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB",warning="addr_count"} 0
govrrp_adverts_warnings_total{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB",warning="addr_mismatch"} 5
govrrp_adverts_warnings_total{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB",warning="first_addr_not_link_local"} 0
govrrp_adverts_warnings_total{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB",warning="hmac_clock_skew"} 0
govrrp_adverts_warnings_total{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB",warning="hmac_unsigned"} 0
govrrp_adverts_warnings_total{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB",warning="hmac_unverified"} 0
govrrp_adverts_warnings_total{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB",warning="interval_mismatch"} 0
govrrp_adverts_warnings_total{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB",warning="src_not_link_local"} 2
govrrp_adverts_warnings_total{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB",warning="addr_count"} 0
govrrp_adverts_warnings_total{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB",warning="addr_mismatch"} 0
govrrp_adverts_warnings_total{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB",warning="first_addr_not_link_local"} 0
govrrp_adverts_warnings_total{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB",warning="hmac_clock_skew"} 0
govrrp_adverts_warnings_total{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB",warning="hmac_unsigned"} 0
govrrp_adverts_warnings_total{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB",warning="hmac_unverified"} 0
govrrp_adverts_warnings_total{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB",warning="interval_mismatch"} 0
govrrp_adverts_warnings_total{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB",warning="src_not_link_local"} 0
# HELP govrrp_priority_zero_adverts_total Priority-0 adverts (a master resigning: shutdown, fault, removal), sent or accepted, by direction.
# TYPE govrrp_priority_zero_adverts_total counter
govrrp_priority_zero_adverts_total{direction="received",family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB"} 1
govrrp_priority_zero_adverts_total{direction="received",family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB"} 0
govrrp_priority_zero_adverts_total{direction="sent",family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB"} 0
govrrp_priority_zero_adverts_total{direction="sent",family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB"} 1
# HELP govrrp_instance_became_master_total Transitions into MASTER since the daemon started.
# TYPE govrrp_instance_became_master_total counter
govrrp_instance_became_master_total{family="inet",interface="eth0",vrid="51",vrrp_instance="VI_WEB"} 2
govrrp_instance_became_master_total{family="inet6",interface="eth1",vrid="52",vrrp_instance="VI_DB"} 1
# HELP govrrp_socket_adverts_dropped_total Packets a shared socket dropped before any instance saw them, by reason.
# TYPE govrrp_socket_adverts_dropped_total counter
govrrp_socket_adverts_dropped_total{family="inet",interface="eth0",reason="too_short"} 0
govrrp_socket_adverts_dropped_total{family="inet",interface="eth0",reason="unknown_vrid"} 9
govrrp_socket_adverts_dropped_total{family="inet6",interface="eth1",reason="too_short"} 0
govrrp_socket_adverts_dropped_total{family="inet6",interface="eth1",reason="unknown_vrid"} 0
# HELP govrrp_track_ok 1 if the tracked object's last result is good, 0 if failed or still pending.
# TYPE govrrp_track_ok gauge
govrrp_track_ok{kind="interface",name="eth1",vrrp_instance="VI_DB"} 0
govrrp_track_ok{kind="track_file",name="/run/govrrp/prio",vrrp_instance="VI_WEB"} 0
govrrp_track_ok{kind="track_interface",name="eth1",vrrp_instance="VI_WEB"} 0
govrrp_track_ok{kind="track_script",name="chk_apache",vrrp_instance="VI_WEB"} 1
# HELP govrrp_track_effect Priority change the tracked object applies now (0 when it is not applied or forces FAULT).
# TYPE govrrp_track_effect gauge
govrrp_track_effect{kind="interface",name="eth1",vrrp_instance="VI_DB"} 0
govrrp_track_effect{kind="track_file",name="/run/govrrp/prio",vrrp_instance="VI_WEB"} 0
govrrp_track_effect{kind="track_interface",name="eth1",vrrp_instance="VI_WEB"} -40
govrrp_track_effect{kind="track_script",name="chk_apache",vrrp_instance="VI_WEB"} 20
# HELP govrrp_track_fault 1 if the tracked object forces the instance into FAULT now.
# TYPE govrrp_track_fault gauge
govrrp_track_fault{kind="interface",name="eth1",vrrp_instance="VI_DB"} 1
govrrp_track_fault{kind="track_file",name="/run/govrrp/prio",vrrp_instance="VI_WEB"} 0
govrrp_track_fault{kind="track_interface",name="eth1",vrrp_instance="VI_WEB"} 0
govrrp_track_fault{kind="track_script",name="chk_apache",vrrp_instance="VI_WEB"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expected),
		"govrrp_instance_state", "govrrp_instance_effective_priority", "govrrp_instance_master_info",
		"govrrp_instance_last_transition_timestamp_seconds", "govrrp_adverts_warnings_total",
		"govrrp_priority_zero_adverts_total", "govrrp_instance_became_master_total",
		"govrrp_socket_adverts_dropped_total", "govrrp_track_ok", "govrrp_track_effect", "govrrp_track_fault"); err != nil {
		t.Error(err)
	}
}

// gatherValues returns name's series as "k=v,k=v" -> value.
func gatherValues(t testing.TB, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			var v float64
			switch {
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Histogram != nil:
				v = float64(m.GetHistogram().GetSampleCount())
			}
			out[strings.Join(ls, ",")] = v
		}
	}
	return out
}

func TestMetricsEveryDropReasonPreRegistered(t *testing.T) {
	_, reg, _ := newTestMetrics(t, twoInstances())
	got := gatherValues(t, reg, "govrrp_adverts_dropped_total")
	want := map[string]uint64{"checksum": 2, "ttl": 1, "not_a_peer": 5, "queue_full": 1}
	reasons := append([]string(nil), DaemonDropReasons...)
	for _, r := range vrrp.AllDropReasons() {
		reasons = append(reasons, r.String())
	}
	for _, inst := range []struct{ name, iface, vrid, fam string }{{"VI_WEB", "eth0", "51", "inet"}, {"VI_DB", "eth1", "52", "inet6"}} {
		for _, r := range reasons {
			key := fmt.Sprintf("family=%s,interface=%s,reason=%s,vrid=%s,vrrp_instance=%s", inst.fam, inst.iface, r, inst.vrid, inst.name)
			v, ok := got[key]
			if !ok {
				t.Errorf("%s: no series for reason %q", inst.name, r)
				continue
			}
			w := 0.0
			if inst.name == "VI_WEB" {
				w = float64(want[r])
			}
			if v != w {
				t.Errorf("%s reason %q = %v, want %v", inst.name, r, v, w)
			}
		}
	}
	// A reason the collector does not know yet is exported rather than lost.
	if v := got["family=inet,interface=eth0,reason=some_future_reason,vrid=51,vrrp_instance=VI_WEB"]; v != 7 {
		t.Errorf("unknown reason = %v, want 7", v)
	}
	if n, want := len(got), 2*len(reasons)+1; n != want {
		t.Errorf("%d drop series, want %d", n, want)
	}
}

func TestMetricsCollectorFollowsStatus(t *testing.T) {
	_, reg, p := newTestMetrics(t, twoInstances())
	// A reload removes VI_DB and VI_WEB goes into a state this version has
	// no label for: VI_DB's series vanish, the odd state is still visible.
	st := twoInstances()
	st.Instances = st.Instances[:1]
	st.Instances[0].State = "STOP"
	st.Instances[0].Master = ""
	st.Instances[0].Since = time.Time{}
	p.st.Store(&st)

	got := gatherValues(t, reg, "govrrp_instance_state")
	want := map[string]float64{}
	for _, s := range []string{"INIT", "BACKUP", "MASTER", "FAULT"} {
		want["family=inet,interface=eth0,state="+s+",vrid=51,vrrp_instance=VI_WEB"] = 0
	}
	want["family=inet,interface=eth0,state=STOP,vrid=51,vrrp_instance=VI_WEB"] = 1
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("state series (-want +got):\n%s", d)
	}
	for _, name := range []string{"govrrp_instance_master_info", "govrrp_instance_last_transition_timestamp_seconds"} {
		if n := len(gatherValues(t, reg, name)); n != 0 {
			t.Errorf("%s: %d series, want none", name, n)
		}
	}
	if n := len(gatherValues(t, reg, "govrrp_track_ok")); n != 3 {
		t.Errorf("track_ok: %d series, want VI_WEB's 3", n)
	}
}

func TestMetricsEvents(t *testing.T) {
	m, reg, _ := newTestMetrics(t, Status{})
	m.Transition("VI_WEB", "INIT", "BACKUP")
	m.Transition("VI_WEB", "BACKUP", "MASTER")
	m.Transition("VI_WEB", "BACKUP", "MASTER")
	m.AdvertGap("VI_WEB", time.Second, 4*time.Second)   // margin 0.75: punctual
	m.AdvertGap("VI_WEB", 3*time.Second, 4*time.Second) // 0.25: two adverts lost
	m.AdvertGap("VI_WEB", 5*time.Second, 4*time.Second) // -0.25: the timer would have fired
	m.AdvertGap("VI_WEB", -time.Second, 4*time.Second)  // ignored
	m.ScriptRun("chk_apache", 20*time.Millisecond, true)
	m.ScriptRun("chk_apache", 3*time.Second, false)
	m.ScriptRun("chk_apache", 5*time.Millisecond, true)

	expected := `
# HELP govrrp_transitions_total State transitions seen by this process, by instance and from/to state.
# TYPE govrrp_transitions_total counter
govrrp_transitions_total{from="BACKUP",to="MASTER",vrrp_instance="VI_WEB"} 2
govrrp_transitions_total{from="INIT",to="BACKUP",vrrp_instance="VI_WEB"} 1
# HELP govrrp_advert_interarrival_seconds Time between consecutive accepted adverts from the master, as seen by a backup.
# TYPE govrrp_advert_interarrival_seconds histogram
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="0.01"} 0
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="0.025"} 0
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="0.05"} 0
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="0.075"} 0
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="0.125"} 0
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="0.25"} 0
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="0.5"} 0
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="0.75"} 0
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="1.25"} 1
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="1.75"} 1
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="2.5"} 1
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="3.5"} 2
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="5"} 3
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="10"} 3
govrrp_advert_interarrival_seconds_bucket{vrrp_instance="VI_WEB",le="+Inf"} 3
govrrp_advert_interarrival_seconds_sum{vrrp_instance="VI_WEB"} 9
govrrp_advert_interarrival_seconds_count{vrrp_instance="VI_WEB"} 3
# HELP govrrp_master_down_margin_ratio Share of Master_Down_Interval still left when an advert arrived: (master_down - gap) / master_down. Near 0: the backup almost took over; <= 0: the timer would have expired.
# TYPE govrrp_master_down_margin_ratio histogram
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0"} 1
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.025"} 1
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.05"} 1
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.1"} 1
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.2"} 1
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.3"} 2
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.4"} 2
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.5"} 2
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.6"} 2
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.7"} 2
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.8"} 3
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="0.9"} 3
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="1"} 3
govrrp_master_down_margin_ratio_bucket{vrrp_instance="VI_WEB",le="+Inf"} 3
govrrp_master_down_margin_ratio_sum{vrrp_instance="VI_WEB"} 0.75
govrrp_master_down_margin_ratio_count{vrrp_instance="VI_WEB"} 3
# HELP govrrp_script_runs_total vrrp_script runs by result (ok: exit status 0; fail: non-zero, timeout or exec error).
# TYPE govrrp_script_runs_total counter
govrrp_script_runs_total{result="fail",script="chk_apache"} 1
govrrp_script_runs_total{result="ok",script="chk_apache"} 2
# HELP govrrp_script_duration_seconds Run time of vrrp_script checks.
# TYPE govrrp_script_duration_seconds histogram
govrrp_script_duration_seconds_bucket{script="chk_apache",le="0.001"} 0
govrrp_script_duration_seconds_bucket{script="chk_apache",le="0.0025"} 0
govrrp_script_duration_seconds_bucket{script="chk_apache",le="0.005"} 1
govrrp_script_duration_seconds_bucket{script="chk_apache",le="0.01"} 1
govrrp_script_duration_seconds_bucket{script="chk_apache",le="0.025"} 2
govrrp_script_duration_seconds_bucket{script="chk_apache",le="0.05"} 2
govrrp_script_duration_seconds_bucket{script="chk_apache",le="0.1"} 2
govrrp_script_duration_seconds_bucket{script="chk_apache",le="0.25"} 2
govrrp_script_duration_seconds_bucket{script="chk_apache",le="0.5"} 2
govrrp_script_duration_seconds_bucket{script="chk_apache",le="1"} 2
govrrp_script_duration_seconds_bucket{script="chk_apache",le="2.5"} 2
govrrp_script_duration_seconds_bucket{script="chk_apache",le="5"} 3
govrrp_script_duration_seconds_bucket{script="chk_apache",le="10"} 3
govrrp_script_duration_seconds_bucket{script="chk_apache",le="30"} 3
govrrp_script_duration_seconds_bucket{script="chk_apache",le="+Inf"} 3
govrrp_script_duration_seconds_sum{script="chk_apache"} 3.025
govrrp_script_duration_seconds_count{script="chk_apache"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expected),
		"govrrp_transitions_total", "govrrp_advert_interarrival_seconds", "govrrp_master_down_margin_ratio",
		"govrrp_script_runs_total", "govrrp_script_duration_seconds"); err != nil {
		t.Error(err)
	}
}

func TestMetricsFirstScriptRunCreatesBothResults(t *testing.T) {
	m, reg, _ := newTestMetrics(t, Status{})
	m.ScriptRun("chk", time.Millisecond, true)
	want := map[string]float64{"result=ok,script=chk": 1, "result=fail,script=chk": 0}
	if d := cmp.Diff(want, gatherValues(t, reg, "govrrp_script_runs_total")); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestMetricsForgetInstance(t *testing.T) {
	m, reg, _ := newTestMetrics(t, Status{})
	for _, in := range []string{"VI_WEB", "VI_DB"} {
		m.Transition(in, "BACKUP", "MASTER")
		m.AdvertGap(in, time.Second, 3*time.Second)
	}
	m.ForgetInstance("VI_DB")
	for _, name := range []string{"govrrp_transitions_total", "govrrp_advert_interarrival_seconds", "govrrp_master_down_margin_ratio"} {
		for k := range gatherValues(t, reg, name) {
			if strings.Contains(k, "VI_DB") {
				t.Errorf("%s still has %s", name, k)
			}
		}
		if n := testutil.CollectAndCount(m.collectorNamed(t, name)); n != 1 {
			t.Errorf("%s: %d series, want VI_WEB's only", name, n)
		}
	}
	// The observer cache was dropped too: a re-created instance starts at 0
	// and is exported again.
	m.AdvertGap("VI_DB", time.Second, 3*time.Second)
	if v := gatherValues(t, reg, "govrrp_advert_interarrival_seconds")["vrrp_instance=VI_DB"]; v != 1 {
		t.Errorf("re-created VI_DB count = %v, want 1", v)
	}
	m.ForgetInstance("never-seen") // no-op
}

func TestMetricsForgetScript(t *testing.T) {
	m, reg, _ := newTestMetrics(t, Status{})
	m.ScriptRun("chk_a", time.Millisecond, true)
	m.ScriptRun("chk_b", time.Millisecond, false)
	m.ForgetScript("chk_a")
	want := map[string]float64{"result=ok,script=chk_b": 0, "result=fail,script=chk_b": 1}
	if d := cmp.Diff(want, gatherValues(t, reg, "govrrp_script_runs_total")); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]float64{"script=chk_b": 1}, gatherValues(t, reg, "govrrp_script_duration_seconds")); d != "" {
		t.Errorf("duration (-want +got):\n%s", d)
	}
}

// collectorNamed maps a metric name to the vector behind it.
func (m *Metrics) collectorNamed(t testing.TB, name string) prometheus.Collector {
	switch name {
	case "govrrp_transitions_total":
		return m.transitions
	case "govrrp_advert_interarrival_seconds":
		return m.advertGap
	case "govrrp_master_down_margin_ratio":
		return m.margin
	}
	t.Fatalf("no vector %s", name)
	return nil
}

func TestMetricsHotPathsDoNotAllocate(t *testing.T) {
	m, _, _ := newTestMetrics(t, Status{})
	m.AdvertGap("VI_WEB", time.Second, 3*time.Second) // first call creates the series
	m.ScriptRun("chk_apache", time.Millisecond, true)
	if n := testing.AllocsPerRun(1000, func() { m.AdvertGap("VI_WEB", time.Second, 3*time.Second) }); n != 0 {
		t.Errorf("AdvertGap: %v allocs per call, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { m.ScriptRun("chk_apache", time.Millisecond, false) }); n != 0 {
		t.Errorf("ScriptRun: %v allocs per call, want 0", n)
	}
}

func TestMetricsNilIsNoop(t *testing.T) {
	var m *Metrics
	m.Transition("a", "INIT", "BACKUP")
	m.AdvertGap("a", time.Second, 3*time.Second)
	m.ScriptRun("s", time.Second, true)
	m.ForgetInstance("a")
	m.ForgetScript("s")
	m.Unregister()
}

func TestNewMetricsErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := newMetricsProvider(twoInstances())
	if _, err := NewMetrics(nil, p); err == nil {
		t.Error("nil registerer: no error")
	}
	if _, err := NewMetrics(reg, nil); err == nil {
		t.Error("nil provider: no error")
	}
	m1, err := NewMetrics(reg, p)
	if err != nil {
		t.Fatal(err)
	}
	// The second registration fails, and leaves nothing of itself behind.
	if _, err := NewMetrics(reg, p); err == nil {
		t.Fatal("second NewMetrics on one registry: no error")
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	m1.Unregister()
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
		t.Errorf("after Unregister: %d families, err %v; want none", len(mfs), err)
	}
	if _, err := NewMetrics(reg, p); err != nil {
		t.Errorf("NewMetrics after Unregister: %v", err)
	}
}

func TestNewRegistryHasRuntimeAndProcess(t *testing.T) {
	reg := NewRegistry()
	if _, err := NewMetrics(reg, newMetricsProvider(twoInstances())); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	for _, n := range []string{"go_goroutines", "go_build_info", "process_start_time_seconds", "govrrp_instance_state"} {
		if !have[n] {
			t.Errorf("no %s", n)
		}
	}
}

func TestMetricsConcurrentUse(t *testing.T) {
	m, reg, p := newTestMetrics(t, twoInstances())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			in := fmt.Sprintf("VI_%d", g%2)
			for i := range 500 {
				m.AdvertGap(in, time.Second, 3*time.Second)
				m.ScriptRun("chk", time.Millisecond, i%2 == 0)
				if i%50 == 0 {
					m.Transition(in, "BACKUP", "MASTER")
					m.ForgetInstance(in)
					m.ForgetScript("chk")
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			st := twoInstances()
			p.st.Store(&st)
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
}

// get fetches url and returns status, Content-Type and body.
func get(t *testing.T, url string, hdr ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestMetricsHTTPServer(t *testing.T) {
	m, reg, _ := newTestMetrics(t, twoInstances())
	m.Transition("VI_WEB", "BACKUP", "MASTER")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := serveMetrics(t.Context(), ln, reg)
	defer stop()
	base := "http://" + ln.Addr().String()

	code, ctype, body := get(t, base+"/metrics", "Accept", "text/plain")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	if !strings.HasPrefix(ctype, "text/plain") || !strings.Contains(ctype, "version=0.0.4") {
		t.Errorf("/metrics Content-Type %q, want the text format", ctype)
	}
	for _, s := range []string{
		`govrrp_instance_state{family="inet",interface="eth0",state="BACKUP",vrid="51",vrrp_instance="VI_WEB"} 1`,
		`govrrp_transitions_total{from="BACKUP",to="MASTER",vrrp_instance="VI_WEB"} 1`,
		"# TYPE govrrp_adverts_dropped_total counter",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
	// What Prometheus reads back parses as the text format.
	parser := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := parser.TextToMetricFamilies(strings.NewReader(body)); err != nil {
		t.Errorf("/metrics does not parse: %v", err)
	}

	code, ctype, body = get(t, base+"/")
	if code != 200 || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, `href="metrics"`) {
		t.Errorf("/: %d %q %q", code, ctype, body)
	}
	if code, _, _ = get(t, base+"/nope"); code != http.StatusNotFound {
		t.Errorf("/nope: %d, want 404", code)
	}
	stop()
	stop() // idempotent
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("still listening after stop")
	}
}

// failingGatherer returns a partial result and an error, like a registry
// with one broken collector.
type failingGatherer struct{ prometheus.Gatherer }

func (g failingGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, _ := g.Gatherer.Gather()
	return mfs, errors.New("collector exploded")
}

func TestMetricsHandlerServesPartialOnError(t *testing.T) {
	_, reg, _ := newTestMetrics(t, twoInstances())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := serveMetrics(t.Context(), ln, failingGatherer{reg})
	defer stop()
	code, _, body := get(t, "http://"+ln.Addr().String()+"/metrics")
	if code != 200 || !strings.Contains(body, "govrrp_instance_state") {
		t.Errorf("%d, body has state: %v", code, strings.Contains(body, "govrrp_instance_state"))
	}
}

func TestServeMetricsPublic(t *testing.T) {
	_, reg, _ := newTestMetrics(t, twoInstances())
	// ServeMetrics does not report its address, so pick a free port first;
	// retry if something grabs it in between.
	var (
		stop func()
		addr string
	)
	for range 5 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
		if stop, err = ServeMetrics(t.Context(), addr, reg); err == nil {
			break
		}
	}
	if stop == nil {
		t.Fatal("no free loopback port")
	}
	defer stop()
	if code, _, body := get(t, "http://"+addr+"/metrics"); code != 200 || !strings.Contains(body, "govrrp_adverts_sent_total") {
		t.Errorf("/metrics: %d", code)
	}
}

func TestServeMetricsAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stop, err := ServeMetrics(t.Context(), ln.Addr().String(), prometheus.NewRegistry())
	if err == nil {
		stop()
		t.Fatal("ServeMetrics on a busy address: no error")
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("error %q should name the address and say it is in use", err)
	}
	for _, bad := range []string{"", "127.0.0.1:notaport", "127.0.0.1:99999"} {
		if stop, err := ServeMetrics(t.Context(), bad, prometheus.NewRegistry()); err == nil {
			stop()
			t.Errorf("ServeMetrics(%q): no error", bad)
		}
	}
}

func TestServeMetricsStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := serveMetrics(ctx, ln, prometheus.NewRegistry())
	cancel()
	stop() // returns once the server is down
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("still listening after the context ended")
	}
}

func TestPromLoggerOneLine(t *testing.T) {
	var buf bytes.Buffer
	promLogger{slog.New(slog.NewTextHandler(&buf, nil))}.Println("error gathering metrics:", "2 error(s) occurred:\n* a\n* b")
	if s := strings.TrimSpace(buf.String()); strings.Contains(s, "\n") || !strings.Contains(s, "* a; * b") {
		t.Errorf("logged %q, want one line", s)
	}
}

func BenchmarkAdvertGap(b *testing.B) {
	m, _, _ := newTestMetrics(b, Status{})
	m.AdvertGap("VI_WEB", time.Second, 3*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		m.AdvertGap("VI_WEB", time.Second, 3*time.Second)
	}
}

func BenchmarkAdvertGapParallel(b *testing.B) {
	m, _, _ := newTestMetrics(b, Status{})
	names := []string{"VI_0", "VI_1", "VI_2", "VI_3"}
	for _, n := range names {
		m.AdvertGap(n, time.Second, 3*time.Second)
	}
	var next atomic.Int32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := names[int(next.Add(1))%len(names)]
		for pb.Next() {
			m.AdvertGap(n, time.Second, 3*time.Second)
		}
	})
}

func BenchmarkGatherTwoInstances(b *testing.B) {
	_, reg, _ := newTestMetrics(b, twoInstances())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
