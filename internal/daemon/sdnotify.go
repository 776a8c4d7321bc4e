package daemon

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// systemd's notify protocol (sd_notify(3)): READY=1 once the first
// configuration is applied and the sockets are open, RELOADING=1 and READY=1
// around a reload, STOPPING=1 at stop, STATUS= with who is master, and
// WATCHDOG=1 from the loop itself, so a wedged loop stops the pings and
// systemd restarts the daemon. Without NOTIFY_SOCKET all of it is a no-op.

// sdNotify sends one message; failures are logged once, never fatal.
func (d *Daemon) sdNotify(state string) {
	if _, err := sd.SdNotify(false, state); err != nil && !d.sdFailed {
		d.sdFailed = true
		d.log.Warn("sd_notify failed", "err", err)
	}
}

// sdReady tells systemd the daemon serves, with the status line.
func (d *Daemon) sdReady() { d.sdNotify("READY=1\nSTATUS=" + d.statusLine()) }

// sdReloading starts a reload; systemd wants the monotonic time with it.
func (d *Daemon) sdReloading() {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	d.sdNotify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", ts.Nano()/1000))
}

// sdStatus notes that the one-line status changed. The line lists every
// instance, so it is not rebuilt per state change: 255 instances flapping
// together would build and send 255 lines of 255 entries (6.7 % of a
// flapping backup's CPU in the issue 11 profile). The loop sends it when
// its queue runs empty (sdFlushStatus), at most statusMaxDelay late.
func (d *Daemon) sdStatus() {
	if d.sdActive && d.sdDirty.IsZero() {
		d.sdDirty = time.Now()
	}
}

// statusMaxDelay bounds how long a loop that never runs idle holds the
// status line back.
const statusMaxDelay = time.Second

// sdFlushStatus sends the pending status line when the loop has nothing
// queued (idle) or it has waited statusMaxDelay. Without NOTIFY_SOCKET
// nothing is built.
func (d *Daemon) sdFlushStatus(idle bool) {
	if d.sdDirty.IsZero() || (!idle && time.Since(d.sdDirty) < statusMaxDelay) {
		return
	}
	d.sdDirty = time.Time{}
	if os.Getenv("NOTIFY_SOCKET") != "" {
		d.sdNotify("STATUS=" + d.statusLine())
	}
}

// statusLine is "2 instances: VI_1 MASTER, VI_2 BACKUP".
func (d *Daemon) statusLine() string {
	var b strings.Builder
	b.Grow(24 + 20*len(d.instances))
	b.WriteString(strconv.Itoa(len(d.instances)))
	if len(d.instances) == 1 {
		b.WriteString(" instance: ")
	} else {
		b.WriteString(" instances: ")
	}
	for i, in := range d.instances {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(in.name)
		b.WriteByte(' ')
		b.WriteString(in.machine.State().String())
	}
	return b.String()
}

// watchdogEvery is how often the loop pings: half of WatchdogSec, as
// sd_watchdog_enabled(3) advises; 0 when systemd watches nothing.
func watchdogEvery() time.Duration {
	every, err := sd.SdWatchdogEnabled(false)
	if err != nil || every <= 0 {
		return 0
	}
	return every / 2
}
