package control

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type fixed Status

func (f fixed) Status() Status { return Status(f) }

func TestStatusRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govrrp.sock")
	want := Status{Pid: 42, Config: "/etc/keepalived/keepalived.conf", Instances: []Instance{{
		Name: "VI_1", Interface: "eth0", VRID: 51, Version: 3, State: "MASTER", Priority: 150, EffectivePriority: 150,
		VIPs: []string{"192.0.2.100/24"}, Drops: map[string]uint64{"ttl": 3},
	}}}
	s, err := Listen(path, fixed(want))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := FetchStatus(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A second daemon must not steal a live socket; a stale file left by a
// crashed one is replaced.
func TestListenLiveAndStaleSockets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govrrp.sock")
	s, err := Listen(path, fixed{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, fixed{}); err == nil || !strings.Contains(err.Error(), "in use by another govrrp") {
		t.Errorf("second Listen on a live socket: %v", err)
	}
	s.Close()

	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // the file stays, nobody listens: a crashed daemon's leftover
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket file missing: %v", err)
	}
	s, err = Listen(path, fixed{})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	s.Close()
}

func TestFetchStatusWithoutDaemonGivesHint(t *testing.T) {
	_, err := FetchStatus(filepath.Join(t.TempDir(), "none.sock"), time.Second)
	if !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("err = %v, want ErrNoDaemon", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "--socket") {
		t.Errorf("hint should be one line naming --socket: %q", msg)
	}
}
