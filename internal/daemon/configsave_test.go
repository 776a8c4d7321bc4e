package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/govrrp/govrrp/internal/transport"
)

const saveConf = `global_defs {
    config_save_dir %[1]s/save
    reload_check_config %[1]s/check.log
    reload_file %[1]s/reloading
    tmp_config_directory %[1]s
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %[2]s
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

// TestReloadCheckAndSave: what keepalived 2.2.7 leaves on disk around a
// reload (configsave.go has the strace): config_save_dir gets the file as
// read at start (keepalived.conf.PID.0, 0600, in a 0700 directory it
// creates), and the state before and after each applied reload
// (keepalived_vrrp.PID.N.pre/.post); reload_check_config refuses a file
// with any reported line, a replaced value too (priority 999: keepalived -t
// exits 5), and writes the lines to its log; reload_file is gone after
// both reloads. govrrp's notices (tmp_config_directory ignored) are not
// check lines: a clean check leaves the log empty, as keepalived's.
func TestReloadCheckAndSave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		n := startNode(t, transport.NewSegment(), "192.0.2.1", fmt.Sprintf(saveConf, dir, "100"))
		defer n.stop(t)
		n.state() // start-up applied
		pid := os.Getpid()
		save := filepath.Join(dir, "save")
		if st, err := os.Stat(save); err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("config_save_dir: %v %v, want a 0700 directory", st, err)
		}
		first := filepath.Join(save, fmt.Sprintf("keepalived.conf.%d.0", pid))
		b, err := os.ReadFile(first)
		if err != nil || !strings.HasPrefix(string(b), "# "+n.confPath+"\n") || !strings.Contains(string(b), "priority 100") {
			t.Fatalf("%s: %q %v", first, b, err)
		}
		if st, _ := os.Stat(first); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", first, st.Mode().Perm())
		}

		out := reloadNode(t, n, fmt.Sprintf(saveConf, dir, "999"))
		if out.err == nil {
			t.Fatal("a reload with priority 999 was applied despite reload_check_config")
		}
		log, _ := os.ReadFile(filepath.Join(dir, "check.log"))
		if !strings.Contains(string(log), ":11:") || !strings.Contains(string(log), "999") {
			t.Errorf("check log = %q, want the priority line", log)
		}
		if _, err := os.Stat(filepath.Join(save, fmt.Sprintf("keepalived_vrrp.%d.1.pre", pid))); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("state saved for a refused reload: %v", err)
		}

		if out := reloadNode(t, n, fmt.Sprintf(saveConf, dir, "120")); out.err != nil {
			t.Fatalf("good reload refused: %v", out.err)
		}
		if log, _ := os.ReadFile(filepath.Join(dir, "check.log")); len(log) != 0 {
			t.Errorf("check log after a clean check = %q, want empty (truncated)", log)
		}
		for _, name := range []string{"keepalived_vrrp.%d.1.pre", "keepalived_vrrp.%d.1.post", "keepalived.conf.%d.1"} {
			p := filepath.Join(save, fmt.Sprintf(name, pid))
			b, err := os.ReadFile(p)
			if err != nil || len(b) == 0 {
				t.Errorf("%s: %d bytes, %v", p, len(b), err)
			}
		}
		pre, _ := os.ReadFile(filepath.Join(save, fmt.Sprintf("keepalived_vrrp.%d.1.pre", pid)))
		post, _ := os.ReadFile(filepath.Join(save, fmt.Sprintf("keepalived_vrrp.%d.1.post", pid)))
		if !strings.Contains(string(pre), "Priority = 100") || !strings.Contains(string(post), "Priority = 120") {
			t.Errorf("pre/post dumps do not show the reload's priority change:\npre:\n%s\npost:\n%s", pre, post)
		}
		if _, err := os.Stat(filepath.Join(dir, "reloading")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("reload_file after the reloads: %v, want removed", err)
		}
	})
}
