package vip

import (
	"errors"
	"fmt"
	"net"

	"github.com/govrrp/govrrp/pkg/kaconf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddRule installs r. A rule that is already there (EEXIST) is success.
func (m *Manager) AddRule(r kaconf.Rule) error {
	err := m.h.RuleAdd(toNetlinkRule(r))
	if err == nil || errors.Is(err, unix.EEXIST) {
		return nil
	}
	return fmt.Errorf("vip: rule %s: %w", ruleText(r), err)
}

// RemoveRule deletes r; an absent rule is success.
func (m *Manager) RemoveRule(r kaconf.Rule) error {
	err := m.h.RuleDel(toNetlinkRule(r))
	if err == nil || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return fmt.Errorf("vip: remove rule %s: %w", ruleText(r), err)
}

// HasRule reports whether a rule with r's preference, table and selectors
// is installed.
func (m *Manager) HasRule(r kaconf.Rule) (bool, error) {
	nr := toNetlinkRule(r)
	got, err := m.h.RuleListFiltered(nr.Family, nr, netlink.RT_FILTER_PRIORITY|netlink.RT_FILTER_TABLE)
	if err != nil {
		return false, fmt.Errorf("vip: list rules: %w", err)
	}
	for _, g := range got {
		if sameNet(g.Src, nr.Src) && sameNet(g.Dst, nr.Dst) {
			return true, nil
		}
	}
	return false, nil
}

// sameNet compares selectors; nil is "all".
func sameNet(a, b *net.IPNet) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.String() == b.String()
}

func toNetlinkRule(r kaconf.Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = family(r.Family6)
	nr.Priority = r.Pref
	nr.Table = r.Table
	if nr.Table == 0 {
		nr.Table = unix.RT_TABLE_MAIN
	}
	nr.Type = unix.FR_ACT_TO_TBL
	nr.Protocol = ProtoKeepalived
	nr.Src, nr.Dst = ipNet(r.From), ipNet(r.To)
	nr.IifName, nr.OifName = r.IIF, r.OIF
	if r.FwMark != 0 || r.FwMask != 0 {
		nr.Mark = r.FwMark
		if r.FwMask != 0 {
			mask := r.FwMask
			nr.Mask = &mask
		}
	}
	return nr
}

func ruleText(r kaconf.Rule) string {
	return fmt.Sprintf("pref %d table %d from %v to %v", r.Pref, r.Table, r.From, r.To)
}
