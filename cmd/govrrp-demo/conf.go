package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// shippedCheck is the health-check line of configs/keepalived-proxy-*.conf;
// labCheck replaces it in the lab, where no systemd runs: curl against this
// namespace's own Apache (its loopback is the namespace's alone), failing on
// refusal, HTTP errors and after 1 s, the check's interval.
const shippedCheck = `script "/usr/bin/systemctl is-active --quiet apache2"`

var labCheck = `script "/usr/bin/curl -fsS -o /dev/null --max-time 1 http://127.0.0.1` + netlab.ApacheHealthPath + `"`

// demoConf returns a shipped keepalived.conf as the demo runs it: the one
// shippedCheck line replaced by labCheck (indentation kept), the instance
// interface renamed to iface on every non-comment line when it differs, and
// a comment saying so appended at the end, so line numbers in daemon
// messages are the shipped file's.
func demoConf(name, shipped, iface string) (string, error) {
	cfg, err := build(name, shipped)
	if err != nil {
		return "", err
	}
	if len(cfg.Instances) != 1 {
		return "", fmt.Errorf("%s: want one vrrp_instance, have %d", name, len(cfg.Instances))
	}
	var rename *regexp.Regexp
	if from := cfg.Instances[0].Interface; from != iface {
		rename = regexp.MustCompile(`\b` + regexp.QuoteMeta(from) + `\b`)
	}
	lines := strings.Split(shipped, "\n")
	found := 0
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case t == shippedCheck:
			lines[i] = l[:len(l)-len(strings.TrimLeft(l, " \t"))] + labCheck
			found++
		case t == "" || t[0] == '#' || t[0] == '!':
		case rename != nil:
			lines[i] = rename.ReplaceAllString(l, iface)
		}
	}
	if found != 1 {
		return "", fmt.Errorf("%s: want exactly one line %s, found %d", name, shippedCheck, found)
	}
	out := strings.TrimRight(strings.Join(lines, "\n"), "\n")
	note := fmt.Sprintf("\n\n# govrrp-demo: this is %s with the check line replaced (no systemd in a network namespace)", name)
	if rename != nil {
		note += " and interface " + cfg.Instances[0].Interface + " renamed " + iface
	}
	return out + note + ".\n", nil
}

// build parses and builds a configuration text as the daemons would.
func build(name, text string) (*kaconf.Config, error) {
	f, err := kaconf.ParseBytes(name, []byte(text), kaconf.ParseOptions{ConfigID: "govrrp-demo"})
	if err != nil {
		return nil, err
	}
	cfg, _, err := kaconf.Build(f.Nodes, kaconf.LoadOptions{VRRPOnly: true})
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// timing is what the protocol bounds are made of, read from one file.
type timing struct {
	prio        int
	adver       time.Duration
	downAdverts int // adverts missed before the backup takes over (keepalived: 3)
	interval    time.Duration
	timeout     time.Duration
	fall, rise  int
	weight      int
}

// timingOf reads the instance and its one tracked script.
func timingOf(name, text string) (timing, error) {
	cfg, err := build(name, text)
	if err != nil {
		return timing{}, err
	}
	if len(cfg.Instances) != 1 || len(cfg.Instances[0].TrackScripts) != 1 {
		return timing{}, fmt.Errorf("%s: want one vrrp_instance tracking one vrrp_script", name)
	}
	in := cfg.Instances[0]
	ref := in.TrackScripts[0]
	sc, ok := cfg.Scripts[ref.Name]
	if !ok {
		return timing{}, fmt.Errorf("%s: track_script %s is not defined", name, ref.Name)
	}
	down := in.DownTimerAdverts
	if down == 0 {
		down = 3
	}
	t := timing{prio: int(in.Priority), adver: in.AdverInt, downAdverts: down, interval: sc.Interval,
		timeout: sc.Timeout, fall: sc.Fall, rise: sc.Rise, weight: ref.Weight}
	if t.adver <= 0 || t.interval <= 0 || t.timeout <= 0 || t.fall < 1 || t.rise < 1 {
		return timing{}, errors.New(name + ": incomplete timing after defaults")
	}
	return t, nil
}

// masterDown is the backup's Master_Down_Interval: downAdverts advert
// intervals plus Skew_Time = (256-priority)*advert_int/256 (RFC 5798
// 6.1; keepalived computes v2 the same way). Multiply before dividing.
func (t timing) masterDown() time.Duration {
	return time.Duration(t.downAdverts)*t.adver + time.Duration(256-t.prio)*t.adver/256
}

// detect bounds the time from a change of what the script sees to the
// n-th consecutive result reporting it: a run starts at most interval after
// the previous one ended, and each run takes at most timeout.
func (t timing) detect(n int) time.Duration { return time.Duration(n) * (t.interval + t.timeout) }

// refusedByGovrrp asks the govrrp binary which keywords of the shipped
// file `govrrp run` would refuse (parsed, not acted on yet): the binary, not
// this tree's kaconf, knows what it implements. It returns the lines of
// `config check` that say so.
func refusedByGovrrp(ctx context.Context, bin, file string) ([]string, error) {
	out, err := exec.CommandContext(ctx, bin, "config", "check", "-f", file).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s config check -f %s: %w\n%s", bin, file, err, out)
	}
	var refused []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "`govrrp run` refuses this file") {
			refused = append(refused, l)
		}
	}
	return refused, nil
}
