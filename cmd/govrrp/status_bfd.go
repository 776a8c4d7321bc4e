package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/govrrp/govrrp/internal/control"
)

// printBFD lists the bfd_instance sessions: state, peer, the negotiated
// transmit interval and detection time (what a failure takes to be seen),
// since when, and the last diagnostic. The instances' track_bfd lines are
// in the TRACK table with the other tracks.
func printBFD(w io.Writer, st *control.Status) {
	if len(st.BFD) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BFD\tNEIGHBOR\tSOURCE\tSTATE\tTX\tDETECT\tMULT\tRX/TX PKTS\tSINCE\tLAST DIAG")
	for _, s := range st.BFD {
		since := "-"
		if !s.Since.IsZero() {
			since = s.Since.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d/%d\t%s\t%s\n", s.Name, s.Neighbor, dash(s.Source), s.State,
			usText(s.TxUs), usText(s.DetectUs), s.Multiplier, s.RxPackets, s.TxPackets, since, dash(s.LastDiag))
	}
	tw.Flush()
}

// usText is an interval in microseconds as a duration, "-" when unknown.
func usText(us int64) string {
	if us <= 0 {
		return "-"
	}
	return (time.Duration(us) * time.Microsecond).String()
}
