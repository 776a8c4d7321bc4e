package netlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// FRRRouter is one FRR vrrpd virtual router (IPv4) on a host interface.
// FRR's vrrpd does not create its VMAC: the operator creates a macvlan
// (mode bridge) carrying 00:00:5e:00:01:VRID with the VIPs on it, and vrrpd
// keeps it protodown while not master. StartFRRVRRP does that part.
type FRRRouter struct {
	Interface string         // base interface, e.g. eth0
	VRID      uint8          // 1..255
	Version   int            // 2 or 3
	Priority  int            // 1..254 (FRR default 100)
	Advert    time.Duration  // advertisement-interval, a multiple of 10 ms
	VIPs      []netip.Prefix // IPv4 virtual addresses, with their prefix length
}

// FRR is a running zebra + vrrpd pair (no watchfrr) and the macvlan it uses.
type FRR struct {
	Zebra, VRRPD *Proc
	Macvlan      string // vrrp4-<ifindex>-<VRID>, FRR's documented naming
	host         *Host
	dir          string
	vrid         uint8
}

// frrDir is the per-host directory for FRR's configs, pid files and
// sockets. FRR drops to user frr (it refuses to run as root), so the
// directory is world-writable and the lab dir traversable.
func (h *Host) frrDir() (string, error) {
	if err := os.Chmod(h.lab.dir, 0o711); err != nil {
		return "", fmt.Errorf("netlab: frr: %w", err)
	}
	dir := filepath.Join(h.lab.dir, h.name+"-frr")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("netlab: frr: %w", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil { // umask
		return "", fmt.Errorf("netlab: frr: %w", err)
	}
	return dir, nil
}

func (r FRRRouter) validate() error {
	if err := checkIfname(r.Interface); err != nil {
		return err
	}
	if r.VRID == 0 || (r.Version != 2 && r.Version != 3) || r.Priority < 1 || r.Priority > 254 {
		return fmt.Errorf("netlab: frr: bad router %+v", r)
	}
	if r.Advert <= 0 || r.Advert%(10*time.Millisecond) != 0 {
		return fmt.Errorf("netlab: frr: advertisement interval %v is not a positive multiple of 10ms", r.Advert)
	}
	if r.Version == 2 && r.Advert%time.Second != 0 {
		return fmt.Errorf("netlab: frr: VRRPv2 needs whole seconds, not %v", r.Advert)
	}
	for _, p := range r.VIPs {
		if !p.Addr().Is4() {
			return fmt.Errorf("netlab: frr: only IPv4 VIPs, not %s", p)
		}
		if err := checkPrefix(p); err != nil {
			return err
		}
	}
	return nil
}

// vrrpdConf renders vrrpd.conf.
func (r FRRRouter) vrrpdConf(hostname string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname %s\n!\ninterface %s\n", hostname, r.Interface)
	fmt.Fprintf(&b, " vrrp %d version %d\n", r.VRID, r.Version)
	fmt.Fprintf(&b, " vrrp %d priority %d\n", r.VRID, r.Priority)
	fmt.Fprintf(&b, " vrrp %d advertisement-interval %d\n", r.VRID, r.Advert.Milliseconds())
	for _, p := range r.VIPs {
		fmt.Fprintf(&b, " vrrp %d ip %s\n", r.VRID, p.Addr())
	}
	b.WriteString("!\n")
	return b.String()
}

// StartFRRVRRP creates the macvlan FRR needs and runs zebra and vrrpd in
// the host's namespace, logging to their Proc logs. It returns once vrrpd
// runs; the Procs die with the lab like any other.
func (h *Host) StartFRRVRRP(r FRRRouter) (*FRR, error) {
	if h.err != nil {
		return nil, h.err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	zebra, err := lookCmd("/usr/lib/frr/zebra")
	if err != nil {
		return nil, err
	}
	vrrpd, err := lookCmd("/usr/lib/frr/vrrpd")
	if err != nil {
		return nil, err
	}
	dir, err := h.frrDir()
	if err != nil {
		return nil, err
	}
	f := &FRR{host: h, dir: dir, vrid: r.VRID}
	if f.Macvlan, err = h.frrMacvlan(r); err != nil {
		return nil, err
	}
	zconf := filepath.Join(dir, "zebra.conf")
	vconf := filepath.Join(dir, "vrrpd.conf")
	if err := os.WriteFile(zconf, []byte("hostname "+h.name+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("netlab: frr: %w", err)
	}
	if err := os.WriteFile(vconf, []byte(r.vrrpdConf(h.name)), 0o644); err != nil {
		return nil, fmt.Errorf("netlab: frr: %w", err)
	}
	zsock := filepath.Join(dir, "zserv.api")
	common := func(bin, conf, pid string) []string {
		return []string{bin, "-f", conf, "-i", filepath.Join(dir, pid), "-z", zsock, "--vty_socket", dir, "--log", "stdout"}
	}
	if f.Zebra, err = h.Start("zebra", common(zebra, zconf, "zebra.pid")...); err != nil {
		return nil, err
	}
	// vrrpd needs zebra's socket; wait for it rather than sleeping.
	err = WaitFor(context.Background(), 10*time.Second, 20*time.Millisecond, func() (bool, error) {
		if f.Zebra.Exited() {
			return false, Permanent(fmt.Errorf("netlab: zebra on %s exited: %s", h.name, tail(f.Zebra.Log(), 5)))
		}
		_, err := os.Stat(zsock)
		return err == nil, err
	})
	if err != nil {
		_ = f.Zebra.Kill()
		return nil, err
	}
	if f.VRRPD, err = h.Start("vrrpd", common(vrrpd, vconf, "vrrpd.pid")...); err != nil {
		_ = f.Zebra.Kill()
		return nil, err
	}
	return f, nil
}

// frrMacvlan creates FRR's VMAC for r: mode bridge, the virtual MAC, the
// VIPs, up (FRR's documented set-up), and the ARP sysctls an operator sets
// on the base for a VMAC.
func (h *Host) frrMacvlan(r FRRRouter) (string, error) {
	ctx := context.Background()
	out, err := h.Exec(ctx, "cat", "/sys/class/net/"+r.Interface+"/ifindex")
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("vrrp4-%s-%d", strings.TrimSpace(string(out)), r.VRID)
	mac := fmt.Sprintf("00:00:5e:00:01:%02x", r.VRID)
	// The base must not answer ARP for the VIPs on the macvlan, nor ask
	// from them (what govrrp sets for its own VMACs, internal/vip/vmac.go).
	cmds := [][]string{
		{"sysctl", "-qw", "net.ipv4.conf." + r.Interface + ".arp_ignore=1", "net.ipv4.conf." + r.Interface + ".arp_announce=2"},
		{"ip", "link", "add", name, "link", r.Interface, "address", mac, "type", "macvlan", "mode", "bridge"},
	}
	for _, p := range r.VIPs {
		cmds = append(cmds, []string{"ip", "addr", "add", p.String(), "dev", name})
	}
	cmds = append(cmds, []string{"ip", "link", "set", name, "up"})
	for _, c := range cmds {
		if out, err := h.Exec(ctx, c...); err != nil {
			return "", fmt.Errorf("%w: %s", err, out)
		}
	}
	return name, nil
}

// Stop ends vrrpd then zebra with SIGTERM (vrrpd sends priority 0) and
// waits for both.
func (f *FRR) Stop(timeout time.Duration) error {
	for _, p := range []*Proc{f.VRRPD, f.Zebra} {
		if p.Exited() {
			continue
		}
		if err := p.Signal(syscall.SIGTERM); err != nil && !p.Exited() {
			return err
		}
		if _, err := p.Wait(timeout); err != nil {
			_ = p.Kill()
			return err
		}
	}
	return nil
}

// Kill SIGKILLs vrrpd (a crash: no priority 0), leaving zebra running.
func (f *FRR) Kill() error { return f.VRRPD.Kill() }

// State is vrrpd's IPv4 state of the router ("Initialize", "Backup",
// "Master"), from `vtysh -c "show vrrp VRID json"`.
func (f *FRR) State() (string, error) {
	vtysh, err := lookCmd("vtysh")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := f.host.Exec(ctx, vtysh, "--vty_socket", f.dir, "-c", fmt.Sprintf("show vrrp %d json", f.vrid))
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, out)
	}
	var doc []struct {
		V4 struct {
			Status string `json:"status"`
		} `json:"v4"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc) != 1 {
		return "", fmt.Errorf("netlab: frr: show vrrp: %v: %s", err, out)
	}
	return doc[0].V4.Status, nil
}

// Master reports whether vrrpd is master and its macvlan is up without
// protodown (vrrpd lifts protodown only as master).
func (f *FRR) Master() (bool, error) {
	st, err := f.State()
	if err != nil || st != "Master" {
		return false, err
	}
	out, err := f.host.Exec(context.Background(), "ip", "-d", "link", "show", "dev", f.Macvlan)
	if err != nil {
		return false, err
	}
	s := string(out)
	return !strings.Contains(s, "protodown on") && strings.Contains(s, "state UP"), nil
}
