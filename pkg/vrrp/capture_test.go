package vrrp

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestKeepalivedCapture re-runs testdata/vrrp/capture.sh against the local
// keepalived and checks it still produces the committed keepalived-*.hex
// vectors byte for byte. It needs root, keepalived and tcpdump, takes about
// five seconds (keepalived's master-down timer) and is skipped with -short.
func TestKeepalivedCapture(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping keepalived capture in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to build network namespaces for keepalived")
	}
	for _, tool := range []string{"keepalived", "tcpdump", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", filepath.Join(goldenDir, "capture.sh"), out)
	// SIGTERM lets the script's trap delete its namespaces; SIGKILL would not.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("capture.sh: %v\n%s", err, b)
	}
	got, err := filepath.Glob(filepath.Join(out, "*.hex"))
	if err != nil || len(got) != 3 {
		t.Fatalf("capture.sh wrote %v (%v), want 3 vectors", got, err)
	}
	for _, p := range got {
		name := filepath.Base(p)
		fresh := parseGolden(t, p)
		committed := parseGolden(t, filepath.Join(goldenDir, name))
		want := []string{committed.src.String(), committed.dst.String(), hex.EncodeToString(committed.msg)}
		have := []string{fresh.src.String(), fresh.dst.String(), hex.EncodeToString(fresh.msg)}
		if diff := cmp.Diff(want, have); diff != "" {
			t.Errorf("%s: keepalived now sends (-committed +fresh):\n%s", name, diff)
		}
	}
}
