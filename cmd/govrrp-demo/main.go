// Command govrrp-demo shows a VRRP failover in a throwaway namespace lab:
// two proxies share VIP 192.0.2.100, the master is stopped, the backup takes
// over, the master comes back and preempts. Needs root.
//
//	govrrp-demo [-bin bin/govrrp] [-keepalived]
package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

//go:embed demo.conf.tmpl
var confTmpl string

const (
	iface    = "eth0"
	stepWait = 15 * time.Second // bound for every election/failover step
	poll     = 5 * time.Millisecond
)

var vip = netip.MustParseAddr("192.0.2.100")

// node is one proxy of the demo.
type node struct {
	name     string
	addr     netip.Prefix
	priority int
	host     *netlab.Host
	proc     *netlab.Proc
}

// demo holds what the steps share.
type demo struct {
	out        io.Writer
	lab        *netlab.Lab
	bin        string // govrrp binary; "" = keepalived
	a, b       *node
	daemonName string
}

func main() { os.Exit(run(os.Args[1:], os.Stdout)) }

func run(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("govrrp-demo", flag.ContinueOnError)
	bin := fs.String("bin", "bin/govrrp", "govrrp binary to run on both proxies")
	useKA := fs.Bool("keepalived", false, "run keepalived instead of govrrp")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	d := &demo{out: out, daemonName: "govrrp", bin: *bin}
	if *useKA {
		d.bin, d.daemonName = "", "keepalived"
	}
	if err := d.preflight(); err != nil {
		fmt.Fprintln(os.Stderr, "govrrp-demo:", err)
		return 1
	}

	// Ctrl-C cancels every wait; teardown then runs with signals still caught.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := d.runSteps(ctx)
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
		return 130
	case err != nil:
		fmt.Fprintln(os.Stderr, "govrrp-demo:", err)
		return 1
	}
	return 0
}

func (d *demo) say(format string, a ...any) { fmt.Fprintf(d.out, format+"\n", a...) }

// preflight fails early, before any namespace exists, on what we can check.
func (d *demo) preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces); try: sudo make demo")
	}
	if d.bin == "" {
		_, err := netlab.LookPath("keepalived")
		return err
	}
	if st, err := os.Stat(d.bin); err != nil || st.IsDir() {
		return fmt.Errorf("%s not found: run `make build`, or use -keepalived to demo with keepalived", d.bin)
	}
	return nil
}

func (d *demo) runSteps(ctx context.Context) error {
	if err := d.build(); err != nil {
		return err
	}
	for _, step := range []func(context.Context) error{d.elect, d.failover, d.preempt} {
		if err := step(ctx); err != nil {
			if ctx.Err() == nil { // logs explain a failure, not a Ctrl-C
				d.dumpLogs()
			}
			return err
		}
	}
	return nil
}

// build makes the lab: one bridge, two proxies.
func (d *demo) build() error {
	lab, err := netlab.NewStandalone("demo")
	if err != nil {
		return err
	}
	d.lab = lab
	seg, err := lab.AddSegmentE("lan", netip.MustParsePrefix("192.0.2.0/24"), netip.Prefix{})
	if err != nil {
		return err
	}
	d.a = &node{name: "proxy-a", addr: netip.MustParsePrefix("192.0.2.11/24"), priority: 150}
	d.b = &node{name: "proxy-b", addr: netip.MustParsePrefix("192.0.2.12/24"), priority: 100}
	for _, n := range []*node{d.a, d.b} {
		if n.host, err = lab.AddHostE(n.name); err != nil {
			return err
		}
		if err := n.host.Connect(seg, iface, n.addr, netip.Prefix{}); err != nil {
			return err
		}
	}
	d.say("lab %s: bridge on 192.0.2.0/24, proxy-a %s (priority 150), proxy-b %s (priority 100)",
		lab.Prefix(), d.a.addr.Addr(), d.b.addr.Addr())
	d.say("VIP %s, VRRPv3, 100 ms adverts, daemon: %s; files in %s", vip, d.daemonName, lab.Dir())
	return nil
}

// conf renders the embedded keepalived.conf for one node.
func conf(n *node) (string, error) {
	t, err := template.New("conf").Parse(confTmpl)
	if err != nil {
		return "", fmt.Errorf("demo: config template: %w", err)
	}
	var buf bytes.Buffer
	err = t.Execute(&buf, map[string]any{"Host": n.name, "Iface": iface, "Priority": n.priority, "VIP": vip})
	if err != nil {
		return "", fmt.Errorf("demo: config template: %w", err)
	}
	return buf.String(), nil
}

// start runs the chosen daemon on a node.
func (d *demo) start(n *node) error {
	c, err := conf(n)
	if err != nil {
		return err
	}
	if d.bin == "" {
		n.proc, err = n.host.StartKeepalived(c)
	} else {
		n.proc, err = n.host.StartGovrrp(d.bin, c)
	}
	return err
}

// holds reports whether node n has the VIP.
func holds(n *node) (bool, error) { return n.host.HasAddr(iface, vip) }

// waitHolder waits until want holds the VIP and other does not, and returns
// how long that took from start.
func waitHolder(ctx context.Context, start time.Time, want, other *node) (time.Duration, error) {
	var took time.Duration
	err := netlab.WaitFor(ctx, stepWait, poll, func() (bool, error) {
		if want.proc != nil && want.proc.Exited() {
			return false, netlab.Permanent(fmt.Errorf("daemon on %s exited", want.name))
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

func (d *demo) elect(ctx context.Context) error {
	start := time.Now()
	for _, n := range []*node{d.a, d.b} {
		if err := d.start(n); err != nil {
			return err
		}
	}
	d.say("\n1. started %s on both proxies (pids %d, %d)", d.daemonName, d.a.proc.Pid(), d.b.proc.Pid())
	took, err := waitHolder(ctx, start, d.a, d.b)
	if err != nil {
		return fmt.Errorf("election: %w", err)
	}
	d.say("   VIP %s is on proxy-a after %v; proxy-b is backup", vip, ms(took))
	d.showStatus(ctx)
	return nil
}

func (d *demo) failover(ctx context.Context) error {
	d.say("\n2. SIGTERM to %s on proxy-a (the master)", d.daemonName)
	start := time.Now()
	if err := d.a.proc.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	took, err := waitHolder(ctx, start, d.b, d.a)
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	d.say("   failover: VIP %s is on proxy-b %v after SIGTERM", vip, ms(took))
	code, err := d.a.proc.Wait(stepWait)
	if err != nil {
		return err
	}
	d.say("   %s on proxy-a exited with status %d", d.daemonName, code)
	d.showStatus(ctx)
	return nil
}

func (d *demo) preempt(ctx context.Context) error {
	d.say("\n3. restarting %s on proxy-a (priority 150 > 100)", d.daemonName)
	start := time.Now()
	if err := d.start(d.a); err != nil {
		return err
	}
	took, err := waitHolder(ctx, start, d.a, d.b)
	if err != nil {
		return fmt.Errorf("preemption: %w", err)
	}
	d.say("   preemption: VIP %s back on proxy-a %v after restart; proxy-b released it", vip, ms(took))
	d.showStatus(ctx)
	d.say("")
	return nil
}

// showStatus prints `govrrp status` of each running proxy: who is master
// and why. keepalived has no such command, so the -keepalived demo skips it.
func (d *demo) showStatus(ctx context.Context) {
	if d.bin == "" {
		return
	}
	for _, n := range []*node{d.a, d.b} {
		if n.proc == nil || n.proc.Exited() {
			continue
		}
		out, err := n.host.Exec(ctx, d.bin, "status", "--socket", n.host.GovrrpSocket())
		d.say("   %s$ govrrp status", n.name)
		if err != nil {
			d.say("   (status failed: %v)", err)
		}
		for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			d.say("     %s", line)
		}
	}
}

// dumpLogs shows the end of each daemon log when a step fails.
func (d *demo) dumpLogs() {
	for _, n := range []*node{d.a, d.b} {
		if n == nil || n.proc == nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(n.proc.Log(), "\n"), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(os.Stderr, "--- %s log (%s) ---\n%s\n", n.name, n.proc.LogPath(), strings.Join(lines, "\n"))
	}
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
