package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/govrrp/govrrp/internal/netlab"
)

// The soak's sampler and resource readings. The sampler keeps one netlink
// handle per node namespace (its own, so it never waits on the lock the
// fault injector's netlab calls take) and does one IPv4 address dump per
// node per sample: three small netlink requests every 20 ms.

// soakSample is who held the VIP at one instant: bit i = node i.
type soakSample struct {
	at   time.Duration // since the run's t0
	mask uint8
	ok   bool // every node could be read
}

func (s soakSample) holders() int { return bits.OnesCount8(s.mask) }

type soakSampler struct {
	nodes   []*soakNode
	handles []*netlink.Handle
}

func newSoakSampler(nodes []*soakNode) (*soakSampler, error) {
	s := &soakSampler{nodes: nodes}
	for _, n := range nodes {
		nsh, err := netns.GetFromName(n.host.Name())
		if err != nil {
			s.close()
			return nil, fmt.Errorf("soak: open netns %s: %w", n.host.Name(), err)
		}
		h, err := netlink.NewHandleAt(nsh)
		nsh.Close()
		if err != nil {
			s.close()
			return nil, fmt.Errorf("soak: netlink in %s: %w", n.host.Name(), err)
		}
		s.handles = append(s.handles, h)
	}
	return s, nil
}

// close releases the handles (they would pin the namespaces).
func (s *soakSampler) close() {
	for _, h := range s.handles {
		h.Close()
	}
	s.handles = nil
}

// read dumps each node's IPv4 addresses once.
func (s *soakSampler) read() (uint8, error) {
	var mask uint8
	for i, h := range s.handles {
		addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
		if err != nil {
			return 0, fmt.Errorf("soak: addresses of %s: %w", s.nodes[i].name, err)
		}
		for _, a := range addrs {
			if a.IP.Equal(soakVIP.AsSlice()) {
				mask |= 1 << i
			}
		}
	}
	return mask, nil
}

// waitOnly waits (bounded by timeout) until node idx alone has held the
// VIP for hold without a break.
func (s *soakSampler) waitOnly(ctx context.Context, idx int, timeout, hold time.Duration) error {
	var since time.Time
	return netlab.WaitFor(ctx, timeout, soakEvery, func() (bool, error) {
		m, err := s.read()
		if err != nil {
			return false, err
		}
		if m != 1<<idx {
			since = time.Time{}
			return false, fmt.Errorf("VIP holders %s, want only %s", soakMaskString(m), soakSpecs[idx].name)
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= hold, fmt.Errorf("%s alone for %v of %v", soakSpecs[idx].name,
			time.Since(since).Round(time.Millisecond), hold)
	})
}

// soakRun is a sampler running in its own goroutine.
type soakRun struct {
	t0      time.Time
	quit    chan struct{}
	done    chan struct{}
	samples []soakSample
	errs    int
}

// run samples every soakEvery until stop or ctx ends; the number of
// samples is bounded by the context's deadline.
func (s *soakSampler) run(ctx context.Context) *soakRun {
	r := &soakRun{t0: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	limit := 1 << 20
	if dl, ok := ctx.Deadline(); ok {
		limit = int(time.Until(dl)/soakEvery) + 2
	}
	r.samples = make([]soakSample, 0, min(limit, 1<<16))
	go func() {
		defer close(r.done)
		tick := time.NewTicker(soakEvery)
		defer tick.Stop()
		for len(r.samples) < limit {
			m, err := s.read()
			if err != nil {
				r.errs++
			}
			r.samples = append(r.samples, soakSample{at: time.Since(r.t0), mask: m, ok: err == nil})
			select {
			case <-ctx.Done():
				return
			case <-r.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return r
}

// stop ends the sampler and returns what it saw.
func (r *soakRun) stop() ([]soakSample, int) {
	close(r.quit)
	<-r.done
	return r.samples, r.errs
}

func soakMaskString(m uint8) string {
	var who []string
	for i := range soakSpecs {
		if m&(1<<i) != 0 {
			who = append(who, soakSpecs[i].name)
		}
	}
	if len(who) == 0 {
		return "none"
	}
	return strings.Join(who, ",")
}

// soakRes is one daemon's resource reading.
type soakRes struct {
	node       string
	impl       impl
	pid        int
	rssKB      int // -1 unknown
	goroutines int // -1 unknown (keepalived has none)
	heapKB     int // go_memstats_heap_inuse_bytes / 1024, -1 unknown: tells a leak from RSS the runtime keeps
}

// resources reads VmRSS of every daemon (keepalived: its VRRP child, the
// process that does the work) and govrrp's go_goroutines from its
// --metrics-listen endpoint inside the node's namespace.
func (sl *soakLab) resources(ctx context.Context) []soakRes {
	var out []soakRes
	for _, n := range sl.nodes {
		r := soakRes{node: n.name, impl: n.impl, rssKB: -1, goroutines: -1, heapKB: -1}
		if n.proc != nil && !n.proc.Exited() {
			r.pid = n.proc.Pid()
			if n.impl == keepalived {
				_, vrrp, _ := n.host.KeepalivedPidFiles()
				if b, err := os.ReadFile(vrrp); err == nil {
					if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
						r.pid = pid
					}
				}
			}
			r.rssKB = soakRSS(r.pid)
			if n.impl == govrrp {
				if m, err := soakScrape(ctx, n.host); err == nil {
					r.goroutines = int(m["go_goroutines"])
					r.heapKB = int(m["go_memstats_heap_inuse_bytes"] / 1024)
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// soakRSS is VmRSS in kB from /proc/PID/status, -1 if unreadable.
func soakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			if v, err := strconv.Atoi(f[1]); err == nil {
				return v
			}
		}
	}
	return -1
}

// soakScraped are the metrics soakScrape returns.
var soakScraped = []string{"go_goroutines", "go_memstats_heap_inuse_bytes"}

// soakScrape reads soakScraped from govrrp's metrics. The socket is
// created on a thread inside the node's namespace (127.0.0.1 there is the
// node's own lo).
func soakScrape(ctx context.Context, h *netlab.Host) (map[string]float64, error) {
	var conn net.Conn
	err := h.Do(func() error {
		d := net.Dialer{Timeout: 2 * time.Second}
		c, err := d.DialContext(ctx, "tcp", soakMetrics)
		conn = c
		return err
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET /metrics HTTP/1.0\r\nHost: soak\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || !slices.Contains(soakScraped, f[0]) {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	for _, name := range soakScraped {
		if _, ok := out[name]; !ok {
			return nil, fmt.Errorf("soak: no %s in the metrics of %s", name, h.Short())
		}
	}
	return out, nil
}
