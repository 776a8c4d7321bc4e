package interop

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Unit tests of the soak's schedule and analysis (no root, no lab): they
// run in `make test`; the soak itself only in `make soak`.

// TestSoakSchedule: the schedule depends on the seed alone, covers the
// duration, keeps every hold and quiet time in 0.5–1.5 s (one fault every
// 1–3 s) and never restarts n2 (whose resources are compared start→end).
func TestSoakSchedule(t *testing.T) {
	a, b := soakSchedule(7, time.Minute), soakSchedule(7, time.Minute)
	if diff := cmp.Diff(a, b, cmp.AllowUnexported(soakFault{})); diff != "" {
		t.Fatalf("same seed, different schedules (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(a, soakSchedule(8, time.Minute), cmp.AllowUnexported(soakFault{})); diff == "" {
		t.Errorf("seeds 7 and 8 gave the same schedule")
	}
	var sum time.Duration
	var kinds [nSoakKinds]int
	for i, f := range a {
		sum += f.hold + f.quiet
		kinds[f.kind]++
		for _, d := range []time.Duration{f.hold, f.quiet} {
			if d < soakHoldMin || d >= soakHoldMin+soakHoldSpan {
				t.Errorf("fault %d %s: duration %v outside [%v, %v)", i, f.kind, d, soakHoldMin, soakHoldMin+soakHoldSpan)
			}
		}
		if (f.kind == kKill || f.kind == kClock) && f.node == 1 {
			t.Errorf("fault %d %s restarts n2, which must live through the run", i, f.kind)
		}
	}
	if sum < time.Minute {
		t.Errorf("schedule covers %v, want at least %v", sum, time.Minute)
	}
	for k, n := range kinds {
		if n == 0 {
			t.Errorf("a minute of faults has no %s", soakKind(k))
		}
	}
}

// TestSoakAnalyze feeds hand-made samples around one fault and checks the
// attribution to phases and the "later than 500 ms" sum.
func TestSoakAnalyze(t *testing.T) {
	const step = soakEvery
	start, stop := 10*step, 20*step
	afterAt := stop + step                    // within the bound
	lateAt := stop + soakTargetAfter + 2*step // after the target, still in the "after" phase
	laterAt := stop + soakBound() + 2*step    // the "later" phase
	r := &soakResult{faults: []soakRecord{{soakFault: soakFault{kind: kKill, node: 0}, start: start, end: stop}}}
	mask := func(at time.Duration) uint8 {
		switch {
		case at >= start+2*step && at < start+5*step:
			return 0b011 // split during the fault
		case at >= afterAt && at < afterAt+2*step:
			return 0 // none just after it
		case at >= lateAt && at < lateAt+3*step:
			return 0b110 // split late
		case at >= laterAt && at < laterAt+4*step:
			return 0 // none in the later phase
		}
		return 0b001
	}
	last := laterAt + 10*step
	for at := time.Duration(0); at <= last; at += step {
		r.samples = append(r.samples, soakSample{at: at, mask: mask(at), ok: true})
	}
	st := r.analyze()
	got := struct {
		DuringSplit, AfterNone, AfterSplit, LaterNone, LateNone, LateSplit time.Duration
		Intervals                                                          int
	}{
		st.acc[kKill][pDuring].split, st.acc[kKill][pAfter].none, st.acc[kKill][pAfter].split,
		st.acc[kKill][pLater].none, st.lateNone, st.lateSplit, len(st.intervals),
	}
	want := got
	want.DuringSplit, want.AfterNone, want.AfterSplit, want.LaterNone = 3*step, 2*step, 3*step, 4*step
	want.LateNone, want.LateSplit, want.Intervals = 4*step, 3*step, 4
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("analysis (-want +got):\n%s", diff)
	}
	end := r.samples[len(r.samples)-1].at + step // the last sample counts one period
	if total := st.total.one + st.total.none + st.total.split; total != end {
		t.Errorf("time accounted %v, want %v (every sample counts until the next)", total, end)
	}
	if st.pre.one != start {
		t.Errorf("time before the first fault %v, want %v", st.pre.one, start)
	}
}

// TestSoakAnalyzeGap: a stalled sampler's gap counts soakMaxCredit for the
// sample before it, the rest as unsampled, never as one holder or none.
func TestSoakAnalyzeGap(t *testing.T) {
	gap := 25 * soakEvery
	r := &soakResult{samples: []soakSample{
		{at: 0, mask: 1, ok: true},
		{at: soakEvery, mask: 0, ok: true}, // then the sampler stalls
		{at: soakEvery + gap, mask: 1, ok: true},
	}}
	st := r.analyze()
	if got, want := st.total.none, soakMaxCredit; got != want {
		t.Errorf("none %v, want %v (credited at most soakMaxCredit)", got, want)
	}
	if got, want := st.unknown, gap-soakMaxCredit; got != want {
		t.Errorf("unsampled %v, want %v", got, want)
	}
	if len(st.gaps) != 1 || st.maxGap != gap {
		t.Errorf("gaps %v, max %v; want one of %v", st.gaps, st.maxGap, gap)
	}
}

// TestSoakFlat: a plateau after warm-up passes, steady growth, more
// goroutines or a restarted process fail.
func TestSoakFlat(t *testing.T) {
	start := soakRes{pid: 7, rssKB: 16000, goroutines: 18}
	mid := soakRes{pid: 7, rssKB: 21000, goroutines: 18}
	tests := []struct {
		name     string
		ref, end soakRes
		want     bool
	}{
		{"plateau after warm-up", mid, soakRes{pid: 7, rssKB: 21500, goroutines: 18}, true},
		{"still growing", mid, soakRes{pid: 7, rssKB: 24000, goroutines: 18}, false},
		{"goroutines leak", mid, soakRes{pid: 7, rssKB: 21000, goroutines: 30}, false},
		{"restarted", mid, soakRes{pid: 8, rssKB: 16000, goroutines: 18}, false},
		{"short run, start reference", start, soakRes{pid: 7, rssKB: 19500, goroutines: 18}, true},
		{"short run, too much", start, soakRes{pid: 7, rssKB: 21000, goroutines: 18}, false},
	}
	for _, tt := range tests {
		if got, _ := soakFlat(start, tt.ref, tt.end); got != tt.want {
			t.Errorf("%s: soakFlat = %v, want %v", tt.name, got, tt.want)
		}
	}
}
