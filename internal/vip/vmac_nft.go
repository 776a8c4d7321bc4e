package vip

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/govrrp/govrrp/internal/firewall"
)

// vmacTable is the nftables table (families ip and ip6) govrrp keeps for
// its VMACs; keepalived 2.2.7 installs the same rules in its "keepalived"
// tables (observed with `nft list ruleset`). A VMAC is up in every state,
// and the kernel sends IGMP/MLD membership reports and router solicitations
// from it with the virtual MAC as source: a switch would then learn the
// virtual MAC on a backup's port. The reports are sent out of the parent
// instead (dup to the parent, original dropped); solicitations are dropped.
const vmacTable = "govrrp_vmac"

// vmacRules renders the batch that makes both tables exactly what links
// need: each table replaced whole (add, delete, define), a family without
// VMACs left without a table.
func vmacRules(links map[string]VMAC) string {
	var v4, v6 []VMAC
	for _, v := range links {
		if v.IPv6 {
			v6 = append(v6, v)
		} else {
			v4 = append(v4, v)
		}
	}
	byName := func(a, b VMAC) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(v4, byName)
	slices.SortFunc(v6, byName)
	var b strings.Builder
	for _, fam := range []string{"ip", "ip6"} {
		fmt.Fprintf(&b, "add table %s %s\ndelete table %s %s\n", fam, vmacTable, fam, vmacTable)
	}
	if len(v4) > 0 {
		fmt.Fprintf(&b, "table ip %s {\n", vmacTable)
		writeMap(&b, v4)
		b.WriteString("\tchain out {\n\t\ttype filter hook output priority filter - 1; policy accept;\n")
		b.WriteString("\t\tip protocol igmp meta oifkind \"macvlan\" dup to ip daddr device oif map @vmac_map drop\n\t}\n}\n")
	}
	if len(v6) > 0 {
		fmt.Fprintf(&b, "table ip6 %s {\n", vmacTable)
		writeMap(&b, v6)
		b.WriteString("\tset vmac_set {\n\t\ttype iface_index\n\t\telements = { ")
		for i, v := range v6 {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", v.Name)
		}
		b.WriteString(" }\n\t}\n")
		b.WriteString("\tchain out {\n\t\ttype filter hook output priority filter - 1; policy accept;\n")
		b.WriteString("\t\ticmpv6 type mld2-listener-report meta oifkind \"macvlan\" dup to ip6 daddr device oif map @vmac_map drop\n")
		b.WriteString("\t\ticmpv6 type nd-router-solicit meta oifkind \"macvlan\" oif @vmac_set drop\n\t}\n}\n")
	}
	return b.String()
}

func writeMap(b *strings.Builder, links []VMAC) {
	b.WriteString("\tmap vmac_map {\n\t\ttype iface_index : iface_index\n\t\telements = { ")
	for i, v := range links {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "%q : %q", v.Name, v.Parent)
	}
	b.WriteString(" }\n\t}\n")
}

// syncRules installs the rules for the VMACs that exist now (interface
// indexes are resolved when the batch loads, so it runs after every
// create and delete). Caller holds m.mu.
func (m *VMACs) syncRules() error {
	if m.nft == nil {
		return nil
	}
	if _, ok := m.nft.(firewall.NFT); ok {
		if err := firewall.Available(); err != nil {
			return fmt.Errorf("vip: use_vmac needs the nft command (package nftables) for the VMAC rules keepalived also installs: %w", err)
		}
	}
	if err := m.nft.Run(context.Background(), vmacRules(m.links)); err != nil {
		return fmt.Errorf("vip: vmac nftables rules: %w", err)
	}
	return nil
}

// noteLink records v as existing (or gone) and re-installs the rules.
func (m *VMACs) noteLink(v VMAC, exists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.links == nil {
		m.links = map[string]VMAC{}
	}
	if exists {
		m.links[v.Name] = v
	} else if _, ok := m.links[v.Name]; !ok {
		return nil // not ours this run: nothing to change
	} else {
		delete(m.links, v.Name)
	}
	return m.syncRules()
}

// nftRunner is the firewall's nft runner; a seam for tests.
type nftRunner = firewall.Runner
