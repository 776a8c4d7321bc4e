package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/govrrp/govrrp/internal/control"
)

// printSyncGroups lists the vrrp_sync_groups with their members and the
// members' states (one word when they agree); nothing without groups.
func printSyncGroups(w io.Writer, st *control.Status) {
	var order []string
	members := map[string][]control.Instance{}
	for _, in := range st.Instances {
		if in.SyncGroup == "" {
			continue
		}
		if _, seen := members[in.SyncGroup]; !seen {
			order = append(order, in.SyncGroup)
		}
		members[in.SyncGroup] = append(members[in.SyncGroup], in)
	}
	if len(order) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SYNC GROUP\tSTATE\tMEMBERS")
	for _, g := range order {
		var names []string
		state := members[g][0].State
		for _, in := range members[g] {
			names = append(names, in.Name+"="+in.State)
			if in.State != state {
				state = "MIXED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", g, state, strings.Join(names, ","))
	}
	tw.Flush()
}
