package whatif

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/pkg/kaconf"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// The example Apache pair (configs/keepalived-proxy-{a,b}.conf) as
// `govrrp config check --what-if` prints it, table and JSON. The files are
// loaded from the repository root so positions read as they do there.
func TestGoldenProxyPair(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(wd, "testdata")
	t.Chdir("../..")
	var nodes []Node
	for _, f := range []string{"configs/keepalived-proxy-a.conf", "configs/keepalived-proxy-b.conf"} {
		cfg, diags, err := kaconf.Load(f, kaconf.LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		nodes = append(nodes, Node{File: f, Config: cfg, Diags: diags})
	}
	rep := Analyze(nodes)
	var table, js bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"proxy-pair.txt.golden": table.Bytes(), "proxy-pair.json.golden": js.Bytes()} {
		path := filepath.Join(golden, name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// The README shows this output; it must be the real one.
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, table.Bytes()) {
		t.Errorf("README.md's --what-if example is not the current output; paste testdata/proxy-pair.txt.golden into it")
	}
}
