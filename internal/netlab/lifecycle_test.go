package netlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDoSwitchesNamespace(t *testing.T) {
	t.Parallel()
	Require(t, "ip")
	l := New(t)
	seg := l.AddSegment("lan", lan4, netip.Prefix{})
	h := l.AddHost("d")
	// An interface name nobody has in the root namespace.
	ifname := "gvdo" + l.Prefix()[3:9]
	if err := h.Connect(seg, ifname, netip.MustParsePrefix("192.0.2.31/24"), netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	var inside []string
	err := h.Do(func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			inside = append(inside, i.Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"lo", ifname}, inside); diff != "" {
		t.Errorf("interfaces inside Do (-want +got):\n%s", diff)
	}
	if _, err := net.InterfaceByName(ifname); err == nil {
		t.Errorf("%s visible outside Do: thread not switched back", ifname)
	}
	sentinel := errors.New("from fn")
	if err := h.Do(func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("Do error = %v, want %v", err, sentinel)
	}
}

// TestHelperLab is not a test on its own: TestLabDiesWithTest re-runs the
// test binary with it to build a lab, start a process and then die.
func TestHelperLab(t *testing.T) {
	out, mode := os.Getenv("NETLAB_HELPER_OUT"), os.Getenv("NETLAB_HELPER_MODE")
	if out == "" {
		t.Skip("helper process for TestLabDiesWithTest")
	}
	l := New(t)
	h := l.AddHost("victim")
	p, err := h.Start("sleeper", "sleep", "300")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, fmt.Appendf(nil, "%s %d %s", l.Prefix(), p.Pid(), l.Dir()), 0o644); err != nil {
		t.Fatal(err)
	}
	switch mode {
	case "panic":
		panic("netlab helper: deliberate panic")
	case "fatal":
		t.Fatal("netlab helper: deliberate failure")
	case "exit": // no cleanup at all: only Pdeathsig saves us
		os.Exit(3)
	}
}

func TestLabDiesWithTest(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "sleep")
	tests := []struct {
		mode      string
		cleanedUp bool // the lab's own Cleanup ran and deleted its namespaces
	}{
		{"panic", true},
		{"fatal", true},
		// No Cleanup: Pdeathsig kills the process; namespaces stay until the
		// next lab's sweepStale (maybe a parallel test's, so not asserted).
		{"exit", false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "lab")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLab$", "-test.count=1")
			cmd.Env = append(os.Environ(), "NETLAB_HELPER_OUT="+out, "NETLAB_HELPER_MODE="+tt.mode)
			log, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("helper succeeded, want it to die:\n%s", log)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("helper wrote nothing: %v\n%s", err, log)
			}
			var prefix, dir string
			var pid int
			if _, err := fmt.Sscanf(string(b), "%s %d %s", &prefix, &pid, &dir); err != nil {
				t.Fatalf("helper output %q: %v", b, err)
			}
			left, err := listNamespaces(prefix)
			t.Cleanup(func() { // what the dead helper could not clean up
				_ = sweepPrefix(prefix)
				if strings.HasPrefix(dir, os.TempDir()+"/gv-") {
					_ = os.RemoveAll(dir)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.cleanedUp && len(left) > 0 {
				t.Errorf("namespaces left after the helper's Cleanup: %v", left)
			}
			err = WaitFor(context.Background(), 10*time.Second, 10*time.Millisecond, func() (bool, error) {
				return !alive(pid, "sleep"), fmt.Errorf("sleep (pid %d) still alive", pid)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
}

// alive reports whether pid runs (not a zombie) with a command line
// containing cmd; a reused pid running something else does not count.
func alive(pid int, cmd string) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cl, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.Contains(string(cl), cmd)
}

// BenchmarkTwoHostLab measures building and tearing down the usual lab:
// a segment and two connected hosts.
func BenchmarkTwoHostLab(b *testing.B) {
	Require(b, "ip")
	for b.Loop() {
		l, err := NewStandalone("bench")
		if err != nil {
			b.Fatal(err)
		}
		seg, err := l.AddSegmentE("lan", lan4, lan6)
		if err != nil {
			b.Fatal(err)
		}
		for i := range 2 {
			h, err := l.AddHostE(fmt.Sprintf("h%d", i))
			if err != nil {
				b.Fatal(err)
			}
			v4 := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(41 + i)}), 24)
			if err := h.Connect(seg, "eth0", v4, netip.Prefix{}); err != nil {
				b.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSweepStaleLab(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "true")
	stale, err := NewStandalone("stale")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stale.Close() })
	if _, err := stale.AddHostE("orphan"); err != nil {
		t.Fatal(err)
	}
	// Pretend the owner died: a finished child's pid is (almost surely) free.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	owner := filepath.Join(stale.Dir(), ownerFile)
	if err := os.WriteFile(owner, []byte(strconv.Itoa(dead.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	live := New(t) // sweeps on creation
	left, err := listNamespaces(stale.Prefix())
	if err != nil {
		t.Fatal(err)
	}
	_, statErr := os.Stat(stale.Dir())
	got := []bool{len(left) == 0, errors.Is(statErr, os.ErrNotExist), dirExists(live.Dir())}
	if diff := cmp.Diff([]bool{true, true, true}, got); diff != "" {
		t.Errorf("[stale ns gone, stale dir gone, live dir kept] (-want +got):\n%s", diff)
	}
	if err := stale.Close(); err != nil {
		t.Errorf("Close of a swept lab: %v", err)
	}
}

func dirExists(d string) bool {
	st, err := os.Stat(d)
	return err == nil && st.IsDir()
}
