package netlab

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Impairment is what Impair does to the packets of one interface of a host,
// with nftables in the host's namespace (family netdev, hooks ingress and
// egress of that device, so nothing the daemon does with routes or sockets
// can bypass it). The zero value impairs nothing.
type Impairment struct {
	// Proto selects the packets: IPv4 protocol / IPv6 next header number
	// (112 = VRRP). 0 selects every frame, ARP and ND included.
	Proto uint8
	// Drop drops every selected packet in both directions: a black hole
	// with the link still up (no carrier change for a daemon to see).
	Drop bool
	// LossMod > 1 drops one in LossMod selected packets at random in each
	// direction (nftables numgen random): 2 is 50 % loss.
	LossMod uint32
	// Dup sends every selected outgoing packet twice (nftables dup on
	// egress; a packet mark stops the copy from being copied again).
	Dup bool
}

// Impair replaces the impairment of ifname in the host (an Impairment{}
// clears it, as ClearImpair does). Replacing is atomic: nft applies the
// script in one transaction.
func (h *Host) Impair(ifname string, imp Impairment) error {
	if h.err != nil {
		return h.err
	}
	if err := checkIfname(ifname); err != nil {
		return err
	}
	if imp.LossMod == 1 {
		return fmt.Errorf("netlab: impair %s %s: LossMod 1 would drop everything; use Drop", h.name, ifname)
	}
	nft, err := lookCmd("nft")
	if err != nil {
		return err
	}
	table := faultTable(ifname)
	file, err := h.writeFile(fmt.Sprintf("%s-%s.nft", h.name, table), impairScript(table, ifname, imp))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := h.Exec(ctx, nft, "-f", file); err != nil {
		return fmt.Errorf("netlab: impair %s %s: %w: %s", h.name, ifname, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ClearImpair removes whatever Impair installed on ifname (idempotent).
func (h *Host) ClearImpair(ifname string) error { return h.Impair(ifname, Impairment{}) }

// dupMark tags a packet already duplicated (veth scrubs it on the way out
// of the namespace, so nobody else sees it).
const dupMark = 0x6e6c

// faultTable is the per-interface table name (nft identifiers: no '-').
func faultTable(ifname string) string {
	return "netlab_fault_" + strings.NewReplacer("-", "_", ".", "_").Replace(ifname)
}

// impairScript renders the nft script: "table X; delete table X" removes
// the old table whether or not it existed, then the new one is added.
func impairScript(table, ifname string, imp Impairment) string {
	script := fmt.Sprintf("table netdev %s\ndelete table netdev %s\n", table, table)
	in, out := impairRules(imp, ifname, false), impairRules(imp, ifname, true)
	if len(in) == 0 && len(out) == 0 {
		return script
	}
	var b strings.Builder
	b.WriteString(script)
	fmt.Fprintf(&b, "table netdev %s {\n", table)
	for _, c := range []struct {
		name, hook string
		rules      []string
	}{{"in", "ingress", in}, {"out", "egress", out}} {
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype filter hook %s device %q priority -500; policy accept;\n", c.name, c.hook, ifname)
		for _, r := range c.rules {
			fmt.Fprintf(&b, "\t\t%s\n", r)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// impairRules are the rules of one direction; each selector is repeated
// for IPv4 and IPv6 (a netdev chain sees both).
func impairRules(imp Impairment, ifname string, egress bool) []string {
	sels := []string{""}
	if imp.Proto != 0 {
		sels = []string{fmt.Sprintf("ip protocol %d ", imp.Proto), fmt.Sprintf("ip6 nexthdr %d ", imp.Proto)}
	}
	var rules []string
	for _, s := range sels {
		switch {
		case imp.Drop:
			rules = append(rules, s+"counter drop")
		case imp.LossMod > 1:
			rules = append(rules, fmt.Sprintf("%snumgen random mod %d 0 counter drop", s, imp.LossMod))
		}
		if imp.Dup && egress && !imp.Drop {
			// After the loss rule: what survives the loss is duplicated.
			// The copy passes the egress hook again; the mark (which the
			// clone inherits) keeps it from being copied once more.
			rules = append(rules, fmt.Sprintf("%smeta mark != %#x meta mark set %#x counter dup to %q",
				s, dupMark, dupMark, ifname))
		}
	}
	return rules
}
