package daemon

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// A script in a directory anyone may write to would let any local user run
// code as root: with enable_script_security govrrp refuses to start, naming
// the vrrp_script's line (keepalived disables the script instead, so its
// failure would never move the VIP).
func TestScriptSecurityRefusesUnsafeScript(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: the check is about scripts run as root")
	}
	dir := t.TempDir()
	unsafeDir := filepath.Join(dir, "open")
	if err := os.Mkdir(unsafeDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(unsafeDir, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	script := filepath.Join(unsafeDir, "check.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := "global_defs {\n    enable_script_security\n    script_user root\n}\n" +
		"vrrp_script chk {\n    script \"" + script + "\"\n}\n" +
		strings.Replace(twoNodeConfFor("MASTER", 150), "%s", "track_script {\n chk\n }", 1)
	cfg := loadConf(t, conf)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := systemTrackers(log, cfg, []trackKey{{track.KindScript, "chk"}})
	if err == nil {
		t.Fatal("an unsafe script was accepted with enable_script_security")
	}
	for _, want := range []string{"keepalived.conf:5:1: vrrp_script chk", "enable_script_security", unsafeDir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}

	// Without enable_script_security keepalived runs it (with a warning), and
	// so does govrrp.
	cfg = loadConf(t, strings.Replace(conf, "    enable_script_security\n", "", 1))
	if _, err := systemTrackers(log, cfg, []trackKey{{track.KindScript, "chk"}}); err != nil {
		t.Errorf("without enable_script_security: %v", err)
	}
}

// With enable_script_security and no user to run scripts as, keepalived
// 2.2.7 drops the scripts (the VIP then never moves); govrrp refuses and
// says what to set.
func TestScriptSecurityWithoutScriptUser(t *testing.T) {
	r := &commandResolver{security: true, defaultWarn: "no keepalived_script user; scripts run as root",
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_, _, err := r.resolve("/bin/true", kaconf.RunAs{})
	if err == nil || !strings.Contains(err.Error(), "set script_user") {
		t.Fatalf("err = %v, want a refusal naming script_user", err)
	}
	// A script with a user of its own is fine.
	if _, cred, err := r.resolve("/bin/true", kaconf.RunAs{User: "nobody"}); err != nil || cred == nil || cred.User != "nobody" {
		t.Errorf("user nobody: cred %+v, err %v", cred, err)
	}
	// Without security the warning is logged and the script runs as root.
	r.security = false
	if argv, cred, err := r.resolve("true", kaconf.RunAs{}); err != nil || cred != nil || argv[0] != "/usr/bin/true" && argv[0] != "/bin/true" {
		t.Errorf("argv %q cred %+v err %v; want true found through PATH, run as the daemon", argv, cred, err)
	}
}

// A notify script that cannot be found is refused at start-up with the
// line, not discovered at the first transition.
func TestNotifyScriptMissing(t *testing.T) {
	cfg := loadConf(t, strings.Replace(twoNodeConfFor("BACKUP", 100), "%s", "notify_master \"/nonexistent/notify.sh arg\"", 1))
	_, err := notifyConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "keepalived.conf:1:1: vrrp_instance VI_1 notify_master") {
		t.Fatalf("err = %v, want the instance's position and the keyword", err)
	}
}

// notify_priority_changes alone (no script) still writes FIFO lines, so the
// instance is kept in the notify configuration.
func TestNotifyConfigKeepsPriorityChanges(t *testing.T) {
	cfg := loadConf(t, "global_defs {\n    vrrp_notify_fifo /run/govrrp-test.fifo\n}\n"+
		strings.Replace(twoNodeConfFor("BACKUP", 100), "%s", "notify_priority_changes", 1))
	nc, err := notifyConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if len(nc.Instances) != 1 || !nc.Instances[0].PriorityChanges || len(nc.Fifos) != 1 || nc.Fifos[0].Path != "/run/govrrp-test.fifo" {
		t.Errorf("notify config %+v", nc)
	}
}

// twoNodeConfFor is twoNodeConf with its state and priority filled in and
// the extra line left as %s.
func twoNodeConfFor(state string, prio int) string {
	s := strings.Replace(twoNodeConf, "state %s", "state "+state, 1)
	s = strings.Replace(s, "priority %d", "priority "+strconv.Itoa(prio), 1)
	return strings.Replace(s, "advert_int %s", "advert_int 1", 1)
}
