package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/govrrp/govrrp/internal/track"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// disable_local_igmp: the kernel sends IGMP membership reports for the
// link-local groups 224.0.0.0/24 (VRRP's 224.0.0.18) unless
// net.ipv4.igmp_link_local_mcast_reports is 0 (Linux 4.3+); switches must
// flood those groups anyway (RFC 4541), so the reports are noise.
//
// What keepalived 2.2.7 does, observed with strace -e openat,read,write
// and tcpdump in a namespace (the sysctl is per network namespace):
//   - at start, before its sockets join 224.0.0.18, it reads the sysctl
//     and writes "0" only if it read something else;
//   - at stop, after its sockets are closed, it writes back "1" only if it
//     changed it (started with the sysctl already 0, it never writes);
//   - a reload changes nothing, whichever way the keyword moves;
//   - without the keyword it never opens the file, and two IGMPv3 reports
//     for 224.0.0.18 go out on join (and two on leave at stop); with it,
//     none.
//
// govrrp does the same. A kill -9 leaves the sysctl at 0 for both.

// igmpLLMReports is the sysctl under /proc/sys.
const igmpLLMReports = "net/ipv4/igmp_link_local_mcast_reports"

// localIGMP is the loop's record of the sysctl. procSys "" (daemon tests
// not about it) leaves the sysctl alone.
type localIGMP struct {
	procSys string
	decided bool   // the start-up apply has run
	wanted  bool   // disable_local_igmp at start-up
	restore string // the value read at start, written back at stop; "": none
}

// useSystemIGMP points the daemon at the real sysctl and returns what
// restores it at exit (Run defers it, so it runs after the sockets left
// their groups).
func (d *Daemon) useSystemIGMP() func() {
	d.igmp.procSys = "/proc/sys"
	return d.restoreLocalIGMP
}

// applyLocalIGMP sets the sysctl at start-up, before any socket joins its
// group; on reload a change is only reported (keepalived acts at start).
func (d *Daemon) applyLocalIGMP(cfg *kaconf.Config, startup bool) {
	st := &d.igmp
	want := cfg != nil && cfg.Global.DisableLocalIGMP
	if !startup || st.decided {
		if want != st.wanted {
			d.log.Warn("disable_local_igmp changed on reload: takes effect at the next start, as in keepalived 2.2.7", "now", want, "running", st.wanted)
		}
		return
	}
	st.decided, st.wanted = true, want
	if !want || st.procSys == "" {
		return
	}
	path := filepath.Join(st.procSys, igmpLLMReports)
	old, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			d.log.Error("disable_local_igmp: this kernel has no "+igmpLLMReports+" (Linux 4.3+): IGMP reports for 224.0.0.18 still go out", "err", err)
		} else {
			d.log.Error("disable_local_igmp: cannot read the sysctl", "path", path, "err", err)
		}
		return
	}
	was := strings.TrimSpace(string(old))
	if was == "0" {
		return // already off: nothing to restore, as keepalived
	}
	if err := os.WriteFile(path, []byte("0"), 0o644); err != nil {
		d.log.Error("disable_local_igmp: cannot write the sysctl: IGMP reports for 224.0.0.18 still go out", "path", path, "err", err)
		return
	}
	st.restore = was
	d.log.Info("disable_local_igmp: link-local IGMP reports off", "sysctl", igmpLLMReports, "was", was)
}

// restoreLocalIGMP writes back the value start-up replaced.
func (d *Daemon) restoreLocalIGMP() {
	st := &d.igmp
	if st.restore == "" || st.procSys == "" {
		return
	}
	path := filepath.Join(st.procSys, igmpLLMReports)
	if err := os.WriteFile(path, []byte(st.restore), 0o644); err != nil {
		d.log.Error("disable_local_igmp: cannot restore the sysctl", "path", path, "value", st.restore, "err", err)
		return
	}
	st.restore = ""
}

// applyProcessMonitorBuf is process_monitor_rcv_bufs[_force]: the receive
// buffer of the process events connector sockets (track_process) opened
// from now on. It lives beside disable_local_igmp as the other process-wide
// global_defs knob of the same issue; keepalived sets it right after bind.
func applyProcessMonitorBuf(cfg *kaconf.Config) {
	if cfg == nil {
		return
	}
	track.SetProcessMonitorReceiveBuffer(clampBuf(cfg.Global.ProcessMonRcvBufs), cfg.Global.ProcessMonRcvBufsForce)
}
