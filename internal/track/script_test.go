package track

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRiseFall(t *testing.T) {
	type step struct {
		pass     bool
		ok       bool
		progress string
	}
	const P, F = true, false
	tests := []struct {
		name       string
		rise, fall int
		initFail   bool
		steps      []step
	}{
		{"first failure takes effect at once", 3, 3, false, []step{
			{F, false, "first check"}, {F, false, ""}, {P, false, "1 of rise 3"},
		}},
		{"first success confirms the initial state", 3, 3, false, []step{
			{P, true, ""}, {P, true, ""},
		}},
		{"init_fail: first success takes effect at once", 3, 2, true, []step{
			{P, true, "first check"}, {F, true, "1 of fall 2"}, {F, false, "2 of fall 2"},
		}},
		{"init_fail: first failure confirms", 2, 2, true, []step{
			{F, false, ""}, {P, false, "1 of rise 2"}, {P, true, "2 of rise 2"},
		}},
		{"zero rise and fall mean 1", 0, 0, false, []step{
			{P, true, ""}, {F, false, "1 of fall 1"}, {P, true, "1 of rise 1"},
		}},
		// keepalived 2.2.7, rise 3 fall 2: sequence 0 1 1 0 1 0 0 0.
		{"counts are consecutive", 3, 2, false, []step{
			{P, true, ""}, {F, true, "1 of fall 2"}, {F, false, "2 of fall 2"},
			{P, false, "1 of rise 3"}, {F, false, ""},
			{P, false, "1 of rise 3"}, {P, false, "2 of rise 3"}, {P, true, "3 of rise 3"}, {P, true, ""},
		}},
		// keepalived 2.2.7, rise 2 fall 3: 0 1 1 0 1 1 1 0 0 fails at run 7, recovers at run 9.
		{"a success restarts the fall count", 2, 3, false, []step{
			{P, true, ""}, {F, true, "1 of fall 3"}, {F, true, "2 of fall 3"}, {P, true, ""},
			{F, true, "1 of fall 3"}, {F, true, "2 of fall 3"}, {F, false, "3 of fall 3"},
			{P, false, "1 of rise 2"}, {P, true, "2 of rise 2"},
		}},
		// keepalived 2.2.7, init_fail rise 2 fall 2: 5 0 1 0 0 succeeds at run 5.
		{"init_fail then a failure restarts the rise count", 2, 2, true, []step{
			{F, false, ""}, {P, false, "1 of rise 2"}, {F, false, ""},
			{P, false, "1 of rise 2"}, {P, true, "2 of rise 2"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rf := newRiseFall(tt.rise, tt.fall, tt.initFail)
			var got []step
			for _, s := range tt.steps {
				progress := rf.observe(s.pass)
				got = append(got, step{s.pass, rf.ok, progress})
			}
			if diff := cmp.Diff(tt.steps, got, cmp.AllowUnexported(step{})); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewScriptDefaults(t *testing.T) {
	s := NewScript(ScriptConfig{Name: "chk", Argv: []string{"/bin/true"}}, nil)
	if s.cfg.Interval != time.Second || s.cfg.Timeout != time.Second {
		t.Errorf("interval, timeout = %v, %v; want 1s, 1s", s.cfg.Interval, s.cfg.Timeout)
	}
	if s.cfg.Rise != 1 || s.cfg.Fall != 1 {
		t.Errorf("rise, fall = %d, %d; want 1, 1", s.cfg.Rise, s.cfg.Fall)
	}
	if got := s.p.Method(); got != "exec" {
		t.Errorf("nil prober: Method = %q, want exec", got)
	}
	s = NewScript(ScriptConfig{Interval: 5 * time.Second}, &fakeProber{})
	if s.cfg.Timeout != 5*time.Second {
		t.Errorf("timeout = %v, want the interval 5s", s.cfg.Timeout)
	}
}

func TestScriptInitial(t *testing.T) {
	for _, initFail := range []bool{false, true} {
		s := NewScript(ScriptConfig{Name: "chk_apache", InitFail: initFail}, &fakeProber{})
		got := s.Initial()
		want := Result{Kind: KindScript, Name: "chk_apache", OK: !initFail, Value: -1,
			Detail: "not checked yet", Method: "fake"}
		if initFail {
			want.Detail = "init_fail, not checked yet"
		}
		if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "At" }, cmp.Ignore())); diff != "" {
			t.Errorf("init_fail %v: Initial (-want +got):\n%s", initFail, diff)
		}
	}
}

// fakeRun is what one fake check does: take Took (or until its context
// ends) and return Status.
type fakeRun struct {
	Took   time.Duration
	Status int
}

// fakeProber replays runs (the last one repeats) and records when each
// started, relative to the bubble's start, and how many ran at once.
type fakeProber struct {
	t0   time.Time
	runs []fakeRun

	mu         sync.Mutex
	starts     []time.Duration
	running    int
	maxRunning int
}

func (p *fakeProber) Method() string { return "fake" }

func (p *fakeProber) Probe(ctx context.Context) Outcome {
	p.mu.Lock()
	run := fakeRun{}
	if n := len(p.starts); len(p.runs) > 0 {
		run = p.runs[min(n, len(p.runs)-1)]
	}
	p.starts = append(p.starts, time.Since(p.t0))
	p.running++
	p.maxRunning = max(p.maxRunning, p.running)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.running--
		p.mu.Unlock()
	}()
	select {
	case <-time.After(run.Took):
		return Outcome{Status: run.Status, Detail: "status " + strconv.Itoa(run.Status)}
	case <-ctx.Done():
		return Outcome{Status: -1, Detail: context.Cause(ctx).Error()}
	}
}

func (p *fakeProber) startTimes() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.starts...)
}

// changerProber is a fakeProber that is also a Changer.
type changerProber struct {
	*fakeProber
	ch chan struct{}
}

func (p changerProber) Changed() <-chan struct{} { return p.ch }

// collector is a Sink that keeps what it is given.
type collector struct {
	mu  sync.Mutex
	got []Result
}

func (c *collector) sink(r Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, r)
}

func (c *collector) results() []Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Result(nil), c.got...)
}

// runFor runs s inside the current bubble until d after t0 (running during
// meanwhile, if given), then stops it and checks that Run returns.
func runFor(t *testing.T, s *Script, t0 time.Time, d time.Duration, during func()) *collector {
	t.Helper()
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, c.sink)
	}()
	if during != nil {
		during()
	}
	time.Sleep(d - time.Since(t0))
	cancel()
	synctest.Wait()
	select {
	case <-done:
	default:
		t.Fatal("Run did not return after its context ended")
	}
	return c
}

// newFake returns a fakeProber timed from now (the bubble's start when
// called first thing in it).
func newFake(runs ...fakeRun) *fakeProber {
	return &fakeProber{t0: time.Now(), runs: runs}
}

func secs(ds ...float64) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = time.Duration(d * float64(time.Second))
	}
	return out
}

func TestScriptChecksAtOnceThenEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newFake(fakeRun{Took: 300 * time.Millisecond})
		s := NewScript(ScriptConfig{Name: "chk", Interval: time.Second}, p)
		c := runFor(t, s, p.t0, 3500*time.Millisecond, nil)
		if diff := cmp.Diff(secs(0, 1, 2, 3), p.startTimes()); diff != "" {
			t.Errorf("start times (-want +got):\n%s", diff)
		}
		res := c.results()
		if len(res) != 4 {
			t.Fatalf("got %d results, want 4", len(res))
		}
		t0 := p.t0
		for i, r := range res {
			want := Result{Kind: KindScript, Name: "chk", OK: true, Value: 0, Detail: "status 0",
				Method: "fake", At: t0.Add(time.Duration(i)*time.Second + 300*time.Millisecond),
				Took: 300 * time.Millisecond}
			if diff := cmp.Diff(want, r); diff != "" {
				t.Errorf("result %d (-want +got):\n%s", i, diff)
			}
		}
	})
}

func TestScriptOverrunNextStartsWhenPreviousEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newFake(fakeRun{Took: 2500 * time.Millisecond}, fakeRun{Took: 100 * time.Millisecond})
		s := NewScript(ScriptConfig{Name: "chk", Interval: time.Second, Timeout: 10 * time.Second}, p)
		runFor(t, s, p.t0, 4*time.Second, nil)
		if diff := cmp.Diff(secs(0, 2.5, 3.5), p.startTimes()); diff != "" {
			t.Errorf("start times (-want +got):\n%s", diff)
		}
		if p.maxRunning != 1 {
			t.Errorf("%d checks ran at once, want 1", p.maxRunning)
		}
	})
}

func TestScriptTimeoutDefaultsToInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newFake(fakeRun{Took: time.Hour})
		s := NewScript(ScriptConfig{Name: "chk", Interval: 2 * time.Second, Fall: 3}, p)
		c := runFor(t, s, p.t0, 5*time.Second, nil)
		if diff := cmp.Diff(secs(0, 2, 4), p.startTimes()); diff != "" {
			t.Errorf("start times (-want +got):\n%s", diff)
		}
		res := c.results()
		if len(res) != 2 {
			t.Fatalf("got %d results, want 2 (the third check is cut short by the stop)", len(res))
		}
		r := res[0]
		if r.OK || r.Value != -1 || r.Detail != "timed out after 2s, first check" || r.Took != 2*time.Second {
			t.Errorf("first result = %+v; want KO, -1, \"timed out after 2s, first check\", took 2s", r)
		}
		if res[1].Detail != "timed out after 2s" {
			t.Errorf("second detail = %q, want settled \"timed out after 2s\"", res[1].Detail)
		}
	})
}

func TestScriptChangerChecksAtOnceAndRestartsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := changerProber{newFake(), make(chan struct{}, 1)}
		s := NewScript(ScriptConfig{Name: "chk", Interval: 10 * time.Second}, p)
		runFor(t, s, p.t0, 14*time.Second, func() {
			time.Sleep(3 * time.Second)
			p.ch <- struct{}{}
		})
		if diff := cmp.Diff(secs(0, 3, 13), p.startTimes()); diff != "" {
			t.Errorf("start times (-want +got):\n%s", diff)
		}
	})
}

func TestScriptChangeDuringCheckChecksAgainAfterIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := changerProber{newFake(fakeRun{Took: 2 * time.Second}), make(chan struct{}, 1)}
		s := NewScript(ScriptConfig{Name: "chk", Interval: 10 * time.Second, Timeout: 5 * time.Second}, p)
		runFor(t, s, p.t0, 13*time.Second, func() {
			time.Sleep(time.Second)
			p.ch <- struct{}{}
		})
		if diff := cmp.Diff(secs(0, 2, 12), p.startTimes()); diff != "" {
			t.Errorf("start times (-want +got):\n%s", diff)
		}
		if p.maxRunning != 1 {
			t.Errorf("%d checks ran at once, want 1", p.maxRunning)
		}
	})
}

func TestScriptClosedChangedIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := changerProber{newFake(), make(chan struct{})}
		close(p.ch)
		s := NewScript(ScriptConfig{Name: "chk", Interval: 10 * time.Second}, p)
		runFor(t, s, p.t0, 25*time.Second, nil)
		if diff := cmp.Diff(secs(0, 10, 20), p.startTimes()); diff != "" {
			t.Errorf("start times (-want +got):\n%s", diff)
		}
	})
}

func TestScriptStopDuringCheckReportsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newFake(fakeRun{Took: 5 * time.Second})
		s := NewScript(ScriptConfig{Name: "chk", Interval: 10 * time.Second}, p)
		c := runFor(t, s, p.t0, time.Second, nil)
		if got := c.results(); len(got) != 0 {
			t.Errorf("got %d results from a check cut short by the stop, want none", len(got))
		}
	})
}

func TestScriptRiseFallDetails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newFake(
			fakeRun{Status: 0}, fakeRun{Status: 3}, fakeRun{Status: 3},
			fakeRun{Status: 0}, fakeRun{Status: 0}, fakeRun{Status: 0}, fakeRun{Status: 0})
		s := NewScript(ScriptConfig{Name: "chk_apache", Interval: time.Second, Rise: 3, Fall: 2}, p)
		c := runFor(t, s, p.t0, 6500*time.Millisecond, nil)
		type okDetail struct {
			OK     bool
			Value  int
			Detail string
		}
		want := []okDetail{
			{true, 0, "status 0"},
			{true, 3, "status 3, 1 of fall 2"},
			{false, 3, "status 3, 2 of fall 2"},
			{false, 0, "status 0, 1 of rise 3"},
			{false, 0, "status 0, 2 of rise 3"},
			{true, 0, "status 0, 3 of rise 3"},
			{true, 0, "status 0"},
		}
		var got []okDetail
		for _, r := range c.results() {
			got = append(got, okDetail{r.OK, r.Value, r.Detail})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
	})
}
