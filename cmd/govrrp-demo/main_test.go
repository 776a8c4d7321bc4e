package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/netlab"
)

var shippedFiles = []string{"../../configs/keepalived-proxy-a.conf", "../../configs/keepalived-proxy-b.conf"}

func readShipped(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The demo must run the shipped files: the same lines but the check.
func TestDemoConfChangesOnlyTheCheck(t *testing.T) {
	for _, file := range shippedFiles {
		shipped := readShipped(t, file)
		got, err := demoConf(file, shipped, "eth0")
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		want := strings.Replace(shipped, shippedCheck, labCheck, 1)
		body, note, ok := strings.Cut(got, "\n\n# govrrp-demo: ")
		if !ok {
			t.Fatalf("%s: no trailing note in:\n%s", file, got)
		}
		if diff := cmp.Diff(strings.TrimRight(want, "\n"), body); diff != "" {
			t.Errorf("%s: demo config is not the shipped one with the check replaced (-want +got):\n%s", file, diff)
		}
		if strings.Count(note, "\n") != 1 || !strings.HasSuffix(note, ".\n") || strings.Contains(note, "renamed") {
			t.Errorf("%s: want a one-line note about the check only, got %q", file, note)
		}
		cfg, err := build(file, got)
		if err != nil {
			t.Fatalf("%s: demo config does not build: %v", file, err)
		}
		if got := cfg.Scripts["chk_apache"].Script; !strings.Contains(labCheck, got) || !strings.Contains(got, "curl") {
			t.Errorf("%s: chk_apache runs %q, want the lab check %s", file, got, labCheck)
		}
	}
}

func TestDemoConfRenamesInterface(t *testing.T) {
	file := shippedFiles[0]
	got, err := demoConf(file, readShipped(t, file), "front0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := build(file, got)
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Instances[0]
	gotNames := []string{in.Interface, in.VIPs[0].Dev, in.VIPs[0].Label}
	if diff := cmp.Diff([]string{"front0", "front0", "front0:vip"}, gotNames); diff != "" {
		t.Errorf("[interface, dev, label] (-want +got):\n%s", diff)
	}
	for i, l := range strings.Split(got, "\n") {
		if w := strings.TrimSpace(l); w != "" && w[0] != '#' && strings.Contains(w, "eth0") {
			t.Errorf("line %d still names eth0: %s", i+1, l)
		}
	}
	if !strings.Contains(got, "interface eth0 renamed front0") {
		t.Errorf("the trailing note does not mention the rename:\n%s", got)
	}
}

func TestDemoConfRejectsOtherChecks(t *testing.T) {
	shipped := readShipped(t, shippedFiles[0])
	tests := []struct{ name, text string }{
		{"no check line", strings.Replace(shipped, shippedCheck, `script "/bin/true"`, 1)},
		{"two check lines", strings.Replace(shipped, "    interval 1", "    "+shippedCheck+"\n    interval 1", 1)},
	}
	for _, tt := range tests {
		if _, err := demoConf("x.conf", tt.text, "eth0"); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// The bounds the root test asserts come from these numbers; the shipped
// weight must move the VIP.
func TestShippedTiming(t *testing.T) {
	var got []timing
	for _, file := range shippedFiles {
		tm, err := timingOf(file, readShipped(t, file))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tm)
	}
	common := timing{adver: time.Second, downAdverts: 3, interval: time.Second, timeout: time.Second,
		fall: 2, rise: 2, weight: -60}
	a, b := common, common
	a.prio, b.prio = 150, 100
	if diff := cmp.Diff([]timing{a, b}, got, cmp.AllowUnexported(timing{})); diff != "" {
		t.Fatalf("timing of the shipped files (-want +got):\n%s", diff)
	}
	if a.prio+a.weight >= b.prio {
		t.Errorf("failing A (%d) does not drop below B (%d)", a.prio+a.weight, b.prio)
	}
	// RFC 5798 6.1: 3 * 1 s + (256-100) * 1 s / 256.
	if diff := cmp.Diff(3*time.Second+609375*time.Microsecond, b.masterDown()); diff != "" {
		t.Errorf("B's master-down interval (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(4*time.Second, a.detect(a.fall)); diff != "" {
		t.Errorf("A's detection bound (-want +got):\n%s", diff)
	}
}

func TestMeasure(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	s := func(start int, proxy, err string) sample {
		return sample{start: at(start), end: at(start + 5), proxy: proxy, err: err}
	}
	tests := []struct {
		name    string
		samples []sample
		since   time.Time
		want    outage
	}{
		{
			name: "refused until B answers",
			samples: []sample{s(0, "a", ""), s(50, "a", ""), s(100, "", "connection refused"),
				s(150, "", "connection refused"), s(200, "", "timeout"), s(550, "b", ""), s(600, "b", "")},
			since: at(60),
			want: outage{via: "b", failed: 3, kinds: map[string]int{"connection refused": 2, "timeout": 1},
				window: 450 * time.Millisecond, firstFail: 40 * time.Millisecond, recovered: 490 * time.Millisecond,
				gap: 500 * time.Millisecond},
		},
		{
			name:    "clean switch",
			samples: []sample{s(0, "b", ""), s(50, "b", ""), s(100, "a", "")},
			since:   at(10),
			want:    outage{via: "a", kinds: map[string]int{}, recovered: 90 * time.Millisecond, gap: 50 * time.Millisecond},
		},
		{
			name:    "never recovered",
			samples: []sample{s(0, "a", ""), s(50, "", "connection refused")},
			since:   at(10),
			want: outage{via: "b", failed: 1, kinds: map[string]int{"connection refused": 1},
				firstFail: 40 * time.Millisecond, recovered: -1},
		},
	}
	for _, tt := range tests {
		got := measure(tt.samples, tt.since, tt.want.via)
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(outage{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestSummarize(t *testing.T) {
	t0 := time.Now()
	samples := []sample{
		{start: t0, proxy: "proxy-a", backend: "backend-1"},
		{start: t0.Add(time.Millisecond), proxy: "proxy-a", backend: "backend-2"},
		{start: t0.Add(2 * time.Millisecond), err: "connection refused"},
		{start: t0.Add(3 * time.Millisecond), proxy: "proxy-b", backend: "backend-1"},
	}
	got := summarize(samples, time.Time{}).String()
	want := "4 requests, 1 failed; via proxy-a: backend-1 1, backend-2 1; via proxy-b: backend-1 1"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDemoWithKeepalived(t *testing.T) {
	netlab.Require(t, "ip", "keepalived", "apache2", "curl")
	runStory(t, "-impl", "keepalived")
}

// TestDemoWithGovrrp runs the same story with $GOVRRP_BIN (`make test` sets
// it) once that binary acts on vrrp_script; until then it skips, saying why.
func TestDemoWithGovrrp(t *testing.T) {
	bin := os.Getenv("GOVRRP_BIN")
	if bin == "" {
		t.Skip("GOVRRP_BIN not set (make test sets it)")
	}
	netlab.Require(t, "ip", "apache2", "curl")
	refused, err := refusedByGovrrp(context.Background(), bin, shippedFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) > 0 {
		t.Skipf("%s does not act on the shipped file yet:\n%s", bin, strings.Join(refused, "\n"))
	}
	runStory(t, "-impl", "govrrp", "-bin", bin)
}

var labRE = regexp.MustCompile(`lab (gv-[0-9a-f]{6}) \(files in (\S+)\)`)

// runStory runs the whole demo and checks what it measured against the
// protocol bounds computed from the shipped files (see timing).
func runStory(t *testing.T, args ...string) {
	t.Helper()
	var out strings.Builder
	code, res := runDemo(args, &out)
	t.Logf("demo output:\n%s", out.String())
	if code != 0 || res == nil {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []struct {
		name string
		st   step
	}{{"failover", res.failover}, {"failback", res.failback}} {
		if s.st.moved <= 0 || s.st.moved > s.st.movedBound {
			t.Errorf("%s: VIP moved after %v, want within the protocol bound %v", s.name, s.st.moved, s.st.movedBound)
		}
		if s.st.out.recovered < 0 || s.st.out.window > s.st.outBound {
			t.Errorf("%s: client outage %v, want within the protocol bound %v", s.name, s.st.out, s.st.outBound)
		}
	}
	// Apache on the master is down until B takes over: at least
	// fall x interval of refused requests, never none.
	if res.failover.out.failed == 0 || res.failover.out.window <= 0 {
		t.Errorf("failover: the client saw no outage (%v); was Apache on proxy-a really stopped?", res.failover.out)
	}
	for _, p := range []string{"proxy-a", "proxy-b"} {
		if got := len(res.total.via[p]); got != 2 {
			t.Errorf("%s balanced over %d backends, want 2: %v", p, got, res.total.via[p])
		}
	}
	m := labRE.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("no lab prefix in the output")
	}
	checkNothingLeft(t, m[1], m[2])
}

// checkNothingLeft asserts the lab's namespaces, dir and processes are gone.
func checkNothingLeft(t *testing.T, prefix, dir string) {
	t.Helper()
	if !strings.Contains(os.Getenv("PATH"), "sbin") {
		t.Setenv("PATH", os.Getenv("PATH")+":/usr/sbin:/sbin")
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v\n%s", err, out)
	}
	if strings.Contains(string(out), prefix) {
		t.Errorf("namespaces of %s left:\n%s", prefix, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("lab dir %s left (%v)", dir, err)
	}
	// Every process of the lab had the lab dir in its argv (daemons, Apache,
	// and curl run by the checks are killed with their namespace).
	err = netlab.WaitFor(context.Background(), 5*time.Second, 20*time.Millisecond, func() (bool, error) {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			cl, err := os.ReadFile(p)
			if err != nil || !strings.Contains(string(cl), dir) {
				continue
			}
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return false, &leftover{pid, strings.ReplaceAll(string(cl), "\x00", " ")}
		}
		return true, nil
	})
	if err != nil {
		t.Error(err)
	}
}

type leftover struct {
	pid     int
	cmdline string
}

func (l *leftover) Error() string { return "process left: " + strconv.Itoa(l.pid) + " " + l.cmdline }

func TestDemoMissingBinary(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("preflight checks root first")
	}
	var out strings.Builder
	if code := run([]string{"-bin", t.TempDir() + "/no-such-govrrp"}, &out); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if out.Len() != 0 {
		t.Errorf("stdout should stay empty before any lab exists, got:\n%s", out.String())
	}
}

func TestDemoBadImpl(t *testing.T) {
	var out strings.Builder
	if code := run([]string{"-impl", "vrrpd"}, &out); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
