package control

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPeerCredentialsOfOwnProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cred.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	cr, err := peerCredentials(sc)
	if err != nil {
		t.Fatal(err)
	}
	if int(cr.pid) != os.Getpid() || int(cr.uid) != os.Geteuid() || int(cr.gid) != os.Getegid() {
		t.Errorf("peer %+v, want pid %d uid %d gid %d", cr, os.Getpid(), os.Geteuid(), os.Getegid())
	}
	want, _ := os.Getgroups()
	for _, got := range [][]uint32{cr.groups, ctlMust(procGroups(cr.pid))} {
		var g []int
		for _, x := range got {
			g = append(g, int(x))
		}
		slices.Sort(g)
		slices.Sort(want)
		if !slices.Equal(g, want) {
			t.Errorf("supplementary groups %v, want %v", g, want)
		}
	}
}

func ctlMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSocketModes(t *testing.T) {
	s, path := ctlListen(t, fixed{}, ListenOptions{})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("default socket mode %v, want 0600 socket", fi.Mode())
	}
	s.Close()
	if os.Geteuid() != 0 {
		t.Skip("chown to another group needs root")
	}
	g := ctlGroup(t)
	_, path = ctlListen(t, fixed{}, ListenOptions{Group: g.Name})
	fi, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Gid)) != g.Gid {
		t.Errorf("--socket-group %s: mode %v gid %d, want 0660 gid %s", g.Name, fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid, g.Gid)
	}
	// A numeric gid works too.
	_, path = ctlListen(t, fixed{}, ListenOptions{Group: g.Gid})
	if fi, err := os.Stat(path); err != nil || strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Gid)) != g.Gid {
		t.Errorf("--socket-group %s: %v", g.Gid, err)
	}
}

// ctlGroup is a group for the permission tests that is neither root's nor
// nobody's primary group.
func ctlGroup(t *testing.T) *user.Group {
	for _, name := range []string{"daemon", "bin", "sys", "adm"} {
		if g, err := user.LookupGroup(name); err == nil && g.Gid != "0" && g.Gid != "65534" {
			return g
		}
	}
	t.Skip("no group to test with")
	return nil
}

const childEnv = "GOVRRP_CTL_CHILD_SOCKET"

// TestPeerCredentialsChild is the client process of TestPeerCredentials,
// run as another user.
func TestPeerCredentialsChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("helper process of TestPeerCredentials")
	}
	if _, err := FetchStatus(path, 10*time.Second); err != nil {
		os.Stdout.WriteString("RESULT err " + err.Error() + "\n")
	} else {
		os.Stdout.WriteString("RESULT ok\n")
	}
	os.Exit(0)
}

// A client running as nobody gets in only through the socket's group; the
// kernel refuses it by the socket's mode, and when the mode is too loose the
// server refuses it by SO_PEERCRED with a reason.
func TestPeerCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as nobody")
	}
	g := ctlGroup(t)
	gid := uint32(ctlMust(strconv.Atoi(g.Gid)))
	dir, err := os.MkdirTemp("", "govrrp-ctl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // nobody must reach the socket and the binary
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "control.test")
	ctlCopyFile(t, ctlMust(os.Executable()), bin)

	for _, tc := range []struct {
		name   string
		group  string
		mode   os.FileMode // 0: as Listen left it
		gid    uint32
		groups []uint32
		want   string
	}{
		{name: "default mode refuses nobody", groups: []uint32{gid}, want: "err control: permission denied on SOCK: run as root (or start the daemon with --socket-group"},
		{name: "group member accepted", group: g.Name, groups: []uint32{gid}, want: "ok"},
		{name: "primary group accepted", group: g.Name, gid: gid, want: "ok"},
		{name: "non-member refused by mode", group: g.Name, want: "err control: permission denied on SOCK: run as root or join group " + g.Name},
		{name: "non-member refused by peer check", group: g.Name, mode: 0o666, want: "err control: permission denied: uid 65534 is not root and not in group " + g.Name},
		{name: "no group: refused by peer check", mode: 0o666, want: "err control: permission denied: uid 65534 is not root and the daemon grants no group access (see --socket-group)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "govrrp.sock")
			s, err := ListenWithOptions(path, fixed(ctlStatus()), ListenOptions{Group: tc.group})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if tc.mode != 0 {
				os.Chmod(path, tc.mode)
			}
			if tc.gid == 0 {
				tc.gid = 65534
			}
			cmd := exec.Command(bin, "-test.run=^TestPeerCredentialsChild$", "-test.count=1")
			cmd.Dir = dir
			// atexit_sleep_ms: the race runtime otherwise lingers a second at exit.
			cmd.Env = append(os.Environ(), childEnv+"="+path, "GORACE=atexit_sleep_ms=0")
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: tc.gid, Groups: tc.groups}}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			got := ""
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if r, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
					got = r
				}
			}
			want := strings.ReplaceAll(tc.want, "SOCK", path)
			if got == "" || !strings.HasPrefix(got, want) {
				t.Errorf("child got %q\nwant      %q...\noutput:\n%s", got, want, out)
			}
		})
	}
}

func ctlCopyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
