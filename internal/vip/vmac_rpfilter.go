package vip

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// rpFilter is keepalived 2.2.7's rp_filter handling for IPv4 VMACs (man
// keepalived.conf, use_vmac): traffic to a VIP arrives on the VMAC while the
// route back to the sender is the base's, so strict reverse-path filtering
// from net.ipv4.conf.all.rp_filter (which applies to every link as a
// minimum) would drop it. While an IPv4 VMAC exists, every link's own value
// (but lo's) and default's are raised to all's, all is set to 0 and the VMACs to 0;
// the values found are restored when the last IPv4 VMAC goes. After SIGKILL
// nothing is restored (as keepalived); the next start finds all at 0 and
// changes nothing. Observed with keepalived 2.2.7 and all.rp_filter=1:
// all 0, default and the links 1, lo and the VMAC 0; all back after SIGTERM.
type rpFilter struct {
	users map[string]bool   // IPv4 VMACs holding the change
	saved map[string]string // link (and "all", "default") -> value found
}

// holdRPFilter records vmac as a user and makes the change when it is the
// first one and all.rp_filter is set.
func (m *VMACs) holdRPFilter(vmac string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rp.users == nil {
		m.rp.users = map[string]bool{}
	}
	first := len(m.rp.users) == 0
	m.rp.users[vmac] = true
	if !first || m.rp.saved != nil {
		return nil
	}
	all, err := m.readRP("all")
	if err != nil || all == 0 {
		return err
	}
	saved, err := m.raiseRP(all)
	m.rp.saved = saved // what was changed, also when a write failed
	return err
}

// raiseRP sets every link's rp_filter (and default's) to at least all, then
// all to 0, returning the values it replaced.
func (m *VMACs) raiseRP(all int) (map[string]string, error) {
	saved := map[string]string{}
	links, err := os.ReadDir(filepath.Join(m.procSys, "net", "ipv4", "conf"))
	if err != nil {
		return saved, fmt.Errorf("vip: rp_filter: %w", err)
	}
	for _, l := range links {
		name := l.Name()
		if name == "all" || name == "lo" { // keepalived leaves lo alone (observed)
			continue
		}
		cur, err := m.readRP(name)
		if err != nil || cur >= all {
			continue // a link that went away meanwhile
		}
		if err := m.writeRP(name, all); err != nil {
			return saved, err
		}
		saved[name] = strconv.Itoa(cur)
	}
	saved["all"] = strconv.Itoa(all)
	return saved, m.writeRP("all", 0)
}

// releaseRPFilter drops vmac as a user; the last one restores what the
// first changed.
func (m *VMACs) releaseRPFilter(vmac string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.rp.users[vmac] {
		return nil
	}
	delete(m.rp.users, vmac)
	if len(m.rp.users) > 0 || m.rp.saved == nil {
		return nil
	}
	saved := m.rp.saved
	m.rp.saved = nil
	var errs []string
	for name, v := range saved {
		n, _ := strconv.Atoi(v)
		err := m.writeRP(name, n)
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // a link gone meanwhile has nothing to restore
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("vip: rp_filter restore: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (m *VMACs) rpPath(dev string) string {
	return filepath.Join(m.procSys, "net", "ipv4", "conf", dev, "rp_filter")
}

func (m *VMACs) readRP(dev string) (int, error) {
	b, err := os.ReadFile(m.rpPath(dev))
	if err != nil {
		return 0, fmt.Errorf("vip: rp_filter of %s: %w", dev, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func (m *VMACs) writeRP(dev string, v int) error {
	if err := os.WriteFile(m.rpPath(dev), []byte(strconv.Itoa(v)), 0o644); err != nil {
		return fmt.Errorf("vip: rp_filter of %s: %w", dev, err)
	}
	return nil
}
