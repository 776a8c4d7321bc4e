// Command govrrp-demo tells the story of configs/keepalived-proxy-{a,b}.conf
// in a throwaway namespace lab: a client, two Apache reverse proxies sharing
// VIP 192.0.2.100 and two Apache backends. The client fetches the VIP every
// 50 ms throughout; the demo stops Apache on the master (the VIP moves to the
// backup) and starts it again (the VIP comes back), and prints what the
// client saw. Needs root.
//
//	govrrp-demo [-impl govrrp|keepalived] [-bin bin/govrrp] [-configs DIR]
//
// The daemons run the shipped files with one line changed: the health check,
// because a namespace has no systemd (see labCheck).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

const (
	frontIf  = "eth0"           // the shipped files' interface: the demo keeps it
	backIf   = "eth1"           // proxies to backends
	stepWait = 30 * time.Second // cap on every wait; asserted bounds come from the files
	poll     = 10 * time.Millisecond
)

var (
	vip      = netip.MustParseAddr("192.0.2.100")
	vipURL   = "http://" + vip.String() + "/"
	frontNet = netip.MustParsePrefix("192.0.2.0/24")
	backNet  = netip.MustParsePrefix("198.51.100.0/24")
)

// node is one machine of the lab.
type node struct {
	name   string
	front  netip.Prefix // on the client segment (proxies, client)
	back   netip.Prefix // on the backend segment (proxies, backends)
	host   *netlab.Host
	apache *netlab.Proc

	// proxies only
	file   string // the shipped keepalived.conf it runs
	conf   string // what the demo runs: file with labCheck
	timing timing
	daemon *netlab.Proc
	logOff int // daemon log bytes already narrated
}

// demo holds what the steps share.
type demo struct {
	out      io.Writer
	impl     string // "govrrp" | "keepalived"
	bin      string // govrrp binary
	confDir  string
	lab      *netlab.Lab
	a, b     *node // proxies; a is the preferred master
	backends []*node
	client   *node
	fetch    *fetcher
	res      result
}

// result is what the steps measured, for the root test's assertions.
type result struct {
	elected  time.Duration // daemons started -> VIP on proxy-a only
	failover step
	failback step
	total    summary
}

// step is one move of the VIP.
type step struct {
	moved, movedBound time.Duration // trigger -> VIP on the new holder only
	out               outage
	outBound          time.Duration
}

func main() { os.Exit(run(os.Args[1:], os.Stdout)) }

func run(args []string, out io.Writer) int {
	code, _ := runDemo(args, out)
	return code
}

// runDemo is run returning what was measured (nil before the story starts).
func runDemo(args []string, out io.Writer) (int, *result) {
	fs := flag.NewFlagSet("govrrp-demo", flag.ContinueOnError)
	impl := fs.String("impl", "govrrp", "VRRP daemon on the proxies: govrrp or keepalived")
	bin := fs.String("bin", "bin/govrrp", "govrrp binary (-impl govrrp; also locates configs/)")
	confDir := fs.String("configs", "", "directory with keepalived-proxy-{a,b}.conf (default: configs/ of this checkout)")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	if *impl != "govrrp" && *impl != "keepalived" {
		fmt.Fprintf(os.Stderr, "govrrp-demo: -impl %q: want govrrp or keepalived\n", *impl)
		return 2, nil
	}
	d := &demo{out: out, impl: *impl, bin: *bin, confDir: *confDir}
	if err := d.preflight(); err != nil {
		fmt.Fprintln(os.Stderr, "govrrp-demo:", err)
		return 1, nil
	}

	// Ctrl-C cancels every wait; teardown then runs with signals still caught.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := d.runSteps(ctx)
	if d.fetch != nil {
		d.fetch.stop()
	}
	if d.lab != nil {
		d.say("tearing down lab %s ...", d.lab.Prefix())
		if cerr := d.lab.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		} else {
			d.say("done: no namespaces or processes left")
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "govrrp-demo: interrupted")
		return 130, nil
	case err != nil:
		fmt.Fprintln(os.Stderr, "govrrp-demo:", err)
		return 1, nil
	}
	return 0, &d.res
}

func (d *demo) say(format string, a ...any) { fmt.Fprintf(d.out, format+"\n", a...) }

// preflight fails early, before any namespace exists, on what we can check.
func (d *demo) preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces); try: sudo make demo")
	}
	cmds := []string{"apache2", "curl"}
	if d.impl == "keepalived" {
		cmds = append(cmds, "keepalived")
	} else if st, err := os.Stat(d.bin); err != nil || st.IsDir() {
		return fmt.Errorf("%s not found: run `make build`, or use -impl keepalived", d.bin)
	}
	for _, c := range cmds {
		if _, err := netlab.LookPath(c); err != nil {
			return fmt.Errorf("%w; or `sudo make deps`", err)
		}
	}
	dir, err := findConfigs(d.confDir, d.bin)
	if err != nil {
		return err
	}
	d.a = &node{name: "proxy-a", file: filepath.Join(dir, "keepalived-proxy-a.conf")}
	d.b = &node{name: "proxy-b", file: filepath.Join(dir, "keepalived-proxy-b.conf")}
	for _, n := range []*node{d.a, d.b} {
		shipped, err := os.ReadFile(n.file)
		if err != nil {
			return err
		}
		if n.conf, err = demoConf(n.file, string(shipped), frontIf); err != nil {
			return err
		}
		if n.timing, err = timingOf(n.file, n.conf); err != nil {
			return err
		}
		if d.impl == "govrrp" {
			refused, err := refusedByGovrrp(context.Background(), d.bin, n.file)
			if err != nil {
				return err
			}
			if len(refused) > 0 {
				return fmt.Errorf("%s would refuse the file, and the story depends on what it refuses:\n  %s\n"+
					"see the story with keepalived meanwhile: -impl keepalived", d.bin, strings.Join(refused, "\n  "))
			}
		}
	}
	if d.a.timing.prio+d.a.timing.weight >= d.b.timing.prio {
		return fmt.Errorf("%s: priority %d%+d does not drop below %s's %d: the VIP would not move",
			d.a.file, d.a.timing.prio, d.a.timing.weight, d.b.file, d.b.timing.prio)
	}
	return nil
}

// findConfigs picks the directory holding the shipped files: -configs, else
// configs/ in the working directory or a parent (make demo, go test), else
// configs/ next to the bin/ of -bin.
func findConfigs(flagDir, bin string) (string, error) {
	has := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "keepalived-proxy-a.conf"))
		return err == nil
	}
	if flagDir != "" {
		if !has(flagDir) {
			return "", fmt.Errorf("-configs %s: no keepalived-proxy-a.conf there", flagDir)
		}
		return flagDir, nil
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if has(filepath.Join(dir, "configs")) {
				return filepath.Join(dir, "configs"), nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if abs, err := filepath.Abs(bin); err == nil {
		if dir := filepath.Join(filepath.Dir(filepath.Dir(abs)), "configs"); has(dir) {
			return dir, nil
		}
	}
	return "", errors.New("configs/keepalived-proxy-a.conf not found: run from the checkout or pass -configs DIR")
}

func (d *demo) runSteps(ctx context.Context) error {
	if err := d.build(ctx); err != nil {
		return err
	}
	for _, step := range []func(context.Context) error{d.elect, d.failover, d.failback} {
		if err := step(ctx); err != nil {
			if ctx.Err() == nil { // logs explain a failure, not a Ctrl-C
				d.dumpLogs()
			}
			return err
		}
	}
	d.res.total = d.fetch.summary(time.Time{})
	d.say("\nclient, whole run: %s", d.res.total)
	return nil
}

// build makes the lab and starts the four Apaches.
func (d *demo) build(ctx context.Context) error {
	lab, err := netlab.NewStandalone("demo")
	if err != nil {
		return err
	}
	d.lab = lab
	front, err := lab.AddSegmentE("front", frontNet, netip.Prefix{})
	if err != nil {
		return err
	}
	back, err := lab.AddSegmentE("back", backNet, netip.Prefix{})
	if err != nil {
		return err
	}
	d.a.front, d.a.back = netip.MustParsePrefix("192.0.2.11/24"), netip.MustParsePrefix("198.51.100.11/24")
	d.b.front, d.b.back = netip.MustParsePrefix("192.0.2.12/24"), netip.MustParsePrefix("198.51.100.12/24")
	d.client = &node{name: "client", front: netip.MustParsePrefix("192.0.2.50/24")}
	d.backends = []*node{
		{name: "backend-1", back: netip.MustParsePrefix("198.51.100.21/24")},
		{name: "backend-2", back: netip.MustParsePrefix("198.51.100.22/24")},
	}
	for _, n := range append([]*node{d.client, d.a, d.b}, d.backends...) {
		if n.host, err = lab.AddHostE(n.name); err != nil {
			return err
		}
		if n.front.IsValid() {
			if err := n.host.Connect(front, frontIf, n.front, netip.Prefix{}); err != nil {
				return err
			}
		}
		if n.back.IsValid() {
			ifname := backIf
			if !n.front.IsValid() {
				ifname = "eth0"
			}
			if err := n.host.Connect(back, ifname, n.back, netip.Prefix{}); err != nil {
				return err
			}
		}
	}
	var members []string
	for _, n := range d.backends {
		listen := n.back.Addr().String() + ":80"
		if n.apache, err = n.host.StartApache("web", netlab.ApacheConfig{Listen: []string{listen}}); err != nil {
			return err
		}
		members = append(members, "http://"+n.back.Addr().String())
	}
	for _, n := range []*node{d.a, d.b} {
		if err := d.startApache(n, members); err != nil {
			return err
		}
	}
	d.say("lab %s (files in %s):", lab.Prefix(), lab.Dir())
	d.say("  client %s --[front %s, VIP %s]-- proxy-a %s, proxy-b %s",
		d.client.front.Addr(), frontNet, vip, d.a.front.Addr(), d.b.front.Addr())
	d.say("  proxy-a %s, proxy-b %s --[back %s]-- backend-1 %s, backend-2 %s",
		d.a.back.Addr(), d.b.back.Addr(), backNet, d.backends[0].back.Addr(), d.backends[1].back.Addr())
	d.say("  Apache on all four: the proxies balance over both backends and add %q; the backends answer with their name",
		netlab.HeaderProxy)
	d.say("\n%s on each proxy runs %s and %s unchanged but for one line: the health check.",
		d.impl, d.a.file, d.b.file)
	d.say("  shipped: %s", shippedCheck)
	d.say("  lab:     %s", labCheck)
	d.say("  A namespace has no systemd (and the host's knows nothing of these Apaches). Each namespace has")
	d.say("  its own loopback, so 127.0.0.1 reaches only this proxy's Apache; the check proves it answers")
	d.say("  HTTP, and a pid check could not tell the lab's Apaches apart (namespaces share pids).")
	t := d.a.timing
	d.say("  From the files: priority %d/%d, weight %d, advert_int %v, check every %v, fall %d, rise %d.",
		d.a.timing.prio, d.b.timing.prio, t.weight, t.adver, t.interval, t.fall, t.rise)
	return nil
}

// startApache runs a proxy's Apache: every address (so the VIP whenever it
// is here, and 127.0.0.1 for the check), balancing over the backends.
func (d *demo) startApache(n *node, members []string) error {
	var err error
	n.apache, err = n.host.StartApache("web", netlab.ApacheConfig{Listen: []string{"80"}, Backends: members})
	return err
}

// startDaemon runs the chosen VRRP daemon on a proxy.
func (d *demo) startDaemon(n *node) error {
	var err error
	if d.impl == "keepalived" {
		n.daemon, err = n.host.StartKeepalived(n.conf)
	} else {
		n.daemon, err = n.host.StartGovrrp(d.bin, n.conf)
	}
	return err
}

// holds reports whether node n has the VIP.
func holds(n *node) (bool, error) { return n.host.HasAddr(frontIf, vip) }

// waitHolder waits until want holds the VIP and other does not, and returns
// how long that took from start.
func waitHolder(ctx context.Context, start time.Time, want, other *node) (time.Duration, error) {
	var took time.Duration
	err := netlab.WaitFor(ctx, stepWait, poll, func() (bool, error) {
		for _, n := range []*node{want, other} {
			if n.daemon != nil && n.daemon.Exited() {
				return false, netlab.Permanent(fmt.Errorf("the VRRP daemon on %s exited", n.name))
			}
		}
		w, err := holds(want)
		if err != nil {
			return false, err
		}
		o, err := holds(other)
		if err != nil {
			return false, err
		}
		if w && !o {
			took = time.Since(start)
			return true, nil
		}
		return false, fmt.Errorf("VIP on %s=%v, on %s=%v", want.name, w, other.name, o)
	})
	return took, err
}

// waitAnswer waits until the client got an answer via proxy that started
// after since.
func (d *demo) waitAnswer(ctx context.Context, since time.Time, proxy string) error {
	return netlab.WaitFor(ctx, stepWait, poll, func() (bool, error) {
		if _, ok := d.fetch.firstOK(since, proxy); ok {
			return true, nil
		}
		if d.fetch.done() {
			return false, netlab.Permanent(errors.New("the client stopped (request or time cap reached)"))
		}
		return false, fmt.Errorf("no answer via %s yet", proxy)
	})
}

func (d *demo) elect(ctx context.Context) error {
	start := time.Now()
	for _, n := range []*node{d.a, d.b} {
		if err := d.startDaemon(n); err != nil {
			return err
		}
	}
	d.say("\n1. election: started %s on both proxies (pids %d, %d)", d.impl, d.a.daemon.Pid(), d.b.daemon.Pid())
	took, err := waitHolder(ctx, start, d.a, d.b)
	if err != nil {
		return fmt.Errorf("election: %w", err)
	}
	d.res.elected = took
	d.say("   VIP %s is on proxy-a after %v: priority %d beats %d; proxy-b is backup",
		vip, ms(took), d.a.timing.prio, d.b.timing.prio)
	d.fetch = startFetcher(d.client.host, vipURL)
	since := time.Now()
	if err := d.waitAnswer(ctx, since, d.a.name); err != nil {
		return fmt.Errorf("client via proxy-a: %w", err)
	}
	d.say("   client %s fetches %s every %v (timeout %v)", d.client.front.Addr(), vipURL, fetchEvery, fetchTimeout)
	d.showStatus(ctx)
	return nil
}

func (d *demo) failover(ctx context.Context) error {
	// Let a few answers through first, so the summary shows the balancing.
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		return err
	}
	d.say("   client so far: %s", d.fetch.summary(time.Time{}))
	d.say("\n2. failover: stopping Apache on proxy-a (SIGTERM, as `systemctl stop apache2` does)")
	stop := time.Now()
	if err := d.a.apache.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if _, err := d.a.apache.Wait(stepWait); err != nil {
		return err
	}
	closed := time.Now() // the listener is gone by now at the latest
	took, err := waitHolder(ctx, closed, d.b, d.a)
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	if err := d.waitAnswer(ctx, stop, d.b.name); err != nil {
		return fmt.Errorf("failover: client via proxy-b: %w", err)
	}
	a, b := d.a.timing, d.b.timing
	s := &d.res.failover
	s.moved = took
	// From the moment the listener is gone the check fails: fall runs,
	// each at most interval+timeout apart, lower A's priority; B ignores
	// the lower adverts and its master-down timer runs out.
	s.movedBound = a.detect(a.fall) + b.masterDown()
	// The client's first failure comes after the listener is gone, so the
	// same bound holds for the outage, plus how late the client notices.
	s.out = d.fetch.outage(stop, d.b.name)
	s.outBound = s.movedBound + fetchResolution
	d.say("   Apache on proxy-a exited %v after SIGTERM; VIP %s is on proxy-b %v later", ms(closed.Sub(stop)), vip, ms(took))
	d.say("   (bound %v = %d checks x (interval %v + timeout %v) + proxy-b's master-down interval %v)",
		ms(s.movedBound), a.fall, a.interval, a.timeout, ms(b.masterDown()))
	d.say("   client outage: %s", s.out)
	d.say("   (bound %v: the above + the client's resolution %v)", ms(s.outBound), fetchResolution)
	d.showStatus(ctx)
	return nil
}

func (d *demo) failback(ctx context.Context) error {
	d.say("\n3. failback: starting Apache on proxy-a again")
	if err := d.startApache(d.a, d.backendURLs()); err != nil {
		return err
	}
	start := time.Now() // Apache answers from here on
	took, err := waitHolder(ctx, start, d.a, d.b)
	if err != nil {
		return fmt.Errorf("failback: %w", err)
	}
	if err := d.waitAnswer(ctx, start, d.a.name); err != nil {
		return fmt.Errorf("failback: client via proxy-a: %w", err)
	}
	a := d.a.timing
	s := &d.res.failback
	s.moved = took
	s.movedBound = a.detect(a.rise) + a.masterDown()
	s.out = d.fetch.outage(start, d.a.name)
	// Only requests in flight at the handover can fail: proxy-b leaves on
	// proxy-a's first advert (or the next one, advert_int later).
	s.outBound = a.adver + fetchResolution
	d.say("   VIP %s back on proxy-a %v after its Apache answered: preemption, %d > %d", vip, ms(took), a.prio, d.b.timing.prio)
	d.say("   (bound %v = %d checks x (interval %v + timeout %v) + proxy-a's master-down interval %v)",
		ms(s.movedBound), a.rise, a.interval, a.timeout, ms(a.masterDown()))
	d.say("   client outage: %s", s.out)
	d.say("   (bound %v: one advert_int + the client's resolution %v)", ms(s.outBound), fetchResolution)
	d.showStatus(ctx)
	// A few answers via proxy-a again for the summary.
	return sleep(ctx, 500*time.Millisecond)
}

func (d *demo) backendURLs() []string {
	var u []string
	for _, n := range d.backends {
		u = append(u, "http://"+n.back.Addr().String())
	}
	return u
}

// showStatus tells who holds the VIP and why: `govrrp status` of each
// proxy, or for keepalived (which has no such command) `ip addr` and the
// log lines about the check, priority and state since the last call.
func (d *demo) showStatus(ctx context.Context) {
	for _, n := range []*node{d.a, d.b} {
		if d.impl == "govrrp" {
			if n.daemon == nil || n.daemon.Exited() {
				continue
			}
			out, err := n.host.Exec(ctx, d.bin, "status", "--socket", n.host.GovrrpSocket())
			d.say("   %s$ govrrp status", n.name)
			if err != nil {
				d.say("   (status failed: %v)", err)
			}
			d.indent(string(out))
			continue
		}
		out, err := n.host.Exec(ctx, "ip", "-br", "-4", "addr", "show", "dev", frontIf)
		d.say("   %s$ ip -br -4 addr show dev %s", n.name, frontIf)
		if err != nil {
			d.say("   (ip failed: %v)", err)
		}
		d.indent(string(out))
		d.say("   %s: keepalived log", n.name)
		d.indent(d.newLogLines(n))
	}
}

// newLogLines returns the daemon log lines written since the last call
// that explain a state: check results, priority changes, transitions.
func (d *demo) newLogLines(n *node) string {
	if n.daemon == nil {
		return ""
	}
	log := n.daemon.Log()
	if n.logOff > len(log) {
		n.logOff = 0
	}
	fresh := log[n.logOff:]
	n.logOff = len(log)
	var keep []string
	for _, l := range strings.Split(fresh, "\n") {
		for _, k := range []string{"chk_apache", "effective priority", "Entering", "advert from"} {
			if strings.Contains(l, k) {
				keep = append(keep, kaStamp.ReplaceAllString(l, "$1 "))
				break
			}
		}
	}
	return strings.Join(keep, "\n")
}

// kaStamp is keepalived's console time stamp, "Tue Dec  1 11:38:15 2026: ".
var kaStamp = regexp.MustCompile(`^\w{3} \w{3} +\d+ (\d\d:\d\d:\d\d) \d{4}: `)

func (d *demo) indent(s string) {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return
	}
	for _, line := range strings.Split(s, "\n") {
		d.say("     %s", line)
	}
}

// dumpLogs shows the end of each daemon and proxy Apache log when a step fails.
func (d *demo) dumpLogs() {
	for _, n := range []*node{d.a, d.b} {
		if n == nil {
			continue
		}
		for _, p := range []*netlab.Proc{n.daemon, n.apache} {
			if p == nil {
				continue
			}
			lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
			if len(lines) > 15 {
				lines = lines[len(lines)-15:]
			}
			fmt.Fprintf(os.Stderr, "--- %s (%s) ---\n%s\n", n.name, p.LogPath(), strings.Join(lines, "\n"))
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
