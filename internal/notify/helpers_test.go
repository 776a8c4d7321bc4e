//go:build linux

package notify

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A script run as test scripts log it: "RUN uid=0 argv=[a][b]".
type run struct {
	uid  int // -1: not compared
	argv []string
}

func (r run) String() string { return fmt.Sprintf("uid=%d %q", r.uid, r.argv) }

var bracketRE = regexp.MustCompile(`\[([^\]]*)\]`)

// parseArgv reads "[a][b c]" as {"a", "b c"}.
func parseArgv(s string) []string {
	var out []string
	for _, m := range bracketRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// parseRun reads a RUN line written by capture.sh's log.sh or the test's.
func parseRun(line string) (run, bool) {
	if !strings.HasPrefix(line, "RUN ") {
		return run{}, false
	}
	r := run{uid: -1}
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "uid="); ok {
			r.uid, _ = strconv.Atoi(v)
		}
	}
	i := strings.Index(line, " argv=")
	if i < 0 {
		return run{}, false
	}
	r.argv = parseArgv(line[i+len(" argv="):])
	return r, true
}

// recording is testdata/keepalived-2.2.7-notify.txt, by section.
type recording map[string][]string

func loadRecording(t *testing.T) recording {
	t.Helper()
	b, err := os.ReadFile("testdata/keepalived-2.2.7-notify.txt")
	if err != nil {
		t.Fatal(err)
	}
	rec := recording{}
	sec := ""
	for _, l := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(l, "== "); ok {
			sec = name
			continue
		}
		if sec != "" && l != "" {
			rec[sec] = append(rec[sec], l)
		}
	}
	for _, want := range []string{"runs", "fifo vrrp.fifo", "fifo notify.fifo", "fifo p2.fifo", "fifo readers", "fifo files"} {
		if len(rec[want]) == 0 {
			t.Fatalf("recording has no %q section", want)
		}
	}
	return rec
}

// runs are the RUN lines of the recording, in fork order.
func (rec recording) runs() []run {
	var out []run
	for _, l := range rec["runs"] {
		if r, ok := parseRun(l); ok {
			out = append(out, r)
		}
	}
	return out
}

// byOwner splits runs by the instance or group their script is named
// after (bin/VI_1-notify_master belongs to VI_1), keeping the order.
func byOwner(runs []run) map[string][]run {
	out := map[string][]run{}
	for _, r := range runs {
		owner, _, _ := strings.Cut(filepath.Base(r.argv[0]), "-")
		out[owner] = append(out[owner], r)
	}
	return out
}

// lab is a directory with the scripts the tests run. Every script is a
// symlink to one of a few sh scripts that log to runs.log.
type lab struct {
	t   *testing.T
	dir string
	log *syncBuffer
}

func newLab(t *testing.T) *lab {
	t.Helper()
	dir := t.TempDir()
	// Scripts run as nobody must reach the directory and write the logs.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l := &lab{t: t, dir: dir, log: &syncBuffer{}}
	l.mkdir("bin")
	for _, f := range []string{"runs.log", "readers.log"} {
		l.writeFile(f, "", 0o666)
	}
	// log.sh logs uid, groups and argv.
	l.writeFile("bin/log.sh", `#!/bin/sh
a=""
for x in "$0" "$@"; do a="$a[$x]"; done
echo "RUN uid=$(id -u) groups=$(id -G | tr ' ' ,) argv=$a" >>`+dir+`/runs.log
`, 0o755)
	// block.sh logs like log.sh, writes its pid and waits (at most a
	// minute) for the file release to appear.
	l.writeFile("bin/block.sh", `#!/bin/sh
a=""
for x in "$0" "$@"; do a="$a[$x]"; done
echo $$ >`+dir+`/block.pid
echo "RUN uid=$(id -u) argv=$a" >>`+dir+`/runs.log
i=0
while [ ! -e `+dir+`/release ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
echo "END argv=$a" >>`+dir+`/runs.log
`, 0o755)
	// fiforeader opens the FIFO (its last argument), logs its argv, and
	// copies the FIFO to NAME.out until EOF. Once START is logged the FIFO
	// is open, so no line can be lost; a FIFO closed by its last writer
	// before a reader opens it loses what was in it. It ignores SIGTERM, to
	// read what comes after it (cat inherits the ignored signal).
	l.writeFile("bin/fiforeader", `#!/bin/sh
a=""
for x in "$0" "$@"; do a="$a[$x]"; f=$x; done
exec 3<"$f"
echo "START uid=$(id -u) argv=$a" >>`+dir+`/readers.log
trap '' TERM
exec cat <&3 >>`+dir+`/"$(basename "$f")".out
`, 0o755)
	return l
}

func (l *lab) path(name string) string { return filepath.Join(l.dir, name) }

func (l *lab) mkdir(name string) {
	if err := os.Mkdir(l.path(name), 0o755); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) writeFile(name, content string, mode os.FileMode) {
	l.t.Helper()
	if err := os.WriteFile(l.path(name), []byte(content), mode); err != nil {
		l.t.Fatal(err)
	}
	if err := os.Chmod(l.path(name), mode); err != nil { // past the umask
		l.t.Fatal(err)
	}
}

// script makes bin/NAME, a symlink to target (log.sh, block.sh, ...), and
// returns its Script with args; as the daemon's user unless cred is given.
func (l *lab) script(name, target string, args ...string) *Script {
	l.t.Helper()
	p := l.path("bin/" + name)
	if _, err := os.Lstat(p); err != nil {
		if err := os.Symlink(target, p); err != nil {
			l.t.Fatal(err)
		}
	}
	return &Script{Argv: append([]string{p}, args...), AsSelf: true}
}

// runs are the lines of runs.log with the lab's directory shown as /TMP.
func (l *lab) runs() []run {
	var out []run
	for _, line := range l.lines("runs.log") {
		if r, ok := parseRun(strings.ReplaceAll(line, l.dir, "/TMP")); ok {
			out = append(out, r)
		}
	}
	return out
}

func (l *lab) lines(name string) []string {
	b, err := os.ReadFile(l.path(name))
	if err != nil {
		l.t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// waitLines polls file name until it has at least n lines matching re;
// the poll is bounded.
func (l *lab) waitLines(name, re string, n int) {
	l.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := 0
		if _, err := os.Stat(l.path(name)); err == nil {
			for _, line := range l.lines(name) {
				if rx.MatchString(line) {
					got++
				}
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s: %d lines match %q after 20s, want %d", name, got, re, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// release lets block.sh runs finish.
func (l *lab) release() { l.writeFile("release", "", 0o644) }

// logger logs into the lab's buffer (and to the test log on failure).
func (l *lab) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// start is New with a Close at cleanup (bounded) so no script outlives the test.
func (l *lab) start(cfg Config) *Notifier {
	l.t.Helper()
	n, err := New(cfg, l.logger())
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() {
		l.release()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = n.Close(ctx)
		if l.t.Failed() {
			l.t.Logf("notifier log:\n%s", l.log.String())
		}
	})
	return n
}

func closeWithin(t *testing.T, n *Notifier, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return n.Close(ctx)
}

// syncBuffer is a bytes.Buffer for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// readFifo reads lines from the FIFO at path until EOF (all writers gone)
// and sends them once done.
func readFifo(t *testing.T, path string) <-chan []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan []string, 1)
	go func() {
		defer f.Close()
		var lines []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		ch <- lines
	}()
	return ch
}

// receive waits (bounded) for a readFifo result.
func receive(t *testing.T, ch <-chan []string) []string {
	t.Helper()
	select {
	case l := <-ch:
		return l
	case <-time.After(20 * time.Second):
		t.Fatal("FIFO reader did not see EOF within 20s")
		return nil
	}
}

func isRoot() bool { return os.Geteuid() == 0 }
