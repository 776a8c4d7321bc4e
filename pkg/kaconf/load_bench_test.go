package kaconf

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad1000Instances is what `govrrp config check` does with a
// 1,000-instance file: read, preprocess, parse, build, derive and check.
// The target is "well under a second" per op.
func BenchmarkLoad1000Instances(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, instancesConfig(1000), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cfg, _, err := Load(path, LoadOptions{Parse: ParseOptions{ConfigID: "bench"}})
		if err != nil || len(cfg.Instances) != 1000 {
			b.Fatalf("Load: %v (%d instances)", err, len(cfg.Instances))
		}
	}
}
