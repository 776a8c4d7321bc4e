package kaconf

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// bfdInstanceSrc is a vrrp_instance (priority prio) tracking the track_bfd
// lines given, after the bfd_instance blocks of head.
func bfdInstanceSrc(head string, prio int, track ...string) string {
	return head + "vrrp_instance VI {\n    interface eth0\n    virtual_router_id 1\n    priority " + itoa(int64(prio)) + "\n" +
		"    virtual_ipaddress {\n        192.0.2.10/24\n    }\n" +
		"    track_bfd {\n        " + strings.Join(track, "\n        ") + "\n    }\n}\n"
}

func TestBFDInstanceDefaultsAndValues(t *testing.T) {
	// keepalived 2.2.7's keepalived_bfd.data for these two blocks:
	//  b1: Required min RX interval = 3312 us, Desired min TX interval =
	//      3313 us (3.3125: "has too many decimal places", rounded), idle
	//      1000000 us, multiplier 5, TTL 255, max_hops 0, passive = true
	//      ("passive yes": arguments ignored)
	//  b2: 10000/10000/1000000 us, hoplimit 7, max_hops 7 (-1, "max_hops
	//      exceeds ttl/hoplimit - setting to ttl/hoplimit" on the closing
	//      brace), and in keepalived.data "b2: weight -20 reverse".
	src := "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    min_tx 3.3125\n    min_rx 3.312\n    passive yes\n}\n" +
		"bfd_instance b2 {\n    neighbor_ip 2001:db8::2\n    hoplimit 7\n    max_hops -1\n    weight -20 reverse\n}\n"
	cfg, ds, err := buildSrc(t, bfdInstanceSrc(src, 100, "b1", "b2"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*BFDInstance{
		"b1": {Name: "b1", Pos: Pos{"t.conf", 1, 1}, Neighbor: netip.MustParseAddr("192.0.2.2"), MinRx: 3312 * time.Microsecond,
			MinTx: 3313 * time.Microsecond, IdleTx: time.Second, Multiplier: 5, Passive: true, TTL: 255, HopLimit: 64},
		"b2": {Name: "b2", Pos: Pos{"t.conf", 7, 1}, Neighbor: netip.MustParseAddr("2001:db8::2"), MinRx: 10 * time.Millisecond,
			MinTx: 10 * time.Millisecond, IdleTx: time.Second, Multiplier: 5, TTL: 255, HopLimit: 7, MaxHops: 7, Weight: -20, Reverse: true},
	}
	if diff := cmp.Diff(want, cfg.BFDInstances, cmpopts.IgnoreUnexported(BFDInstance{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantW := []string{
		"t.conf:3:12: warning: bfd_instance b1: min_tx 3.3125 has more than 3 decimal places (µs resolution); rounded, as keepalived 2.2.7 does",
		"t.conf:12:1: warning: bfd_instance b2: max_hops 255 exceeds hoplimit 7; set to 7, as keepalived 2.2.7 does",
	}
	if diff := cmp.Diff(wantW, diagStrings(ds, SevWarning)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	// b1 inherits weight 0, b2 its block's -20 reverse (keepalived.data:
	// "Tracked BFDs : b1: weight 0 / b2: weight -20 reverse").
	refs := cfg.Instances[0].TrackBFDs
	if len(refs) != 2 || refs[0].Weight != 0 || refs[1].Weight != -20 || !refs[1].Reverse {
		t.Errorf("track_bfd refs = %+v", refs)
	}
}

// Each case is one line keepalived 2.2.7 reports with `keepalived -t`
// (quoted), and the line:col govrrp reports it on.
func TestBFDInstanceDiagnostics(t *testing.T) {
	tests := []struct {
		name, src string
		at        string // "LINE:COL"
		msg       string // a part of govrrp's message
		kept      bool   // the bfd_instance survives
	}{
		// "(Line 3) Configuration error: BFD instance b1 has no neighbor address set, disabling instance"
		{"no neighbour", "bfd_instance b1 {\n    source_ip 192.0.2.1\n}\n", "3:1", "has no neighbor address set", false},
		// "(Line 2) ... has malformed neighbor address bogus, ignoring instance"
		{"malformed neighbour", "bfd_instance b1 {\n    neighbor_ip bogus\n}\n", "2:17", "malformed neighbor address", false},
		// "(Line 3) ... has malformed source address 192.0.2.300, ignoring"
		{"malformed source", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    source_ip 192.0.2.300\n}\n", "3:15", "malformed source address", true},
		// "(Line 6) ... BFD instance b2 has duplicate neighbor address 192.0.2.2, ignoring instance"
		{"duplicate neighbour", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n}\nbfd_instance b2 {\n    neighbor_ip 192.0.2.2\n}\n", "6:1", "duplicate neighbor address 192.0.2.2", true},
		// "(Line 4) BFD b1 already specified" ... "already configured - ignoring"
		{"duplicate name", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n}\nbfd_instance b1 {\n    neighbor_ip 192.0.2.3\n}\n", "4:14", "already defined", true},
		// "(Line 1) ... name too long (maximum length is 31 characters) - ignoring"
		{"long name", "bfd_instance b1234567890123456789012345678901234567890 {\n    neighbor_ip 192.0.2.2\n}\n", "1:14", "name too long", false},
		// "(Line 4) ... source address 192.0.2.1 and neighbor address ... are not of the same family, disabling instance"
		{"mixed families", "bfd_instance b1 {\n    neighbor_ip 2001:db8::2\n    source_ip 192.0.2.1\n}\n", "4:1", "not of the same family", false},
		// "(Line 3) number '0' outside range [1.000, 4294967.000]" / "min_rx value 0 is not valid ..., ignoring"
		{"min_rx 0", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    min_rx 0\n}\n", "3:12", "min_rx value 0 outside range [1, 4294967] ms", true},
		{"min_tx too big", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    min_tx 99999999\n}\n", "3:12", "min_tx value 99999999 outside range", true},
		// "idle_tx value 0.5 is not valid (must be in range [1000-4294967])"
		{"idle_tx 0.5", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    idle_tx 0.5\n}\n", "3:13", "idle_tx value 0.5 outside range [1000, 4294967] ms", true},
		// "(Line 5) invalid number 'abc'"
		{"idle_tx abc", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    idle_tx abc\n}\n", "3:13", `idle_tx value "abc" is not a number`, true},
		// "multiplier value 0 not valid (must be in range [1-255])"
		{"multiplier 0", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    multiplier 0\n}\n", "3:16", "multiplier value 0 outside range [1, 255]", true},
		// "ttl/hoplimit value 256 not valid (must be in range [1-255])"
		{"hoplimit 256", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    hoplimit 256\n}\n", "3:14", "ttl/hoplimit value 256 outside range [1, 255]", true},
		// "max_hops value 300 not valid (must be in range [-1-255])"
		{"max_hops 300", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    max_hops 300\n}\n", "3:14", "max_hops value 300 outside range [-1, 255]", true},
		// "(Line 5) BFD instance b1: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"
		{"max_hops over ttl", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    ttl 10\n    max_hops 11\n}\n", "5:1", "max_hops 11 exceeds ttl 10; set to 10", true},
		// "weight value 254 not valid (must be in range [-253-253]), ignoring"
		{"weight 254", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    weight 254\n}\n", "3:12", "weight value 254 outside range [-253, 253]", true},
		// "(Line 8) Configuration error: BFD instance b1 unknown weight option foo"
		{"weight option", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    weight 10 foo\n}\n", "3:15", `unknown weight option "foo"`, true},
		// "(Line 11) Unknown keyword 'bogus'"
		{"unknown keyword", "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    bogus 1\n}\n", "3:5", `unknown keyword "bogus" in bfd_instance`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ds, _ := buildSrc(t, bfdInstanceSrc(tt.src, 100, "b1"), LoadOptions{})
			found := false
			for _, d := range ds {
				if strings.HasPrefix(d.String(), "t.conf:"+tt.at+": ") && strings.Contains(d.Msg, tt.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no diagnostic at %s containing %q:\n%v", tt.at, tt.msg, ds)
			}
			if got := len(cfg.BFDInstances) > 0; got != tt.kept {
				t.Errorf("bfd_instance kept = %v, want %v", got, tt.kept)
			}
		})
	}
}

// A neighbor address may repeat with another source_ip: keepalived 2.2.7
// accepts the pair (keepalived -t exits 0).
func TestBFDSameNeighbourOtherSource(t *testing.T) {
	src := "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    source_ip 192.0.2.1\n}\n" +
		"bfd_instance b2 {\n    neighbor_ip 192.0.2.2\n    source_ip 192.0.2.3\n}\n"
	cfg, ds, err := buildSrc(t, bfdInstanceSrc(src, 100, "b1", "b2"), LoadOptions{Strict: true})
	if err != nil || len(cfg.BFDInstances) != 2 {
		t.Fatalf("err %v, %d instances: %v", err, len(cfg.BFDInstances), ds)
	}
}

func TestTrackBFDResolve(t *testing.T) {
	head := "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    weight 5\n}\n" +
		"bfd_instance c1 {\n    neighbor_ip 192.0.2.3\n    checker\n}\n"
	tests := []struct {
		name   string
		prio   int
		track  []string
		want   []TrackRef // Name, Weight, Reverse
		wantDi string     // a part of the warning, "" for none
	}{
		{"inherits the block's weight", 100, []string{"b1"}, []TrackRef{{Name: "b1", Weight: 5}}, ""},
		{"own weight", 100, []string{"b1 weight -30 reverse"}, []TrackRef{{Name: "b1", Weight: -30, WeightSet: true, Reverse: true}}, ""},
		// "(VI) track bfd nope not found, ignoring..."
		{"not found", 100, []string{"nope"}, nil, `track_bfd "nope" is not defined`},
		// a checker-only bfd_instance: "(VI) track bfd c1 not found, ignoring..."
		{"checker only", 100, []string{"c1"}, nil, "is for the checker only"},
		// "(VI) duplicate track_bfd b1 - ignoring"
		{"duplicate", 100, []string{"b1", "b1 weight 0"}, []TrackRef{{Name: "b1", Weight: 5}}, "duplicate track_bfd b1"},
		// "(VI) weight for track bfd b1 must be in [-253..253] inclusive. Ignoring..."
		{"weight out of range", 100, []string{"b1 weight 254"}, []TrackRef{{Name: "b1", Weight: 5}}, "254"},
		// "(VI) ignoring tracked bfd b1 with weight 10 due to address_owner"
		{"address owner", 255, []string{"b1"}, nil, "due to address_owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ds, _ := buildSrc(t, bfdInstanceSrc(head, tt.prio, tt.track...), LoadOptions{})
			got := cfg.Instances[0].TrackBFDs
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(TrackRef{}, "Pos"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			w := strings.Join(diagStrings(ds, SevWarning), "\n")
			if tt.wantDi == "" && w != "" || !strings.Contains(w, tt.wantDi) {
				t.Errorf("warnings %q, want one containing %q", w, tt.wantDi)
			}
		})
	}
}

// keepalived 2.2.7 drops a sync group member's weighted track_bfd ("(VI)
// ignoring tracked bfd b1 with weight -10 due to SYNC group"), keeps the
// group's own entries with their weights and checks their range ("(G)
// weight for track bfd b1 must be in [-253..253] inclusive. Ignoring...").
func TestTrackBFDSyncGroup(t *testing.T) {
	src := "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n}\nbfd_instance b2 {\n    neighbor_ip 192.0.2.3\n    weight 5\n}\n" +
		bfdInstanceSrc("", 100, "b1 weight -10", "b2") +
		"vrrp_instance VJ {\n    interface eth0\n    virtual_router_id 2\n    virtual_ipaddress {\n        192.0.2.11/24\n    }\n}\n" +
		"vrrp_sync_group G {\n    group {\n        VI\n        VJ\n    }\n    track_bfd {\n        b1 weight 300\n        b2 weight -7\n    }\n}\n"
	cfg, ds, err := buildSrc(t, src, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Instances[0].TrackBFDs; len(got) != 0 {
		t.Errorf("member's weighted track_bfd kept: %+v", got)
	}
	got := cfg.SyncGroups[0].TrackBFDs
	want := []TrackRef{{Name: "b1", Weight: 0}, {Name: "b2", Weight: -7, WeightSet: true}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(TrackRef{}, "Pos")); diff != "" {
		t.Errorf("group track_bfd (-want +got):\n%s", diff)
	}
	w := strings.Join(diagStrings(ds, SevWarning), "\n")
	for _, s := range []string{"track_bfd b1 with weight -10 ignored due to SYNC group G", "track_bfd b2 with weight 5 ignored due to SYNC group G", "300"} {
		if !strings.Contains(w, s) {
			t.Errorf("no warning containing %q in:\n%s", s, w)
		}
	}
}

func TestBFDCheckerNotice(t *testing.T) {
	src := "bfd_instance b1 {\n    neighbor_ip 192.0.2.2\n    vrrp\n    checker\n}\n"
	cfg, ds, err := buildSrc(t, bfdInstanceSrc(src, 100, "b1"), LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := diagStrings(ds, SevNotice); len(n) != 1 || !strings.Contains(n[0], "t.conf:4:5: notice: checker in bfd_instance b1: govrrp has no checker process") {
		t.Errorf("notices %q", n)
	}
	if len(cfg.Instances[0].TrackBFDs) != 1 {
		t.Errorf("vrrp+checker instance not trackable")
	}
}
