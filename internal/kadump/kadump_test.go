package kadump

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

func loadString(t *testing.T, text string) *kaconf.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := kaconf.Load(p, kaconf.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return cfg
}

const minimalInstance = "vrrp_instance VI_C {\n interface lan0\n virtual_router_id 60\n priority 100\n virtual_ipaddress {\n  192.0.2.60/24\n }\n}\n"

// TestFileNameMatchesKeepalived checks FileName against where keepalived
// 2.2.7 put its files in capture.sh's experiments (paths.txt).
func TestFileNameMatchesKeepalived(t *testing.T) {
	f, err := os.Open(filepath.Join(capDir, "paths.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string][]string{}
	var variant string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "# "); ok {
			variant = ""
			if v, ok = strings.CutSuffix(v, ": files written"); ok {
				variant = v
			}
			continue
		}
		if variant != "" && !strings.Contains(line, "_parent") {
			seen[variant] = append(seen[variant], strings.TrimPrefix(line, "/tmp/"))
		}
	}
	if len(seen) != 6 {
		t.Fatalf("paths.txt has %d experiments, want the 6 of capture.sh", len(seen))
	}
	for variant, files := range seen {
		var conf strings.Builder
		if strings.Contains(variant, "net_namespace") {
			conf.WriteString("net_namespace <NS>\n")
		}
		if strings.HasPrefix(variant, "instance") || strings.Contains(variant, "+instance") {
			conf.WriteString("instance kd1\n")
		}
		conf.WriteString("global_defs {\n")
		if strings.Contains(variant, "data_use_instance") {
			conf.WriteString(" data_use_instance\n")
		}
		if strings.Contains(variant, "tmp_config_directory") {
			conf.WriteString(" tmp_config_directory /var/tmp\n")
		}
		conf.WriteString("}\n" + minimalInstance)
		cfg := loadString(t, conf.String())
		var got []string
		for _, k := range []Kind{Data, JSON, Stats} {
			got = append(got, FileName(k, cfg))
		}
		if d := cmp.Diff(slices.Sorted(slices.Values(files)), slices.Sorted(slices.Values(got))); d != "" {
			t.Errorf("%s: file names (-keepalived +govrrp):\n%s", variant, d)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("TMPDIR", "")
	if got := DefaultDir(); got != "/tmp" {
		t.Errorf("DefaultDir() = %q without TMPDIR, want /tmp", got)
	}
	t.Setenv("TMPDIR", "/var/lib/x")
	if got := DefaultDir(); got != "/var/lib/x" {
		t.Errorf("DefaultDir() = %q, want $TMPDIR (keepalived honours it, paths.txt)", got)
	}
}

func TestDumpWritesAtomicallyWithKeepalivedsMode(t *testing.T) {
	dir := t.TempDir()
	cfg := loadNode(t, "a")
	st := nodeStatus("a")
	for _, k := range []Kind{Data, Stats, JSON} {
		path, err := Dump(k, dir, st, cfg)
		if err != nil {
			t.Fatalf("Dump(%v): %v", k, err)
		}
		if want := filepath.Join(dir, FileName(k, cfg)); path != want {
			t.Errorf("Dump(%v) = %q, want %q", k, path, want)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600 as keepalived", path, fi.Mode().Perm())
		}
		var want bytes.Buffer
		if err := Write(&want, k, st, cfg); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s differs from Write's output", path)
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if d := cmp.Diff([]string{"keepalived.data", "keepalived.json", "keepalived.stats"}, names); d != "" {
		t.Errorf("directory after dumps (temporary files left?):\n%s", d)
	}
}

func TestDumpDefaultsToTMPDIR(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	path, err := Dump(Stats, "", nodeStatus("b"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "keepalived.stats") {
		t.Errorf("path %q, want it in $TMPDIR", path)
	}
}

func TestDumpFailsCleanly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	if _, err := Dump(Data, dir, nodeStatus("a"), nil); err == nil {
		t.Error("Dump into a missing directory succeeded")
	}
	if _, err := Dump(Kind(9), t.TempDir(), nodeStatus("a"), nil); !errors.Is(err, ErrKind) {
		t.Errorf("Dump(Kind(9)) error %v, want ErrKind", err)
	}
	// A directory where the target name is taken by a directory: the rename
	// fails and the temporary file is removed.
	dir = t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "keepalived.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Dump(JSON, dir, nodeStatus("a"), nil); err == nil {
		t.Error("Dump over a directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestDumpConcurrentReaders: a reader never sees a partial file, and dumps
// running in goroutines only read the shared snapshot (run with -race).
func TestDumpConcurrentReaders(t *testing.T) {
	dir := t.TempDir()
	cfg := loadNode(t, "a")
	st := nodeStatus("a")
	var want bytes.Buffer
	if err := WriteData(&want, st, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := Dump(Data, dir, st, cfg); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := Dump(Data, dir, st, cfg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		got, err := os.ReadFile(filepath.Join(dir, "keepalived.data"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("reader saw %d bytes, want the whole %d", len(got), want.Len())
		}
	}
}

func TestCountersOf(t *testing.T) {
	in := control.Instance{AdvertsReceived: 7, AdvertsSent: 9, BecameMaster: 3, ReleasedMaster: 2,
		PriorityZeroReceived: 4, PriorityZeroSent: 1,
		Drops: map[string]uint64{"too_short": 1, "length": 2, "ttl": 3, "type": 4, "interval_mismatch": 5,
			"auth_type": 6, "auth_ah_unsupported": 7, "auth_mismatch": 8, "checksum": 100, "version": 100},
		Warnings: map[string]uint64{"addr_mismatch": 2, "addr_count|addr_mismatch": 3, "interval_mismatch": 100}}
	want := Counters{AdvertRcvd: 7, AdvertSent: 9, BecomeMaster: 3, ReleaseMaster: 2, PriZeroRcvd: 4, PriZeroSent: 1, PacketLenErr: 3, IPTTLErr: 3, InvalidTypeRcvd: 4,
		AdvertIntervalErr: 5, AuthTypeMismatch: 6, InvalidAuthType: 7, AuthFailure: 8, AddrListErr: 5}
	if d := cmp.Diff(want, CountersOf(in)); d != "" {
		t.Errorf("CountersOf (-want +got):\n%s", d)
	}
}

func TestStatsBaseline(t *testing.T) {
	st := control.Status{Instances: []control.Instance{
		{Name: "VI_1", VRID: 1, AdvertsSent: 10, AdvertsReceived: 4, Transitions: 2, Drops: map[string]uint64{"ttl": 3},
			BecameMaster: 1, ReleasedMaster: 1, PriorityZeroSent: 1, PriorityZeroReceived: 2},
		{Name: "VI_2", VRID: 2, AdvertsSent: 5},
		{Name: "VI_4", VRID: 4, BecameMaster: 2},
	}}
	var zero StatsBaseline
	if d := cmp.Diff(st, zero.Apply(st)); d != "" {
		t.Errorf("the zero baseline changed the status:\n%s", d)
	}
	base := NewBaseline(st)
	st.Instances[0].Drops["ttl"] = 99 // the baseline keeps its own copy
	later := control.Status{Instances: []control.Instance{
		{Name: "VI_1", VRID: 1, AdvertsSent: 15, AdvertsReceived: 4, Transitions: 2, Drops: map[string]uint64{"ttl": 4, "type": 1},
			BecameMaster: 2, ReleasedMaster: 1, PriorityZeroSent: 3, PriorityZeroReceived: 2},
		{Name: "VI_2", VRID: 2, AdvertsSent: 1},  // re-created by a reload: counts from its start
		{Name: "VI_3", VRID: 3, AdvertsSent: 8},  // new since the clear
		{Name: "VI_4", VRID: 4, BecameMaster: 1}, // re-created: became master once since
	}}
	got := base.Apply(later)
	want := control.Status{Instances: []control.Instance{
		{Name: "VI_1", VRID: 1, AdvertsSent: 5, Drops: map[string]uint64{"ttl": 1, "type": 1}, BecameMaster: 1, PriorityZeroSent: 2},
		{Name: "VI_2", VRID: 2, AdvertsSent: 1},
		{Name: "VI_3", VRID: 3, AdvertsSent: 8},
		{Name: "VI_4", VRID: 4, BecameMaster: 1},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Apply (-want +got):\n%s", d)
	}
	if later.Instances[0].AdvertsSent != 15 || later.Instances[0].Drops["ttl"] != 4 {
		t.Error("Apply changed its argument")
	}
}

// keepalived's master_priority is the priority of adverts accepted from
// another router; it is never the node's own.
func TestMasterPriority(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    control.Instance
		want  uint8
		wantI time.Duration
	}{
		{"backup", control.Instance{State: "BACKUP", Master: "192.0.2.1", Source: "192.0.2.2", MasterPriority: 160, MasterAdverInt: 2 * time.Second}, 160, 2 * time.Second},
		{"master", control.Instance{State: "MASTER", Master: "192.0.2.2", Source: "192.0.2.2", MasterPriority: 90}, 0, time.Second},
		{"fault since master", control.Instance{State: "FAULT", Master: "192.0.2.2", Source: "192.0.2.2", MasterPriority: 90}, 0, time.Second},
		{"fault since backup", control.Instance{State: "FAULT", Master: "192.0.2.1", Source: "192.0.2.2", MasterPriority: 160}, 160, time.Second},
		{"none heard", control.Instance{State: "BACKUP", Source: "192.0.2.2"}, 0, time.Second},
	} {
		v := views(control.Status{Instances: []control.Instance{tc.in}}, nil)[0]
		if got := v.masterPriority(); got != tc.want {
			t.Errorf("%s: master priority %d, want %d", tc.name, got, tc.want)
		}
		if got := v.masterAdverInt(); got != tc.wantI {
			t.Errorf("%s: master advert interval %v, want %v", tc.name, got, tc.wantI)
		}
	}
}

func TestJSONStringEscapes(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	jsonString(w, "a/b\"c\\d\n\x01é\xff")
	w.Flush()
	if want := `"a\/b\"c\\d\n\u0001é\ufffd"`; b.String() != want {
		t.Errorf("jsonString = %s, want %s", b.String(), want)
	}
}

func TestWriteWithoutConfig(t *testing.T) {
	// A snapshot alone renders (keepalived's defaults stand in for the
	// configuration).
	for _, k := range []Kind{Data, Stats, JSON} {
		var b bytes.Buffer
		if err := Write(&b, k, nodeStatus("b"), nil); err != nil || b.Len() == 0 {
			t.Errorf("Write(%v, nil config): %d bytes, %v", k, b.Len(), err)
		}
	}
}

func TestDataUseInstanceOff(t *testing.T) {
	cfg := loadString(t, "instance kd1\nglobal_defs {\n data_use_instance false\n}\n"+minimalInstance)
	if got := FileName(Data, cfg); got != "keepalived.data" {
		t.Errorf("FileName = %q with data_use_instance false", got)
	}
}

// keepalived 2.2.7 leaves the VRRP Scripts section out when no script is
// used (seen beside govrrp in internal/interop's TestKeepalivedDumpSignals).
func TestDataWithoutScriptsHasNoScriptSection(t *testing.T) {
	cfg := loadString(t, minimalInstance)
	var b bytes.Buffer
	if err := WriteData(&b, nodeStatus("b"), cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "VRRP Scripts") {
		t.Errorf("a file without vrrp_script got a VRRP Scripts section:\n%s", b.String())
	}
}

// A stopped master waiting for its successor still holds its VIPs: the dump
// says so (keepalived has no such state; it is shown as INIT).
func TestReleasingHoldsVIPs(t *testing.T) {
	for state, want := range map[string]bool{"MASTER": true, "RELEASING": true, "BACKUP": false, "FAULT": false, "INIT": false} {
		v := view{st: control.Instance{State: state}}
		if got := v.vipsSet(); got != want {
			t.Errorf("state %s: vipsSet = %v, want %v", state, got, want)
		}
	}
	if got := (view{st: control.Instance{State: "RELEASING"}}).state(); got != "INIT" {
		t.Errorf("RELEASING shown as %q, want INIT", got)
	}
}

// keepalived's accept mode: on unless strict, where only the address owner
// accepts; accept/no_accept win. The dump and the daemon's firewall share
// the rule (kaconf.Instance.AcceptMode): a strict owner is shown accepting.
func TestAcceptModeShown(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		in     kaconf.Instance
		accept bool
	}{
		{"default", kaconf.Instance{Priority: 100}, true},
		{"strict", kaconf.Instance{Priority: 100, StrictMode: true}, false},
		{"strict owner", kaconf.Instance{Priority: 255, StrictMode: true}, true},
		{"no_accept", kaconf.Instance{Priority: 100, Accept: &no}, false},
		{"accept under strict", kaconf.Instance{Priority: 100, StrictMode: true, Accept: &yes}, true},
	} {
		in := tc.in
		if got := (view{cfg: &in}).accept(); got != tc.accept {
			t.Errorf("%s: accept() = %v, want %v", tc.name, got, tc.accept)
		}
	}
}

// The global settings govrrp now acts on are dumped with their values, as
// keepalived 2.2.7 dumps them (SIGUSR1 on keepalived with this global_defs,
// 2026-12-01: "SNMP RFCv3 enabled", "DBus service name = org.example.X",
// "vrrp_netlink_cmd_rcv_bufs_force = 1", ...).
func TestDataGlobalSettings(t *testing.T) {
	cfg := loadString(t, `global_defs {
    enable_dbus
    dbus_service_name org.example.X
    enable_snmp_rfcv3
    enable_traps
    snmp_socket tcp:127.0.0.1:7050
    vrrp_netlink_cmd_rcv_bufs 300000
    vrrp_netlink_cmd_rcv_bufs_force
    vrrp_netlink_monitor_rcv_bufs 400000
    process_monitor_rcv_bufs 500000
    process_monitor_rcv_bufs_force
}
vrrp_instance V {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        192.0.2.1
    }
}
`)
	var b strings.Builder
	if err := WriteData(&b, control.Status{}, cfg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		" SNMP vrrp disabled", " SNMP RFCv2 disabled", " SNMP RFCv3 enabled", " SNMP traps enabled",
		" SNMP socket = tcp:127.0.0.1:7050", " DBus enabled", " DBus service name = org.example.X",
		" vrrp_netlink_cmd_rcv_bufs = 300000", " vrrp_netlink_cmd_rcv_bufs_force = 1",
		" vrrp_netlink_monitor_rcv_bufs = 400000", " vrrp_netlink_monitor_rcv_bufs_force = 0",
		" process_monitor_rcv_bufs = 500000", " process_monitor_rcv_bufs_force = 1",
		" lvs_netlink_cmd_rcv_bufs = 0",
	} {
		if !strings.Contains(b.String(), "\n"+want+"\n") {
			t.Errorf("dump lacks %q", want)
		}
	}
}
