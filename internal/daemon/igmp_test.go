package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/internal/transport"
)

const igmpConf = `global_defs {
    %s
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

// TestDisableLocalIGMP: the sysctl as keepalived 2.2.7 treats it (strace in
// a namespace): written "0" before the first socket opens (and joins
// 224.0.0.18) only when it was not 0, left alone by a reload either way,
// written back at stop only when govrrp changed it; never touched without
// the keyword. Values end in a newline as the test writes them, so any
// write by the daemon (which writes "0" or "1" bare) shows.
func TestDisableLocalIGMP(t *testing.T) {
	for _, tt := range []struct {
		name, keyword, reloadTo string
		initial                 string
		atListen, afterReload   string
		afterStop               string
	}{
		{name: "on, was 1", keyword: "disable_local_igmp", reloadTo: "router_id x", initial: "1\n",
			atListen: "0", afterReload: "0", afterStop: "1"},
		{name: "on, was 0", keyword: "disable_local_igmp", reloadTo: "router_id x", initial: "0\n",
			atListen: "0\n", afterReload: "0\n", afterStop: "0\n"},
		{name: "off, added on reload", keyword: "router_id x", reloadTo: "disable_local_igmp", initial: "1\n",
			atListen: "1\n", afterReload: "1\n", afterStop: "1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				procSys := t.TempDir()
				path := filepath.Join(procSys, igmpLLMReports)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.initial), 0o644); err != nil {
					t.Fatal(err)
				}
				read := func() string {
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					return string(b)
				}
				var mu sync.Mutex
				var atListen []string
				seg := transport.NewSegment()
				n := newNode(t, seg, "192.0.2.11", fmt.Sprintf(igmpConf, tt.keyword), func(dp *deps) {
					listen := dp.listen
					dp.listen = func(c transport.Config) (transport.Conn, error) {
						mu.Lock()
						atListen = append(atListen, read())
						mu.Unlock()
						return listen(c)
					}
				})
				restore := n.d.useSystemIGMP()
				n.d.igmp.procSys = procSys
				n.start()
				time.Sleep(5 * time.Second)
				if got := n.state(); got != "MASTER" {
					t.Fatalf("state %s, want MASTER", got)
				}
				mu.Lock()
				if len(atListen) == 0 || atListen[0] != tt.atListen {
					t.Errorf("sysctl when the first socket opened: %q, want %q", atListen, tt.atListen)
				}
				mu.Unlock()
				if err := os.WriteFile(n.confPath, []byte(fmt.Sprintf(igmpConf, tt.reloadTo)), 0o644); err != nil {
					t.Fatal(err)
				}
				n.d.events <- loopEvent{do: func() { n.d.reload("test") }}
				n.state()
				if got := read(); got != tt.afterReload {
					t.Errorf("after reload: %q, want %q", got, tt.afterReload)
				}
				n.stop(t)
				restore() // as Run's defer, after the loop has closed its sockets
				if got := read(); got != tt.afterStop {
					t.Errorf("after stop: %q, want %q", got, tt.afterStop)
				}
			})
		})
	}
}

// TestProcessMonitorRcvBufsApplied: process_monitor_rcv_bufs[_force] reach
// the process tracker's connector setting at start-up, and a reload that
// drops them restores govrrp's default for the next connector socket.
func TestProcessMonitorRcvBufsApplied(t *testing.T) {
	t.Cleanup(func() { track.SetProcessMonitorReceiveBuffer(0, false) })
	synctest.Test(t, func(t *testing.T) {
		n := newNode(t, transport.NewSegment(), "192.0.2.11", fmt.Sprintf(igmpConf, "process_monitor_rcv_bufs 500000\n    process_monitor_rcv_bufs_force"), nil)
		n.start()
		time.Sleep(time.Second)
		n.state()
		if size, force := track.ProcessMonitorReceiveBuffer(); size != 500000 || !force {
			t.Errorf("after start-up: %d force=%v, want 500000 force=true", size, force)
		}
		if err := os.WriteFile(n.confPath, []byte(fmt.Sprintf(igmpConf, "router_id x")), 0o644); err != nil {
			t.Fatal(err)
		}
		n.d.events <- loopEvent{do: func() { n.d.reload("test") }}
		n.state()
		if size, force := track.ProcessMonitorReceiveBuffer(); size != 0 || force {
			t.Errorf("after reload without the keyword: %d force=%v, want the default (0)", size, force)
		}
		n.stop(t)
	})
}
