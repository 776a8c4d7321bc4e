package kaconf

import (
	"strconv"
	"strings"
	"time"
)

// ProcessDefs are keepalived's knobs for its VRRP process (global_defs):
// scheduling, CPU set, memory locking, process name and umask. govrrp is one
// process, so they apply to the whole of it (internal/procsched).
type ProcessDefs struct {
	// RTPriority is vrrp_rt_priority: SCHED_RR at 1..99; 0 = not set.
	RTPriority int
	// Nice is vrrp_priority (-20..19); nil = not set. keepalived leaves the
	// nice value at 0 when a real-time priority is set.
	Nice *int
	// CPUAffinity is vrrp_cpu_affinity; nil = not set.
	CPUAffinity []int
	// NoSwap is vrrp_no_swap: mlockall(MCL_CURRENT|MCL_FUTURE).
	NoSwap bool
	// RLimitRTTime is vrrp_rlimit_rttime in µs (hard limit; keepalived sets
	// the soft limit to half of it); 0 = keepalived's default 10000.
	RLimitRTTime uint64
	// MaxAutoPriority caps the real-time priority keepalived raises itself
	// to when it runs late; 0 (the default, and -1) = no raising.
	MaxAutoPriority int
	// MinAutoPriorityDelay is min_auto_priority_delay: how late a wake-up
	// must be to raise the priority; 0 = the default 1 s.
	MinAutoPriorityDelay time.Duration
	// VRRPProcessName, ProcessName and ProcessNames (process_names: the
	// defaults, keepalived_vrrp for the VRRP process) name the process.
	VRRPProcessName string
	ProcessName     string
	ProcessNames    bool
	// Umask is umask; nil = not set.
	Umask *uint32
}

// Comm is the command name (/proc/PID/comm) keepalived gives its VRRP
// process: vrrp_process_name, else the parent's process_name (the child
// inherits it), else keepalived_vrrp with process_names; "" = unchanged.
func (p ProcessDefs) Comm() string {
	switch {
	case p.VRRPProcessName != "":
		return p.VRRPProcessName
	case p.ProcessName != "":
		return p.ProcessName
	case p.ProcessNames:
		return "keepalived_vrrp"
	}
	return ""
}

// gProc is a process keyword: kept raw in Other too (as before it was acted
// on), parsed into GlobalDefs.Process by set.
func gProc(name, args string, min, max int, doc string, set func(*ctx, *Node, *ProcessDefs)) kwG {
	return kwG{name: name, args: args, min: min, max: max, status: Supported, doc: doc, fallback: ignore,
		fn: func(c *ctx, n *Node, g *GlobalDefs) {
			g.Other = append(g.Other, raw(n))
			set(c, n, &g.Process)
		}}
}

func procRTPriority(c *ctx, n *Node, p *ProcessDefs) {
	// keepalived 2.2.7 caps a larger value at 99 (checkRTPriority).
	if v, err := strconv.ParseInt(n.Args[0].Text, 10, 64); err == nil && v > 99 {
		checkRTPriority(c, n)
		p.RTPriority = 99
		return
	}
	if v, ok := c.intArg(n, 0, 1, 99); ok {
		p.RTPriority = int(v)
	}
}

func procNice(c *ctx, n *Node, p *ProcessDefs) {
	if v, ok := c.intArg(n, 0, -20, 19); ok {
		nv := int(v)
		p.Nice = &nv
	}
}

func procAffinity(c *ctx, n *Node, p *ProcessDefs) {
	cpus := make([]int, 0, len(n.Args))
	for i := range n.Args {
		v, ok := c.intArg(n, i, 0, 4095)
		if !ok {
			return // keepalived ignores the whole line
		}
		cpus = append(cpus, int(v))
	}
	p.CPUAffinity = cpus
}

func procRTTime(c *ctx, n *Node, p *ProcessDefs) {
	if v, ok := c.intArg(n, 0, 0, 1<<32-1); ok {
		p.RLimitRTTime = uint64(v)
	}
}

// procMaxAuto: no value = the maximum (99); -1 = off without keepalived's
// start-up notice, which govrrp never prints.
func procMaxAuto(c *ctx, n *Node, p *ProcessDefs) {
	if len(n.Args) == 0 {
		p.MaxAutoPriority = 99
		return
	}
	if v, ok := c.intArg(n, 0, -1, 99); ok {
		p.MaxAutoPriority = max(int(v), 0)
	}
}

func procMinAutoDelay(c *ctx, n *Node, p *ProcessDefs) {
	if v, ok := c.intArg(n, 0, 1, 10000000); ok {
		p.MinAutoPriorityDelay = time.Duration(v) * time.Microsecond
	}
}

func procUmask(c *ctx, n *Node, p *ProcessDefs) {
	if v, ok := parseUmask(n); ok {
		p.Umask = &v
		return
	}
	checkUmask(c, n) // reports the unknown bit
}

// parseUmask reads a number (hex, octal or decimal) or I{R,W,X}{USR,GRP,OTH}
// bits joined by '|' (possibly over several words).
func parseUmask(n *Node) (uint32, bool) {
	if len(n.Args) == 1 {
		if v, err := strconv.ParseUint(n.Args[0].Text, 0, 32); err == nil {
			return uint32(v) & 0o777, true
		}
	}
	bits := map[string]uint32{"IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100, "IRGRP": 0o40, "IWGRP": 0o20,
		"IXGRP": 0o10, "IROTH": 0o4, "IWOTH": 0o2, "IXOTH": 0o1}
	var m uint32
	for _, a := range n.Args {
		for _, b := range strings.Split(a.Text, "|") {
			if b == "" {
				continue
			}
			v, ok := bits[b]
			if !ok {
				return 0, false
			}
			m |= v
		}
	}
	return m, true
}

// commLen is the kernel's TASK_COMM_LEN without its NUL.
const commLen = 15

// procName: the kernel keeps 15 bytes of a process name; keepalived's
// prctl truncates silently, govrrp says so.
func procName(set func(*ProcessDefs, string)) func(*ctx, *Node, *ProcessDefs) {
	return func(c *ctx, n *Node, p *ProcessDefs) {
		name := n.Args[0].Text
		if len(name) > commLen {
			c.fallbackf(n.Args[0].Pos, "use the first 15 bytes, "+strconv.Quote(name[:commLen]),
				"%s: %q is longer than the kernel's 15-byte process name", n.Keyword.Text, name)
			name = name[:commLen]
		}
		set(p, name)
	}
}
