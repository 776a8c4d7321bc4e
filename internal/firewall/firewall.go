package firewall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DefaultTable is the name of govrrp's table (family inet) when the
// configuration's `nftables` keyword names none. keepalived's own default,
// "keepalived", is deliberately not reused: both daemons may run on one host
// during a migration and must not share a table.
const DefaultTable = "govrrp"

// DefaultPriority is keepalived's default chain priority (filter - 1): the
// drop runs before an ordinary filter chain at priority 0 could accept.
const DefaultPriority = -1

// ErrInvalid is wrapped by every configuration or input error.
var ErrInvalid = errors.New("firewall: invalid")

// Config is what the configuration says about the table.
type Config struct {
	Table    string // "" = DefaultTable
	Priority int    // chain priority; keepalived's nftables_priority
	Counters bool   // keepalived's nftables_counters: a counter on each drop rule
}

// Drop is one VIP whose traffic is dropped. Ifname is needed for an IPv6
// link-local VIP only (the same fe80:: address may exist on every link).
//
// A link-local VIP's interface is matched by index (iif/oif, set type
// iface_index), as keepalived 2.2.7 does by default, or by name
// (iifname/oifname, set type ifname) with ByName: keepalived's choice for
// a dont_track_primary instance unless nftables_ifindex is set (observed
// with `nft list ruleset`).
type Drop struct {
	Addr   netip.Addr
	Ifname string
	ByName bool
	// Ifindex is Ifname's index; 0 lets nft resolve the name when the batch
	// loads (Table.Replace fills it in, see Lookup).
	Ifindex int
}

// Runner applies one nft batch.
type Runner interface {
	Run(ctx context.Context, script string) error
}

// NFT runs the nft command with the batch on standard input.
type NFT struct {
	// Command is the argv before "-f -"; nil is {"nft"}. Tests prefix
	// `ip netns exec NS` to act inside a namespace.
	Command []string
}

// runTimeout bounds one batch: nft answers in milliseconds, but a wedged
// one must not stall the daemon's loop.
const runTimeout = 5 * time.Second

// Run executes `nft -f -` with script on stdin.
func (n NFT) Run(ctx context.Context, script string) error {
	argv := n.Command
	if len(argv) == 0 {
		argv = []string{"nft"}
	}
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], append(slices.Clone(argv[1:]), "-f", "-")...)
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("firewall: nft: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Available reports whether the nft command can be found.
func Available() error {
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("firewall: the nft command (package nftables) is needed for no_accept: %w", err)
	}
	return nil
}

// Lookup resolves an interface name to its index in the namespace the
// rules load in.
type Lookup func(ifname string) (int, error)

// InterfaceIndex is the default Lookup: the caller's network namespace.
func InterfaceIndex(ifname string) (int, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}

// Table is govrrp's table, changed only through a Runner.
type Table struct {
	cfg    Config
	run    Runner
	lookup Lookup
}

// New checks cfg and returns its table.
func New(cfg Config, r Runner) (*Table, error) {
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if err := validName(cfg.Table); err != nil {
		return nil, err
	}
	return &Table{cfg: cfg, run: r, lookup: InterfaceIndex}, nil
}

// WithLookup makes Replace resolve interface indexes with fn (a test acts
// inside another namespace).
func (t *Table) WithLookup(fn Lookup) *Table {
	t.lookup = fn
	return t
}

// Name is the table's name (family inet).
func (t *Table) Name() string { return t.cfg.Table }

// Replace makes the table exactly what drops asks for, in one atomic batch;
// an empty list still installs the table (with empty sets).
//
// Link-local drops matched by index get the index their interface has now:
// a batch naming an interface that does not exist would fail whole, and an
// element for a gone index can match nothing (a re-created link has a new
// one), so such a drop is left out until its interface exists again.
// keepalived 2.2.7 removes the element when the link goes and adds it with
// the new index when it is back (observed with `nft list set`).
func (t *Table) Replace(ctx context.Context, drops []Drop) error {
	script, err := Script(t.cfg, t.resolve(drops))
	if err != nil {
		return err
	}
	return t.run.Run(ctx, script)
}

// Delete removes the table; an absent table is not an error.
func (t *Table) Delete(ctx context.Context) error {
	return t.run.Run(ctx, deleteScript(t.cfg.Table))
}

// resolve fills in the index of every link-local drop matched by index;
// those whose interface is missing are left out.
func (t *Table) resolve(drops []Drop) []Drop {
	out := make([]Drop, 0, len(drops))
	for _, d := range drops {
		i, ok := t.index(d)
		if !ok {
			continue
		}
		d.Ifindex = i
		out = append(out, d)
	}
	return out
}

// Unresolved lists the drops Replace would leave out now: link-local VIPs
// matched by index whose interface does not exist. Their traffic is not
// dropped until the interface is back; the caller says so (the daemon
// warns, naming the instance).
func (t *Table) Unresolved(drops []Drop) []Drop {
	var out []Drop
	for _, d := range drops {
		if _, ok := t.index(d); !ok {
			out = append(out, d)
		}
	}
	return out
}

// index is the interface index d's batch element carries (d's own when it
// is not looked up); false when its interface is missing.
func (t *Table) index(d Drop) (int, bool) {
	if !byIndex(d) || d.Ifindex != 0 || t.lookup == nil {
		return d.Ifindex, true
	}
	i, err := t.lookup(d.Ifname)
	return i, err == nil && i > 0
}

// byIndex: d is a link-local VIP whose interface is matched by index.
func byIndex(d Drop) bool {
	a := d.Addr.WithZone("")
	return a.Is6() && !a.Is4In6() && a.IsLinkLocalUnicast() && !d.ByName
}

// tableNameRE is what nft accepts unquoted as a table name.
var tableNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,62}$`)

// ifnameRE is a Linux interface name (IFNAMSIZ 16, no quotes or spaces).
var ifnameRE = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,15}$`)

func validName(name string) error {
	if !tableNameRE.MatchString(name) {
		return fmt.Errorf("%w: table name %q", ErrInvalid, name)
	}
	return nil
}

// deleteScript deletes the table if present: "add" first makes "delete"
// succeed either way, in one transaction.
func deleteScript(table string) string {
	return fmt.Sprintf("add table inet %s\ndelete table inet %s\n", table, table)
}

// Script renders the batch that replaces the table with drops. It is pure,
// so what is installed can be checked without root.
func Script(cfg Config, drops []Drop) (string, error) {
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if err := validName(cfg.Table); err != nil {
		return "", err
	}
	v4, v6, ll, llName, err := split(drops)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(deleteScript(cfg.Table))
	fmt.Fprintf(&b, "table inet %s {\n", cfg.Table)
	writeSet(&b, "vips4", "ipv4_addr", v4)
	writeSet(&b, "vips6", "ipv6_addr", v6)
	writeSet(&b, "vips6ll", "ipv6_addr . iface_index", ll)
	writeSet(&b, "vips6ll_name", "ipv6_addr . ifname", llName)
	writeChain(&b, cfg, "in", "input", "daddr", "iif")
	writeChain(&b, cfg, "out", "output", "saddr", "oif")
	b.WriteString("}\n")
	return b.String(), nil
}

// split sorts drops into the four sets, deduplicated and in a stable
// order (so the same VIPs always render the same batch).
func split(drops []Drop) (v4, v6, ll, llName []string, err error) {
	for _, d := range drops {
		a := d.Addr.WithZone("")
		switch {
		case !a.IsValid() || a.IsUnspecified() || a.IsMulticast():
			return nil, nil, nil, nil, fmt.Errorf("%w: address %v", ErrInvalid, d.Addr)
		case a.Is4() || a.Is4In6():
			v4 = append(v4, a.Unmap().String())
		case a.IsLinkLocalUnicast():
			if !ifnameRE.MatchString(d.Ifname) {
				return nil, nil, nil, nil, fmt.Errorf("%w: link-local %v needs an interface name, got %q", ErrInvalid, a, d.Ifname)
			}
			switch {
			case d.ByName:
				llName = append(llName, fmt.Sprintf("%s . %q", a, d.Ifname))
			case d.Ifindex > 0:
				ll = append(ll, fmt.Sprintf("%s . %d", a, d.Ifindex))
			default: // nft resolves the name to its index when the batch loads
				ll = append(ll, fmt.Sprintf("%s . %q", a, d.Ifname))
			}
		default:
			v6 = append(v6, a.String())
		}
	}
	for _, s := range []*[]string{&v4, &v6, &ll, &llName} {
		slices.Sort(*s)
		*s = slices.Compact(*s)
	}
	return v4, v6, ll, llName, nil
}

func writeSet(b *strings.Builder, name, typ string, elems []string) {
	fmt.Fprintf(b, "\tset %s {\n\t\ttype %s\n", name, typ)
	if len(elems) > 0 {
		fmt.Fprintf(b, "\t\telements = { %s }\n", strings.Join(elems, ", "))
	}
	b.WriteString("\t}\n")
}

// writeChain is one base chain: ND passes (the master answers neighbour
// solicitations for its VIPs from them), then the drops. ifdir is iif or
// oif; the by-name set is matched with iifname or oifname.
func writeChain(b *strings.Builder, cfg Config, name, hook, dir, ifdir string) {
	verdict := "drop"
	if cfg.Counters {
		verdict = "counter drop"
	}
	fmt.Fprintf(b, "\tchain %s {\n\t\ttype filter hook %s priority %d; policy accept;\n", name, hook, cfg.Priority)
	b.WriteString("\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n")
	fmt.Fprintf(b, "\t\tip %s @vips4 %s\n", dir, verdict)
	fmt.Fprintf(b, "\t\tip6 %s fe80::/10 ip6 %s . %s @vips6ll %s\n", dir, dir, ifdir, verdict)
	fmt.Fprintf(b, "\t\tip6 %s fe80::/10 ip6 %s . %sname @vips6ll_name %s\n", dir, dir, ifdir, verdict)
	fmt.Fprintf(b, "\t\tip6 %s @vips6 %s\n", dir, verdict)
	b.WriteString("\t}\n")
}
