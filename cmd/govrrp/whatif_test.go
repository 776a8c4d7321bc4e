package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runConfigCheck runs `govrrp config check ARGS...` from the repository
// root, as the README shows it.
func runConfigCheck(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Chdir("../..")
	cmd := newRootCmd()
	var out, errw bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errw)
	cmd.SetArgs(append([]string{"config", "check"}, args...))
	err = cmd.Execute()
	return out.String(), errw.String(), err
}

// --what-if prints the report, and only the report, on stdout: the same
// text the whatif package's golden file holds for the example pair.
func TestConfigCheckWhatIf(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "internal", "whatif", "testdata", "proxy-pair.txt.golden"))
	if err != nil {
		t.Fatal(err)
	}
	out, errw, err := runConfigCheck(t, "--what-if", "-f", "configs/keepalived-proxy-a.conf", "-f", "configs/keepalived-proxy-b.conf")
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, errw)
	}
	if out != string(want) {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
}

func TestConfigCheckWhatIfJSON(t *testing.T) {
	out, errw, err := runConfigCheck(t, "--what-if", "--json", "-f", "configs/keepalived-proxy-a.conf", "-f", "configs/keepalived-proxy-b.conf")
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, errw)
	}
	var rep struct {
		Routers []struct {
			HeldBy []string `json:"held_by"`
		} `json:"routers"`
		Failures []struct{ Node, Kind string } `json:"failures"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if len(rep.Routers) != 1 || strings.Join(rep.Routers[0].HeldBy, ",") != "proxy-a" || len(rep.Failures) != 6 {
		t.Errorf("report %+v, want VI_WEB held by proxy-a and 6 failures (3 per node)", rep)
	}
}

// A file with errors gets its diagnostics and no simulation.
func TestConfigCheckWhatIfRefusesBrokenFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.conf")
	if err := os.WriteFile(bad, []byte("vrrp_instance VI {\n    priority 100\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errw, err := runConfigCheck(t, "--what-if", "-f", bad, "-f", "configs/keepalived-proxy-b.conf")
	if err == nil || out != "" || !strings.Contains(errw, bad+":") {
		t.Errorf("err %v, stdout %q, stderr %q; want a failure naming %s and no report", err, out, errw, bad)
	}
}

// Nodes that cannot hear each other fail the check (exit 1), and the
// report still shows what that leads to: both master.
func TestConfigCheckWhatIfReportsClusterErrors(t *testing.T) {
	a, err := os.ReadFile(filepath.Join("..", "..", "configs", "keepalived-proxy-a.conf"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "keepalived-proxy-b.conf"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.conf"), filepath.Join(dir, "b.conf")
	v3 := strings.Replace(string(b), "advert_int 1\n", "advert_int 1\n    version 3\n", 1)
	for p, text := range map[string]string{pa: string(a), pb: v3} {
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, errw, err := runConfigCheck(t, "--what-if", "-f", pa, "-f", pb)
	if err == nil || !strings.Contains(errw, "VRRP version 3 here but 2") {
		t.Errorf("err %v, stderr %q; want the cluster error and a failure", err, errw)
	}
	if !strings.Contains(out, "proxy-a+proxy-b (TWO MASTERS)") || !strings.Contains(out, "are master at once with nothing failed") {
		t.Errorf("report does not show two masters:\n%s", out)
	}
}
