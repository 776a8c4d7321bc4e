package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRunRejectsUnknownLogFormat(t *testing.T) {
	err := runDaemon(context.Background(), runFlags{config: "/nonexistent", logJSON: "xml"})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 {
		t.Fatalf("err = %v, want exit code 2 naming the format", err)
	}
}

// A --release-vips value govrrp does not know is refused by name, never
// silently taken as the default.
func TestRunRejectsUnknownReleasePolicy(t *testing.T) {
	err := runDaemon(context.Background(), runFlags{config: "/nonexistent", releaseVIPs: "later"})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(ee.msg, "after-takeover or immediate") {
		t.Fatalf("err = %v, want exit code 2 naming the choices", err)
	}
}
