//go:build gendocs

// This file is the documentation generator, compiled only with -tags gendocs
// (`make man`, `make completions`, `make deb`): the daemon binary never carries
// it or cobra/doc. Built as bin/govrrp-gendocs, the program writes the man pages
// and shell completions of the very command tree `govrrp` executes, so they
// cannot drift from the flags.
//
//	go build -tags gendocs -o bin/govrrp-gendocs ./cmd/govrrp
//	bin/govrrp-gendocs -man DIR -completions DIR [-version V]
//
// It is selected by its program name, as keepalived mode is by "keepalived",
// from init so main.go and root.go stay as they are; under any other name
// (go test -tags gendocs) the binary is govrrp.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func init() {
	if filepath.Base(os.Args[0]) != "govrrp-gendocs" {
		return
	}
	if err := genDocs(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "govrrp-gendocs:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// manExtra is appended to the root page's DESCRIPTION: what a daemon's page in
// section 8 needs and the cobra tree does not say.
const manExtra = `

# SIGNALS
**SIGTERM**, **SIGINT**: stop gracefully; a master sends a priority-0 advert and removes its virtual addresses.

**SIGHUP**: reload the configuration; a file with errors is rejected (FILE:LINE:COL) and the running configuration stays.

# FILES
*/etc/keepalived/keepalived.conf*: the configuration, keepalived's own format (see **keepalived.conf**(5)).

*/run/govrrp/govrrp.sock*: the control socket used by **govrrp status**. */run/govrrp/govrrp.pid*: the pid file.

*/lib/systemd/system/govrrp.service*: the systemd unit; */usr/share/doc/govrrp/examples/keepalived-to-govrrp.conf* explains the switch from keepalived.service and the drop-ins scripts may need.

# KEEPALIVED COMMAND LINE
Invoked under the name **keepalived** (a symlink: the *keepalived* alternative at */usr/sbin/keepalived* when Debian's keepalived package is not installed, else */usr/libexec/govrrp/keepalived*), govrrp accepts keepalived's own options (**-f**, **-n**, **-l**, **-D**, **-P**, **-t**, **-v**, **--signum**, ...) with keepalived's exit codes.
`

func genDocs(args []string) error {
	fs := flag.NewFlagSet("govrrp-gendocs", flag.ContinueOnError)
	manDir := fs.String("man", "", "write gzip'ed section-8 man pages here")
	compDir := fs.String("completions", "", "write govrrp.bash, _govrrp (zsh) and govrrp.fish here")
	ver := fs.String("version", version, "version printed in the man pages' footer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || (*manDir == "" && *compDir == "") {
		return fmt.Errorf("usage: govrrp-gendocs [-man DIR] [-completions DIR] [-version V]")
	}
	root := newRootCmd()
	// The completion command the real binary adds at Execute time.
	root.InitDefaultCompletionCmd()
	if *manDir != "" {
		if err := genMan(root, *manDir, *ver); err != nil {
			return err
		}
	}
	if *compDir != "" {
		if err := genCompletions(root, *compDir); err != nil {
			return err
		}
	}
	return nil
}

// genMan writes DIR/govrrp.8.gz, DIR/govrrp-run.8.gz, ...: gzip -9n, no name or
// time in the gzip header, date from SOURCE_DATE_EPOCH when set (reproducible).
func genMan(root *cobra.Command, dir, ver string) error {
	date := time.Now().UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		date = time.Unix(n, 0).UTC()
	}
	root.Long = strings.TrimRight(root.Long, "\n") + manExtra
	root.DisableAutoGenTag = true
	tmp, err := os.MkdirTemp("", "govrrp-man-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	header := &doc.GenManHeader{Section: "8", Date: &date, Source: "govrrp " + ver, Manual: "System Administration"}
	if err := doc.GenManTree(root, header, tmp); err != nil {
		return err
	}
	pages, err := filepath.Glob(filepath.Join(tmp, "*.8"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range pages {
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(src); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)+".gz"), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// genCompletions writes the scripts `govrrp completion bash|zsh|fish` prints.
func genCompletions(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, gen := range map[string]func(*bytes.Buffer) error{
		"govrrp.bash": func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) },
		"_govrrp":     func(b *bytes.Buffer) error { return root.GenZshCompletion(b) },
		"govrrp.fish": func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) },
	} {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
