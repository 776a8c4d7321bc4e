package track

import (
	"errors"
	"os/user"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookupCredential(t *testing.T) {
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody:", err)
	}
	got, err := LookupCredential("root", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Uid != 0 || got.Gid != 0 || got.User != "root" || got.Groups[0] != 0 {
		t.Errorf("root = %+v, want uid 0, gid 0, groups starting with 0", got)
	}

	got, err = LookupCredential("nobody", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Uid != nobodyID || got.Gid != nobodyID || !slices.Contains(got.Groups, nobodyID) {
		t.Errorf("nobody = %+v, want 65534:65534 with group 65534", got)
	}

	got, err = LookupCredential("nobody", "root")
	if err != nil {
		t.Fatal(err)
	}
	if got.Uid != nobodyID || got.Gid != 0 || got.Groups[0] != 0 {
		t.Errorf("nobody root = %+v, want uid 65534, gid 0 first in groups", got)
	}
	if n := len(got.Groups); n != len(slicesCompact(got.Groups)) {
		t.Errorf("groups %v hold duplicates", got.Groups)
	}

	for _, tt := range []struct{ user, group, want string }{
		{"govrrp-no-such-user", "", "govrrp-no-such-user"},
		{"nobody", "govrrp-no-such-group", "govrrp-no-such-group"},
	} {
		if _, err := LookupCredential(tt.user, tt.group); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LookupCredential(%q, %q) = %v, want an error naming %q", tt.user, tt.group, err, tt.want)
		}
	}
}

func slicesCompact(s []uint32) []uint32 {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}

func TestDefaultScriptUser(t *testing.T) {
	scriptUser := &Credential{Uid: 999, Gid: 999, Groups: []uint32{999}, User: DefaultScriptUserName}
	configured := &Credential{Uid: 65534, Gid: 0, Groups: []uint32{0}, User: "nobody"}
	broken := errors.New("nsswitch broke")
	tests := []struct {
		name               string
		globalUser, group  string
		lookup             map[string]*Credential // by user name; missing: unknown
		lookupErr          error
		want               *Credential
		wantWarning, wantE bool
	}{
		{"script_user wins", "nobody", "root", map[string]*Credential{"nobody/root": configured, DefaultScriptUserName + "/": scriptUser}, nil, configured, false, false},
		{"keepalived_script when it exists", "", "", map[string]*Credential{DefaultScriptUserName + "/": scriptUser}, nil, scriptUser, false, false},
		{"else ourselves, with a warning", "", "", nil, nil, nil, true, false},
		{"an unknown script_user is an error", "nosuch", "", nil, nil, nil, false, true},
		{"lookup failures are errors", "", "", nil, broken, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(u, g string) (*Credential, error) {
				if tt.lookupErr != nil {
					return nil, tt.lookupErr
				}
				if c, ok := tt.lookup[u+"/"+g]; ok {
					return c, nil
				}
				return nil, user.UnknownUserError(u)
			}
			got, warning, err := defaultScriptUser(tt.globalUser, tt.group, lookup)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("credential (-want +got):\n%s", diff)
			}
			if (err != nil) != tt.wantE {
				t.Errorf("error = %v, want error %v", err, tt.wantE)
			}
			if (warning != "") != tt.wantWarning {
				t.Errorf("warning = %q, want one: %v", warning, tt.wantWarning)
			}
			if tt.wantWarning && !strings.Contains(warning, "'keepalived_script' does not exist") {
				t.Errorf("warning %q does not say keepalived_script is missing", warning)
			}
		})
	}
}
