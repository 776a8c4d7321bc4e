package main

import (
	"cmp"
	"io"

	"github.com/govrrp/govrrp/internal/whatif"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// checkWhatIf is `config check --what-if`: the usual check first (its
// diagnostics on errw; its "ok" lines and resolved JSON left out so that
// out carries only the report), then every single failure of the nodes
// simulated on their real state machines. The simulation needs only files
// that load: cross-node errors (two nodes that cannot hear each other) and
// this host's script checks still get the report, which shows what they
// lead to, and keep the exit status non-zero.
func checkWhatIf(out, errw io.Writer, files []string, asJSON bool, o kaconf.LoadOptions) error {
	checkErr := checkConfigs(io.Discard, errw, files, false, o)
	var nodes []whatif.Node
	for _, f := range files {
		cfg, diags, err := kaconf.Load(f, o)
		if err != nil {
			return checkErr // its diagnostics are printed already
		}
		nodes = append(nodes, whatif.Node{File: f, Config: cfg, Diags: diags})
	}
	rep := whatif.Analyze(nodes)
	var err error
	if asJSON {
		err = rep.WriteJSON(out)
	} else {
		err = rep.WriteTable(out)
	}
	return cmp.Or(err, checkErr)
}
