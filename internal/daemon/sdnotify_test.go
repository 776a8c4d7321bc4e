package daemon

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
)

// notifySocket is a test NOTIFY_SOCKET: it collects the daemon's
// sd_notify datagrams.
func notifySocket(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

// next returns the next message, or "" when none arrives within wait.
func next(t *testing.T, c *net.UnixConn, wait time.Duration) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// READY=1 after start-up with the status line, STATUS= on each state
// change, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a reload,
// STOPPING=1 at stop, WATCHDOG=1 at half of WATCHDOG_USEC from the loop —
// and none while the loop is blocked.
func TestSdNotify(t *testing.T) {
	c := notifySocket(t)
	t.Setenv("WATCHDOG_USEC", "400000") // pings every 200 ms
	seg := transport.NewSegment()
	conf := fmt.Sprintf(twoNodeConf, "MASTER", 150, "0.1", "version 3")
	a := startNode(t, seg, "192.0.2.11", conf)
	msgs := map[string]bool{}
	var order []string
	record := func(m string) {
		for _, line := range strings.Split(m, "\n") {
			key, _, _ := strings.Cut(line, "=")
			if !msgs[key] {
				order = append(order, key)
			}
			msgs[key] = true
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !(publishedState(a) == "MASTER" && msgs["WATCHDOG"]) && time.Now().Before(deadline) {
		if m := next(t, c, 500*time.Millisecond); m != "" {
			record(m)
			if strings.HasPrefix(m, "READY=1") && !strings.Contains(m, "STATUS=1 instance: VI_1 ") {
				t.Errorf("READY without the status line: %q", m)
			}
		}
	}
	if len(order) < 2 || order[0] != "READY" {
		t.Fatalf("first messages %v, want READY first", order)
	}
	// A status line once master.
	got := ""
	for i := 0; i < 20 && !strings.Contains(got, "VI_1 MASTER"); i++ {
		got = next(t, c, 500*time.Millisecond)
		if strings.HasPrefix(got, "STATUS=") && got != "STATUS=1 instance: VI_1 MASTER" && !strings.Contains(got, "BACKUP") {
			t.Errorf("status line %q", got)
		}
	}

	// A blocked loop sends no WATCHDOG=1.
	blocked := make(chan struct{})
	a.d.events <- loopEvent{do: func() { <-blocked }}
	for m := next(t, c, 50*time.Millisecond); m != ""; m = next(t, c, 50*time.Millisecond) {
	} // drain what was sent before the loop took the block
	if m := next(t, c, time.Second); m != "" {
		t.Errorf("while the loop is blocked for 1 s (pings every 200 ms): %q", m)
	}
	close(blocked)
	if m := next(t, c, time.Second); m != "WATCHDOG=1" {
		t.Errorf("after the loop resumed: %q, want WATCHDOG=1", m)
	}

	reply := make(chan reloadOutcome, 1)
	a.d.events <- loopEvent{reload: reply}
	if out := <-reply; out.err != nil {
		t.Fatalf("reload: %v", out.err)
	}
	var seq []string
	for m := next(t, c, 300*time.Millisecond); m != ""; m = next(t, c, 300*time.Millisecond) {
		if m != "WATCHDOG=1" {
			seq = append(seq, strings.SplitN(m, "\n", 2)[0])
			if strings.HasPrefix(m, "RELOADING=1") && !strings.Contains(m, "\nMONOTONIC_USEC=") {
				t.Errorf("RELOADING without MONOTONIC_USEC: %q", m)
			}
		}
		if len(seq) >= 2 {
			break
		}
	}
	if strings.Join(seq, " ") != "RELOADING=1 READY=1" {
		t.Errorf("around the reload: %q, want RELOADING=1 then READY=1", seq)
	}

	a.cancel()
	if err := <-a.done; err != nil {
		t.Fatal(err)
	}
	stopping := false
	for m := next(t, c, 300*time.Millisecond); m != ""; m = next(t, c, 300*time.Millisecond) {
		stopping = stopping || m == "STOPPING=1"
	}
	if !stopping {
		t.Error("no STOPPING=1 at stop")
	}
}

// publishedState is the first instance's state as the control socket sees
// it (for tests outside a synctest bubble).
func publishedState(n *node) string {
	v := n.d.view.Load()
	if v == nil || len(v.instances) == 0 {
		return ""
	}
	return v.instances[0].snapshot().State
}

// State changes handled in one burst of the loop send one STATUS= line,
// built when the queue ran empty (it lists every instance: rebuilding it
// per change cost a flapping 255-instance backup 6.7 % of its CPU).
func TestSdStatusOncePerBurst(t *testing.T) {
	c := notifySocket(t)
	seg := transport.NewSegment()
	a := startNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", ""))
	defer a.stop(t)
	deadline := time.Now().Add(10 * time.Second)
	for publishedState(a) != "MASTER" && time.Now().Before(deadline) {
		next(t, c, 100*time.Millisecond)
	}
	for m := next(t, c, 200*time.Millisecond); m != ""; m = next(t, c, 200*time.Millisecond) {
	} // drain start-up's messages

	blocked := make(chan struct{})
	a.d.events <- loopEvent{do: func() { <-blocked }}
	const changes = 10
	for range changes {
		a.d.events <- loopEvent{do: func() { a.d.sdStatus() }}
	}
	close(blocked)
	var status []string
	for m := next(t, c, 500*time.Millisecond); m != ""; m = next(t, c, 500*time.Millisecond) {
		if strings.HasPrefix(m, "STATUS=") {
			status = append(status, m)
		}
	}
	if len(status) != 1 || status[0] != "STATUS=1 instance: VI_1 MASTER" {
		t.Errorf("after %d state changes in one burst: %q, want one STATUS=1 instance: VI_1 MASTER", changes, status)
	}
}

// The status line's format, for one and for several instances.
func TestStatusLine(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1, "1 instance: VI_1 BACKUP"},
		{3, "3 instances: VI_1 BACKUP, VI_2 BACKUP, VI_3 BACKUP"},
	} {
		synctest.Test(t, func(t *testing.T) {
			a := startNode(t, transport.NewSegment(), "192.0.2.11", schedConf(1, tc.n, 100))
			var got string
			onLoop(a, func() { got = a.d.statusLine() })
			a.stop(t)
			if got != tc.want {
				t.Errorf("statusLine = %q, want %q", got, tc.want)
			}
		})
	}
}
