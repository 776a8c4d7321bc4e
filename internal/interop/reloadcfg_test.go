package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// TestReloadTimeFileAndPidDir runs keepalived 2.2.7 and govrrp side by side
// (host a, host b) on files with `instance NAME` and a global_defs with
// reload_time_file, reload_file and config_save_dir, and checks what a user's
// tooling sees, the same for both:
//   - /run/keepalived/keepalived_NAME.pid and vrrp_NAME.pid name a live
//     process of the daemon (keepalived: parent and VRRP child; govrrp: itself);
//   - a time written to the reload_time_file two seconds ahead reloads the
//     daemon: the file is removed and config_save_dir gets the post-reload
//     state (keepalived_vrrp.PID.1.post);
//   - after SIGTERM both pid files are gone.
//
// keepalived runs without -p/-r here (its pid paths are the point); NAME
// carries the lab's prefix so parallel runs never share a file.
func TestReloadTimeFileAndPidDir(t *testing.T) {
	t.Parallel()
	lab, a, b := twoHosts(t, keepalived, govrrp)
	for i, n := range []*node{a, b} {
		name := fmt.Sprintf("%s_%s", strings.ReplaceAll(lab.Prefix(), "-", "_"), n.impl)
		dir := filepath.Join(lab.Dir(), string(n.impl))
		if err := os.MkdirAll(filepath.Join(dir, "rt"), 0o755); err != nil {
			t.Fatal(err)
		}
		timeFile := filepath.Join(dir, "rt", "reload.time")
		conf := fmt.Sprintf(`instance %s
global_defs {
    router_id rc_%s
    reload_time_file %s
    reload_file %s
    config_save_dir %s
}
vrrp_instance VI_1 {
    state BACKUP
    interface %s
    virtual_router_id %d
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.%d/24
    }
}
`, name, n.name, timeFile, filepath.Join(dir, "reloading"), filepath.Join(dir, "save"), ifname, 61+i, 161+i)
		file := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		var p *netlab.Proc
		var err error
		switch n.impl {
		case keepalived:
			p, err = n.host.Start("keepalived", "/usr/sbin/keepalived", "-n", "-l", "-D", "-P", "-f", file)
		default:
			p, err = n.host.Start("govrrp", govrrpBin(t), "run", "-f", file,
				"--socket", filepath.Join(dir, "govrrp.sock"), "--pid-file", filepath.Join(dir, "govrrp.pid"))
		}
		if err != nil {
			t.Fatalf("%s: %v", n.impl, err)
		}
		t.Cleanup(func() { p.Kill() })
		pidFiles := []string{"/run/keepalived/keepalived_" + name + ".pid", "/run/keepalived/vrrp_" + name + ".pid"}
		wait := func(what string, within time.Duration, cond func() bool) {
			t.Helper()
			if err := netlab.WaitFor(context.Background(), within, 20*time.Millisecond, func() (bool, error) { return cond(), nil }); err != nil {
				t.Fatalf("%s: %s: %v\n%s", n.impl, what, err, p.Log())
			}
		}
		wait("pid files naming live processes", 5*time.Second, func() bool {
			for _, f := range pidFiles {
				b, err := os.ReadFile(f)
				pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
				if err != nil || perr != nil || syscall.Kill(pid, 0) != nil {
					return false
				}
			}
			return true
		})
		at := time.Now().UTC().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
		if err := os.WriteFile(timeFile, []byte(at.Format("15:04:05")+"Z\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		wait("scheduled reload done", time.Until(at)+3*time.Second, func() bool {
			_, err := os.Stat(timeFile)
			post, _ := filepath.Glob(filepath.Join(dir, "save", "keepalived_vrrp.*.1.post"))
			return os.IsNotExist(err) && len(post) == 1
		})
		if early := time.Until(at); early > 0 {
			t.Errorf("%s: reloaded %v before the time in the file", n.impl, early)
		}
		if err := p.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(10 * time.Second); err != nil {
			t.Fatalf("%s: stop: %v", n.impl, err)
		}
		for _, f := range pidFiles {
			if _, err := os.Stat(f); !os.IsNotExist(err) {
				t.Errorf("%s: %s after stop: %v, want removed", n.impl, f, err)
			}
		}
		t.Logf("%s: pid files %v; scheduled reload at %s done; pid files removed at stop", n.impl, pidFiles, at.Format("15:04:05Z"))
	}
}
