package netlab

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// AwaitAsleep polls /proc/PID/syscall (every millisecond, at most within)
// until process pid sits in nanosleep or clock_nanosleep. A test that
// inspects a script's descriptors once it has exec'd `sleep` must wait for
// this, not for its comm or cmdline: those change at exec, while the
// dynamic loader and sleep's locale set-up still have libc.so.6 or
// /etc/locale.alias open for a moment.
func AwaitAsleep(pid int, within time.Duration) error {
	asleep := []string{strconv.Itoa(unix.SYS_NANOSLEEP), strconv.Itoa(unix.SYS_CLOCK_NANOSLEEP)}
	path := "/proc/" + strconv.Itoa(pid) + "/syscall"
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		last = strings.TrimSpace(string(b))
		if nr, _, _ := strings.Cut(last, " "); slices.Contains(asleep, nr) {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("process %d not asleep after %v: %s %q", pid, within, path, last)
}
