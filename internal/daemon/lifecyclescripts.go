package daemon

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/govrrp/govrrp/internal/scriptproc"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// global_defs startup_script and shutdown_script, run as keepalived 2.2.7
// runs them (observed, internal/interop/mail_test.go): the start-up script
// once, before any instance starts (no socket, no VIP yet), waited for; the
// shutdown script once, after every instance has stopped and its VIPs are
// gone. Each is resolved like a notify script (its own USER [GROUP], else
// script_user, enable_script_security checks), gets the timeout (default
// 10 s) and is then killed with its process group; the daemon goes on
// either way, as keepalived does. Neither runs on reload.

// defaultLifecycleTimeout is keepalived's startup/shutdown_script_timeout.
const defaultLifecycleTimeout = 10 * time.Second

// lifecycleKill is how long a timed-out script's group has after SIGTERM
// before SIGKILL.
const lifecycleKill = time.Second

// runLifecycleScript runs the startup_script or shutdown_script (keyword)
// of cfg, if any, and waits for it within its timeout.
func (d *Daemon) runLifecycleScript(cfg *kaconf.Config, keyword string) {
	cmd, timeout := cfg.Global.StartupScript, cfg.Global.StartupScriptTimeout
	if keyword == "shutdown_script" {
		cmd, timeout = cfg.Global.ShutdownScript, cfg.Global.ShutdownScriptTimeout
	}
	if cmd == "" {
		return
	}
	if timeout <= 0 {
		timeout = defaultLifecycleTimeout
	}
	r, err := newCommandResolver(cfg, d.log)
	if err != nil {
		d.log.Error(keyword+" not run", "err", err)
		return
	}
	argv, cred, err := r.resolve(cmd, cfg.Global.RunAs[keyword])
	if err != nil {
		d.log.Error(keyword+" not run", "script", cmd, "err", err)
		return
	}
	var sc *scriptproc.Credential
	if cred != nil {
		sc = &scriptproc.Credential{Uid: cred.Uid, Gid: cred.Gid, Groups: cred.Groups}
	}
	d.log.Info("running "+keyword, "script", cmd, "timeout", timeout)
	err = runWithTimeout(argv, sc, timeout)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		d.log.Warn(keyword+" timed out; killed", "script", cmd, "timeout", timeout)
	case err != nil:
		d.log.Warn(keyword+" failed", "script", cmd, "err", err)
	default:
		d.log.Info(keyword + " succeeded")
	}
}

// runWithTimeout starts argv and reaps it; after timeout its process group
// gets SIGTERM, then SIGKILL, and the result is context.DeadlineExceeded.
func runWithTimeout(argv []string, cred *scriptproc.Credential, timeout time.Duration) error {
	c := scriptproc.Command(argv, cred)
	if err := scriptproc.Start(c); err != nil {
		return err
	}
	done := make(chan struct{})
	timedOut := make(chan bool, 1)
	go func() {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-done:
			timedOut <- false
			return
		case <-t.C:
		}
		scriptproc.KillGroup(c.Process.Pid, syscall.SIGTERM)
		k := time.NewTimer(lifecycleKill)
		defer k.Stop()
		select {
		case <-done:
		case <-k.C:
			scriptproc.KillGroup(c.Process.Pid, syscall.SIGKILL)
		}
		timedOut <- true
	}()
	err := scriptproc.Wait(c)
	close(done)
	if <-timedOut {
		return context.DeadlineExceeded
	}
	return err
}
