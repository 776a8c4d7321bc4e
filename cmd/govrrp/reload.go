package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/internal/daemon"
)

func newReloadCmd() *cobra.Command {
	var socket string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Ask the running daemon to reload its configuration file",
		Long: `Ask the running daemon to re-read its configuration file, as SIGHUP does, and
wait for the outcome: what changed, or the FILE:LINE:COL errors that made the daemon
reject the new file. A rejected file changes nothing: the old configuration keeps
running.

Exit status: 0 reloaded, 1 the new file was rejected (or the reload failed),
3 no daemon answered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return reload(cmd.OutOrStdout(), cmd.ErrOrStderr(), socket, timeout)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", daemon.DefaultSocket, "control socket of the daemon")
	cmd.Flags().DurationVar(&timeout, "timeout", 75*time.Second, "how long to wait for the daemon's answer")
	return cmd
}

// reload prints what changed (stdout), or the errors that rejected the file
// (stderr, FILE:LINE:COL: message each) and ends with the daemon's verdict.
func reload(out, errw io.Writer, socket string, timeout time.Duration) error {
	res, err := control.Reload(socket, timeout)
	if err == nil {
		printReload(out, res)
		return nil
	}
	if res != nil {
		for _, e := range res.Errors {
			fmt.Fprintln(errw, e)
		}
		if res.Summary != "" {
			fmt.Fprintln(errw, res.Summary)
		}
		for _, c := range res.Changed {
			fmt.Fprintf(errw, "  %s\n", c)
		}
	}
	// Rejected or failed: 1 with the daemon's words ("... the old
	// configuration keeps running"); no daemon: 3 with the hint.
	return clientExit(err)
}

// printReload says what a reload did: its summary, then one line per change.
func printReload(w io.Writer, res *control.ReloadResult) {
	switch {
	case res.Summary != "":
		fmt.Fprintf(w, "reloaded: %s\n", res.Summary)
	case len(res.Changed) == 0:
		fmt.Fprintln(w, "reloaded: nothing changed")
	default:
		fmt.Fprintln(w, "reloaded:")
	}
	for _, c := range res.Changed {
		fmt.Fprintf(w, "  %s\n", c)
	}
}
