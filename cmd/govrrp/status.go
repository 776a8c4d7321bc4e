package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/daemon"
)

func newStatusCmd() *cobra.Command {
	var socket string
	var asJSON, watch bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every VRRP instance: state, priority, master and why",
		Long: `Show every VRRP instance: state, priority, master and why, then what each tracked
object does to it.

With --watch it follows the daemon until interrupted: on a terminal the table is
redrawn on every change; otherwise one line is printed per state transition,
  2026-12-01T12:00:00Z VI_1 BACKUP -> MASTER: <reason>
and with --json one Status object per line.

Without --socket, run in a named network namespace (ip netns exec NAME govrrp
status) it asks the daemon whose net_namespace is NAME (/run/govrrp/NAME/govrrp.sock)
if there is one.

Exit status: 0 ok, 1 the daemon refused the request, 3 no daemon answered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("socket") {
				socket = clientSocket(socket, netnsDir, procSelfNetNS) // netns.go
			}
			if watch {
				return watchStatus(cmd.Context(), cmd.OutOrStdout(), socket, asJSON, isTerminal(cmd.OutOrStdout()))
			}
			st, err := control.FetchStatus(socket, 3*time.Second)
			if err != nil {
				return clientExit(err)
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
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for tools (with --watch: one object per line)")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow changes until interrupted")
	return cmd
}

// clientExit maps a control-socket error to the exit status: 1 when the
// daemon answered with an error (its message as it gave it), 3 when no daemon
// answered (the error carries the one-line hint).
func clientExit(err error) error {
	var re *control.RemoteError
	if errors.As(err, &re) {
		return &exitError{code: 1, msg: re.Msg}
	}
	return &exitError{code: 3, msg: err.Error()}
}

// watchStatus follows the daemon's status until ctx ends or SIGINT/SIGTERM.
func watchStatus(ctx context.Context, w io.Writer, socket string, asJSON, tty bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var prev *control.Status
	var werr error // writing our output failed (stdout closed): not the daemon's fault
	enc := json.NewEncoder(w)
	err := control.Watch(ctx, socket, 3*time.Second, func(st *control.Status) error {
		defer func() { prev = st }()
		switch {
		case asJSON:
			werr = enc.Encode(st)
		case tty:
			var b bytes.Buffer // one write per frame: no flicker
			b.WriteString("\x1b[H\x1b[2J")
			printStatus(&b, st)
			fmt.Fprintf(&b, "\nwatching %s, updated %s; Ctrl-C to stop\n", socket, time.Now().Format("15:04:05"))
			_, werr = w.Write(b.Bytes())
		default:
			werr = printTransitions(w, prev, st, time.Now())
		}
		return werr
	})
	switch {
	case werr != nil:
		return &exitError{code: 1, msg: werr.Error()}
	case err != nil:
		return clientExit(err)
	}
	return nil
}

// printTransitions prints one line per state change between two statuses:
//
//	2026-12-01T12:00:00Z VI_1 BACKUP -> MASTER: <reason>
//
// The first status prints each instance's current state (TIME NAME STATE:
// reason); an instance a reload added comes from NEW, one it removed goes to
// REMOVED. Changes the daemon made faster than one update (the state is the
// same but its transition count moved) are printed with their count.
func printTransitions(w io.Writer, prev, cur *control.Status, now time.Time) error {
	var b bytes.Buffer
	stamp := func(t time.Time) string {
		if t.IsZero() {
			t = now
		}
		return t.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	why := func(r string) string {
		if r == "" {
			return ""
		}
		return ": " + r
	}
	before := map[string]control.Instance{}
	if prev != nil {
		for _, in := range prev.Instances {
			before[in.Name] = in
		}
	}
	for _, in := range cur.Instances {
		p, ok := before[in.Name]
		delete(before, in.Name)
		switch {
		case prev == nil:
			fmt.Fprintf(&b, "%s %s %s%s\n", stamp(in.Since), in.Name, in.State, why(in.Reason))
		case !ok:
			fmt.Fprintf(&b, "%s %s NEW -> %s%s\n", stamp(in.Since), in.Name, in.State, why(in.Reason))
		case p.State != in.State:
			fmt.Fprintf(&b, "%s %s %s -> %s%s\n", stamp(in.Since), in.Name, p.State, in.State, why(in.Reason))
		case in.Transitions > p.Transitions:
			fmt.Fprintf(&b, "%s %s %s -> %s%s (%d transitions since the last update)\n", stamp(in.Since), in.Name,
				p.State, in.State, why(in.Reason), in.Transitions-p.Transitions)
		}
	}
	if prev != nil {
		for _, p := range prev.Instances {
			if _, gone := before[p.Name]; gone {
				fmt.Fprintf(&b, "%s %s %s -> REMOVED: no longer in the configuration\n", stamp(now), p.Name, p.State)
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// isTerminal reports whether w is a terminal (then --watch redraws).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
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
	printSyncGroups(w, st)
	printTracks(w, st)
	printBFD(w, st) // status_bfd.go
	printAuth(w, st)
	printMail(w, st)
}

// printMail shows the smtp_alert counters (as govrrp_smtp_alerts_total)
// when mail is configured: a failing SMTP server is otherwise invisible.
func printMail(w io.Writer, st *control.Status) {
	if st.Mail == nil {
		return
	}
	m := st.Mail
	fmt.Fprintf(w, "\nSMTP ALERTS  queued %d  sent %d  failed %d  dropped %d\n", m.Queued, m.Sent, m.Failed, m.Dropped)
}

// printAuth lists the auth_hmac mode of each signing instance and what its
// verification dropped, so an auth_hmac migration step (receive-only ->
// permissive -> enforce) can be checked on every node before the next one.
func printAuth(w io.Writer, st *control.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := false
	for _, in := range st.Instances {
		if !strings.HasPrefix(in.Auth, "hmac-") {
			continue
		}
		if !header {
			fmt.Fprintln(w)
			fmt.Fprintln(tw, "INSTANCE\tAUTH\tHMAC DROPS")
			header = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", in.Name, in.Auth, dash(hmacDrops(in.Drops)))
	}
	tw.Flush()
}

// hmacDrops is "reason=N ..." for the hmac_* drop reasons, in name order.
func hmacDrops(drops map[string]uint64) string {
	var parts []string
	for reason, n := range drops {
		if strings.HasPrefix(reason, "hmac_") && n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", reason, n))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
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
