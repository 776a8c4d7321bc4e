// Package netlab builds throwaway network-namespace labs for integration tests
// and the demo: "switch" namespaces holding a Linux bridge, host namespaces
// wired to them with veth pairs, and background processes (govrrp, keepalived,
// tcpdump) that die with the lab.
//
// Every lab has a unique prefix "gv-<6 hex>"; all its namespaces are named
// "<prefix>-<name>", so Close can sweep leftovers without touching anybody
// else's. Only the documentation ranges 192.0.2.0/24, 198.51.100.0/24 and
// 2001:db8::/32 may be used inside a lab; Connect refuses anything else.
//
// Host namespaces have IPv6 DAD switched off (accept_dad=0), so link-locals
// are usable as soon as a link is up; switch namespaces have IPv6 disabled
// so bridges add no chatter to captures. Set NETLAB_KEEP=1 to keep Dir
// (configs, logs, pcaps) after Close for debugging; a failed test logs the
// tail of every process log before teardown.
package netlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Lab owns a set of namespaces, a temp dir and the processes started in them.
type Lab struct {
	prefix string
	dir    string
	tb     testing.TB // nil for standalone labs
	keep   bool       // NETLAB_KEEP set: leave Dir on disk for debugging

	mu       sync.Mutex
	closed   bool
	seq      int // veth peer names in switch namespaces
	segments []*Segment
	hosts    []*Host
	procs    []*Proc
	closeErr error
	once     sync.Once
}

// nameRE keeps namespace and file names boring: they end up in paths and argv.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)

// New builds a lab for a test. It skips when not root and registers a
// Cleanup that tears everything down, also when the test fails or panics.
// On failure the tail of every process log is logged first.
func New(tb testing.TB) *Lab {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("netlab: needs root (network namespaces, veth, bridges)")
	}
	Require(tb, "ip")
	l, err := newLab(tb.Name())
	if err != nil {
		tb.Fatalf("%v", err)
	}
	l.tb = tb
	tb.Cleanup(func() {
		if tb.Failed() {
			l.logTails(tb)
		}
		if err := l.Close(); err != nil {
			tb.Errorf("netlab: close: %v", err)
		}
	})
	return l
}

// NewStandalone builds a lab outside tests (cmd/govrrp-demo). name only
// labels the temp dir. The caller must Close it.
func NewStandalone(name string) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("netlab: needs root (network namespaces, veth, bridges)")
	}
	if _, err := lookCmd("ip"); err != nil {
		return nil, err
	}
	return newLab(name)
}

func newLab(label string) (*Lab, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("netlab: random prefix: %w", err)
	}
	prefix := "gv-" + hex.EncodeToString(b[:])
	// Short path on purpose: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", prefix+"-"+sanitize(label, 12)+"-")
	if err != nil {
		return nil, fmt.Errorf("netlab: temp dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, fmt.Errorf("netlab: owner file: %w", err)
	}
	sweepStale()
	return &Lab{prefix: prefix, dir: dir, keep: os.Getenv("NETLAB_KEEP") != ""}, nil
}

// ownerFile in Dir holds the pid of the process that owns the lab.
const ownerFile = ".owner"

var prefixRE = regexp.MustCompile(`^gv-[0-9a-f]{6}$`)

// sweepStale removes the namespaces and dir of every lab whose owner process
// is gone: a test binary killed by -timeout runs no Cleanup, and its veths
// and namespaces would otherwise stay forever. Labs with a live (or
// unknown) owner are left alone.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "gv-*-*"))
	for _, d := range dirs {
		base := filepath.Base(d)
		if len(base) < 10 || !prefixRE.MatchString(base[:9]) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		_ = sweepPrefix(base[:9]) // a concurrent sweeper may win; fine
		_ = os.RemoveAll(d)
	}
}

// sanitize turns a test name into something safe for a file name.
func sanitize(s string, max int) string {
	var sb strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			sb.WriteRune(r)
		} else {
			sb.WriteRune('_')
		}
		if sb.Len() >= max {
			break
		}
	}
	return sb.String()
}

// Prefix is the lab's unique namespace prefix, "gv-<6 hex>".
func (l *Lab) Prefix() string { return l.prefix }

// Dir is a per-lab temp dir for configs, pid files, sockets and logs.
func (l *Lab) Dir() string { return l.dir }

// nsName is the netns name of a lab member.
func (l *Lab) nsName(name string) string { return l.prefix + "-" + name }

// register remembers something Close must tear down; it fails after Close.
func (l *Lab) register(fn func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("netlab: lab is closed")
	}
	fn()
	return nil
}

// Close kills every process, deletes every namespace with this lab's prefix
// and removes Dir (unless NETLAB_KEEP is set). It is safe to call twice.
func (l *Lab) Close() error {
	l.once.Do(func() { l.closeErr = l.teardown() })
	return l.closeErr
}

func (l *Lab) teardown() error {
	l.mu.Lock()
	l.closed = true
	procs, hosts := l.procs, l.hosts
	l.mu.Unlock()

	var errs []error
	for _, p := range procs {
		p.killGroup()
	}
	for _, p := range procs {
		if _, err := p.Wait(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range hosts {
		h.closeHandle()
	}
	if err := l.deleteNamespaces(); err != nil {
		errs = append(errs, err)
	}
	if l.keep {
		_ = os.Remove(filepath.Join(l.dir, ownerFile)) // kept on purpose: not stale
	} else if err := os.RemoveAll(l.dir); err != nil {
		errs = append(errs, fmt.Errorf("netlab: remove %s: %w", l.dir, err))
	}
	return errors.Join(errs...)
}

// deleteNamespaces removes every netns named "<prefix>-*", killing any
// process still inside first (a daemon child that left our process group
// would otherwise keep the namespace, and its veths, alive unnamed).
func (l *Lab) deleteNamespaces() error { return sweepPrefix(l.prefix) }

// sweepPrefix deletes every namespace "<prefix>-*" (see deleteNamespaces).
func sweepPrefix(prefix string) error {
	names, err := listNamespaces(prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range names {
		killNamespacePids(ns)
		if out, err := runIP("netns", "del", ns); err != nil {
			errs = append(errs, fmt.Errorf("netlab: netns del %s: %v: %s", ns, err, out))
		}
	}
	// Check, so "Close returned nil" really means "nothing left".
	if left, err := listNamespaces(prefix); err != nil || len(left) > 0 {
		errs = append(errs, fmt.Errorf("netlab: namespaces left after close: %v %v", left, err))
	}
	return errors.Join(errs...)
}

// listNamespaces reads /run/netns, where `ip netns add` bind-mounts names.
func listNamespaces(prefix string) ([]string, error) {
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netlab: list namespaces: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// killNamespacePids SIGKILLs whatever still runs in a namespace of ours.
func killNamespacePids(ns string) {
	out, err := runIP("netns", "pids", ns)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		var pid int
		if _, err := fmt.Sscanf(f, "%d", &pid); err == nil && pid > 1 {
			_ = killPid(pid)
		}
	}
}

// logTails logs the end of every process log, the first thing one wants
// when an integration test fails.
func (l *Lab) logTails(tb testing.TB) {
	l.mu.Lock()
	procs := append([]*Proc(nil), l.procs...)
	l.mu.Unlock()
	for _, p := range procs {
		tb.Logf("netlab: --- tail of %s ---\n%s", p.logPath, tail(p.Log(), 40))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runIP runs iproute2 in the root namespace (its -n flag picks another).
func runIP(args ...string) ([]byte, error) {
	ip, err := lookCmd("ip")
	if err != nil {
		return nil, err
	}
	return exec.Command(ip, args...).CombinedOutput()
}

// LookPath finds a command in PATH or in the sbin dirs that a non-login
// root shell may lack in PATH; the error names the Debian package.
func LookPath(name string) (string, error) { return lookCmd(name) }

func lookCmd(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("netlab: command %q not found (install %s)", name, debPackage(name))
}

// debPackage maps a command to the Debian package that ships it.
func debPackage(cmd string) string {
	switch cmd {
	case "ip", "bridge":
		return "iproute2"
	case "ping":
		return "iputils-ping"
	case "nft":
		return "nftables"
	case "sysctl", "pgrep":
		return "procps"
	default:
		return cmd
	}
}

// Require fails the test (with an install hint) when a command is missing,
// and skips it when not root.
func Require(tb testing.TB, cmds ...string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("netlab: needs root (network namespaces, veth, bridges)")
	}
	var missing []string
	for _, c := range cmds {
		if _, err := lookCmd(c); err != nil {
			missing = append(missing, debPackage(c))
		}
	}
	if len(missing) > 0 {
		tb.Fatalf("netlab: missing commands; install with: apt-get install -y %s (or `sudo make deps`)",
			strings.Join(missing, " "))
	}
}
