package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govrrp/govrrp/internal/daemon"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// net_namespace NAME (top level of keepalived.conf): the daemon runs in the
// network namespace /run/netns/NAME.
//
// How: setns(2) changes the namespace of one thread only, and a Go program
// has several threads before main runs, so switching in place would leave
// the runtime's other threads (and whatever goroutine lands on them) in the
// old namespace. Instead runDaemon locks its goroutine to its thread,
// switches that thread into the namespace and execve(2)s itself: the new
// image starts with that one thread, whose namespace it inherits, so every
// thread it ever creates is in NAME. The re-executed daemon finds itself in
// NAME (same namespace inode) and carries on; nothing else was started
// before the exec.
//
// Run-time files, as keepalived 2.2.7 does (observed: its pid files are
// /run/keepalived/NAME/keepalived.pid and vrrp.pid): default paths move into
// a directory named after the namespace, so daemons in several namespaces
// do not collide; paths given on the command line are kept.

// netnsDir is where `ip netns add` binds named namespaces.
const netnsDir = "/run/netns"

// configNetNamespace is the file's net_namespace, "" when none (or when the
// file does not load: daemon.Run reports that properly).
func configNetNamespace(f runFlags) string {
	cfg, _, err := kaconf.Load(f.config, kaconf.LoadOptions{Parse: kaconf.ParseOptions{ConfigID: f.configID}, VRRPOnly: f.vrrpOnly})
	if err != nil || cfg == nil {
		return ""
	}
	return cfg.Ifaces.NetNamespace
}

// netnsPaths moves default run-time paths under the namespace's name.
func netnsPaths(f *runFlags, ns string) {
	under := func(p, def, dir string) string {
		if p != def {
			return p
		}
		return filepath.Join(dir, ns, filepath.Base(def))
	}
	f.socket = under(f.socket, daemon.DefaultSocket, filepath.Dir(daemon.DefaultSocket))
	f.pidFile = under(f.pidFile, daemon.DefaultPidFile, filepath.Dir(daemon.DefaultPidFile))
	f.pidFile = under(f.pidFile, keepalivedPidFile, "/run/keepalived")
	for i, p := range f.extraPidFiles {
		if p == keepalivedVRRPPidFile {
			f.extraPidFiles[i] = filepath.Join("/run/keepalived", ns, "vrrp.pid")
		}
	}
}

// keepalived's default pid files (keepalived mode's -p and -r).
const (
	keepalivedPidFile     = "/run/keepalived.pid"
	keepalivedVRRPPidFile = "/run/vrrp.pid"
)

// enterNetNamespace re-executes the process inside ns unless it already
// runs there. It returns only when already inside (nil) or on failure.
func enterNetNamespace(ns string, log *slog.Logger) error {
	path := filepath.Join(netnsDir, ns)
	in, err := inNetNamespace(path)
	if err != nil {
		return fmt.Errorf("net_namespace %s: %w", ns, err)
	}
	if in {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("net_namespace %s: %w", ns, err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("net_namespace %s: %w", ns, err)
	}
	runtime.LockOSThread() // never unlocked: this thread execs or the process exits
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		unix.Close(fd)
		return fmt.Errorf("net_namespace %s: setns: %w", ns, err)
	}
	unix.Close(fd)
	log.Info("net_namespace: re-executing in the network namespace", "netns", ns)
	err = syscall.Exec(exe, os.Args, os.Environ())
	return fmt.Errorf("net_namespace %s: re-exec %s: %w", ns, exe, err)
}

// inNetNamespace reports whether the calling thread's network namespace is
// the one bound at path.
func inNetNamespace(path string) (bool, error) {
	var want, cur unix.Stat_t
	if err := unix.Stat(path, &want); err != nil {
		return false, err
	}
	if err := unix.Stat(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), &cur); err != nil {
		return false, err
	}
	return want.Dev == cur.Dev && want.Ino == cur.Ino, nil
}

// Clients (`govrrp status`) in a namespace. keepalived 2.2.7 with
// net_namespace NAME runs in a mount namespace of its own (observed in
// /proc/PID/mountinfo: mounts made slaves, /run/keepalived/NAME bind-mounted
// on /run/keepalived), so its own /run/keepalived/... paths land in NAME's
// directory. govrrp gets the same per-namespace files by naming them
// (netnsPaths) and needs no mount namespace: its socket is
// /run/govrrp/NAME/govrrp.sock in the host's /run, where every client sees
// it. What a client lacks is the NAME: run as `ip netns exec NAME govrrp
// status`, it finds it from its own network namespace.

// procSelfNetNS is the calling process's network namespace.
const procSelfNetNS = "/proc/self/ns/net"

// clientSocket is the socket a client uses when --socket was not given:
// def, unless the client runs in a network namespace bound under dir as
// NAME and the socket of a daemon with net_namespace NAME (def moved under
// NAME, as netnsPaths moves it) exists: that daemon is the one running
// there (def, in the /run every namespace shares, may be another's).
func clientSocket(def, dir, self string) string {
	name := namedNetNamespace(dir, self)
	if name == "" {
		return def
	}
	p := filepath.Join(filepath.Dir(def), name, filepath.Base(def))
	if _, err := os.Stat(p); err != nil {
		return def
	}
	return p
}

// namedNetNamespace is the name under dir of the namespace self is, ""
// when none (the host's, or an unnamed one). Bounded by dir's entries.
func namedNetNamespace(dir, self string) string {
	var cur unix.Stat_t
	if err := unix.Stat(self, &cur); err != nil {
		return ""
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(dir, e.Name()), &st) == nil && st.Dev == cur.Dev && st.Ino == cur.Ino {
			return e.Name()
		}
	}
	return ""
}
