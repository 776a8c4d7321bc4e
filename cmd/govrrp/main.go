// Command govrrp is a VRRPv2/v3 daemon that reads keepalived.conf.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// exitError carries a process exit status through cobra without printing a
// stack trace or usage text.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	var err error
	if filepath.Base(os.Args[0]) == "keepalived" {
		err = runKeepalivedMode(os.Args[1:])
	} else {
		cmd := newRootCmd()
		err = cmd.Execute()
	}
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "govrrp:", ee.msg)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "govrrp:", err)
	os.Exit(1)
}
