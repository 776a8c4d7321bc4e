package interop

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// defaultParallel is how many labs run at once unless -parallel is given:
// the scenarios mostly wait on protocol timers, so 2 cores are not the
// limit, but 100 ms adverts miss their bound when process start-ups of 8
// labs pile up on a machine that is busy anyway (seen at load average 12).
const defaultParallel = "4"

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", defaultParallel)
	}
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

var (
	binOnce  sync.Once
	binPath  string
	binErr   error
	builtDir string // temp dir of a binary we built ourselves
)

// govrrpBin returns $GOVRRP_BIN, or builds ./cmd/govrrp once per test
// binary into a temp dir.
func govrrpBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("GOVRRP_BIN"); p != "" {
			binPath = p
			return
		}
		binPath, binErr = buildGovrrp()
	})
	if binErr != nil {
		t.Fatalf("interop: %v", binErr)
	}
	return binPath
}

// buildGovrrp runs `go build ./cmd/govrrp` from the module root.
func buildGovrrp() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "interop-bin-")
	if err != nil {
		return "", fmt.Errorf("interop: temp dir: %w", err)
	}
	builtDir = dir
	out := filepath.Join(dir, "govrrp")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go" // root's PATH under sudo often lacks it
	}
	cmd := exec.Command(gobin, "build", "-o", out, "./cmd/govrrp")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("interop: go build ./cmd/govrrp: %w\n%s", err, b)
	}
	return out, nil
}

// moduleRoot walks up from the package dir to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("interop: getwd: %w", err)
	}
	for i := 0; i < 32; i++ {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/govrrp/govrrp") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("interop: module root not found above the test dir")
}
