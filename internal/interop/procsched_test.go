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

// keepalived's process knobs on a real daemon, read from /proc as an
// operator would (chrt -p, taskset -p, /proc/PID/status, /proc/PID/limits):
// govrrp on a, keepalived 2.2.7 with the same global_defs on b, every thread
// of govrrp checked, then a reload that changes every knob. The daemons only
// advertise at 1 s: no real-time busy loop, and RLIMIT_RTTIME stays at
// keepalived's default 10 ms.

// procKnobConf is a one-instance config with extra global_defs lines.
func procKnobConf(routerID string, prio int, globals []string, extra string) string {
	return fmt.Sprintf("global_defs {\n    router_id %s\n    %s\n}\n%svrrp_instance VI_1 {\n    state BACKUP\n    interface %s\n"+
		"    virtual_router_id %d\n    priority %d\n    advert_int 1\n%s    virtual_ipaddress {\n        %s/32\n    }\n}\n",
		routerID, strings.Join(globals, "\n    "), scriptBlock(extra), ifname, vrid, prio, trackBlock(extra), vip4)
}

func scriptBlock(path string) string {
	if path == "" {
		return ""
	}
	return fmt.Sprintf("vrrp_script chk_sched {\n    script %q\n    interval 1\n}\n", path)
}

func trackBlock(path string) string {
	if path == "" {
		return ""
	}
	return "    track_script {\n        chk_sched\n    }\n"
}

// threadSched is one thread as /proc shows it.
type threadSched struct {
	tid, policy, rtprio, nice int
	cpus, comm                string
}

func (s threadSched) String() string {
	return fmt.Sprintf("%d:%s policy %d rtprio %d nice %d cpus %s", s.tid, s.comm, s.policy, s.rtprio, s.nice, s.cpus)
}

// procThreads reads every thread of pid.
func procThreads(pid int) ([]threadSched, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []threadSched
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		s, err := readSched(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // the thread ended
		}
		s.tid = tid
		out = append(out, s)
	}
	return out, nil
}

// readSched reads stat (policy field 41, rt_priority 40, nice 19), comm and
// Cpus_allowed_list of one /proc task or process directory.
func readSched(dir string) (threadSched, error) {
	var s threadSched
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return s, err
	}
	comm, err := os.ReadFile(dir + "/comm")
	if err != nil {
		return s, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return s, err
	}
	return parseSched(string(stat), string(comm), string(status))
}

func parseSched(stat, comm, status string) (threadSched, error) {
	s := threadSched{comm: strings.TrimSpace(comm), cpus: procStatusField(status, "Cpus_allowed_list")}
	f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:]) // f[0] is field 3
	if len(f) < 39 {
		return s, fmt.Errorf("short stat %q", stat)
	}
	s.nice, _ = strconv.Atoi(f[16])
	s.rtprio, _ = strconv.Atoi(f[37])
	s.policy, _ = strconv.Atoi(f[38])
	return s, nil
}

func procStatusField(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// procSummary is what an operator checks on a process.
type procSummary struct {
	threads []threadSched
	vmLck   string // VmLck
	vmRSS   string
	umask   string
	rttime  string // "Max realtime timeout" soft/hard
}

func readProcSummary(pid int) (procSummary, error) {
	var p procSummary
	var err error
	if p.threads, err = procThreads(pid); err != nil {
		return p, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	p.vmLck, p.umask = procStatusField(string(status), "VmLck"), procStatusField(string(status), "Umask")
	p.vmRSS = procStatusField(string(status), "VmRSS")
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return p, err
	}
	for _, l := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(l, "Max realtime timeout") {
			p.rttime = strings.Join(strings.Fields(l)[3:5], "/")
		}
	}
	return p, nil
}

// wantSched is the expected state of every thread and the process.
type wantSched struct {
	policy, rtprio, nice int
	cpus, comm           string
	locked               bool
	umask, rttime        string
}

// check says what differs from w, "" when nothing.
func (w wantSched) check(p procSummary) string {
	var bad []string
	for _, th := range p.threads {
		if th.policy != w.policy || th.rtprio != w.rtprio || th.nice != w.nice || th.cpus != w.cpus || th.comm != w.comm {
			bad = append(bad, "thread "+th.String())
		}
	}
	if locked := p.vmLck != "" && !strings.HasPrefix(p.vmLck, "0 "); locked != w.locked {
		bad = append(bad, "VmLck "+p.vmLck)
	}
	if p.umask != w.umask {
		bad = append(bad, "Umask "+p.umask)
	}
	if w.rttime != "" && p.rttime != w.rttime {
		bad = append(bad, "RLIMIT_RTTIME "+p.rttime)
	}
	return strings.Join(bad, "; ")
}

// waitSched polls pid until it is as w says (deadline-bounded).
func waitSched(t *testing.T, pid int, w wantSched, what string, all ...*node) procSummary {
	t.Helper()
	var p procSummary
	err := netlab.WaitFor(context.Background(), startupMargin, 20*time.Millisecond, func() (bool, error) {
		var err error
		if p, err = readProcSummary(pid); err != nil {
			return false, err
		}
		if bad := w.check(p); bad != "" {
			return false, fmt.Errorf("%s", bad)
		}
		return len(p.threads) > 0, nil
	})
	if err != nil {
		fail(t, fmt.Sprintf("%s (pid %d): %v", what, pid, err), all...)
	}
	return p
}

func TestProcessKnobs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	_, a, b := twoHosts(t, govrrp, keepalived)
	// A track script that records its own scheduling: a process govrrp or
	// keepalived starts is never real-time (SCHED_RESET_ON_FORK).
	script := a.file("sched.sh")
	schedOut := a.file("sched.out")
	writeFile(t, script, "#!/bin/sh\ncat /proc/self/stat > "+schedOut+".tmp && mv "+schedOut+".tmp "+schedOut+"\n", 0o755)
	knobs := []string{"vrrp_rt_priority 5", "vrrp_cpu_affinity 0", "vrrp_no_swap",
		"vrrp_process_name gv_vrrp", "umask 027", "max_auto_priority 7", "min_auto_priority_delay 5000000"}
	a.start(procKnobConf("iop_a", prioHigh, knobs, script), prioHigh)
	b.startScale(procKnobConf("iop_b", prioLow, knobs, ""), prioLow)
	if err := waitOwner(startupMargin+3*time.Second, 50*time.Millisecond, vip4, "a", a, b); err != nil {
		fail(t, err.Error(), a, b)
	}
	want := wantSched{policy: 2, rtprio: 5, cpus: "0", comm: "gv_vrrp", locked: true, umask: "0027", rttime: "5000/10000"}
	gv := waitSched(t, a.proc.Pid(), want, "govrrp with the knobs", a, b)
	ka := waitSched(t, daemonPids(t, b)[1], want, "keepalived's VRRP child with the same knobs", a, b)
	t.Logf("govrrp: %d threads, every one SCHED_RR 5 on CPU 0 named gv_vrrp; VmLck %s, RSS %s, RLIMIT_RTTIME %s; keepalived's VRRP child: %d thread, VmLck %s, RSS %s",
		len(gv.threads), gv.vmLck, gv.vmRSS, gv.rttime, len(ka.threads), ka.vmLck, ka.vmRSS)

	var script0 threadSched
	err := netlab.WaitFor(context.Background(), startupMargin, 50*time.Millisecond, func() (bool, error) {
		stat, err := os.ReadFile(schedOut)
		if err != nil {
			return false, err
		}
		script0, err = parseSched(string(stat), "", "")
		return err == nil, err
	})
	if err != nil {
		fail(t, "track script output: "+err.Error(), a, b)
	}
	if script0.policy != 0 || script0.rtprio != 0 {
		t.Errorf("track script ran with policy %d rtprio %d, want SCHED_OTHER (reset on fork)", script0.policy, script0.rtprio)
	}

	// keepalived's default RLIMIT_RTTIME (10 ms) is enough for one instance
	// at 1 s: the daemons are still the ones started (at 255 instances at
	// 10 ms it is not: BenchmarkRealtime).
	if a.proc.Exited() || kills(b) > 0 {
		fail(t, "a VRRP process was killed with the default vrrp_rlimit_rttime", a, b)
	}

	// Reload: every knob changed or removed. keepalived 2.2.7 (observed)
	// re-applies them all on reload; govrrp too, and puts back the start-up
	// CPU set where keepalived keeps the old one (so b is not checked for
	// CPUs, and its RLIMIT_RTTIME becomes 0/0 where govrrp keeps its own).
	knobs2 := []string{"vrrp_priority 3", "vrrp_cpu_affinity 1", "vrrp_process_name gv_vrrp2", "umask 022"}
	if ok, _ := a.reload(t, procKnobConf("iop_a", prioHigh, knobs2, script), a, b); !ok {
		fail(t, "reload rejected", a, b)
	}
	want2 := wantSched{policy: 0, nice: 3, cpus: "1", comm: "gv_vrrp2", umask: "0022"}
	gv2 := waitSched(t, a.proc.Pid(), want2, "govrrp after the reload", a, b)
	writeFile(t, b.file("keepalived.conf"), procKnobConf("iop_b", prioLow, knobs2, ""), 0o644)
	if err := b.signal(syscall.SIGHUP); err != nil {
		fail(t, err.Error(), a, b)
	}
	ka2 := waitSched(t, daemonPids(t, b)[1], want2, "keepalived's VRRP child after the reload", a, b)
	t.Logf("after reload: govrrp %d threads SCHED_OTHER nice 3 on CPU 1 named gv_vrrp2, VmLck %s, RSS %s; keepalived VmLck %s, RLIMIT_RTTIME %s",
		len(gv2.threads), gv2.vmLck, gv2.vmRSS, ka2.vmLck, ka2.rttime)
	if owner, err := vipOwners(vip4, a, b); err != nil || owner != "a" {
		t.Errorf("VIP owner after the reloads: %q (%v), want a", owner, err)
	}
}
