package main

import (
	"fmt"
	"io"

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
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check keepalived.conf files; several -f are the nodes of one cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				files = []string{daemon.DefaultConfig}
			}
			return checkConfigs(cmd.OutOrStdout(), cmd.ErrOrStderr(), files, kaconf.LoadOptions{
				Parse: kaconf.ParseOptions{ConfigID: configID}, VRRPOnly: vrrpOnly,
			})
		},
	}
	cmd.Flags().StringArrayVarP(&files, "use-file", "f", nil, "keepalived.conf to check (repeat for each node)")
	cmd.Flags().BoolVarP(&vrrpOnly, "vrrp", "P", false, "accept LVS/checker blocks (skipped) as keepalived -P does")
	cmd.Flags().StringVarP(&configID, "config-id", "i", "", "configuration id for @ conditional lines")
	return cmd
}

// checkConfigs loads every file, prints its diagnostics as
// FILE:LINE:COL: severity: message and fails when any file has errors.
func checkConfigs(out, errw io.Writer, files []string, o kaconf.LoadOptions) error {
	failed := 0
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
		fmt.Fprintf(out, "%s: ok (%d vrrp_instance)\n", f, len(cfg.Instances))
	}
	if failed > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d file(s) have errors", failed, len(files))}
	}
	return nil
}
