package interop

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// The soak's analysis: every sample counts for the time until the next
// one and is attributed to the fault that began last before it, in the
// phase "during" (the fault is active), "after" (up to soakBound after it
// ended) or "later" (until the next fault begins).

// soakMaxCredit is the most one sample counts for: a longer gap to the
// next sample (a stalled sampler on a loaded machine) is "unsampled".
const soakMaxCredit = 3 * soakEvery

// soakRecord is a fault as it happened.
type soakRecord struct {
	soakFault
	start, end time.Duration // since t0; end = the end action completed
	err        string
}

// soakResult is everything one trio's run produced.
type soakResult struct {
	trio        soakTrio
	t0          time.Time
	faults      []soakRecord
	samples     []soakSample
	readErrs    int
	total       time.Duration
	resStart    []soakRes
	resEnd      []soakRes
	exits       []string
	harnessErrs []string
	starts      []int
	series      []soakPoint // n2's resources about every soakSeriesEvery
}

// soakPoint is one reading of the series.
type soakPoint struct {
	at  time.Duration
	res soakRes
}

type soakPhase int

const (
	pDuring soakPhase = iota
	pAfter
	pLater
	nSoakPhases
)

var soakPhaseNames = [nSoakPhases]string{"during", "after", "later"}

// soakAcc sums time by the number of holders.
type soakAcc struct{ one, none, split time.Duration }

func (a *soakAcc) add(holders int, d time.Duration) {
	switch {
	case holders == 1:
		a.one += d
	case holders == 0:
		a.none += d
	default:
		a.split += d
	}
}

func (a *soakAcc) plus(b soakAcc) { a.one += b.one; a.none += b.none; a.split += b.split }

// soakInterval is a stretch of samples with the same holders, not one.
type soakInterval struct {
	from, to time.Duration
	mask     uint8
	fault    int // index into faults, -1 before the first
	phase    soakPhase
	late     time.Duration // part of it later than soakTargetAfter after a fault end, outside faults
}

// soakStats is the analysis of one result.
type soakStats struct {
	acc       [nSoakKinds][nSoakPhases]soakAcc
	count     [nSoakKinds]int
	total     soakAcc
	pre       soakAcc // before the first fault
	lateNone  time.Duration
	lateSplit time.Duration
	unknown   time.Duration      // samples with a read error, and sampler gaps beyond soakMaxCredit
	maxGap    time.Duration      // longest time between two samples
	gaps      [][2]time.Duration // sampler gaps longer than soakMaxCredit
	intervals []soakInterval
}

// attribute finds the fault a time belongs to and the phase; j moves
// forward only (samples are in time order).
func (r *soakResult) attribute(at time.Duration, j *int) (fault int, ph soakPhase, sinceEnd time.Duration) {
	for *j+1 < len(r.faults) && r.faults[*j+1].start <= at {
		*j++
	}
	if *j < 0 || r.faults[*j].start > at {
		return -1, pLater, 0
	}
	f := r.faults[*j]
	switch {
	case at < f.end:
		return *j, pDuring, 0
	case at-f.end <= soakBoundFor(f.kind):
		return *j, pAfter, at - f.end
	default:
		return *j, pLater, at - f.end
	}
}

func (r *soakResult) analyze() soakStats {
	var st soakStats
	for _, f := range r.faults {
		st.count[f.kind]++
	}
	j := -1
	var cur *soakInterval
	for i, s := range r.samples {
		dt := soakEvery
		if i+1 < len(r.samples) {
			dt = r.samples[i+1].at - s.at
		}
		st.maxGap = max(st.maxGap, dt)
		if dt > soakMaxCredit {
			// The sampler (or the whole machine) stalled: what happened in
			// the gap is unknown, so it is not credited to either state.
			st.unknown += dt - soakMaxCredit
			st.gaps = append(st.gaps, [2]time.Duration{s.at, s.at + dt})
			dt = soakMaxCredit
		}
		if !s.ok {
			st.unknown += dt
			cur = nil
			continue
		}
		fi, ph, since := r.attribute(s.at, &j)
		h := s.holders()
		st.total.add(h, dt)
		if fi < 0 {
			st.pre.add(h, dt)
		} else {
			st.acc[r.faults[fi].kind][ph].add(h, dt)
		}
		late := time.Duration(0)
		if h != 1 && fi >= 0 && ph != pDuring && since > soakTargetAfter {
			late = dt
			if h == 0 {
				st.lateNone += dt
			} else {
				st.lateSplit += dt
			}
		}
		if h == 1 {
			cur = nil
			continue
		}
		if cur == nil || cur.mask != s.mask {
			st.intervals = append(st.intervals, soakInterval{from: s.at, mask: s.mask, fault: fi, phase: ph})
			cur = &st.intervals[len(st.intervals)-1]
		}
		cur.to = s.at + dt
		cur.late += late
	}
	return st
}

func ms(d time.Duration) string { return fmt.Sprintf("%d", d.Milliseconds()) }

// table renders the per-kind, per-phase table of one trio.
func (st soakStats) table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "\t\t|\t\tduring\t\t|\t\tafter\t\t|\t\tlater\t\t|\t")
	fmt.Fprintln(w, "kind\tn\t|\tone\tnone\tsplit\t|\tone\tnone\tsplit\t|\tone\tnone\tsplit\t|\t")
	var sum [nSoakPhases]soakAcc
	for k := soakKind(0); k < nSoakKinds; k++ {
		fmt.Fprintf(w, "%s\t%d\t", k, st.count[k])
		for p := soakPhase(0); p < nSoakPhases; p++ {
			a := st.acc[k][p]
			sum[p].plus(a)
			fmt.Fprintf(w, "|\t%s\t%s\t%s\t", ms(a.one), ms(a.none), ms(a.split))
		}
		fmt.Fprintln(w, "|\t")
	}
	n := 0
	for _, c := range st.count {
		n += c
	}
	fmt.Fprintf(w, "all\t%d\t", n)
	for p := soakPhase(0); p < nSoakPhases; p++ {
		fmt.Fprintf(w, "|\t%s\t%s\t%s\t", ms(sum[p].one), ms(sum[p].none), ms(sum[p].split))
	}
	fmt.Fprintln(w, "|\t")
	w.Flush()
	return b.String()
}

// timeline is the fault list and every interval without exactly one
// holder, with wall-clock times to find them in the daemon logs.
func (r *soakResult) timeline() string {
	var b strings.Builder
	wall := func(d time.Duration) string { return r.t0.Add(d).UTC().Format("15:04:05.000") }
	fmt.Fprintf(&b, "trio %s, t0 %s UTC\n\nfaults:\n", r.trio.name, r.t0.UTC().Format(time.RFC3339Nano))
	for i, f := range r.faults {
		fmt.Fprintf(&b, "%3d %-9s on %s  +%.3fs..+%.3fs  (%s..%s)%s\n", i, f.kind, soakSpecs[f.node].name,
			f.start.Seconds(), f.end.Seconds(), wall(f.start), wall(f.end), soakErrSuffix(f.err))
	}
	st := r.analyze()
	b.WriteString("\nintervals without exactly one holder:\n")
	for _, iv := range st.intervals {
		b.WriteString(r.describe(iv) + "\n")
	}
	fmt.Fprintf(&b, "\nsampler gaps longer than %v (the machine or the sampler stalled; not credited):\n", soakMaxCredit)
	for _, g := range st.gaps {
		fmt.Fprintf(&b, "  +%.3fs..+%.3fs (%s..%s UTC) %d ms\n", g[0].Seconds(), g[1].Seconds(), wall(g[0]), wall(g[1]),
			(g[1] - g[0]).Milliseconds())
	}
	return b.String()
}

func soakErrSuffix(e string) string {
	if e == "" {
		return ""
	}
	return "  ERROR " + e
}

// describe is one interval on one line.
func (r *soakResult) describe(iv soakInterval) string {
	wall := func(d time.Duration) string { return r.t0.Add(d).UTC().Format("15:04:05.000") }
	what := "before the first fault"
	if iv.fault >= 0 {
		f := r.faults[iv.fault]
		what = fmt.Sprintf("%s of fault %d %s on %s (+%.3fs..+%.3fs)", soakPhaseNames[iv.phase], iv.fault, f.kind,
			soakSpecs[f.node].name, f.start.Seconds(), f.end.Seconds())
	}
	late := ""
	if iv.late > 0 {
		late = fmt.Sprintf(", %d ms of it >%v after the fault ended", iv.late.Milliseconds(), soakTargetAfter)
	}
	return fmt.Sprintf("  +%.3fs..+%.3fs (%s..%s UTC) %4d ms holders=%s  %s%s", iv.from.Seconds(), iv.to.Seconds(),
		wall(iv.from), wall(iv.to), (iv.to - iv.from).Milliseconds(), soakMaskString(iv.mask), what, late)
}

// soakRSSGrowthPct is how much n2's RSS may grow over the reference
// reading: Go's runtime keeps some freed memory, so RSS rises for a few
// minutes before it levels off (the 10-minute runs show a plateau after
// about 4 minutes with heap in use flat); a leak keeps growing.
const soakRSSGrowthPct = 10

// soakFlatWarmup: a run at least this long compares the end with the
// reading at its middle; a shorter one with the start (and so also
// counts the runtime's warm-up).
const soakFlatWarmup = 4 * time.Minute

// soakFlatRef is the reading the end is compared with.
func soakFlatRef(r *soakResult) (soakRes, time.Duration) {
	ref, at := r.resStart[1], time.Duration(0)
	if r.total < soakFlatWarmup {
		return ref, at
	}
	for _, p := range r.series {
		if p.at <= r.total/2 && p.res.pid == ref.pid {
			ref, at = p.res, p.at
		}
	}
	return ref, at
}

// soakFlat: the same process, goroutines at most 5 more than at the start,
// RSS at most soakRSSGrowthPct over the reference (25 % when the reference
// is the start reading, warm-up included). pct is the limit applied.
func soakFlat(start, ref, end soakRes) (ok bool, pct int) {
	pct = soakRSSGrowthPct
	if ref == start {
		pct = 25
	}
	return start.pid == end.pid && start.rssKB > 0 && ref.rssKB > 0 && end.rssKB > 0 &&
		start.goroutines >= 0 && end.goroutines >= 0 && end.goroutines <= start.goroutines+5 &&
		end.rssKB*100 <= ref.rssKB*(100+pct), pct
}

// soakRep is the rendered report and whether a target failed.
type soakRep struct {
	text   string
	failed bool
}

func soakReport(set soakSettings, sched []soakFault, results []*soakResult) soakRep {
	var b strings.Builder
	var kinds [nSoakKinds]int
	var faultTime time.Duration
	for _, f := range sched {
		kinds[f.kind]++
		faultTime += f.hold + f.quiet
	}
	fmt.Fprintf(&b, "govrrp chaos soak (issue 9): seed %d, %d faults over %v per trio (", set.seed, len(sched),
		faultTime.Round(time.Millisecond))
	for k := soakKind(0); k < nSoakKinds; k++ {
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, kinds[k])
	}
	fmt.Fprintf(&b, ")\nVRRPv3 IPv4 %v adverts, one VIP %s, priorities n1 150 / n2 100 / n3 50, sampler every %v\n",
		soakAdvert, soakVIP, soakEvery)
	fmt.Fprintf(&b, "phases: during = fault active; after = up to master-down(50) %v + allowance %v = %v after its end (trackflap: + script interval %v); later = until the next fault\n",
		soakSc.masterDown(50).Round(time.Millisecond), soakAllowance, soakBound().Round(time.Millisecond), soakScriptInterval)
	fmt.Fprintf(&b, "times in ms of: exactly one holder / none / two or more. Host: %d CPUs, %s at report time\n",
		runtime.NumCPU(), loadAvg())
	byName := map[string]soakStats{}
	for _, r := range results {
		st := r.analyze()
		byName[r.trio.name] = st
		fmt.Fprintf(&b, "\n== %s (n1 %s, n2 %s, n3 %s): %.1f s sampled, %d samples, longest sampler gap %d ms, %d gaps > %v, unsampled/unreadable %d ms\n",
			r.trio.name, r.trio.impls[0], r.trio.impls[1], r.trio.impls[2], r.total.Seconds(), len(r.samples),
			st.maxGap.Milliseconds(), len(st.gaps), soakMaxCredit, st.unknown.Milliseconds())
		b.WriteString(st.table())
		fmt.Fprintf(&b, "total: one %s, none %s, split %s ms; before the first fault: none %s, split %s ms\n",
			ms(st.total.one), ms(st.total.none), ms(st.total.split), ms(st.pre.none), ms(st.pre.split))
		fmt.Fprintf(&b, "later than %v after a fault ended (outside the next fault): none %s ms, split %s ms\n",
			soakTargetAfter, ms(st.lateNone), ms(st.lateSplit))
		fmt.Fprintf(&b, "daemon starts n1/n2/n3: %v; exits on their own: %d\n", r.starts, len(r.exits))
		for _, e := range r.exits {
			b.WriteString("  " + strings.ReplaceAll(e, "\n", "\n    ") + "\n")
		}
		for _, e := range r.harnessErrs {
			b.WriteString("  harness: " + e + "\n")
		}
		for _, f := range r.faults {
			if f.err != "" {
				fmt.Fprintf(&b, "  fault %s on %s at +%.3fs: %s\n", f.kind, soakSpecs[f.node].name, f.start.Seconds(), f.err)
			}
		}
		b.WriteString(soakResTable(r))
		var late []string
		for _, iv := range st.intervals {
			if iv.late > 0 {
				late = append(late, r.describe(iv))
			}
		}
		if len(late) > 0 {
			fmt.Fprintf(&b, "intervals with time >%v after a fault ended (%d):\n", soakTargetAfter, len(late))
			for i, l := range late {
				if i == 40 {
					fmt.Fprintf(&b, "  ... %d more in the timeline file\n", len(late)-i)
					break
				}
				b.WriteString(l + "\n")
			}
		}
	}
	b.WriteString("\n== targets (issue 9)\n")
	failed := soakTargets(&b, byName, results)
	fmt.Fprintf(&b, "\nlogs, configs and timelines: %s/<trio>/\n", set.logs)
	return soakRep{text: b.String(), failed: failed}
}

// soakResTable prints RSS and goroutines at the start and end.
func soakResTable(r *soakResult) string {
	var b strings.Builder
	b.WriteString("resources (start → end): ")
	for i := range r.resStart {
		s, e := r.resStart[i], soakRes{pid: -1, rssKB: -1, goroutines: -1, heapKB: -1}
		if i < len(r.resEnd) {
			e = r.resEnd[i]
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s pid %d→%d RSS %d→%d kB", s.node, s.impl, s.pid, e.pid, s.rssKB, e.rssKB)
		if s.impl == govrrp {
			fmt.Fprintf(&b, " heap in use %d→%d kB goroutines %d→%d", s.heapKB, e.heapKB, s.goroutines, e.goroutines)
		}
	}
	b.WriteString("\n")
	if len(r.series) > 0 {
		b.WriteString("n2 over the run (s: RSS kB / heap in use kB / goroutines):")
		for _, p := range r.series {
			fmt.Fprintf(&b, " %.0f: %d/%d/%d", p.at.Seconds(), p.res.rssKB, p.res.heapKB, p.res.goroutines)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// soakTargets prints one PASS/FAIL line per target and reports whether
// any failed; a target whose trios were not run is SKIP.
func soakTargets(b *strings.Builder, byName map[string]soakStats, results []*soakResult) bool {
	failed := false
	line := func(ok bool, format string, args ...any) {
		verdict := "PASS"
		if !ok {
			verdict, failed = "FAIL", true
		}
		fmt.Fprintf(b, "%s %s\n", verdict, fmt.Sprintf(format, args...))
	}
	skip := func(what string) { fmt.Fprintf(b, "SKIP %s (trio not run)\n", what) }
	gv, okGV := byName["gv-gv-gv"]
	ka, okKA := byName["ka-ka-ka"]
	mx, okMX := byName["gv-gv-ka"]
	if okGV {
		line(gv.lateNone == 0 && gv.lateSplit == 0, "gv-gv-gv: no holder-less or split time later than %v after a fault ends: none %s ms, split %s ms",
			soakTargetAfter, ms(gv.lateNone), ms(gv.lateSplit))
	} else {
		skip("gv-gv-gv late time")
	}
	if okGV && okKA {
		line(2*gv.total.split <= ka.total.split, "gv-gv-gv total split %s ms <= half of ka-ka-ka's %s ms", ms(gv.total.split), ms(ka.total.split))
		line(gv.total.none <= ka.total.none, "gv-gv-gv total holder-less %s ms <= ka-ka-ka's %s ms", ms(gv.total.none), ms(ka.total.none))
	} else {
		skip("gv-gv-gv vs ka-ka-ka")
	}
	if okMX && okKA {
		line(mx.total.split <= ka.total.split, "gv-gv-ka total split %s ms <= ka-ka-ka's %s ms", ms(mx.total.split), ms(ka.total.split))
		line(mx.total.none <= ka.total.none, "gv-gv-ka total holder-less %s ms <= ka-ka-ka's %s ms", ms(mx.total.none), ms(ka.total.none))
	} else {
		skip("gv-gv-ka vs ka-ka-ka")
	}
	for _, r := range results {
		var gvExits []string
		kaExits := 0
		for _, e := range r.exits {
			if strings.Contains(e, "("+string(govrrp)+")") {
				gvExits = append(gvExits, strings.SplitN(e, ":", 2)[0])
			} else {
				kaExits++
			}
		}
		if r.trio.impls != [3]impl{keepalived, keepalived, keepalived} {
			line(len(gvExits) == 0, "%s: no govrrp daemon exited on its own (%d did: %s)", r.trio.name, len(gvExits), strings.Join(gvExits, "; "))
		}
		if kaExits > 0 {
			fmt.Fprintf(b, "INFO %s: %d keepalived exits on their own\n", r.trio.name, kaExits)
		}
		// n2 is never restarted by the schedule: its one process spans the run.
		if r.trio.impls[1] == govrrp && len(r.resStart) > 1 && len(r.resEnd) > 1 {
			s, e := r.resStart[1], r.resEnd[1]
			ref, refAt := soakFlatRef(r)
			ok, pct := soakFlat(s, ref, e)
			line(ok, "%s: n2 (govrrp, never restarted) flat: pid %d→%d, goroutines %d→%d (want ≤ +5), RSS %d kB at start, %d kB at %.0f s, %d kB at the end (want ≤ +%d %% over the reference) over %.0f s; heap in use %d→%d kB",
				r.trio.name, s.pid, e.pid, s.goroutines, e.goroutines, s.rssKB, ref.rssKB, refAt.Seconds(), e.rssKB,
				pct, r.total.Seconds(), s.heapKB, e.heapKB)
		}
	}
	if os.Getenv("GOVRRP_SOAK_ENFORCE") != "1" {
		b.WriteString("(not enforced: set GOVRRP_SOAK_ENFORCE=1 to fail the test on a FAIL line)\n")
	}
	return failed
}
