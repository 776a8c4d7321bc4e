package track

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// obsWait bounds every wait for a tracker's report; events arrive in
// milliseconds, the margin is for loaded CI machines.
const obsWait = 10 * time.Second

// obsSink collects Results from a tracker for the link, file and process
// tests. await consumes results per name in order, so a test can assert a
// sequence while ignoring results in between.
type obsSink struct {
	mu     sync.Mutex
	got    []Result
	cursor map[string]int
	more   chan struct{}
}

func newObsSink() *obsSink {
	return &obsSink{cursor: map[string]int{}, more: make(chan struct{}, 1)}
}

func (s *obsSink) sink(r Result) {
	s.mu.Lock()
	s.got = append(s.got, r)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
}

// next returns the first unconsumed result for name that satisfies ok.
func (s *obsSink) next(name string, ok func(Result) bool) (Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := s.cursor[name]; i < len(s.got); i++ {
		if s.got[i].Name == name && ok(s.got[i]) {
			s.cursor[name] = i + 1
			return s.got[i], true
		}
	}
	return Result{}, false
}

// await waits (bounded) for a result for name that satisfies ok.
func (s *obsSink) await(tb testing.TB, name, what string, ok func(Result) bool) Result {
	tb.Helper()
	deadline := time.NewTimer(obsWait)
	defer deadline.Stop()
	for {
		if r, found := s.next(name, ok); found {
			return r
		}
		select {
		case <-s.more:
		case <-deadline.C:
			tb.Fatalf("%s: no result %s within %v; got:\n%s", name, what, obsWait, s.dump(name))
		}
	}
}

// history is every result for name so far.
func (s *obsSink) history(name string) []Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Result
	for _, r := range s.got {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

func (s *obsSink) dump(name string) string {
	var b strings.Builder
	for _, r := range s.history(name) {
		fmt.Fprintf(&b, "  ok=%v value=%d detail=%q method=%s\n", r.OK, r.Value, r.Detail, r.Method)
	}
	return b.String()
}

// runTracker runs tr until the test ends and waits for Run to return.
func runTracker(tb testing.TB, tr Tracker) *obsSink {
	tb.Helper()
	s := newObsSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tr.Run(ctx, s.sink) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(obsWait):
			tb.Errorf("tracker did not stop within %v", obsWait)
		}
	})
	return s
}

// fileIs matches a file result by OK, Value and Detail prefix.
func fileIs(ok bool, value int, detail string) func(Result) bool {
	return func(r Result) bool {
		return r.Kind == KindFile && r.Method == fileMethod && r.OK == ok && r.Value == value &&
			strings.HasPrefix(r.Detail, detail)
	}
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// replaceFile writes a temporary file and renames it over path, the way
// careful writers update a track file.
func replaceFile(tb testing.TB, path, content string) {
	tb.Helper()
	tmp := path + ".tmp"
	writeFile(tb, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// The table is what keepalived 2.2.7 did with each content (its effective
// priority with weight 1, observed in a namespace).
func TestParseCLong(t *testing.T) {
	tests := []struct {
		in      string
		v       int64
		digits  bool
		inRange bool
	}{
		{"5", 5, true, true},
		{"5\n", 5, true, true},
		{"  12  \n", 12, true, true},
		{" \n 8\n", 8, true, true},
		{"-3", -3, true, true},
		{"+4", 4, true, true},
		{"7abc", 7, true, true},
		{"1.5", 1, true, true},
		{"  -5xyz", -5, true, true},
		{"0x10", 16, true, true},
		{"0XfF", 255, true, true},
		{"0x", 0, true, true}, // "0" is the number, "x" garbage
		{"010", 8, true, true},
		{"08", 0, true, true},
		{"2147483647", 2147483647, true, true},
		{"-2147483648", -2147483648, true, true},
		{"2147483648", 0, true, false},
		{"-2147483649", 0, true, false},
		{"3000000000", 0, true, false},
		{"99999999999", 0, true, false},
		{"99999999999999999999999999", 0, true, false},
		{"", 0, false, true},
		{"abc", 0, false, true},
		{"-", 0, false, true},
		{"\n", 0, false, true},
	}
	for _, tt := range tests {
		v, digits, inRange := parseCLong([]byte(tt.in))
		if inRange && v != tt.v || digits != tt.digits || inRange != tt.inRange {
			t.Errorf("parseCLong(%q) = %d, digits %v, in range %v; want %d, %v, %v",
				tt.in, v, digits, inRange, tt.v, tt.digits, tt.inRange)
		}
	}
}

func TestFilesFollowsWritesRenamesAndDeletes(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, a, "5\n")
	s := runTracker(t, NewFiles([]FileConfig{{Name: "A", Path: a}, {Name: "B", Path: b}}))

	s.await(t, "A", "value 5 at start", fileIs(true, 5, "value 5"))
	s.await(t, "B", "missing at start", fileIs(false, 0, "missing"))

	writeFile(t, a, "6\n")
	s.await(t, "A", "value 6 after an in-place write", fileIs(true, 6, "value 6"))
	replaceFile(t, a, "-3\n")
	s.await(t, "A", "-3 after rename over", fileIs(true, -3, "value -3"))
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	s.await(t, "A", "missing after delete", fileIs(false, 0, "missing"))
	writeFile(t, a, "12")
	s.await(t, "A", "12 after re-creation", fileIs(true, 12, "value 12"))
	replaceFile(t, a, "abc\n")
	s.await(t, "A", "garbage counts as 0", fileIs(false, 0, "not a number"))
	replaceFile(t, a, "7abc\n")
	s.await(t, "A", "a number with trailing garbage", fileIs(true, 7, "value 7"))
	replaceFile(t, a, "99999999999\n")
	s.await(t, "A", "out of range keeps 7", fileIs(true, 7, `value 7 (ignored out-of-range "99999999999")`))

	// B appears by rename into the directory.
	replaceFile(t, b, "0x10")
	s.await(t, "B", "16 after rename into place", fileIs(true, 16, "value 16"))
	if err := os.Rename(b, b+".away"); err != nil {
		t.Fatal(err)
	}
	s.await(t, "B", "missing after rename away", fileIs(false, 0, "missing"))
	// A symlink appears complete: keepalived ignores it, govrrp reads it.
	if err := os.Symlink(b+".away", b); err != nil {
		t.Fatal(err)
	}
	s.await(t, "B", "16 through a new symlink", fileIs(true, 16, "value 16"))
}

func TestFilesReportsChangesOnly(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	writeFile(t, a, "1")
	s := runTracker(t, NewFiles([]FileConfig{{Name: "A", Path: a}}))
	s.await(t, "A", "value 1", fileIs(true, 1, "value 1"))
	// Renames, not in-place writes: a second in-place write may truncate
	// the file while the tracker reads after the first one's close.
	replaceFile(t, a, "1\n") // same number: nothing to report
	writeFile(t, filepath.Join(dir, "other"), "9")
	replaceFile(t, a, "2")
	s.await(t, "A", "value 2", fileIs(true, 2, "value 2"))
	if h := s.history("A"); len(h) != 2 {
		t.Errorf("want 2 results (1, 2), got:\n%s", s.dump("A"))
	}
}

func TestFilesSeesQueuedEventsForManyFiles(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	var cfg []FileConfig
	for i := range 20 {
		d := dir
		if i%2 == 1 {
			d = sub
		}
		cfg = append(cfg, FileConfig{Name: fmt.Sprint("f", i), Path: filepath.Join(d, fmt.Sprint("f", i))})
	}
	s := runTracker(t, NewFiles(cfg))
	for _, c := range cfg {
		s.await(t, c.Name, "missing at start", fileIs(false, 0, "missing"))
	}
	for i, c := range cfg {
		replaceFile(t, c.Path, fmt.Sprint(i+1))
	}
	for i, c := range cfg {
		s.await(t, c.Name, "its value", fileIs(true, i+1, "value"))
	}
}

func TestFilesInitFile(t *testing.T) {
	dir := t.TempDir()
	created, kept, over := filepath.Join(dir, "created"), filepath.Join(dir, "kept"), filepath.Join(dir, "over")
	noDir := filepath.Join(dir, "nodir", "f")
	writeFile(t, kept, "3\n")
	writeFile(t, over, "3\n")
	s := runTracker(t, NewFiles([]FileConfig{
		{Name: "created", Path: created, InitFile: true, InitValue: 7},
		{Name: "kept", Path: kept, InitFile: true, InitValue: 9},
		{Name: "over", Path: over, InitFile: true, InitValue: -9, Overwrite: true},
		{Name: "nodir", Path: noDir, InitFile: true},
	}))
	s.await(t, "created", "init value", fileIs(true, 7, "value 7"))
	s.await(t, "kept", "existing value kept", fileIs(true, 3, "value 3"))
	s.await(t, "over", "overwritten", fileIs(true, -9, "value -9"))
	s.await(t, "nodir", "missing with the init error", fileIs(false, 0, "missing (init_file: no such file or directory)"))

	for path, want := range map[string]string{created: "7\n", kept: "3\n", over: "-9\n"} {
		b, err := os.ReadFile(path)
		if err != nil || string(b) != want {
			t.Errorf("%s: got %q, %v; want %q", path, b, err, want)
		}
	}
	// keepalived 2.2.7 leaves the files it writes at mode 0600.
	for _, path := range []string{created, over} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", path, fi.Mode(), err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*govrrp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestFilesDirectoryRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(dir, "a")
	writeFile(t, a, "4")
	s := runTracker(t, NewFiles([]FileConfig{{Name: "A", Path: a}}))
	s.await(t, "A", "value 4", fileIs(true, 4, "value 4"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s.await(t, "A", "missing, unwatched", fileIs(false, 0, "missing (directory gone"))
}

func TestFilesUnreadable(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := os.Mkdir(a, 0o755); err != nil { // a directory where the file should be
		t.Fatal(err)
	}
	s := runTracker(t, NewFiles([]FileConfig{{Name: "A", Path: a}}))
	s.await(t, "A", "unreadable", fileIs(false, 0, "unreadable: not a regular file"))
}
