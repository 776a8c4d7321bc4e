package interop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// Notify extras on the FIFO, keepalived 2.2.7 beside govrrp with the same
// file: a sync group's notify_priority_changes gives its members
// INSTANCE ... MASTER_PRIORITY lines, and fifo_write_vrrp_states_on_reload
// writes GROUP "G1" MASTER 0 on every reload (no INSTANCE state lines).

const notifyExtraConf = `global_defs {
    router_id nx_%[1]s
    vrrp_notify_fifo %[2]s
    fifo_write_vrrp_states_on_reload
}
track_file TF {
    file %[3]s
    weight 1
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
    notify_priority_changes true
    sync_group_tracking_weight
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    track_file {
        TF
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.101/24
    }
}
`

// fifoReader collects what the daemon writes to a FIFO. It holds the FIFO
// open for writing too, so a daemon that reopens it on reload never sees
// it without a reader, and a read never ends at EOF.
type fifoReader struct {
	mu  sync.Mutex
	buf strings.Builder
	f   *os.File
}

func newFifoReader(t *testing.T, path string) *fifoReader {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open fifo: %v", err)
	}
	r := &fifoReader{f: f}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			r.mu.Lock()
			r.buf.Write(b[:n])
			r.mu.Unlock()
			if err != nil {
				return // closed by the cleanup
			}
		}
	}()
	t.Cleanup(func() { f.Close(); <-done })
	return r
}

// text is everything read so far.
func (r *fifoReader) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// waitFor polls until the text after offset from has every line in want.
func (r *fifoReader) waitFor(timeout time.Duration, from int, want ...string) (string, error) {
	var got string
	err := netlab.WaitFor(context.Background(), timeout, 50*time.Millisecond, func() (bool, error) {
		got = r.text()[from:]
		for _, w := range want {
			if !strings.Contains(got, w+"\n") {
				return false, fmt.Errorf("FIFO has %q, want %q", got, w)
			}
		}
		return true, nil
	})
	return got, err
}

func TestNotifyExtrasInterop(t *testing.T) {
	t.Parallel()
	for _, im := range []impl{keepalived, govrrp} {
		t.Run(im.short(), func(t *testing.T) { runNotifyExtras(t, im) })
	}
}

func runNotifyExtras(t *testing.T, im impl) {
	if testing.Short() {
		t.Skip("interop: integration test skipped in -short mode")
	}
	netlab.Require(t, "ip", "keepalived")
	lab := netlab.New(t)
	lan := lab.AddSegment("lan", lanV4, lanV6)
	h := lab.AddHost("a")
	if err := h.Connect(lan, ifname, addrA4, addrA6); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo, tf := filepath.Join(dir, "fifo"), filepath.Join(dir, "tf")
	if err := os.WriteFile(tf, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newFifoReader(t, fifo)
	n := &node{t: t, name: "a", impl: im, host: h, ip4: addrA4.Addr()}
	must := func(err error, what string) {
		t.Helper()
		if err != nil {
			fail(t, fmt.Sprintf("%s (%s): %v", what, im, err), n)
		}
	}
	startMulti(n, fmt.Sprintf(notifyExtraConf, im.short(), fifo, tf))
	t.Cleanup(func() { _ = n.kill() })

	_, err := r.waitFor(startupMargin+masterDown, 0, `INSTANCE "VI_1" MASTER 100`, `INSTANCE "VI_2" MASTER 100`, `GROUP "G1" MASTER 0`)
	must(err, "start-up lines")

	// The tracked file's value raises VI_1's priority: the group's
	// notify_priority_changes gives the member's line, no group line.
	from := len(r.text())
	must(os.WriteFile(tf, []byte("5\n"), 0o644), "write track file")
	got, err := r.waitFor(masterDown, from, `INSTANCE "VI_1" MASTER_PRIORITY 105`)
	must(err, "priority line")
	if strings.Contains(got, `GROUP "G1" `) {
		t.Errorf("%s wrote a group line for a priority change: %q", im, got)
	}

	// A reload writes the group's state; keepalived 2.2.7 writes no
	// instance state lines for it, but a BACKUP_PRIORITY line for VI_1 (its
	// tracks move its priority and it notifies priority changes), even
	// though VI_1 is master; govrrp writes the same.
	from = len(r.text())
	must(n.signal(syscall.SIGHUP), "reload")
	got, err = r.waitFor(masterDown, from, `INSTANCE "VI_1" BACKUP_PRIORITY 105`, `GROUP "G1" MASTER 0`)
	must(err, "reload lines")
	for _, no := range []string{`INSTANCE "VI_1" MASTER `, `INSTANCE "VI_2" MASTER `} {
		if strings.Contains(got, no) {
			t.Errorf("%s wrote %q on reload: %q", im, no, got)
		}
	}
	t.Logf("%s on reload: %q", im, got)

	must(n.signal(syscall.SIGTERM), "stop")
	must(n.waitExit(exitTimeout), "exit")
	if _, err := os.Stat(fifo); errors.Is(err, os.ErrNotExist) {
		t.Logf("%s removed the FIFO at stop", im)
	}
}
