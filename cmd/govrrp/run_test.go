package main

import (
	"context"
	"errors"
	"testing"
)

func TestRunRejectsUnknownLogFormat(t *testing.T) {
	err := runDaemon(context.Background(), runFlags{config: "/nonexistent", logJSON: "xml"})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 {
		t.Fatalf("err = %v, want exit code 2 naming the format", err)
	}
}
