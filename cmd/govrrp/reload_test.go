package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/control"
)

func TestReloadPrintsChanges(t *testing.T) {
	d := &fakeDaemon{st: twoNodeStatus(), reload: func(context.Context) (control.ReloadResult, error) {
		return control.ReloadResult{
			Summary: "/etc/keepalived/keepalived.conf: 1 instance changed, 1 added",
			Changed: []string{"VI_1: priority 100 -> 150", "VI_2: added"},
		}, nil
	}}
	path, _ := serve(t, d)
	var out bytes.Buffer
	stderr, err := runCLI(context.Background(), &out, "reload", "--socket", path)
	if err != nil {
		t.Fatalf("reload: %v\n%s", err, stderr)
	}
	want := "reloaded: /etc/keepalived/keepalived.conf: 1 instance changed, 1 added\n  VI_1: priority 100 -> 150\n  VI_2: added\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	d.reload = func(context.Context) (control.ReloadResult, error) { return control.ReloadResult{}, nil }
	out.Reset()
	if _, err := runCLI(context.Background(), &out, "reload", "--socket", path); err != nil || out.String() != "reloaded: nothing changed\n" {
		t.Errorf("unchanged file: %v, %q", err, out.String())
	}
}

// A rejected file: its FILE:LINE:COL errors, exit 1, and the old
// configuration keeps running.
func TestReloadRejected(t *testing.T) {
	errs := []string{
		"/etc/keepalived/keepalived.conf:14:5: error: priority 300 is out of range 1..255",
		"/etc/keepalived/keepalived.conf:20:1: error: missing }",
	}
	d := &fakeDaemon{st: twoNodeStatus(), reload: func(context.Context) (control.ReloadResult, error) {
		return control.ReloadResult{Errors: errs}, nil
	}}
	path, _ := serve(t, d)
	var out bytes.Buffer
	stderr, err := runCLI(context.Background(), &out, "reload", "--socket", path)
	if exitCode(err) != 1 {
		t.Fatalf("exit %d (%v), want 1", exitCode(err), err)
	}
	if !strings.Contains(err.Error(), "rejected") || !strings.Contains(err.Error(), "old configuration keeps running") {
		t.Errorf("message %q should say the file was rejected and the old configuration kept", err)
	}
	if diff := cmp.Diff(strings.Join(errs, "\n")+"\n", stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q, want nothing", out.String())
	}
}

func TestReloadFailedAndUnsupported(t *testing.T) {
	d := &fakeDaemon{st: twoNodeStatus(), reload: func(context.Context) (control.ReloadResult, error) {
		return control.ReloadResult{}, errors.New("daemon is shutting down")
	}}
	path, _ := serve(t, d)
	_, err := runCLI(context.Background(), &bytes.Buffer{}, "reload", "--socket", path)
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "reload failed: daemon is shutting down") {
		t.Errorf("failed reload: exit %d, %v", exitCode(err), err)
	}

	// A provider without Reload (status only).
	st := twoNodeStatus()
	path, _ = serve(t, statusOnly{st})
	_, err = runCLI(context.Background(), &bytes.Buffer{}, "reload", "--socket", path)
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "SIGHUP") {
		t.Errorf("daemon without reload: exit %d, %v", exitCode(err), err)
	}
}

type statusOnly struct{ st control.Status }

func (s statusOnly) Status() control.Status { return s.st }

// No daemon: the same exit status and one-line hint as `govrrp status`.
func TestReloadWithoutDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.sock")
	_, statusErr := runCLI(context.Background(), &bytes.Buffer{}, "status", "--socket", path)
	_, reloadErr := runCLI(context.Background(), &bytes.Buffer{}, "reload", "--socket", path)
	if exitCode(reloadErr) != 3 || exitCode(statusErr) != 3 {
		t.Fatalf("exit status: reload %d, status %d; want 3", exitCode(reloadErr), exitCode(statusErr))
	}
	if reloadErr.Error() != statusErr.Error() || strings.Contains(reloadErr.Error(), "\n") {
		t.Errorf("hints differ or span lines:\nreload: %q\nstatus: %q", reloadErr, statusErr)
	}
}
