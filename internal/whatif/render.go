package whatif

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for a person: the routers and who holds
// them, one row per failure and router, the warnings, the notes.
func (r Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	names := make([]string, len(r.Nodes))
	for i, n := range r.Nodes {
		names[i] = n.Name + " (" + n.File + ")"
	}
	fmt.Fprintf(&b, "what-if: %d node(s): %s\n\n", len(r.Nodes), strings.Join(names, ", "))
	for _, rt := range r.Routers {
		writeRouter(&b, rt)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tFAILURE\tROUTER\tEFFECT\tVIPS MOVE\tTAKES\tAFTER RECOVERY\tTAKES")
	for _, f := range r.Failures {
		for _, o := range f.Outcomes {
			fmt.Fprintln(tw, row(f, o))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeDetection(&b, r.Failures)
	if len(r.Warnings) > 0 {
		b.WriteString("\n")
		for _, wn := range r.Warnings {
			b.WriteString(wn.String() + "\n")
		}
	}
	b.WriteString("\n")
	for _, n := range r.Notes {
		b.WriteString("note: " + n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeRouter(b *strings.Builder, rt Router) {
	fmt.Fprintf(b, "%s  VRID %d  IPv%d  VRRPv%d  advert_int %s  VIPs %s\n", rt.Name, rt.VRID, rt.Family, rt.Version, rt.AdverInt, strings.Join(rt.VIPs, " "))
	for _, m := range rt.Members {
		pre := "preempt"
		if !m.Preempt {
			pre = "nopreempt"
		}
		if m.PreemptDelay != "" {
			pre += " delay " + m.PreemptDelay
		}
		eff := ""
		if m.Effective != 0 && m.Effective != m.Priority {
			eff = fmt.Sprintf(" (%d with tracks)", m.Effective)
		}
		fmt.Fprintf(b, "  %-10s %-8s priority %d%s  %s  %s\n", m.Node, m.Instance, m.Priority, eff, m.State, pre)
	}
	switch {
	case rt.NotSimulated != "":
		fmt.Fprintf(b, "  NOT SIMULATED: %s\n", rt.NotSimulated)
	default:
		fmt.Fprintf(b, "  held by: %s\n", holderText(rt.HeldBy))
	}
	if len(rt.NotElection) > 0 {
		fmt.Fprintf(b, "  simulated; do not change the election: %s\n", strings.Join(rt.NotElection, ", "))
	}
	b.WriteString("\n")
}

func row(f Failure, o Outcome) string {
	if o.NotSimulated != "" {
		return strings.Join([]string{f.Node, f.What, o.Router, "-", "not simulated", "", "", ""}, "\t")
	}
	move := "stays on " + holderText(o.After)
	if o.Moved {
		move = holderText(o.Before) + " → " + holderText(o.After)
	}
	if o.Tie {
		move += " (tie)"
	}
	takes := dash(o.Takes)
	rec := "back"
	switch {
	case !o.Moved && holderEq(o.Recovered, o.Before):
		rec = "-"
	case !o.Back:
		rec = "stays on " + holderText(o.Recovered)
	}
	if o.Why != "" {
		rec += " (" + o.Why + ")"
	}
	if o.Unsettled {
		rec += " (did not settle)"
	}
	return strings.Join([]string{f.Node, f.What, o.Router, o.Effect, move, takes, rec, dash(o.BackTakes)}, "\t")
}

func holderText(hs []string) string {
	switch len(hs) {
	case 0:
		return "NONE"
	case 1:
		return hs[0]
	}
	return strings.Join(hs, "+") + " (TWO MASTERS)"
}

func holderEq(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeDetection says, once per script and timing, how long after the real
// failure govrrp sees it: the table's times start then.
func writeDetection(b *strings.Builder, fs []Failure) {
	type timing struct{ name, seen, back string }
	var order []timing
	nodes := map[timing][]string{}
	for _, f := range fs {
		if f.SeenAfter == "" {
			continue
		}
		k := timing{f.Name, f.SeenAfter, f.RecoveredAfter}
		if nodes[k] == nil {
			order = append(order, k)
		}
		nodes[k] = append(nodes[k], f.Node)
	}
	for _, k := range order {
		fmt.Fprintf(b, "  %s (%s) is seen failing at most %s after it starts to fail, and passing at most %s after it passes again (fall/rise × interval)\n",
			k.name, strings.Join(nodes[k], ", "), k.seen, k.back)
	}
}
