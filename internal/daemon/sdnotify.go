package daemon

import (
	"fmt"
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

// sdStatus updates the one-line status after a state change.
func (d *Daemon) sdStatus() {
	if d.sdActive {
		d.sdNotify("STATUS=" + d.statusLine())
	}
}

// statusLine is "2 instances: VI_1 MASTER, VI_2 BACKUP".
func (d *Daemon) statusLine() string {
	parts := make([]string, 0, len(d.instances))
	for _, in := range d.instances {
		parts = append(parts, in.name+" "+in.machine.State().String())
	}
	noun := "instances"
	if len(parts) == 1 {
		noun = "instance"
	}
	return fmt.Sprintf("%d %s: %s", len(parts), noun, strings.Join(parts, ", "))
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
