package kaconf

import (
	"os"
	"path/filepath"
	"testing"
)

// sampleFiles finds keepalived's own sample configurations in the shared
// folder that sits beside the checkout (CI clones main with shared/ next to
// it), or at /work/shared. Without them the test is skipped locally but fails
// under CI, where their absence would silently drop the comparison.
func sampleFiles(tb testing.TB) []string {
	tb.Helper()
	if files := findSamples(); len(files) > 0 {
		return files
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("keepalived samples not found beside the checkout (../shared/testdata/keepalived-samples) nor in $GOVRRP_KA_SAMPLES")
	}
	tb.Skip("keepalived samples not found; set GOVRRP_KA_SAMPLES")
	return nil
}

// findSamples returns the sample files, or nothing when they are absent.
func findSamples() []string {
	for _, dir := range []string{
		os.Getenv("GOVRRP_KA_SAMPLES"),
		"../../../shared/testdata/keepalived-samples",
		"/work/shared/testdata/keepalived-samples",
	} {
		if dir == "" {
			continue
		}
		if files, _ := filepath.Glob(filepath.Join(dir, "keepalived.conf*")); len(files) > 0 {
			return files
		}
	}
	return nil
}
