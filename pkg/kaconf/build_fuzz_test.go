package kaconf

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzBuild: whatever the parser accepts, Build must not panic, and it must
// return an error exactly when it reports an error diagnostic.
func FuzzBuild(f *testing.F) {
	f.Add([]byte(instanceSrc("priority 100")))
	f.Add([]byte("vrrp_sync_group G {\ngroup {\nVI\n}\n}\n" + instanceSrc("track_script {\nx weight 3\n}")))
	f.Add([]byte("global_defs {\nvrrp_version 3\n}\nvrrp_instance X {\nvirtual_ipaddress {\n2001:db8::1 dev\n}\nunicast_peer {\n192.0.2.1 min_ttl\n}\n}\n"))
	fallbacks, _ := filepath.Glob(filepath.Join("testdata", "fallbacks", "*.conf"))
	for _, p := range append(findSamples(), fallbacks...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		pf, err := ParseBytes("f.conf", src, ParseOptions{ConfigID: "x", maxLines: 10000, ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist }})
		if err != nil || pf == nil {
			return
		}
		_, ds, err := Build(pf.Nodes, LoadOptions{})
		hasErr := len(diagStrings(ds, SevError)) > 0
		if hasErr != (err != nil) {
			t.Fatalf("error %v but error diagnostics %v", err, hasErr)
		}
		// Strict changes severities only: every fallback becomes an error.
		_, sds, _ := Build(pf.Nodes, LoadOptions{Strict: true})
		if len(Fallbacks(sds)) != len(Fallbacks(ds)) {
			t.Fatalf("Strict: %d fallbacks, lenient %d", len(Fallbacks(sds)), len(Fallbacks(ds)))
		}
		for _, d := range Fallbacks(sds) {
			if d.Severity != SevError {
				t.Fatalf("Strict: fallback %s is not an error", d)
			}
		}
	})
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(good, []byte(instanceSrc("priority 90")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("vrrp_instance X {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		wantErr bool
		wantN   int // instances
	}{
		{good, false, 1},
		{bad, true, 0},
		{filepath.Join(dir, "missing.conf"), true, 0},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			cfg, ds, err := Load(tt.path, LoadOptions{Parse: ParseOptions{ConfigID: "x"}})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Load error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if cfg != nil || len(diagStrings(ds, SevError)) == 0 {
					t.Errorf("Load = %v, %v; want nil config and error diagnostics", cfg, ds)
				}
				return
			}
			if len(cfg.Instances) != tt.wantN || cfg.Instances[0].Priority != 90 {
				t.Errorf("got %+v", cfg.Instances)
			}
		})
	}
}
