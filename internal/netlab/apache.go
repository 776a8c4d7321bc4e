package netlab

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Apache response headers and paths a lab Apache serves (see ApacheConfig).
const (
	// HeaderBackend names the backend that produced a response; a proxy
	// passes it through unchanged.
	HeaderBackend = "X-Backend"
	// HeaderProxy names the reverse proxy a response went through.
	HeaderProxy = "X-Proxy"
	// ApacheHealthPath is served by every lab Apache from its own
	// DocumentRoot ("ok\n"), never proxied: a check of this path tells
	// whether this Apache answers, not whether its backends do.
	ApacheHealthPath = "/healthz"
)

// apacheWrapper runs "$0" "$@" (apache2 and its flags) with a private
// /dev/shm; see StartApache.
const apacheWrapper = `mount -t tmpfs -o mode=1777,size=16m netlab-shm /dev/shm && exec "$0" "$@"`

// apacheModDir is where Debian's apache2 package puts its modules.
const apacheModDir = "/usr/lib/apache2/modules"

// apacheModules are loaded in this order; mod_unixd (User/Group) and
// mod_log_config are compiled into Debian's binary.
var apacheModules = []struct{ name, file string }{
	{"mpm_event_module", "mod_mpm_event.so"},
	{"authz_core_module", "mod_authz_core.so"},
	{"dir_module", "mod_dir.so"},
	{"mime_module", "mod_mime.so"},
	{"headers_module", "mod_headers.so"},
	{"slotmem_shm_module", "mod_slotmem_shm.so"},
	{"proxy_module", "mod_proxy.so"},
	{"proxy_http_module", "mod_proxy_http.so"},
	{"proxy_balancer_module", "mod_proxy_balancer.so"},
	{"lbmethod_byrequests_module", "mod_lbmethod_byrequests.so"},
}

// ApacheConfig describes one Apache httpd on a lab host: a backend serving
// a page that names it, or, when Backends is set, a reverse proxy that
// balances (byrequests, i.e. round robin) over Backends.
type ApacheConfig struct {
	// Listen holds Apache Listen arguments: "80" (every address of the
	// namespace, so also a VIP added later and 127.0.0.1) or
	// "198.51.100.21:80". Default: "80".
	Listen []string
	// Backends are balancer member URLs, e.g. "http://198.51.100.21".
	// Empty: this Apache is a backend.
	Backends []string
	// ID names the server: the backend page is ID+"\n" and carries
	// HeaderBackend: ID; a proxy adds HeaderProxy: ID to every response.
	// Default: the host's short name.
	ID string
}

// apacheSite is a rendered ApacheConfig with its paths.
type apacheSite struct {
	ApacheConfig
	root string // ServerRoot; htdocs/ and run/ below it
}

// render writes the httpd.conf text: self-contained, nothing read from
// /etc/apache2, every path below root.
func (s apacheSite) render() string {
	var b strings.Builder
	role := "backend"
	if len(s.Backends) > 0 {
		role = "reverse proxy over " + strings.Join(s.Backends, ", ")
	}
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	run := filepath.Join(s.root, "run")
	docs := filepath.Join(s.root, "htdocs")
	p("# Written by netlab for %s: %s.", s.ID, role)
	p("ServerRoot %q", s.root)
	p("ServerName %s", s.ID)
	p("PidFile %q", filepath.Join(run, "apache2.pid"))
	p("DefaultRuntimeDir %q", run) // slotmem_shm files of the balancer
	// fcntl lock files in our own dir: nothing left in /dev/shm or SysV
	// IPC when the lab SIGKILLs the process group.
	p("Mutex file:%s default", run)
	p("ErrorLog /dev/stderr") // into the Proc log
	p("LogLevel warn")
	p("LogFormat \"%%h %%t \\\"%%r\\\" %%>s %%D\" lab")
	p("CustomLog %q lab", filepath.Join(s.root, "access.log"))
	// Apache refuses to serve as root: the parent (root) binds and logs,
	// the children run as www-data.
	p("User www-data")
	p("Group www-data")
	for _, m := range apacheModules {
		p("LoadModule %s %s", m.name, filepath.Join(apacheModDir, m.file))
	}
	// Small and quick: one child, a bounded graceful stop.
	p("StartServers 1")
	p("ServerLimit 2")
	p("ThreadsPerChild 8")
	p("MinSpareThreads 4")
	p("MaxSpareThreads 16")
	p("MaxRequestWorkers 16")
	p("GracefulShutdownTimeout 2")
	p("Timeout 5")
	for _, l := range s.Listen {
		p("Listen %s", l)
	}
	p("TypesConfig %q", filepath.Join(s.root, "mime.types"))
	p("DocumentRoot %q", docs)
	p("DirectoryIndex index.html")
	p("<Directory />")
	p("    AllowOverride None")
	p("    Require all denied")
	p("</Directory>")
	p("<Directory %q>", docs)
	p("    Require all granted")
	p("</Directory>")
	if len(s.Backends) == 0 {
		p("Header always set %s %q", HeaderBackend, s.ID)
		return b.String()
	}
	p("<Proxy \"balancer://backends\">")
	for _, u := range s.Backends {
		// retry=1: a member marked in error is retried after a second.
		p("    BalancerMember %q retry=1", u)
	}
	p("    ProxySet lbmethod=byrequests")
	p("</Proxy>")
	p("ProxyTimeout 2")
	p("ProxyPass %q \"!\"", ApacheHealthPath)
	p("ProxyPass \"/\" \"balancer://backends/\"")
	p("ProxyPassReverse \"/\" \"balancer://backends/\"")
	p("Header always set %s %q", HeaderProxy, s.ID)
	return b.String()
}

// validate checks what would otherwise become a confusing Apache error.
func (c ApacheConfig) validate() error {
	bad := func(s string) bool { return s == "" || strings.ContainsAny(s, "\"\n\r\t ") }
	for _, l := range c.Listen {
		if bad(l) {
			return fmt.Errorf("netlab: apache: bad Listen %q", l)
		}
	}
	for _, u := range c.Backends {
		if bad(u) || !strings.HasPrefix(u, "http://") {
			return fmt.Errorf("netlab: apache: bad backend URL %q (want http://ADDR[:PORT])", u)
		}
	}
	if bad(c.ID) {
		return fmt.Errorf("netlab: apache: bad ID %q", c.ID)
	}
	return nil
}

// ApacheRoot is the ServerRoot StartApache uses for name on this host:
// Lab.Dir()/<host>-apache-<name>, holding httpd.conf, htdocs/, run/ and
// access.log.
func (h *Host) ApacheRoot(name string) string {
	return filepath.Join(h.lab.dir, h.name+"-apache-"+name)
}

// StartApache writes a self-contained httpd.conf (see ApacheConfig) under
// ApacheRoot(name) and runs `apache2 -d ROOT -f ROOT/httpd.conf -DFOREGROUND`
// in the host's namespace. It returns once ApacheHealthPath answers on
// every Listen address, or with the log tail if Apache exits first.
//
// The parent runs as root and never detaches; its www-data children share
// its process group, so Proc.Kill and Lab.Close take the whole tree (and
// the namespace sweep catches anything that escaped). Stop it like
// `apachectl stop` with Signal(syscall.SIGTERM), or like `apachectl
// graceful-stop` with Signal(syscall.SIGWINCH) (in-flight requests finish,
// at most 2 s), then Wait. Starting the same name again after a stop
// reuses the directory.
//
// So that the children can read their DocumentRoot, Lab.Dir() becomes
// traversable by everybody (0711: not listable).
func (h *Host) StartApache(name string, conf ApacheConfig) (*Proc, error) {
	if h.err != nil {
		return nil, h.err
	}
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("netlab: bad process name %q", name)
	}
	if conf.ID == "" {
		conf.ID = h.name
	}
	if len(conf.Listen) == 0 {
		conf.Listen = []string{"80"}
	}
	if err := conf.validate(); err != nil {
		return nil, err
	}
	bin, err := lookCmd("apache2")
	if err != nil {
		return nil, err
	}
	for _, m := range apacheModules {
		if _, err := os.Stat(filepath.Join(apacheModDir, m.file)); err != nil {
			return nil, fmt.Errorf("netlab: apache module %s missing (install apache2): %w", m.file, err)
		}
	}
	site := apacheSite{ApacheConfig: conf, root: h.ApacheRoot(name)}
	confPath, err := site.write(h.lab.dir)
	if err != nil {
		return nil, err
	}
	// The balancer's slotmem_shm keeps named POSIX shared memory in
	// /dev/shm, which a SIGKILL (Lab.Close) would leave behind. `ip netns
	// exec` already gives us a mount namespace of our own (a slave of the
	// root one), so mount a private /dev/shm there: the kernel frees it
	// with the last process of the tree. exec keeps Apache's pid the Proc's.
	sh, err := lookCmd("sh")
	if err != nil {
		return nil, err
	}
	p, err := h.Start("apache-"+name, sh, "-c", apacheWrapper, bin, "-d", site.root, "-f", confPath, "-DFOREGROUND")
	if err != nil {
		return nil, err
	}
	if err := h.waitApache(p, conf.Listen, 10*time.Second); err != nil {
		_ = p.Kill()
		return nil, err
	}
	return p, nil
}

// write creates the ServerRoot tree and returns the httpd.conf path.
func (s apacheSite) write(labDir string) (string, error) {
	if err := os.Chmod(labDir, 0o711); err != nil {
		return "", fmt.Errorf("netlab: apache: %w", err)
	}
	run := filepath.Join(s.root, "run")
	for _, d := range []string{s.root, filepath.Join(s.root, "htdocs"), run} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("netlab: apache: %w", err)
		}
	}
	_ = os.Remove(filepath.Join(run, "apache2.pid")) // left by a killed run
	files := map[string]string{
		"httpd.conf":                s.render(),
		"mime.types":                "text/html html\ntext/plain txt\n",
		"htdocs/index.html":         s.ID + "\n",
		"htdocs" + ApacheHealthPath: "ok\n",
	}
	for rel, content := range files {
		p := filepath.Join(s.root, rel)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", fmt.Errorf("netlab: apache: %w", err)
		}
	}
	return filepath.Join(s.root, "httpd.conf"), nil
}

// probeURL turns a Listen argument into a URL reaching it from inside the
// namespace: a wildcard listener is probed on the loopback.
func probeURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil { // a bare port
		host, port = "", listen
	}
	switch host {
	case "", "*", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + ApacheHealthPath
}

// waitApache polls ApacheHealthPath on every listener until each answers 200.
func (h *Host) waitApache(p *Proc, listen []string, timeout time.Duration) error {
	c := h.HTTPClient(time.Second)
	return WaitFor(context.Background(), timeout, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, Permanent(fmt.Errorf("netlab: apache on %s exited: %s", h.name, tail(p.Log(), 10)))
		}
		for _, l := range listen {
			u := probeURL(l)
			resp, err := c.Get(u)
			if err != nil {
				return false, fmt.Errorf("netlab: apache on %s: %w", h.name, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false, fmt.Errorf("netlab: apache on %s: GET %s: %s", h.name, u, resp.Status)
			}
		}
		return true, nil
	})
}

// HTTPClient returns a client whose connections start inside the host's
// namespace, for use from the test or demo process itself (no curl fork
// per request). Every request opens a new connection (no keep-alive), so
// it goes wherever the address lives right now, e.g. to the new VIP
// holder after a failover; environment proxies are ignored. Use IP
// literals: a name that resolves to several addresses would be dialled
// in parallel from goroutines outside the namespace.
func (h *Host) HTTPClient(timeout time.Duration) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := h.Do(func() error {
			var d net.Dialer // socket(2) runs on this thread, so in the namespace
			var err error
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:       dial,
			DisableKeepAlives: true,
			Proxy:             nil,
		},
	}
}
