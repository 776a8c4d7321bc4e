package netlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var backNet = netip.MustParsePrefix("198.51.100.0/24")

func TestApacheConfigRenders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		conf ApacheConfig
		want []string // lines that must be present
		not  []string // lines that must not
	}{
		{
			name: "backend",
			conf: ApacheConfig{ID: "backend-1", Listen: []string{"198.51.100.21:80"}},
			want: []string{"Listen 198.51.100.21:80", `Header always set X-Backend "backend-1"`, "User www-data"},
			not:  []string{`ProxyPass "/" "balancer://backends/"`},
		},
		{
			name: "proxy",
			conf: ApacheConfig{ID: "proxy-a", Listen: []string{"80"},
				Backends: []string{"http://198.51.100.21", "http://198.51.100.22"}},
			want: []string{"Listen 80", `BalancerMember "http://198.51.100.21" retry=1`,
				`BalancerMember "http://198.51.100.22" retry=1`, `ProxyPass "/healthz" "!"`,
				`ProxyPass "/" "balancer://backends/"`, `Header always set X-Proxy "proxy-a"`},
			not: []string{`Header always set X-Backend "proxy-a"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			site := apacheSite{ApacheConfig: tt.conf, root: dir + "/root"}
			if err := tt.conf.validate(); err != nil {
				t.Fatal(err)
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(site.render(), "\n") {
				lines[strings.TrimSpace(l)] = true
			}
			var missing, extra []string
			for _, w := range tt.want {
				if !lines[w] {
					missing = append(missing, w)
				}
			}
			for _, n := range tt.not {
				if lines[n] {
					extra = append(extra, n)
				}
			}
			if diff := cmp.Diff([][]string{nil, nil}, [][]string{missing, extra}); diff != "" {
				t.Errorf("[missing, unwanted] lines (-want +got):\n%s\n%s", diff, site.render())
			}
			// Apache's own syntax check, when it is installed (no root needed).
			bin, err := lookCmd("apache2")
			if err != nil {
				t.Skip("apache2 not installed: syntax not checked")
			}
			conf, err := site.write(dir)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "-t", "-d", site.root, "-f", conf).CombinedOutput(); err != nil {
				t.Errorf("apache2 -t: %v\n%s", err, out)
			}
		})
	}
}

func TestApacheConfigRejects(t *testing.T) {
	t.Parallel()
	for _, c := range []ApacheConfig{
		{ID: "x", Listen: []string{"80 81"}},
		{ID: "x", Backends: []string{"198.51.100.21"}},
		{ID: `x"y`},
	} {
		if err := c.validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestApacheProxyBalances builds two backends and a proxy and fetches
// through the proxy from a client, with HTTPClient and with curl.
func TestApacheProxyBalances(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "apache2", "curl")
	l := New(t)
	seg := l.AddSegment("back", backNet, netip.Prefix{})
	addr := func(i int) netip.Prefix { return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 24) }
	hosts := map[string]*Host{}
	for name, i := range map[string]int{"backend-1": 21, "backend-2": 22, "proxy": 10, "client": 50} {
		h := l.AddHost(name)
		if err := h.Connect(seg, "eth0", addr(i), netip.Prefix{}); err != nil {
			t.Fatal(err)
		}
		hosts[name] = h
	}
	for i, name := range []string{"backend-1", "backend-2"} {
		if _, err := hosts[name].StartApache("web", ApacheConfig{Listen: []string{addr(21+i).Addr().String() + ":80"}}); err != nil {
			t.Fatal(err)
		}
	}
	proxy, err := hosts["proxy"].StartApache("web", ApacheConfig{
		Backends: []string{"http://198.51.100.21", "http://198.51.100.22"}})
	if err != nil {
		t.Fatal(err)
	}

	c := hosts["client"].HTTPClient(5 * time.Second)
	type answer struct{ proxy, backend, body string }
	var got []answer
	for range 4 {
		resp, err := c.Get("http://198.51.100.10/")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET through the proxy: %s %v", resp.Status, err)
		}
		got = append(got, answer{resp.Header.Get(HeaderProxy), resp.Header.Get(HeaderBackend), string(body)})
	}
	// byrequests is round robin: sequential requests alternate.
	first, second := got[0].backend, "backend-1"
	if first == "backend-1" {
		second = "backend-2"
	}
	var want []answer
	for i := range 4 {
		b := first
		if i%2 == 1 {
			b = second
		}
		want = append(want, answer{"proxy", b, b + "\n"})
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(answer{})); diff != "" {
		t.Errorf("answers through the proxy (-want +got):\n%s", diff)
	}

	// The health path is the proxy's own, as a check with curl sees it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := hosts["client"].Exec(ctx, "curl", "-fsS", "--max-time", "2", "http://198.51.100.10"+ApacheHealthPath)
	if err != nil || string(out) != "ok\n" {
		t.Errorf("curl %s: %q %v", ApacheHealthPath, out, err)
	}

	// SIGTERM (apachectl stop) ends the whole tree with status 0; the port closes.
	if err := proxy.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, err := proxy.Wait(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("apache after SIGTERM: exit %d, %v\n%s", code, err, proxy.Log())
	}
	if _, err := c.Get("http://198.51.100.10/"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("GET after stop: %v, want connection refused", err)
	}
	// And it starts again in the same directory.
	if _, err := hosts["proxy"].StartApache("web", ApacheConfig{Backends: []string{"http://198.51.100.21"}}); err != nil {
		t.Fatal(err)
	}
}

// TestApacheDiesWithLab: Close SIGKILLs the parent's process group and
// sweeps the namespace; the children must not survive it, and the
// balancer's shared memory must live in the private /dev/shm.
func TestApacheDiesWithLab(t *testing.T) {
	t.Parallel()
	Require(t, "ip", "apache2")
	l, err := NewStandalone("apachedie")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	h, err := l.AddHostE("px")
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.StartApache("web", ApacheConfig{Listen: []string{"127.0.0.1:80"},
		Backends: []string{"http://198.51.100.21"}})
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", p.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mounts), " /dev/shm ") || !strings.Contains(string(mounts), " netlab-shm ") {
		t.Errorf("apache's /dev/shm is not the private tmpfs:\n%s", mounts)
	}
	out, err := runIP("netns", "pids", h.Name())
	if err != nil {
		t.Fatalf("ip netns pids: %v: %s", err, out)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	if len(pids) < 2 {
		t.Fatalf("want the parent and at least one child, namespace has pids %v", pids)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	err = WaitFor(context.Background(), 10*time.Second, 10*time.Millisecond, func() (bool, error) {
		for _, pid := range pids {
			if alive(pid, "apache2") {
				return false, fmt.Errorf("apache2 pid %d alive after Close", pid)
			}
		}
		return true, nil
	})
	if err != nil {
		t.Error(err)
	}
}

func TestProbeURL(t *testing.T) {
	t.Parallel()
	got := []string{probeURL("80"), probeURL("198.51.100.21:8080"), probeURL("0.0.0.0:80"), probeURL("[::]:80")}
	want := []string{"http://127.0.0.1:80/healthz", "http://198.51.100.21:8080/healthz",
		"http://127.0.0.1:80/healthz", "http://[::1]:80/healthz"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
