package kaconf

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goldenInstance mirrors testdata/cfg/dump2json.awk: what keepalived 2.2.7's
// own dump (`keepalived -d`) shows for an instance.
type goldenInstance struct {
	Name            string        `json:"name"`
	Version         int           `json:"version"`
	State           string        `json:"state"`
	Interface       string        `json:"interface"`
	GarpDelay       int           `json:"garp_delay"`
	GarpRepeat      int           `json:"garp_repeat"`
	VRID            int           `json:"vrid"`
	Priority        int           `json:"priority"`
	AdvertMS        int           `json:"advert_ms"`
	Preempt         bool          `json:"preempt"`
	AuthType        string        `json:"auth_type,omitempty"`
	AuthPass        string        `json:"auth_pass,omitempty"`
	VIPs            []string      `json:"vips,omitempty"`
	TrackInterfaces []goldenTrack `json:"track_interfaces,omitempty"`
	TrackScripts    []goldenTrack `json:"track_scripts,omitempty"`
}

type goldenTrack struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

func toGolden(in *Instance) goldenInstance {
	g := goldenInstance{
		Name: in.Name, Version: int(in.Version), State: in.State, Interface: in.Interface,
		GarpDelay: int(in.GarpMasterDelay.Seconds()), GarpRepeat: in.GarpMasterRepeat,
		VRID: int(in.VRID), Priority: int(in.Priority), AdvertMS: int(in.AdverInt.Milliseconds()), Preempt: !in.Nopreempt,
	}
	if in.Version == 2 {
		g.AuthType = map[string]string{"": "none", "PASS": "SIMPLE_PASSWORD", "AH": "IPSEC_AH"}[in.AuthType]
		if in.AuthType == "PASS" {
			g.AuthPass = strings.TrimRight(string(in.AuthPass[:]), "\x00")
		}
	}
	for _, v := range in.VIPs {
		s := v.Prefix.String()
		if v.Prefix.IsSingleIP() {
			s = v.Prefix.Addr().String()
		}
		g.VIPs = append(g.VIPs, s)
	}
	for _, r := range in.TrackInterfaces {
		g.TrackInterfaces = append(g.TrackInterfaces, goldenTrack{r.Name, r.Weight})
	}
	for _, r := range in.TrackScripts {
		g.TrackScripts = append(g.TrackScripts, goldenTrack{r.Name, r.Weight})
	}
	return g
}

// TestSamplesLoadLikeKeepalived loads every keepalived sample: those with LVS blocks fail
// without VRRPOnly and load with it; the VRRP part must match keepalived's
// own dump recorded by testdata/cfg/dump.sh.
func TestSamplesLoadLikeKeepalived(t *testing.T) {
	files := sampleFiles(t)
	for _, path := range files {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			po := ParseOptions{ConfigID: "high"} // as dump.sh's keepalived -i high
			cfg, _, err := Load(path, LoadOptions{Parse: po})
			if cfg != nil && len(cfg.Skipped) > 0 {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("LVS sample loaded without --vrrp: err = %v", err)
				}
				cfg, _, err = Load(path, LoadOptions{Parse: po, VRRPOnly: true})
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			compareGolden(t, base, cfg)
		})
	}
}

func compareGolden(t *testing.T, base string, cfg *Config) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "cfg", base+".golden.json"))
	if errors.Is(err, os.ErrNotExist) {
		if len(cfg.Instances) > 0 {
			t.Fatalf("sample has %d instances but no golden file: run testdata/cfg/dump.sh", len(cfg.Instances))
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var want struct{ Instances []goldenInstance }
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("golden: %v", err)
	}
	var got []goldenInstance
	for _, in := range cfg.Instances {
		got = append(got, toGolden(in))
	}
	if diff := cmp.Diff(want.Instances, got); diff != "" {
		t.Errorf("instances vs keepalived 2.2.7 dump (-want +got):\n%s", diff)
	}
}
