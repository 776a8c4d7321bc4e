package netlab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// writeFile puts content into Lab.Dir() and returns its path.
func (h *Host) writeFile(base, content string) (string, error) {
	p := filepath.Join(h.lab.dir, base)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		return "", fmt.Errorf("netlab: write %s: %w", p, err)
	}
	return p, nil
}

// KeepalivedPidFiles are the parent, VRRP child and checker child pid files
// StartKeepalived passes for this host (unique per host, in Lab.Dir()).
func (h *Host) KeepalivedPidFiles() (parent, vrrp, checkers string) {
	base := filepath.Join(h.lab.dir, h.name+"-keepalived")
	return base + ".pid", base + "-vrrp.pid", base + "-checkers.pid"
}

var (
	noSyslogOnce sync.Once
	noSyslogOK   bool
)

// keepalivedHasNoSyslog asks `keepalived --help` once whether --no-syslog
// exists (2.x has it as -G).
func keepalivedHasNoSyslog(bin string) bool {
	noSyslogOnce.Do(func() {
		out, _ := exec.Command(bin, "--help").CombinedOutput()
		noSyslogOK = strings.Contains(string(out), "--no-syslog")
	})
	return noSyslogOK
}

// StartKeepalived writes conf to Lab.Dir()/<host>-keepalived.conf and runs
// keepalived in the foreground, VRRP only, logging to the console (so its
// lines land in the Proc log) and not to syslog.
func (h *Host) StartKeepalived(conf string) (*Proc, error) {
	if h.err != nil {
		return nil, h.err
	}
	bin, err := lookCmd("keepalived")
	if err != nil {
		return nil, err
	}
	file, err := h.writeFile(h.name+"-keepalived.conf", conf)
	if err != nil {
		return nil, err
	}
	p1, p2, p3 := h.KeepalivedPidFiles()
	for _, f := range []string{p1, p2, p3} {
		_ = os.Remove(f) // a stale pid file from a killed run would block start-up
	}
	argv := []string{bin, "-n", "-l", "-D", "-P", "-f", file, "-p", p1, "-r", p2, "-c", p3}
	if keepalivedHasNoSyslog(bin) {
		argv = append(argv, "--no-syslog")
	}
	return h.Start("keepalived", argv...)
}

// GovrrpSocket and GovrrpPidFile are the paths StartGovrrp passes.
func (h *Host) GovrrpSocket() string  { return filepath.Join(h.lab.dir, h.name+".sock") }
func (h *Host) GovrrpPidFile() string { return filepath.Join(h.lab.dir, h.name+".pid") }

// StartGovrrp writes conf to Lab.Dir()/<host>-govrrp.conf and runs
// `BIN run -f FILE --socket DIR/<host>.sock --pid-file DIR/<host>.pid extra...`.
func (h *Host) StartGovrrp(bin, conf string, extraArgs ...string) (*Proc, error) {
	if h.err != nil {
		return nil, h.err
	}
	path, err := resolveBin(bin)
	if err != nil {
		return nil, err
	}
	file, err := h.writeFile(h.name+"-govrrp.conf", conf)
	if err != nil {
		return nil, err
	}
	_ = os.Remove(h.GovrrpSocket()) // a killed daemon leaves its socket behind
	argv := append([]string{path, "run", "-f", file, "--socket", h.GovrrpSocket(), "--pid-file", h.GovrrpPidFile()},
		extraArgs...)
	return h.Start("govrrp", argv...)
}

// resolveBin makes a path absolute (the namespace keeps our cwd, but an
// absolute path reads better in logs) or finds a bare name in PATH.
func resolveBin(bin string) (string, error) {
	if bin == "" {
		return "", fmt.Errorf("netlab: empty binary path")
	}
	if !strings.Contains(bin, "/") {
		return lookCmd(bin)
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", fmt.Errorf("netlab: %s: %w", bin, err)
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("netlab: %s is not an executable file (run `make build`?)", abs)
	}
	return abs, nil
}

// Capture is a running tcpdump writing a pcap file.
type Capture struct {
	proc *Proc
	path string
}

// Capture starts `tcpdump -U -w FILE -i ifname filter` in the namespace and
// returns once tcpdump says it is listening, so no packet sent afterwards is
// missed. The file is Lab.Dir()/<host>-<ifname>-<n>.pcap.
func (h *Host) Capture(ifname, filter string) (*Capture, error) {
	if h.err != nil {
		return nil, h.err
	}
	if err := checkIfname(ifname); err != nil {
		return nil, err
	}
	bin, err := lookCmd("tcpdump")
	if err != nil {
		return nil, err
	}
	var n int
	if err := h.lab.register(func() { h.lab.seq++; n = h.lab.seq }); err != nil {
		return nil, err
	}
	path := filepath.Join(h.lab.dir, fmt.Sprintf("%s-%s-%d.pcap", h.name, ifname, n))
	// -Z root: tcpdump would otherwise drop to user tcpdump and fail to
	// write into our root-only temp dir.
	// --immediate-mode: without it packets wait in the kernel ring for up to
	// a second and are lost when Stop interrupts tcpdump.
	argv := []string{bin, "-n", "-U", "--immediate-mode", "-Z", "root", "-i", ifname, "-w", path}
	if strings.TrimSpace(filter) != "" {
		argv = append(argv, filter)
	}
	p, err := h.Start(fmt.Sprintf("tcpdump-%s-%d", sanitize(ifname, 15), n), argv...)
	if err != nil {
		return nil, err
	}
	c := &Capture{proc: p, path: path}
	err = WaitFor(context.Background(), 10*time.Second, 10*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, Permanent(fmt.Errorf("netlab: tcpdump on %s %s exited: %s", h.name, ifname, tail(p.Log(), 5)))
		}
		return strings.Contains(p.Log(), "listening on"), fmt.Errorf("netlab: tcpdump on %s %s not listening", h.name, ifname)
	})
	if err != nil {
		_ = p.Kill()
		return nil, err
	}
	return c, nil
}

// Path is the pcap file being written.
func (c *Capture) Path() string { return c.path }

// Stop ends tcpdump with SIGINT (it flushes and closes the file) and returns
// the pcap path.
func (c *Capture) Stop() (string, error) {
	c.settle()
	if !c.proc.Exited() {
		if err := c.proc.Signal(syscall.SIGINT); err != nil && !c.proc.Exited() {
			return c.path, err
		}
	}
	if _, err := c.proc.Wait(5 * time.Second); err != nil {
		_ = c.proc.Kill()
		return c.path, err
	}
	return c.path, nil
}

// settle waits (at most 1 s) until the pcap file stops growing, so packets
// that arrived just before Stop are written before SIGINT cuts tcpdump short.
func (c *Capture) settle() {
	last := int64(-1)
	_ = WaitFor(context.Background(), time.Second, 25*time.Millisecond, func() (bool, error) {
		st, err := os.Stat(c.path)
		if err != nil {
			return false, err
		}
		same := st.Size() == last
		last = st.Size()
		return same, nil
	})
}

// ReadPcap decodes a pcap file with `tcpdump -nn -r FILE args...` and
// returns the text, one packet per line (plus whatever args add, e.g. -v).
func ReadPcap(path string, args ...string) (string, error) {
	bin, err := lookCmd("tcpdump")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, append([]string{"-nn", "-r", path}, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("netlab: tcpdump -r %s: %w: %s", path, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// DropVRRP adds (on) or removes (off) an nftables table in the host's
// namespace that drops IP protocol 112 (VRRP, v4 and v6) in and out of
// ifname: a partition as seen by this host. Both directions are idempotent.
func (h *Host) DropVRRP(ifname string, on bool) error {
	if h.err != nil {
		return h.err
	}
	if err := checkIfname(ifname); err != nil {
		return err
	}
	nft, err := lookCmd("nft")
	if err != nil {
		return err
	}
	table := "netlab_vrrp_" + strings.NewReplacer("-", "_", ".", "_").Replace(ifname)
	// "table X; delete table X" removes it whether or not it existed.
	script := fmt.Sprintf("table inet %s\ndelete table inet %s\n", table, table)
	if on {
		script += fmt.Sprintf(`table inet %[1]s {
	chain in {
		type filter hook input priority -300; policy accept;
		iifname %[2]q meta l4proto 112 counter drop
	}
	chain out {
		type filter hook output priority -300; policy accept;
		oifname %[2]q meta l4proto 112 counter drop
	}
}
`, table, ifname)
	}
	file, err := h.writeFile(fmt.Sprintf("%s-%s.nft", h.name, table), script)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := h.Exec(ctx, nft, "-f", file); err != nil {
		return fmt.Errorf("netlab: DropVRRP %s %s: %w: %s", h.name, ifname, err, strings.TrimSpace(string(out)))
	}
	return nil
}
