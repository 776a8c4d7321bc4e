package interop

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/whatif"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// TestWhatIfMatchesTheWire: `config check --what-if`'s predictions for the
// two-node lab (a 150 tracking vrrp_script chk, b 100; VRRPv3 100 ms) are
// what real daemons do: who holds the VIP after a's check fails, after it
// passes again, after a is stopped and after it is started again. Weight
// -60 crosses the priority gap, -30 cannot (the what-if warns; the wire
// must show the VIP staying on a). keepalived↔keepalived shows the
// predictions hold for keepalived itself; govrrp↔govrrp for govrrp. The
// times are logged beside the predicted ones (measurements, not asserted
// beyond the protocol bounds plus slack).
func TestWhatIfMatchesTheWire(t *testing.T) {
	t.Parallel()
	for _, p := range []pairing{{keepalived, keepalived}, {govrrp, govrrp}} {
		for _, w := range []int{trackWeight, -30} {
			t.Run(fmt.Sprintf("%s/weight%d", p, w), func(t *testing.T) {
				t.Parallel()
				tl := newTrackLab(t, p, false)
				a, b := tl.a, tl.b
				spec := trackSpec{defs: []string{vrrpScript("chk", a.checkScript(t), w)}, instance: []string{"track_script {\n    chk\n}"}}
				confA, confB := a.trackConf(b, prioHigh, spec), b.trackConf(a, prioLow, trackSpec{})
				rep := predict(t, a, confA, b, confB)
				if w == -30 && len(rep.Warnings) == 0 {
					t.Fatalf("what-if gives no warning for a weight that cannot cross the gap: %+v", rep)
				}
				a.startTracked(t, confA, prioHigh)
				b.startTracked(t, confB, prioLow)
				steady := labName(rep.Routers[0].HeldBy)
				waitOnly(t, steady, time.Now(), startupMargin+trackSc.masterDown(prioLow)+slack, "steady holder "+steady, a, b)

				script := outcomeOf(t, rep, "track_script")
				checkPrediction(t, "chk fails", script.o.After, script.o.Takes, script.f.SeenAfter, func() { a.setHealthy(t, false) }, a, b)
				checkPrediction(t, "chk passes", script.o.Recovered, script.o.BackTakes, script.f.RecoveredAfter, func() { a.setHealthy(t, true) }, a, b)

				stop := outcomeOf(t, rep, "stop")
				checkPrediction(t, "a stopped", stop.o.After, stop.o.Takes, "", func() {
					if err := a.signal(syscall.SIGTERM); err != nil {
						fail(t, err.Error(), a, b)
					}
				}, a, b)
				if err := a.waitExit(exitTimeout); err != nil {
					fail(t, err.Error(), a, b)
				}
				checkPrediction(t, "a started", stop.o.Recovered, stop.o.BackTakes, startupMargin.String(), func() { a.startTracked(t, confA, prioHigh) }, a, b)
				stopBoth(t, trackSc, a, b)
			})
		}
	}
}

// predict runs the what-if on the two nodes' files.
func predict(t *testing.T, a *node, confA string, b *node, confB string) whatif.Report {
	t.Helper()
	var nodes []whatif.Node
	for _, n := range []struct {
		n    *node
		conf string
	}{{a, confA}, {b, confB}} {
		path := filepath.Join(n.n.host.Lab().Dir(), n.n.name+"-whatif.conf")
		writeFile(t, path, n.conf, 0o644)
		cfg, diags, err := kaconf.Load(path, kaconf.LoadOptions{})
		if err != nil {
			t.Fatalf("interop: load %s: %v", path, err)
		}
		nodes = append(nodes, whatif.Node{File: path, Config: cfg, Diags: diags})
	}
	return whatif.Analyze(nodes)
}

type predicted struct {
	f whatif.Failure
	o whatif.Outcome
}

// outcomeOf is the prediction for node a's failure of kind.
func outcomeOf(t *testing.T, rep whatif.Report, kind string) predicted {
	t.Helper()
	for _, f := range rep.Failures {
		if f.Node == "iop_a" && f.Kind == kind && len(f.Outcomes) == 1 {
			return predicted{f, f.Outcomes[0]}
		}
	}
	t.Fatalf("interop: no %s prediction for a in %+v", kind, rep.Failures)
	return predicted{}
}

// labName maps the what-if's node names (router_id iop_a) to the lab's.
func labName(holders []string) string {
	var out []string
	for _, h := range holders {
		out = append(out, strings.TrimPrefix(h, "iop_"))
	}
	return strings.Join(out, ",")
}

// checkPrediction does what and checks the predicted holder: when the VIP
// is predicted to move, it must be on the new holder within the detection
// delay, the predicted protocol time and slack; when it is predicted to
// stay, it must stay for that long.
func checkPrediction(t *testing.T, what string, holders []string, takes, seen string, do func(), all ...*node) {
	t.Helper()
	want := labName(holders)
	before, err := vipOwners(vip4, all...)
	if err != nil {
		fail(t, err.Error(), all...)
	}
	bound := parseDur(t, takes) + parseDur(t, seen) + trackSc.masterDown(1) + slack
	start := time.Now()
	do()
	if want != before {
		took := waitOnly(t, want, start, bound, what+": predicted holder "+want, all...)
		detect := ""
		if seen != "" {
			detect = ", after detection within " + seen
		}
		t.Logf("%s: VIP %s → %s after %v; what-if: %s by the protocol%s", what, before, want, took.Round(time.Millisecond), takes, detect)
		return
	}
	if _, err := holdOwner(bound, 5*time.Millisecond, vip4, want, all...); err != nil {
		fail(t, fmt.Sprintf("%s: what-if predicted the VIP stays on %s: %v", what, want, err), all...)
	}
	t.Logf("%s: VIP stayed on %s for %v, as predicted", what, want, bound)
}

func parseDur(t *testing.T, s string) time.Duration {
	t.Helper()
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("interop: what-if duration %q: %v", s, err)
	}
	return d
}
