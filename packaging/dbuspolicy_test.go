package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// The bus policy the .deb ships for enable_dbus, loaded by a private
// dbus-daemon whose default policy denies what the system bus denies:
// root may own org.keepalived.Vrrp1 and call its methods; another user may
// introspect and read properties but not call a method that acts.
func TestDBusPolicy(t *testing.T) {
	for _, bin := range []string{"dbus-daemon", "dbus-send", "setpriv"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip(err)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (owning the name as root, calling as nobody)")
	}
	policy, err := filepath.Abs("../configs/dbus/govrrp.conf")
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parent is 0700, and nobody connects to the socket.
	dir, err := os.MkdirTemp("", "govrrp-dbuspolicy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=`+sock+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"/>
  </policy>
  <include>`+policy+`</include>
</busconfig>
`), 0o644); err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command("dbus-daemon", "--nofork", "--config-file="+conf)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = daemon.Process.Kill(); _ = daemon.Wait() })
	addr := "unix:path=" + sock
	conn := connect(t, addr)
	defer conn.Close()
	reply, err := conn.RequestName("org.keepalived.Vrrp1", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("root cannot own org.keepalived.Vrrp1: reply %v, %v", reply, err)
	}
	for _, tc := range []struct {
		asNobody bool
		method   string
		denied   bool
	}{
		{false, "org.keepalived.Vrrp1.Vrrp.PrintData", false},
		{true, "org.keepalived.Vrrp1.Vrrp.PrintData", true},
		{true, "org.keepalived.Vrrp1.Vrrp.ReloadConfig", true},
		{true, "org.freedesktop.DBus.Properties.GetAll string:org.keepalived.Vrrp1.Vrrp", false},
		{true, "org.freedesktop.DBus.Properties.Set string:org.keepalived.Vrrp1.Instance string:Name variant:string:x", true},
		{true, "org.freedesktop.DBus.Introspectable.Introspect", false},
	} {
		args := append([]string{"--system", "--print-reply", "--reply-timeout=2000", "--dest=org.keepalived.Vrrp1", "/org/keepalived/Vrrp1/Vrrp"}, strings.Fields(tc.method)...)
		cmd := exec.Command("dbus-send", args...)
		if tc.asNobody {
			cmd = exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "dbus-send"}, args...)...)
		}
		cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+addr)
		out, _ := cmd.CombinedOutput()
		// The test's connection exports nothing, so an allowed call is
		// answered with an error too, but never AccessDenied.
		denied := strings.Contains(string(out), "AccessDenied")
		if denied != tc.denied {
			t.Errorf("nobody=%v %s: denied %v, want %v\n%s", tc.asNobody, tc.method, denied, tc.denied, out)
		}
	}
}

// connect dials the private bus, retrying while dbus-daemon starts.
func connect(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := dbus.Connect(addr)
		if err == nil {
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
