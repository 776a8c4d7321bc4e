package kaconf

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/lex/*.golden")

// goldenOptions makes the environment-dependent built-ins deterministic.
func goldenOptions(configID string) ParseOptions {
	env := map[string]string{"GOVRRP_TEST_VAR": "from-env"}
	return ParseOptions{
		ConfigID: configID,
		Getenv:   func(k string) string { return env[k] },
		Random:   func() int { return 4242 },
		ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
		Glob:     func(string) ([]string, error) { return nil, nil },
	}
}

// configIDOf reads "# config-id: X" from the first line of a golden input.
func configIDOf(src []byte) string {
	first, _, _ := bytes.Cut(src, []byte("\n"))
	_, id, ok := strings.Cut(string(first), "config-id:")
	if !ok {
		return "node1"
	}
	return strings.TrimSpace(id)
}

// render prints nodes followed by the diagnostics as comment lines.
func render(t *testing.T, f *File, err error) string {
	t.Helper()
	var b strings.Builder
	if f != nil {
		if perr := Print(&b, f.Nodes); perr != nil {
			t.Fatalf("Print: %v", perr)
		}
		for _, d := range f.Diags {
			b.WriteString("# " + d.String() + "\n")
		}
	}
	if err != nil {
		b.WriteString("# " + strings.ReplaceAll(err.Error(), "\n", "\n# ") + "\n")
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/lex/*.conf")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".conf")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			f, perr := ParseBytes("/etc/keepalived/"+filepath.Base(in), src, goldenOptions(configIDOf(src)))
			got := render(t, f, perr)
			golden := strings.TrimSuffix(in, ".conf") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
