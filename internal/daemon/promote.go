package daemon

import (
	"os"
	"path/filepath"
	"strings"
)

// vrrp_instance promote_secondaries, as keepalived 2.2.7 (observed in a
// namespace): net.ipv4.conf.<interface>.promote_secondaries is set to 1
// when the instance starts, so removing a VIP that is the primary address
// of its subnet does not take the interface's other addresses of that
// subnet with it; at exit the value the daemon found is put back. Interfaces
// are remembered once: the first value seen is the one restored.

// sysctlOps reads and writes /proc/sys; tests substitute it.
type sysctlOps interface {
	Get(key string) (string, error)
	Set(key, value string) error
}

// procSysctl is the real /proc/sys.
type procSysctl struct{}

func (procSysctl) Get(key string) (string, error) {
	b, err := os.ReadFile(filepath.Join("/proc/sys", key))
	return strings.TrimSpace(string(b)), err
}

func (procSysctl) Set(key, value string) error {
	return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
}

// promoteState is what the daemon changed, owned by the loop.
type promoteState struct {
	ops  sysctlOps         // nil: procSysctl
	orig map[string]string // sysctl key -> value before govrrp set it
}

func (p *promoteState) sysctl() sysctlOps {
	if p.ops == nil {
		return procSysctl{}
	}
	return p.ops
}

func promoteKey(ifname string) string {
	return "net/ipv4/conf/" + ifname + "/promote_secondaries"
}

// promoteSecondaries sets promote_secondaries on in's interface if asked.
func (d *Daemon) promoteSecondaries(in *instance) {
	if !in.cfg.PromoteSecondaries {
		return
	}
	key := promoteKey(in.ifname)
	if _, done := d.promote.orig[key]; done {
		return
	}
	ops := d.promote.sysctl()
	old, err := ops.Get(key)
	if err == nil && old != "1" {
		err = ops.Set(key, "1")
	}
	if err != nil {
		d.log.Error("cannot set promote_secondaries", "instance", in.name, "interface", in.ifname, "err", err)
		return
	}
	if d.promote.orig == nil {
		d.promote.orig = map[string]string{}
	}
	d.promote.orig[key] = old
	d.log.Info("promote_secondaries set", "instance", in.name, "interface", in.ifname, "was", old)
}

// restorePromote puts back every promote_secondaries value it changed (exit).
func (d *Daemon) restorePromote() {
	ops := d.promote.sysctl()
	for key, old := range d.promote.orig {
		if old == "1" {
			continue
		}
		if err := ops.Set(key, old); err != nil {
			d.log.Error("cannot restore promote_secondaries", "key", key, "err", err)
		}
	}
	d.promote.orig = nil
}
