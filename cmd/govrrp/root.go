package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set by the linker (-X main.version=...) in release builds.
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "govrrp",
		Short: "VRRPv2/v3 daemon that reads keepalived.conf",
		Long: `govrrp is a VRRPv2/v3 (RFC 3768, RFC 5798, RFC 9568) daemon that replaces the VRRP
side of keepalived. It reads /etc/keepalived/keepalived.conf as it is.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetVersionTemplate("govrrp {{.Version}}\n")
	root.AddCommand(newRunCmd(), newStatusCmd(), newReloadCmd(), newConfigCmd(), newVersionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the govrrp version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			fmt.Fprintf(cmd.OutOrStdout(), "govrrp %s\n", v)
			return nil
		},
	}
}
