package bfd

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/netlab"
)

// BenchmarkWireTenSessions runs ten 10 ms x 5 sessions between govrrp's
// engine (in this process) and keepalived 2.2.7's BFD process, and
// measures both sides' CPU over the same window (BFD_BENCH_WINDOW, default
// 10 s), with the packet rates and any flap. One run: -benchtime=1x.
//
//	go test -run '^$' -bench BenchmarkWireTenSessions -benchtime=1x ./internal/bfd/
func BenchmarkWireTenSessions(b *testing.B) {
	window := 10 * time.Second
	if v := os.Getenv("BFD_BENCH_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		window = d
	}
	netlab.Require(b, "keepalived")
	lab := netlab.New(b)
	seg := lab.AddSegment("lan", netip.MustParsePrefix("192.0.2.0/24"), netip.Prefix{})
	g, p := lab.AddHost("g"), lab.AddHost("p")
	// k3 and k4: a keepalived pair with the same ten sessions, the
	// reference for what this machine's load does to 10 ms sessions.
	k3, k4 := lab.AddHost("k3"), lab.AddHost("k4")
	const n = 10
	for i, h := range []*netlab.Host{g, p, k3, k4} {
		if err := h.Connect(seg, "eth0", netip.MustParsePrefix(fmt.Sprintf("192.0.2.%d/24", i+1)), netip.Prefix{}); err != nil {
			b.Fatal(err)
		}
		for k := range n {
			a := fmt.Sprintf("192.0.2.%d%d/24", i+1, k)
			if out, err := h.Exec(context.Background(), "ip", "addr", "add", a, "dev", "eth0"); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	}
	var conf strings.Builder
	var cfgs []Config
	for k := range n {
		fmt.Fprintf(&conf, "bfd_instance s%d {\n neighbor_ip 192.0.2.1%d\n source_ip 192.0.2.2%d\n min_rx 10\n min_tx 10\n}\n", k, k, k)
		cfgs = append(cfgs, normalize(Config{Name: fmt.Sprintf("s%d", k), Neighbor: netip.MustParseAddr(fmt.Sprintf("192.0.2.2%d", k)),
			Source: netip.MustParseAddr(fmt.Sprintf("192.0.2.1%d", k))}))
	}
	file := filepath.Join(lab.Dir(), "p-keepalived.conf")
	if err := os.WriteFile(file, []byte(conf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	pid := func(s string) string { return filepath.Join(lab.Dir(), "p-ka-"+s+".pid") }
	if _, err := p.Start("keepalived", "keepalived", "-n", "-l", "-D", "-G", "-f", file,
		"-p", pid("main"), "-r", pid("vrrp"), "-c", pid("check"), "-b", pid("bfd")); err != nil {
		b.Fatal(err)
	}
	var refs []*netlab.Proc
	for _, pr := range [][2]int{{3, 4}, {4, 3}} {
		var rc strings.Builder
		for k := range n {
			fmt.Fprintf(&rc, "bfd_instance s%d {\n neighbor_ip 192.0.2.%d%d\n source_ip 192.0.2.%d%d\n min_rx 10\n min_tx 10\n}\n", k, pr[1], k, pr[0], k)
		}
		name := fmt.Sprintf("k%d", pr[0])
		f := filepath.Join(lab.Dir(), name+"-keepalived.conf")
		if err := os.WriteFile(f, []byte(rc.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		h := k3
		if pr[0] == 4 {
			h = k4
		}
		rp := func(s string) string { return filepath.Join(lab.Dir(), name+"-ka-"+s+".pid") }
		proc, err := h.Start("keepalived", "keepalived", "-n", "-l", "-D", "-G", "-f", f,
			"-p", rp("main"), "-r", rp("vrrp"), "-c", rp("check"), "-b", rp("bfd"))
		if err != nil {
			b.Fatal(err)
		}
		refs = append(refs, proc)
	}
	evs := &events{}
	m := newManager(Options{Sink: evs.sink}, nsIO{h: g, u: newUDPIO(slog.Default())})
	defer m.Close()
	if err := m.Apply(cfgs); err != nil {
		b.Fatal(err)
	}
	err := netlab.WaitFor(context.Background(), 15*time.Second, 20*time.Millisecond, func() (bool, error) {
		for _, st := range m.Snapshot() {
			if st.State != Up || st.Polling || st.TxInterval != 10*time.Millisecond {
				return false, fmt.Errorf("%s %v polling %v tx %v", st.Name, st.State, st.Polling, st.TxInterval)
			}
		}
		return true, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	kaPid, err := readPid(pid("bfd"))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("keepalived bfd process pid %d: scheduling policy %s (0 OTHER, 1 FIFO, 2 RR), rt priority %s",
		kaPid, statField(strconv.Itoa(kaPid), 41), statField(strconv.Itoa(kaPid), 40))
	b.ResetTimer()
	for range b.N {
		before, self0, ka0 := m.Snapshot(), cpuTicks("self"), cpuTicks(strconv.Itoa(kaPid))
		flaps0 := len(evs.all())
		refDown0 := 0
		for _, r := range refs {
			refDown0 += strings.Count(r.Log(), "Entering Down state")
		}
		start := time.Now()
		time.Sleep(window) // the measurement window itself, not a wait for a condition
		after, self1, ka1 := m.Snapshot(), cpuTicks("self"), cpuTicks(strconv.Itoa(kaPid))
		secs := time.Since(start).Seconds()
		var tx, rx uint64
		for i := range after {
			tx += after[i].TxPackets - before[i].TxPackets
			rx += after[i].RxPackets - before[i].RxPackets
		}
		// /proc/PID/stat ticks are 10 ms (CLK_TCK 100): % of one core.
		b.ReportMetric(float64(self1-self0)/secs, "govrrp-cpu-%")
		b.ReportMetric(float64(ka1-ka0)/secs, "keepalived-bfd-cpu-%")
		b.ReportMetric(float64(tx)/secs, "tx-pkt/s")
		b.ReportMetric(float64(rx)/secs, "rx-pkt/s")
		b.ReportMetric(float64(len(evs.all())-flaps0), "events")
		drops := map[string]uint64{}
		for _, st := range after {
			for k, v := range st.Dropped {
				drops[k] += v
			}
		}
		refDown := -refDown0
		for _, r := range refs {
			refDown += strings.Count(r.Log(), "Entering Down state")
		}
		b.ReportMetric(float64(refDown), "ref-keepalived-pair-downs")
		diags := map[uint8]int{}
		for _, e := range evs.all()[flaps0:] {
			if !e.Up {
				diags[e.Diag]++
			}
		}
		b.Logf("window %.1fs: tx %d rx %d, drops %v, manager drops %v, Down events by diag %v (1: our detection expired, 3: keepalived's)",
			secs, tx, rx, drops, m.Dropped(), diags)
	}
}

func readPid(path string) (int, error) {
	var pid int
	err := netlab.WaitFor(context.Background(), 5*time.Second, 20*time.Millisecond, func() (bool, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil, err
	})
	return pid, err
}

// statField is field n (1-based as in proc(5)) of /proc/PID/stat.
func statField(pid string, n int) string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "?"
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if n-3 < 0 || n-3 >= len(f) {
		return "?"
	}
	return f[n-3]
}

// cpuTicks is utime+stime of /proc/PID/stat (all threads).
func cpuTicks(pid string) uint64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return u + st
}

func BenchmarkDecode(b *testing.B) {
	p := Packet{State: Up, DetectMult: 3, MyDisc: 1, YourDisc: 2, DesiredMinTx: 10 * time.Millisecond}
	buf := p.Append(nil)
	b.ReportAllocs()
	for range b.N {
		if _, err := Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}
