package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/govrrp/govrrp/internal/daemon"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with keepalived.conf files",
	}
	cmd.AddCommand(newConfigCheckCmd())
	return cmd
}

func newConfigCheckCmd() *cobra.Command {
	var files []string
	var vrrpOnly bool
	var configID string
	var asJSON bool
	var whatIf bool
	var strict bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check keepalived.conf files; several -f are the nodes of one cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				files = []string{daemon.DefaultConfig}
			}
			if whatIf {
				return checkWhatIf(cmd.OutOrStdout(), cmd.ErrOrStderr(), files, asJSON, kaconf.LoadOptions{
					Parse: kaconf.ParseOptions{ConfigID: configID}, VRRPOnly: vrrpOnly, Strict: strict,
				})
			}
			return checkConfigs(cmd.OutOrStdout(), cmd.ErrOrStderr(), files, asJSON, kaconf.LoadOptions{
				Parse: kaconf.ParseOptions{ConfigID: configID}, VRRPOnly: vrrpOnly, Strict: strict,
			})
		},
	}
	cmd.Flags().StringArrayVarP(&files, "use-file", "f", nil, "keepalived.conf to check (repeat for each node)")
	cmd.Flags().BoolVarP(&vrrpOnly, "vrrp", "P", false, "accept LVS/checker blocks (skipped) as keepalived -P does")
	cmd.Flags().StringVarP(&configID, "config-id", "i", "", "configuration id for @ conditional lines")
	cmd.Flags().BoolVar(&strict, "strict", false, "make fallbacks errors: values keepalived 2.2.7 replaces with a default, lines it ignores (without it they are warnings and `govrrp run` starts as keepalived would)")
	cmd.Flags().BoolVar(&whatIf, "what-if", false, "simulate every single failure (each track, interface and node) and its recovery on the nodes' state machines: who holds each VIP, how long the move takes, whether it comes back (with --json: the report as JSON)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the resolved configuration (after includes, definitions and defaults) as JSON")
	return cmd
}

// checkConfigs loads every file, prints its diagnostics as
// FILE:LINE:COL: severity: message, cross-checks the files as the nodes of one
// cluster, and fails when anything is an error.
func checkConfigs(out, errw io.Writer, files []string, asJSON bool, o kaconf.LoadOptions) error {
	failed := 0
	var members []kaconf.Member
	for _, f := range files {
		cfg, diags, err := kaconf.Load(f, o)
		for _, d := range diags {
			fmt.Fprintln(errw, d.String())
		}
		if err != nil {
			failed++
			if len(diags) == 0 {
				fmt.Fprintln(errw, err)
			}
			continue
		}
		for _, u := range cfg.NotActedOn {
			fmt.Fprintf(errw, "%s: warning: %s (in %s) is parsed but not acted on by govrrp yet; `govrrp run` refuses this file unless --allow-unimplemented\n", u.Pos, u.Name, u.Block)
		}
		// What `govrrp run` would refuse (AH; scripts, checked on this host).
		scriptErrs := daemon.CheckRunnable(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		for _, err := range scriptErrs {
			fmt.Fprintf(errw, "%v (`govrrp run` refuses it)\n", errorLine(err))
		}
		failed += len(scriptErrs)
		for _, err := range daemon.LifecycleScriptWarnings(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) {
			fmt.Fprintf(errw, "%s: warning: %v (keepalived 2.2.7 and `govrrp run` start without it)\n", f, err)
		}
		members = append(members, kaconf.Member{File: f, Config: cfg})
		if !asJSON && len(scriptErrs) == 0 {
			fmt.Fprintf(out, "%s: ok (%d vrrp_instance)\n", f, len(cfg.Instances))
		}
	}
	if len(members) > 1 && failed == 0 {
		for _, d := range kaconf.CheckCluster(members) {
			fmt.Fprintln(errw, d.String())
			if d.Severity == kaconf.SevError {
				failed++
			}
		}
	}
	if asJSON && failed == 0 {
		if err := printJSON(out, members); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d error(s) in %d file(s)", failed, len(files))}
	}
	return nil
}

// printJSON prints one resolved configuration, or a list of them for
// several nodes.
func printJSON(w io.Writer, members []kaconf.Member) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if len(members) == 1 {
		return enc.Encode(members[0].Config)
	}
	type node struct {
		File   string         `json:"file"`
		Config *kaconf.Config `json:"config"`
	}
	var nodes []node
	for _, m := range members {
		nodes = append(nodes, node{m.File, m.Config})
	}
	return enc.Encode(nodes)
}

// errorLine puts "error:" after the FILE:LINE:COL: that starts err's text, as
// the reader's diagnostics print.
func errorLine(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); i > 0 && strings.Count(msg[:i], ":") == 2 {
		return msg[:i] + ": error: " + msg[i+2:]
	}
	return "error: " + msg
}
