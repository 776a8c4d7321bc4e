package kadump

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// The captures in testdata/keepalived-2.2.7 are keepalived 2.2.7's own
// files for node-a.conf and node-b.conf (capture.sh). These tests render the
// same configuration and an equivalent control.Status with this package and
// compare section by section, block by block, field by field. Only the
// values listed in dataRules, jsonRules and statsRules may differ, each with
// its reason. Times and counters are not in that list: the Status is given
// the capture's own (they change with every capture run), so their
// formatting is compared too.

const capDir = "testdata/keepalived-2.2.7"

func loadNode(t *testing.T, node string) *kaconf.Config {
	t.Helper()
	cfg, _, err := kaconf.Load(filepath.Join(capDir, "node-"+node+".conf"), kaconf.LoadOptions{})
	if err != nil {
		t.Fatalf("load node-%s.conf: %v", node, err)
	}
	return cfg
}

func readCapture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(capDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func trk(kind, name, state string, ok bool, detail string, weight int, effect string) control.Track {
	return control.Track{Kind: kind, Name: name, State: state, OK: ok, Detail: detail, Weight: weight, Effect: effect}
}

// nodeStatus is what govrrp's daemon publishes in the situation of the
// capture: VI_4 MASTER on A, VI_6 MASTER on B, VI_F FAULT on both (trkf
// down); on B trk0 is down too. Each master became master once and never
// released it; no priority-0 advert was sent or heard. A master names
// itself as master with its own priority; a backup the other node with the
// priority of its adverts; VI_F, in FAULT from the start, never heard one.
func nodeStatus(node string) control.Status {
	lanUp := trk("interface", "lan0", "ok", true, "up", 0, "0")
	trkfDown := trk("track_interface", "trkf", "down", false, "admin down", 0, "FAULT")
	tf := trk("track_file", "tf_zero", "value 0", true, "value 0", 3, "0")
	tp := trk("track_process", "tp_ka", "failed", false, "0 running (quorum 1)", 4, "0")
	chkOK := trk("track_script", "chk_ok", "ok", true, "", 10, "+10")
	chkDown := trk("track_script", "chk_down", "failed", false, "exit status 1", -5, "-5")
	if node == "a" {
		return control.Status{Instances: []control.Instance{
			{Name: "VI_4", Interface: "lan0", VRID: 51, Version: 2, Family: "inet", State: "MASTER",
				Priority: 150, EffectivePriority: 160, Master: "192.0.2.1", Source: "192.0.2.1", VIPs: []string{"192.0.2.100/24"},
				Tracks:       []control.Track{lanUp, trk("track_interface", "trk0", "ok", true, "up", -20, "0"), chkOK},
				BecameMaster: 1, MasterPriority: 160, MasterAdverInt: time.Second},
			{Name: "VI_6", Interface: "lan0", VRID: 52, Version: 3, Family: "inet6", State: "BACKUP",
				Priority: 90, EffectivePriority: 85, Master: "fe80::ff:fe00:b01", Source: "fe80::ff:fe00:a01",
				VIPs: []string{"2001:db8::100/64", "2001:db8::101/64"}, Tracks: []control.Track{lanUp, chkDown},
				MasterPriority: 105, MasterAdverInt: time.Second},
			{Name: "VI_F", Interface: "lan0", VRID: 53, Version: 2, Family: "inet", State: "FAULT",
				Priority: 100, EffectivePriority: 100, Source: "192.0.2.1", MasterAdverInt: time.Second,
				VIPs:   []string{"192.0.2.103/24", "192.0.2.104/24", "192.0.2.105/32"},
				Tracks: []control.Track{lanUp, trkfDown, tf, tp}},
		}}
	}
	return control.Status{Instances: []control.Instance{
		{Name: "VI_4", Interface: "lan0", VRID: 51, Version: 2, Family: "inet", State: "BACKUP",
			Priority: 100, EffectivePriority: 90, Master: "192.0.2.1", Source: "192.0.2.2", VIPs: []string{"192.0.2.100/24"},
			Tracks:         []control.Track{lanUp, trk("track_interface", "trk0", "down", false, "admin down", -20, "-20"), chkOK},
			MasterPriority: 160, MasterAdverInt: time.Second},
		{Name: "VI_6", Interface: "lan0", VRID: 52, Version: 3, Family: "inet6", State: "MASTER",
			Priority: 110, EffectivePriority: 105, Master: "fe80::ff:fe00:b01", Source: "fe80::ff:fe00:b01",
			VIPs: []string{"2001:db8::100/64", "2001:db8::101/64"}, Tracks: []control.Track{lanUp, chkDown},
			BecameMaster: 1, MasterPriority: 105, MasterAdverInt: time.Second},
		{Name: "VI_F", Interface: "lan0", VRID: 53, Version: 2, Family: "inet", State: "FAULT",
			Priority: 100, EffectivePriority: 100, Source: "192.0.2.2", MasterAdverInt: time.Second,
			VIPs:   []string{"192.0.2.103/24", "192.0.2.104/24", "192.0.2.105/32"},
			Tracks: []control.Track{lanUp, trkfDown, tf, tp}},
	}}
}

// withTimes gives each instance the transition time the capture shows.
func withTimes(st control.Status, times map[string]time.Time) control.Status {
	for i := range st.Instances {
		st.Instances[i].Since = times[st.Instances[i].Name]
	}
	return st
}

// withCounts gives each instance the advert counters the capture shows.
func withCounts(st control.Status, counts map[string][2]uint64) control.Status {
	for i := range st.Instances {
		c := counts[st.Instances[i].Name]
		st.Instances[i].AdvertsReceived, st.Instances[i].AdvertsSent = c[0], c[1]
	}
	return st
}

func parseUnixMicro(s string) time.Time {
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	u, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(n, u*1000).UTC() // capture.sh's host runs in UTC
}

var lastTransitionRe = regexp.MustCompile(`(?m)^ VRRP Instance = (\S+)$(?:\n   .*)*?\n   Last transition = (\d+\.\d+) `)

func dataTimes(text string) map[string]time.Time {
	out := map[string]time.Time{}
	for _, m := range lastTransitionRe.FindAllStringSubmatch(text, -1) {
		out[m[1]] = parseUnixMicro(m[2])
	}
	return out
}

// rule lets a value differ (or a line be missing) in one section, and
// optionally one node and block, for a stated reason.
type rule struct {
	section string         // section name; "" any
	node    string         // "a", "b"; "" both
	block   string         // block header contains this; "" any
	re      *regexp.Regexp // the line; group 1 is kept, the rest masked
	drop    bool           // keepalived's line is not written by govrrp
	why     string
}

// dataRules: every difference allowed between keepalived's keepalived.data
// and govrrp's.
var dataRules = []rule{
	{section: "VRRP Topology", re: regexp.MustCompile(`^(   Read timeout = ).*`),
		why: "next timer expiry: not in control.Instance (written DISABLED, keepalived's unset)"},
	{section: "VRRP Topology", re: regexp.MustCompile(`^(   fd_in ).*`),
		why: "socket file descriptors"},
	{section: "VRRP Topology", re: regexp.MustCompile(`^(   Multicast address ff02::12, ifindex ).*`),
		why: "interface index: not in control.Status (written 0)"},
	{section: "VRRP Topology", node: "b", block: "VI_6", re: regexp.MustCompile(`^(   Master down timer = ).*`),
		why: "keepalived shows 48135 usecs for this v3 MASTER, not 3×interval+skew (matched for BACKUP, FAULT and the v2 MASTER)"},
	{re: regexp.MustCompile(`^(.*')/usr(/bin/)`),
		why: "keepalived prints a script's argv[0] resolved (/bin is a symlink to /usr/bin), govrrp as configured"},
	{section: "VRRP Sockpool", re: regexp.MustCompile(`^( fd_in ).*`), why: "socket file descriptors"},
	{section: "Interfaces", re: regexp.MustCompile(`^(   index = ).*`), why: "interface index: not in control.Status (written 0)"},
	{section: "Interfaces", re: regexp.MustCompile(`^(   MTU = ).*`), why: "MTU: not in control.Status (written 0)"},
	{section: "Interfaces", re: regexp.MustCompile(`^(   HW Type = ).*`), why: "link type: not in control.Status (written UNKNOWN)"},
	{section: "Interfaces", re: regexp.MustCompile(`^   MAC( broadcast)? = `), drop: true, why: "MAC addresses: not in control.Status (lines left out, as keepalived does for an interface without one)"},
	{section: "Interfaces", block: "= trk", re: regexp.MustCompile(`^(   IPv6 address = ).*`),
		why: "a tracked interface's own addresses: govrrp knows only the addresses instances send from"},
	{section: "Interfaces", re: regexp.MustCompile(`^   Not IPv6 forwarding\. Last checked `), drop: true,
		why: "keepalived's IPv6 forwarding check of a master's interface: govrrp makes none"},
}

// dataSkipped are keepalived's blocks govrrp does not write, with why.
var dataSkipped = map[string]string{
	"Interfaces/ Name = lo":    "interfaces no instance uses or tracks are not known to govrrp",
	"Interfaces/ Name = trk0p": "interfaces no instance uses or tracks are not known to govrrp",
	"Interfaces/ Name = trkfp": "interfaces no instance uses or tracks are not known to govrrp",
}

// Script uid:gid lines hold the ids of the user running the test when
// keepalived_script does not exist; capture.sh ran as root without one.
func uidRules() []rule {
	_, err := user.Lookup("keepalived_script")
	if os.Getuid() == 0 && os.Getgid() == 0 && err != nil {
		return nil
	}
	return []rule{{re: regexp.MustCompile(`^(.*uid:gid[ =]+)\d+:\d+`), why: "script ids depend on the host running the test"}}
}

type block struct {
	header string
	lines  []string
}

type section struct {
	name   string
	blocks []block
}

var sectionRe = regexp.MustCompile(`^------< (.*) >------$`)

// parseData splits a .data file into sections and blocks: a block starts at
// a line indented by one space, and holds the deeper lines after it. Global
// definitions is one block of one-space lines.
func parseData(text string) []section {
	var out []section
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if m := sectionRe.FindStringSubmatch(line); m != nil {
			out = append(out, section{name: m[1]})
			continue
		}
		if len(out) == 0 {
			out = append(out, section{})
		}
		s := &out[len(out)-1]
		switch {
		case s.name == "Global definitions":
			if len(s.blocks) == 0 {
				s.blocks = append(s.blocks, block{})
			}
			s.blocks[0].lines = append(s.blocks[0].lines, line)
		case strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "  "):
			s.blocks = append(s.blocks, block{header: line})
		default:
			if len(s.blocks) == 0 {
				s.blocks = append(s.blocks, block{})
			}
			b := &s.blocks[len(s.blocks)-1]
			b.lines = append(b.lines, line)
		}
	}
	return out
}

// mask applies the rules to a block's lines: masked values become
// "<ignored: why>", dropped lines go.
func mask(rules []rule, node, sec, header string, lines []string) []string {
	var out []string
line:
	for _, l := range lines {
		for _, r := range rules {
			if (r.section != "" && r.section != sec) || (r.node != "" && r.node != node) ||
				(r.block != "" && !strings.Contains(header, r.block)) || !r.re.MatchString(l) {
				continue
			}
			if r.drop {
				continue line
			}
			if r.re.NumSubexp() >= 2 {
				l = r.re.ReplaceAllString(l, "$1$2") // a normalisation
			} else {
				l = r.re.ReplaceAllString(l, "${1}<ignored: "+r.why+">")
			}
		}
		out = append(out, l)
	}
	return out
}

func TestDataMatchesKeepalived(t *testing.T) {
	for _, node := range []string{"a", "b"} {
		t.Run("node-"+node, func(t *testing.T) {
			want := readCapture(t, node+".data")
			st := withTimes(nodeStatus(node), dataTimes(want))
			var got bytes.Buffer
			if err := WriteData(&got, st, loadNode(t, node)); err != nil {
				t.Fatal(err)
			}
			compareData(t, node, want, got.String())
		})
	}
}

func compareData(t *testing.T, node, want, got string) {
	t.Helper()
	rules := append(append([]rule(nil), dataRules...), uidRules()...)
	ws, gs := parseData(want), parseData(got)
	var wantNames, gotNames []string
	for _, s := range ws {
		wantNames = append(wantNames, s.name)
	}
	for _, s := range gs {
		gotNames = append(gotNames, s.name)
	}
	if d := cmp.Diff(wantNames, gotNames); d != "" {
		t.Fatalf("sections (-keepalived +govrrp):\n%s", d)
	}
	for i, w := range ws {
		g := gs[i]
		var wb []block
		for _, b := range w.blocks {
			if why, ok := dataSkipped[w.name+"/"+b.header]; ok {
				t.Logf("%s: %q not written: %s", w.name, strings.TrimSpace(b.header), why)
				continue
			}
			wb = append(wb, b)
		}
		gb := g.blocks
		if w.name == "Interfaces" {
			// keepalived lists interfaces by ifindex, which govrrp does not
			// know: match them by name.
			gb = nil
			for _, b := range wb {
				for _, x := range g.blocks {
					if x.header == b.header {
						gb = append(gb, x)
					}
				}
			}
			if len(gb) != len(g.blocks) || len(gb) != len(wb) {
				t.Errorf("%s: blocks differ: keepalived %v, govrrp %v", w.name, headers(wb), headers(g.blocks))
				continue
			}
		}
		if len(wb) != len(gb) {
			t.Errorf("%s: %d blocks from keepalived, %d from govrrp: %v vs %v", w.name, len(wb), len(gb), headers(wb), headers(gb))
			continue
		}
		for j := range wb {
			wh := mask(rules, node, w.name, wb[j].header, []string{wb[j].header})
			gh := mask(rules, node, w.name, gb[j].header, []string{gb[j].header})
			if d := cmp.Diff(wh, gh); d != "" {
				t.Errorf("%s: block %d header (-keepalived +govrrp):\n%s", w.name, j, d)
				continue
			}
			wl := mask(rules, node, w.name, wb[j].header, wb[j].lines)
			gl := mask(rules, node, w.name, gb[j].header, gb[j].lines)
			if d := cmp.Diff(wl, gl); d != "" {
				t.Errorf("%s:%s (-keepalived +govrrp):\n%s", w.name, wb[j].header, d)
			}
		}
	}
}

func headers(bs []block) []string {
	var out []string
	for _, b := range bs {
		out = append(out, strings.TrimSpace(b.header))
	}
	return out
}

// flattenJSON lists a JSON document as "path=value" lines in document
// order, so key order is compared too.
func flattenJSON(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []string
	var walk func(path string)
	walk = func(path string) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("json: %v", err)
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						t.Fatalf("json: %v", err)
					}
					walk(path + "." + k.(string))
				}
				dec.Token()
			case '[':
				for i := 0; dec.More(); i++ {
					walk(fmt.Sprintf("%s[%d]", path, i))
				}
				dec.Token()
			}
		case string:
			out = append(out, path+"="+strconv.Quote(v))
		default:
			out = append(out, fmt.Sprintf("%s=%v", path, v))
		}
	}
	walk("")
	return out
}

// jsonRules: every difference allowed between keepalived.json files.
var jsonRules = []rule{
	{re: regexp.MustCompile(`^(.*')/usr(/bin/)`), why: "keepalived prints a script's argv[0] resolved, govrrp as configured"},
}

func TestJSONMatchesKeepalived(t *testing.T) {
	for _, node := range []string{"a", "b"} {
		t.Run("node-"+node, func(t *testing.T) {
			raw := readCapture(t, node+".json")
			var doc []struct {
				Data struct {
					Iname          string      `json:"iname"`
					LastTransition json.Number `json:"last_transition"`
				} `json:"data"`
				Stats struct {
					Rcvd uint64 `json:"advert_rcvd"`
					Sent uint64 `json:"advert_sent"`
				} `json:"stats"`
			}
			if err := json.Unmarshal([]byte(raw), &doc); err != nil {
				t.Fatal(err)
			}
			times, counts := map[string]time.Time{}, map[string][2]uint64{}
			for _, x := range doc {
				times[x.Data.Iname] = parseUnixMicro(x.Data.LastTransition.String())
				counts[x.Data.Iname] = [2]uint64{x.Stats.Rcvd, x.Stats.Sent}
			}
			st := withCounts(withTimes(nodeStatus(node), times), counts)
			var got bytes.Buffer
			if err := WriteJSON(&got, st, loadNode(t, node)); err != nil {
				t.Fatal(err)
			}
			want := mask(jsonRules, node, "", "", flattenJSON(t, []byte(raw)))
			have := mask(jsonRules, node, "", "", flattenJSON(t, got.Bytes()))
			if d := cmp.Diff(want, have); d != "" {
				t.Errorf("keepalived.json (-keepalived +govrrp):\n%s", d)
			}
			// The bytes: compact, "/" escaped, one final newline.
			if !strings.HasPrefix(got.String(), `[{"data":{"iname":"VI_4",`) || !strings.HasSuffix(got.String(), "}}]\n") {
				t.Errorf("framing differs from keepalived's: %.40q ... %q", got.String(), got.String()[max(0, got.Len()-8):])
			}
			if strings.Count(got.String(), `\/`) != strings.Count(raw, `\/`)-strings.Count(raw, `\/usr`) ||
				regexp.MustCompile(`[^\\]/`).MatchString(got.String()) {
				t.Errorf("'/' not escaped as keepalived does:\n%s", got.String())
			}
		})
	}
}

var statsRe = regexp.MustCompile(`(?m)^VRRP Instance: (\S+)\n  Advertisements:\n    Received: (\d+)\n    Sent: (\d+)$`)

func statsCounts(text string) map[string][2]uint64 {
	out := map[string][2]uint64{}
	for _, m := range statsRe.FindAllStringSubmatch(text, -1) {
		r, _ := strconv.ParseUint(m[2], 10, 64)
		s, _ := strconv.ParseUint(m[3], 10, 64)
		out[m[1]] = [2]uint64{r, s}
	}
	return out
}

// statsRules: every difference allowed between keepalived.stats files
// (none: every line matches).
var statsRules []rule

func compareStats(t *testing.T, want, got string) {
	t.Helper()
	w := mask(statsRules, "", "", "", strings.Split(want, "\n"))
	g := mask(statsRules, "", "", "", strings.Split(got, "\n"))
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("keepalived.stats (-keepalived +govrrp):\n%s", d)
	}
}

func TestStatsMatchesKeepalived(t *testing.T) {
	for _, node := range []string{"a", "b"} {
		t.Run("node-"+node, func(t *testing.T) {
			want := readCapture(t, node+".stats")
			st := withCounts(nodeStatus(node), statsCounts(want))
			var got bytes.Buffer
			if err := WriteStats(&got, st); err != nil {
				t.Fatal(err)
			}
			compareStats(t, want, got.String())
		})
	}
}

// TestStatsClearMatchesKeepalived replays capture.sh's STATS_CLEAR: the
// file written on the signal shows the counters as they were, the next
// SIGUSR2 counts from the clear.
func TestStatsClearMatchesKeepalived(t *testing.T) {
	onClear := readCapture(t, "a.stats-clear")
	after := readCapture(t, "a.stats-after-clear")
	var base StatsBaseline
	st := withCounts(nodeStatus("a"), statsCounts(onClear))
	var got bytes.Buffer
	if err := WriteStats(&got, base.Apply(st)); err != nil {
		t.Fatal(err)
	}
	compareStats(t, onClear, got.String())

	base = NewBaseline(st)
	later := statsCounts(after) // what arrived between the two signals
	for name, c := range statsCounts(onClear) {
		later[name] = [2]uint64{c[0] + later[name][0], c[1] + later[name][1]}
	}
	got.Reset()
	if err := WriteStats(&got, base.Apply(withCounts(nodeStatus("a"), later))); err != nil {
		t.Fatal(err)
	}
	compareStats(t, after, got.String())
}
