package kaconf

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAuthHMACCaptureConfigs: the configs keepalived 2.4.3 ran for the
// captures in testdata/auth-hmac build, with key 2's trailing '!' a comment
// (as keepalived reads it: the captures verify with the 36-byte key).
func TestAuthHMACCaptureConfigs(t *testing.T) {
	files, err := filepath.Glob("../../testdata/auth-hmac/*.conf")
	if err != nil || len(files) != 10 {
		t.Fatalf("%v (%v), want the 10 capture configs", files, err)
	}
	key1 := make([]byte, 32)
	for i := range key1 {
		key1[i] = byte(i)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, ds, err := buildSrc(t, string(src), LoadOptions{})
			if err != nil {
				t.Fatalf("%v\n%v", err, ds)
			}
			a := cfg.Instances[0].AuthHMAC
			if a == nil {
				t.Fatal("no AuthHMAC")
			}
			wantActive := uint8(1)
			if strings.Contains(f, "key2") {
				wantActive = 2
			}
			got := []any{len(a.Keys), a.ActiveKey, a.AntiReplay, a.TimeWindow, a.Mode, a.Keys[0].ID, a.Keys[1].ID, a.Keys[0].Source, a.Keys[1].Source}
			want := []any{2, wantActive, "time", 5, "enforce", uint8(1), uint8(2), "hex", "ascii"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !bytes.Equal(a.Keys[0].Secret, key1) || string(a.Keys[1].Secret) != "passphrase-for-key-two-32-bytes-long" {
				t.Errorf("keys %x / %q", a.Keys[0].Secret, a.Keys[1].Secret)
			}
		})
	}
}

const hexKey = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func hmacSrc(body string) string {
	return instanceSrc("auth_hmac {\n" + body + "\n    }")
}

func TestAuthHMACDefaults(t *testing.T) {
	cfg, _, err := buildSrc(t, hmacSrc(" key 7 "+hexKey+"\n active_key 7"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Instances[0].AuthHMAC
	got := []any{a.Mode, a.AntiReplay, a.TimeWindow, a.WindowFor(1), a.WindowFor(3), a.WindowFor(0.1), a.WindowFor(200)}
	want := []any{"enforce", "time", 0, 5, 9, 5, 300}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAuthHMACKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hexFile := write("hex", hexKey+"\n", 0o600)
	asciiFile := write("ascii", "an-ascii-key-in-a-file-of-38-bytes!!\n", 0o644)
	cfg, ds, err := buildSrc(t, hmacSrc(" key 1 file:"+hexFile+"\n key 2 file:"+asciiFile+"\n active_key 2\n mode permissive"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Instances[0].AuthHMAC
	if len(a.Keys) != 2 || len(a.Keys[0].Secret) != 32 || string(a.Keys[1].Secret) != "an-ascii-key-in-a-file-of-38-bytes!!" || a.Mode != "permissive" {
		t.Errorf("keys %d, %q, mode %s", len(a.Keys), a.Keys[1].Secret, a.Mode)
	}
	warn := diagStrings(ds, SevWarning)
	if len(warn) != 1 || !strings.Contains(warn[0], "t.conf:6:8: warning: auth_hmac key file "+asciiFile+" is readable by group or others (mode 0644)") {
		t.Errorf("warnings %q", warn)
	}
}

func TestAuthHMACErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	tests := []struct {
		body string
		want string // every error, FILE:LINE:COL: error: msg
	}{
		{" key 1 hex:0g\n active_key 1", "t.conf:5:8: error: auth_hmac key: invalid hex (2 hex digits; want an even number of 0-9a-f)"},
		{" key 1 hex:0102\n active_key 1", "t.conf:5:8: error: auth_hmac key: hex key is 2 bytes, want 32..64 (e.g. openssl rand -hex 32)"},
		{" key 1 short-ascii\n active_key 1", "t.conf:5:8: error: auth_hmac key: ascii key is 11 bytes, want 32..64 (e.g. openssl rand -hex 32)"},
		{" key 1 file:" + missing + "\n active_key 1", "t.conf:5:8: error: auth_hmac key file " + missing + ": stat " + missing + ": no such file or directory"},
		{" key 0 " + hexKey + "\n active_key 1", "t.conf:5:6: error: auth_hmac key: \"0\" is not an integer in [1, 255]"},
		{" key 1 " + hexKey + "\n key 1 " + hexKey + "\n active_key 1", "t.conf:6:2: error: auth_hmac key 1: defined twice (first at t.conf:5:2)"},
		{" key 1 " + hexKey + "\n active_key 2", "t.conf:4:5: error: auth_hmac: active_key 2 is not a defined key"},
		{" key 1 " + hexKey, "t.conf:4:5: error: auth_hmac: active_key is required (the key id adverts are signed with)"},
		{" active_key 1", "t.conf:4:5: error: auth_hmac: no key defined (add \"key ID hex:...\")"},
		{" key 1 " + hexKey + "\n active_key 1\n mode audit", "t.conf:7:7: error: auth_hmac mode: \"audit\" is not enforce, permissive or receive-only"},
		{" key 1 " + hexKey + "\n active_key 1\n anti_replay never", "t.conf:7:14: error: auth_hmac anti_replay: \"never\" is not time or monotonic"},
		{" key 1 " + hexKey + "\n active_key 1\n time_window 0", "t.conf:7:14: error: auth_hmac time_window: \"0\" is not an integer in [1, 300]"},
		{" key 1 " + hexKey + "\n active_key 1\n time_window 301", "t.conf:7:14: error: auth_hmac time_window: \"301\" is not an integer in [1, 300]"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, ds, err := buildSrc(t, hmacSrc(tt.body), LoadOptions{})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Build error = %v, want ErrInvalid", err)
			}
			if diff := cmp.Diff([]string{tt.want}, diagStrings(ds, SevError)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuthHMACWithLegacyAuth: auth_hmac beside authentication is an error
// by name, whichever comes first.
func TestAuthHMACWithLegacyAuth(t *testing.T) {
	block := "auth_hmac {\n key 1 " + hexKey + "\n active_key 1\n }"
	legacy := "authentication {\n auth_type PASS\n auth_pass secret\n }"
	for _, order := range [][2]string{{block, legacy}, {legacy, block}} {
		_, ds, err := buildSrc(t, instanceSrc(order[0]+"\n"+order[1]), LoadOptions{})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("Build error = %v, want ErrInvalid", err)
		}
		errs := diagStrings(ds, SevError)
		if len(errs) != 1 || !strings.Contains(errs[0], "error: auth_hmac and authentication { auth_type PASS } cannot be used together in instance VI") {
			t.Errorf("errors %q", errs)
		}
	}
}

func TestAuthHMACReceiveOnly(t *testing.T) {
	cfg, ds, err := buildSrc(t, hmacSrc(" key 1 "+hexKey+"\n mode receive-only"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Instances[0].AuthHMAC; a.Mode != "receive-only" || a.ActiveKey != 0 {
		t.Errorf("mode %s active %d", a.Mode, a.ActiveKey)
	}
	notes := diagStrings(ds, SevNotice)
	if len(notes) != 1 || !strings.Contains(notes[0], "receive-only is govrrp's own") {
		t.Errorf("notices %q", notes)
	}
}

func TestAuthHMACSecondBlock(t *testing.T) {
	block := "auth_hmac {\n key 1 " + hexKey + "\n active_key 1\n }"
	_, ds, err := buildSrc(t, instanceSrc(block+"\n"+block), LoadOptions{})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Build error = %v", err)
	}
	if diff := cmp.Diff([]string{"t.conf:8:1: error: auth_hmac: second block in instance VI (first at t.conf:4:5)"}, diagStrings(ds, SevError)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestAuthHMACKeysNotInJSON: the resolved configuration's JSON (config
// check --json, keepalived -d) names the keys but never carries them.
func TestAuthHMACKeysNotInJSON(t *testing.T) {
	cfg, _, err := buildSrc(t, hmacSrc(" key 1 "+hexKey+"\n key 2 an-ascii-key-of-32-bytes-or-more-x\n active_key 1"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	secret1, _ := hex.DecodeString(strings.TrimPrefix(hexKey, "hex:"))
	for _, leak := range []string{"an-ascii-key-of-32", strings.TrimPrefix(hexKey, "hex:"), string(mustJSON(t, secret1))} {
		if strings.Contains(string(b), leak) {
			t.Errorf("JSON carries key material %q", leak)
		}
	}
	if !strings.Contains(string(b), `"ActiveKey":1`) {
		t.Errorf("JSON lacks the auth_hmac block: %s", b)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Trim(b, `"`)
}

// TestAuthHMACCluster: config check of several nodes flags auth_hmac that
// stops one node verifying the other.
func TestAuthHMACCluster(t *testing.T) {
	block := func(key, mode string) string {
		return "auth_hmac {\n key 1 " + key + "\n active_key 1\n mode " + mode + "\n }"
	}
	other := "hex:" + strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		aExtra string
		bExtra string
		want   []string
	}{
		{"same", block(hexKey, "enforce"), block(hexKey, "enforce"), nil},
		{"different key", block(hexKey, "enforce"), block(other, "enforce"),
			[]string{"b.conf:5:1: error: (VI_1) auth_hmac: key 1 this node signs with is missing or different in a.conf (VI_1)"}},
		{"different key, a receive-only", block(hexKey, "receive-only"), block(other, "enforce"),
			[]string{"b.conf:5:1: warning: (VI_1) auth_hmac: key 1 this node signs with is missing or different in a.conf (VI_1)"}},
		{"only b signs", "", block(hexKey, "permissive"),
			[]string{"b.conf:5:1: error: (VI_1) auth_hmac: set here but not in a.conf (VI_1)"}},
		{"only a, receive-only", block(hexKey, "receive-only"), "",
			[]string{"b.conf:5:1: warning: (VI_1) auth_hmac: not set here but set in a.conf (VI_1)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range CheckCluster([]Member{
				node(t, "a.conf", 0, 51, 150, "1", tc.aExtra, "192.0.2.100"),
				node(t, "b.conf", 0, 51, 100, "1", tc.bExtra, "192.0.2.100"),
			}) {
				got = append(got, d.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Which auth_hmac pairs hear each other (the what-if simulator's rule).
func TestHMACDeafness(t *testing.T) {
	k1 := []HMACKey{{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}}
	k1other := []HMACKey{{ID: 1, Secret: []byte("fedcba9876543210fedcba9876543210")}}
	h := func(mode string, keys []HMACKey) *AuthHMAC {
		active := uint8(1)
		if mode == "receive-only" {
			active = 0
		}
		return &AuthHMAC{Mode: mode, Keys: keys, ActiveKey: active}
	}
	for _, tc := range []struct {
		name     string
		from, to *AuthHMAC
		deaf     bool
	}{
		{"neither", nil, nil, false},
		{"signed to a node without auth_hmac", h("enforce", k1), nil, true},
		{"unsigned to enforce", nil, h("enforce", k1), true},
		{"unsigned to permissive", nil, h("permissive", k1), false},
		{"receive-only sender to enforce", h("receive-only", k1), h("enforce", k1), true},
		{"receive-only sender to permissive", h("receive-only", k1), h("permissive", k1), false},
		{"signed to receive-only with other bytes", h("enforce", k1), h("receive-only", k1other), false},
		{"same key", h("enforce", k1), h("enforce", k1), false},
		{"other bytes, enforce", h("enforce", k1), h("enforce", k1other), true},
		{"other bytes, permissive", h("enforce", k1), h("permissive", k1other), true},
	} {
		from, to := &Instance{Name: "A", AuthHMAC: tc.from}, &Instance{Name: "B", AuthHMAC: tc.to}
		if got := HMACDeafness(from, to); (got != "") != tc.deaf {
			t.Errorf("%s: HMACDeafness = %q, want deaf %v", tc.name, got, tc.deaf)
		}
	}
}
