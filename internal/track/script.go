package track

import (
	"context"
	"fmt"
	"time"
)

// defaultScriptInterval is keepalived's vrrp_script interval when none is
// configured (keepalived.conf(5): "default: 1 second").
const defaultScriptInterval = time.Second

// ScriptConfig is one vrrp_script block, resolved: Argv[0] is the path the
// command runs from (see ResolveExecutable) and Cred the user it runs as.
type ScriptConfig struct {
	Name string
	Argv []string
	// Interval is the time from the start of one check to the start of the
	// next (zero: 1 s). Timeout bounds one check (zero: Interval, which is
	// what keepalived 2.2.7 does: a run still going at the next tick is
	// killed).
	Interval, Timeout time.Duration
	// Rise and Fall are how many consecutive results against the current
	// state change it (zero: 1).
	Rise, Fall int
	// InitFail makes the state before the first check "failed".
	InitFail bool
	// Cred is who the command runs as; nil runs it as the daemon itself.
	Cred *Credential
}

// Script runs one vrrp_script: it checks through a Prober, applies
// keepalived's rise/fall rule and reports every completed check.
type Script struct {
	cfg ScriptConfig
	p   Prober
}

// NewScript returns the runner for cfg. A nil p runs cfg.Argv as cfg.Cred
// (NewExecProber); the daemon passes a UnitProber instead when the script is
// a `systemctl is-active` it can answer over D-Bus.
func NewScript(cfg ScriptConfig, p Prober) *Script {
	if cfg.Interval <= 0 {
		cfg.Interval = defaultScriptInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = cfg.Interval
	}
	cfg.Rise, cfg.Fall = max(cfg.Rise, 1), max(cfg.Fall, 1)
	if p == nil {
		p = NewExecProber(cfg.Argv, cfg.Cred)
	}
	return &Script{cfg: cfg, p: p}
}

// Initial is the script's state before its first check, for the daemon to
// apply at start-up: OK unless init_fail ("assume script initially is in
// failed state", keepalived.conf(5)). Value is -1: nothing has run yet.
func (s *Script) Initial() Result {
	detail := "not checked yet"
	if s.cfg.InitFail {
		detail = "init_fail, not checked yet"
	}
	return Result{
		Kind: KindScript, Name: s.cfg.Name, OK: !s.cfg.InitFail, Value: -1,
		Detail: detail, Method: s.p.Method(), At: time.Now(),
	}
}

// Run checks at once, then every Interval measured from the start of the
// previous check, until ctx ends. Checks never overlap: when one outlasts the
// interval the next starts as soon as it ends. (keepalived 2.2.7 starts a new
// run at the next tick even when timeout > interval and the old one is still
// going; govrrp keeps one run at a time, see doc.go.) A Prober that is a
// Changer gets a check as soon as Changed fires, and the interval restarts
// from that check. A check cut short by ctx ending is not reported.
func (s *Script) Run(ctx context.Context, report Sink) {
	var changed <-chan struct{}
	if c, ok := s.p.(Changer); ok {
		changed = c.Changed()
	}
	rf := newRiseFall(s.cfg.Rise, s.cfg.Fall, s.cfg.InitFail)
	next := time.NewTimer(0)
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-next.C:
		case _, ok := <-changed:
			if !ok {
				changed = nil // a closed channel would spin the loop
				continue
			}
		}
		start := time.Now()
		res := s.check(ctx, &rf, start)
		if ctx.Err() != nil {
			return
		}
		report(res)
		// Go 1.23 timers: Reset drops a tick that fired while we checked.
		next.Reset(max(s.cfg.Interval-time.Since(start), 0))
	}
}

// check performs one probe under the script's timeout and folds its outcome
// into rf.
func (s *Script) check(ctx context.Context, rf *riseFall, start time.Time) Result {
	cctx, cancel := context.WithTimeoutCause(ctx, s.cfg.Timeout, timeoutError{s.cfg.Timeout})
	out := s.p.Probe(cctx)
	cancel()
	took := time.Since(start)
	detail := out.Detail
	if progress := rf.observe(out.Status == 0); progress != "" {
		detail += ", " + progress
	}
	return Result{
		Kind: KindScript, Name: s.cfg.Name, OK: rf.ok, Value: out.Status,
		Detail: detail, Method: s.p.Method(), At: start.Add(took), Took: took,
	}
}

// timeoutError is the cause the runner gives a check's context, so a Prober
// can say how long it was allowed ("timed out after 2s").
type timeoutError struct{ d time.Duration }

func (e timeoutError) Error() string { return fmt.Sprintf("timed out after %v", e.d) }

// riseFall is keepalived's rise/fall rule (observed on keepalived 2.2.7):
//   - the first result takes effect at once, whatever rise, fall and
//     init_fail say;
//   - after that, `fall` consecutive failures turn an OK script KO and
//     `rise` consecutive successes turn a KO script OK; one result the other
//     way restarts the count.
type riseFall struct {
	rise, fall int
	ok         bool // the state the daemon acts on
	checked    bool // a result has been seen
	streak     int  // consecutive results against ok
}

func newRiseFall(rise, fall int, initFail bool) riseFall {
	return riseFall{rise: max(rise, 1), fall: max(fall, 1), ok: !initFail}
}

// observe applies one result. It returns the progress towards a change in
// the words logs use ("1 of fall 2", "2 of fall 2" when it just fell, "first
// check" when the first result changed the state), or "" when nothing is
// pending.
func (r *riseFall) observe(pass bool) string {
	if !r.checked {
		r.checked = true
		if pass == r.ok {
			return ""
		}
		r.ok = pass
		return "first check"
	}
	if pass == r.ok {
		r.streak = 0
		return ""
	}
	word, need := "fall", r.fall
	if !r.ok {
		word, need = "rise", r.rise
	}
	r.streak++
	n := r.streak
	if n >= need {
		r.ok, r.streak = pass, 0
	}
	return fmt.Sprintf("%d of %s %d", n, word, need)
}
