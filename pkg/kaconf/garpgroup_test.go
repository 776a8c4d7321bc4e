package kaconf

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func loadText(t *testing.T, text string) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// garp_group blocks become typed groups (an interface keeps its first
// group); garp_extra_if is inherited from vrrp_garp_extra_if unless set.
func TestGarpGroupsAndExtraIf(t *testing.T) {
	cfg := loadText(t, `global_defs {
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.000002
    vrrp_garp_extra_if all 100
}
garp_group {
    garp_interval 0.3
    interfaces {
        eth0
        eth1
    }
}
garp_group {
    gna_interval 1.5
    interface eth1
}
garp_group {
    gna_interval 2
    interface eth2
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    garp_extra_if 7.5
    virtual_ipaddress {
        192.0.2.2
    }
}
`)
	want := []*GarpGroup{
		{GarpInterval: 300 * time.Millisecond, Interfaces: []string{"eth0", "eth1"}},
		{GnaInterval: 1500 * time.Millisecond}, // eth1 was taken
		{GnaInterval: 2 * time.Second, Interfaces: []string{"eth2"}},
	}
	if d := cmp.Diff(want, cfg.GarpGroups, cmpopts.IgnoreFields(GarpGroup{}, "Pos"), cmpopts.IgnoreUnexported(GarpGroup{})); d != "" {
		t.Errorf("groups (-want +got):\n%s", d)
	}
	if g := cfg.Global; g.GarpInterval != time.Millisecond || g.GnaInterval != 2*time.Microsecond {
		t.Errorf("global intervals %v %v", g.GarpInterval, g.GnaInterval)
	}
	a, b := cfg.Instances[0], cfg.Instances[1]
	if a.GarpExtraIf != 100*time.Second || !a.GarpExtraIfAll {
		t.Errorf("A inherits vrrp_garp_extra_if: %v all=%v", a.GarpExtraIf, a.GarpExtraIfAll)
	}
	if b.GarpExtraIf != 7500*time.Millisecond || b.GarpExtraIfAll {
		t.Errorf("B's own garp_extra_if: %v all=%v", b.GarpExtraIf, b.GarpExtraIfAll)
	}
}
