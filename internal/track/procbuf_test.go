package track

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProcessMonitorRcvBufs: process_monitor_rcv_bufs sizes the process
// events connector socket as keepalived 2.2.7 does (strace: SO_RCVBUF with
// the value, or SO_RCVBUFFORCE with _force, right after bind). The kernel
// doubles what is set and caps SO_RCVBUF at rmem_max; the reading is the
// socket's own SO_RCVBUF. Without the keyword govrrp keeps its 1 MiB.
func TestProcessMonitorRcvBufs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (SO_RCVBUFFORCE)")
	}
	raw, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skip(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { SetProcessMonitorReceiveBuffer(0, false) })
	small := min(300_000, rmemMax)
	for _, tc := range []struct {
		name  string
		size  int
		force bool
		want  int
	}{
		{name: "default", want: 2 * procConnRcvBuf},
		{name: "below rmem_max", size: small, want: 2 * small},
		{name: "past rmem_max without force: capped", size: rmemMax + 1_000_000, want: 2 * rmemMax},
		{name: "past rmem_max with force", size: rmemMax + 1_000_000, force: true, want: 2 * (rmemMax + 1_000_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			SetProcessMonitorReceiveBuffer(tc.size, tc.force)
			f, err := procConnSocket()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rc, err := f.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var got int
			var gerr error
			if err := rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil || gerr != nil {
				t.Fatal(err, gerr)
			}
			if got != tc.want {
				t.Errorf("SO_RCVBUF %d, want %d (rmem_max %d)", got, tc.want, rmemMax)
			}
		})
	}
}
