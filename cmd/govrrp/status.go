package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/daemon"
)

func newStatusCmd() *cobra.Command {
	var socket string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every VRRP instance: state, priority, master and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := control.FetchStatus(socket, 3*time.Second)
			if err != nil {
				return &exitError{code: 3, msg: err.Error()}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().StringVar(&socket, "socket", daemon.DefaultSocket, "control socket of the daemon")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for tools")
	return cmd
}

func printStatus(w io.Writer, st *control.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tINTERFACE\tVRID\tVER\tSTATE\tPRIO\tEFF\tMASTER\tVIPS\tSINCE\tWHY")
	for _, in := range st.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%d\tv%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", in.Name, in.Interface, in.VRID, in.Version,
			in.State, in.Priority, in.EffectivePriority, dash(in.Master), dash(strings.Join(in.VIPs, ",")),
			in.Since.Format(time.RFC3339), dash(in.Reason))
	}
	tw.Flush()
	printTracks(w, st)
}

// printTracks lists each instance's tracked objects: what was last seen and
// what it does to the instance's priority now.
func printTracks(w io.Writer, st *control.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := false
	for _, in := range st.Instances {
		for _, tr := range in.Tracks {
			if !header {
				fmt.Fprintln(w)
				fmt.Fprintln(tw, "INSTANCE\tTRACK\tNAME\tSTATE\tWEIGHT\tEFFECT\tCHECKED BY\tLAST RESULT\tAT")
				header = true
			}
			at := "-"
			if !tr.At.IsZero() {
				at = tr.At.Format("15:04:05.000")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", in.Name, tr.Kind, tr.Name, tr.State, tr.Weight,
				tr.Effect, dash(tr.Method), dash(tr.Detail), at)
		}
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
