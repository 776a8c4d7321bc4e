package track

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FileConfig is one track_file block.
type FileConfig struct {
	Name string // block name, reported as Result.Name
	Path string // the file keyword
	// InitFile, InitValue and Overwrite are `init_file [VALUE] [overwrite]`:
	// write InitValue to Path when Run starts if the file does not exist,
	// or always with Overwrite.
	InitFile  bool
	InitValue int
	Overwrite bool
}

// Files watches track_file files: one inotify instance, one watch per
// parent directory, so that a file replaced by rename, deleted or created
// later is seen as well as one rewritten in place. Nothing is polled.
//
// What a file holds is read the way keepalived 2.2 reads it (C strtol with
// base 0 on the first bytes, checked against the int range), observed with
// keepalived 2.2.7:
//
//	"5", " 5\n", "\n 8"  5, 5, 8     leading white space, new lines included, is skipped
//	"7abc", "1.5"        7, 1        trailing garbage is ignored
//	"0x10", "010", "08"  16, 8, 0    hex and octal prefixes, as strtol
//	"+4", "-3"           4, -3
//	"", "abc", "-"       0           no digits: counts as 0
//	missing file         0           ("treat as though the value is 0")
//	"3000000000"         ignored     outside int32: the previous value stays
//
// Result.OK is true when digits were read; Value is what keepalived would
// use in every case, so a consumer that wants keepalived's behaviour must
// use Value (times the weight; with weight 0 a non-zero Value is a
// failure) and must not treat OK=false as a failure: a missing or empty
// file is 0, which with weight 0 is success.
//
// Events acted on are those keepalived acts on — close after writing,
// rename into place, delete, rename away — plus the creation of a symlink
// or hard link (which keepalived misses). A file written by a process that
// keeps it open is seen when it closes it. A file rewritten in place can
// be read while a second write has truncated it (keepalived has the same
// race); writers that care write a temporary file and rename it. Changes of a symlink's target
// are not seen. The parent directory must exist when Run starts; if it is
// removed later the file is reported missing and no longer watched.
type Files struct {
	files []FileConfig

	initOnce sync.Once
	initErrs []error // by index into files; written once in initOnce
}

// NewFiles returns a tracker for the given files.
func NewFiles(files []FileConfig) *Files {
	return &Files{files: append([]FileConfig(nil), files...)}
}

// fileMethod is Result.Method for files.
const fileMethod = "inotify"

// fileReadLimit bounds how much of a track file is read: a number needs a
// few bytes, and a huge file must not cost a huge read on every event.
const fileReadLimit = 4096

// fileWatchMask is what a parent directory is watched for. IN_CREATE is
// only acted on for links (see created); a new regular file is read when
// its writer closes it, so an empty, half-written file is never reported.
const fileWatchMask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE |
	unix.IN_CREATE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// Run applies init_file (once per Files, as keepalived does each time it
// loads its configuration), reports every file once, then again whenever
// what it reports changes, until ctx ends.
func (f *Files) Run(ctx context.Context, report Sink) {
	f.initOnce.Do(f.applyInit)
	w := newFileWatch(f.files, f.initErrs)
	defer w.close()
	w.readAll(report)
	if w.err != nil {
		<-ctx.Done()
		return
	}
	stop := context.AfterFunc(ctx, w.close) // unblocks the read below
	defer stop()
	w.loop(ctx, report)
}

// applyInit writes init_file values, remembering failures for Detail.
func (f *Files) applyInit() {
	f.initErrs = make([]error, len(f.files))
	for i, fc := range f.files {
		if fc.InitFile {
			f.initErrs[i] = initTrackFile(fc.Path, fc.InitValue, fc.Overwrite)
		}
	}
}

// initTrackFile writes "VALUE\n" as keepalived does: mode 0600, the
// directory is not created. Overwrite goes through a temporary file and a
// rename so a reader never sees the file empty.
func initTrackFile(path string, value int, overwrite bool) error {
	data := []byte(strconv.Itoa(value) + "\n")
	if !overwrite {
		fd, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = fd.Write(data)
		return errors.Join(err, fd.Close())
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".govrrp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err = errors.Join(err, tmp.Close()); err == nil { // CreateTemp made it 0600
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// fileState is what was last reported for one file.
type fileState struct {
	reported bool
	res      Result
	// good is the last in-range reading, which an out-of-range value keeps
	// (keepalived ignores such a value).
	good Result
	// unwatched is set when the directory's watch is gone for good.
	unwatched string
}

// fileWatch is the inotify instance and the state of every file.
type fileWatch struct {
	files    []FileConfig
	initErrs []error
	state    []fileState

	ino   *os.File       // nil when inotify could not be set up (err)
	fd    int            // ino's descriptor, for inotify_rm_watch
	err   error          // inotify setup failure, reported per file
	byDir map[int][]int  // watch descriptor -> file indexes
	names map[int]string // file index -> base name
}

func newFileWatch(files []FileConfig, initErrs []error) *fileWatch {
	w := &fileWatch{files: files, initErrs: initErrs, state: make([]fileState, len(files)),
		byDir: map[int][]int{}, names: map[int]string{}}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		w.err = fmt.Errorf("inotify_init1: %w", err)
		return w
	}
	// Non-blocking fd in an *os.File: reads park in the runtime poller and
	// Close wakes them, so Run can end without a timeout loop.
	w.ino, w.fd = os.NewFile(uintptr(fd), "inotify"), fd
	w.addWatches(fd)
	return w
}

// addWatches adds one watch per distinct parent directory.
func (w *fileWatch) addWatches(fd int) {
	dirs := map[string][]int{}
	for i, fc := range w.files {
		p := filepath.Clean(fc.Path)
		dirs[filepath.Dir(p)] = append(dirs[filepath.Dir(p)], i)
		w.names[i] = filepath.Base(p)
	}
	for dir, idx := range dirs {
		wd, err := unix.InotifyAddWatch(fd, dir, fileWatchMask)
		if err != nil {
			for _, i := range idx {
				w.state[i].unwatched = fmt.Sprintf("directory %s not watched: %v", dir, err)
			}
			continue
		}
		w.byDir[wd] = append(w.byDir[wd], idx...)
	}
}

func (w *fileWatch) close() {
	if w.ino != nil {
		_ = w.ino.Close() // a second Close only returns ErrClosed
	}
}

// readAll reads and reports every file.
func (w *fileWatch) readAll(report Sink) {
	for i := range w.files {
		w.refresh(i, report)
	}
}

// loop reads inotify events until the fd is closed.
func (w *fileWatch) loop(ctx context.Context, report Sink) {
	buf := make([]byte, 64*1024)
	for ctx.Err() == nil {
		n, err := w.ino.Read(buf)
		if err != nil {
			if ctx.Err() == nil {
				w.failAll(fmt.Errorf("inotify read: %w", err), report)
				<-ctx.Done()
			}
			return
		}
		w.handle(buf[:n], report)
	}
}

// failAll reports every file as no longer watched.
func (w *fileWatch) failAll(err error, report Sink) {
	for i := range w.state {
		w.state[i].unwatched = err.Error()
		w.refresh(i, report)
	}
}

// handle processes one read's worth of events; each affected file is read
// once, in index order.
func (w *fileWatch) handle(b []byte, report Sink) {
	touched := map[int]bool{}
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			break
		}
		name := cString(b[unix.SizeofInotifyEvent:end])
		w.event(int(ev.Wd), ev.Mask, name, touched)
		b = b[end:]
	}
	idx := make([]int, 0, len(touched))
	for i := range touched {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		w.refresh(i, report)
	}
}

// event marks the files one event may have changed.
func (w *fileWatch) event(wd int, mask uint32, name string, touched map[int]bool) {
	if mask&unix.IN_Q_OVERFLOW != 0 { // events were lost: read everything
		for i := range w.files {
			touched[i] = true
		}
		return
	}
	idx := w.byDir[wd]
	if mask&unix.IN_MOVE_SELF != 0 {
		// The directory was renamed: its watch would now report a
		// directory elsewhere. Drop it; IN_IGNORED follows.
		_, _ = unix.InotifyRmWatch(w.fd, uint32(wd))
		return
	}
	if mask&unix.IN_IGNORED != 0 { // directory deleted or moved: watch is gone
		for _, i := range idx {
			w.state[i].unwatched = "directory gone, no longer watched"
			touched[i] = true
		}
		delete(w.byDir, wd)
		return
	}
	for _, i := range idx {
		if w.names[i] != name {
			continue
		}
		if mask&unix.IN_CREATE != 0 && !w.created(i) {
			continue
		}
		touched[i] = true
	}
}

// created tells whether an IN_CREATE is worth a read: a symlink or a hard
// link appears complete, a regular file is read once closed after writing.
func (w *fileWatch) created(i int) bool {
	var st unix.Stat_t
	if err := unix.Lstat(w.files[i].Path, &st); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFLNK || st.Nlink > 1
}

// refresh reads file i and reports it if what would be reported changed.
func (w *fileWatch) refresh(i int, report Sink) {
	st := &w.state[i]
	res := w.read(i)
	res.Kind, res.Name, res.Method = KindFile, w.files[i].Name, fileMethod
	if st.reported && res.OK == st.res.OK && res.Value == st.res.Value && res.Detail == st.res.Detail {
		return
	}
	st.reported, st.res = true, res
	res.At = time.Now()
	report(res)
}

// read turns the file's current contents into a Result (Kind and Name
// unset), applying keepalived's rules and remembering in-range readings.
func (w *fileWatch) read(i int) Result {
	st := &w.state[i]
	v, digits, inRange, err := readTrackFile(w.files[i].Path)
	var res Result
	switch {
	case errors.Is(err, os.ErrNotExist):
		res = Result{Detail: "missing"}
	case err != nil:
		res = Result{Detail: "unreadable: " + errText(err)}
	case !inRange:
		good := st.good
		if good.Detail == "" {
			good.Detail = "no value yet"
		}
		res = good
		res.Detail = fmt.Sprintf("%s (ignored out-of-range %s)", good.Detail, outOfRangeText(w.files[i].Path))
		return w.annotate(i, res)
	case !digits:
		res = Result{Detail: "not a number"}
	default:
		res = Result{OK: true, Value: v, Detail: "value " + strconv.Itoa(v)}
	}
	st.good = res
	return w.annotate(i, res)
}

// annotate adds why a missing file was not created and why a file is
// not watched, so status shows the real problem.
func (w *fileWatch) annotate(i int, res Result) Result {
	if res.Detail == "missing" && w.initErrs != nil && w.initErrs[i] != nil {
		res.Detail += " (init_file: " + errText(w.initErrs[i]) + ")"
	}
	if u := w.state[i].unwatched; u != "" {
		res.Detail += " (" + u + ")"
	} else if w.err != nil {
		res.Detail += " (" + w.err.Error() + ")"
	}
	return res
}

// errText drops the path from *PathError: Detail names the file already.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// outOfRangeText re-reads the number's text for Detail; best effort.
func outOfRangeText(path string) string {
	b, _ := readLimited(path)
	s := trimCSpace(string(b))
	for j, r := range s {
		if isCSpace(byte(r)) {
			s = s[:j]
			break
		}
	}
	if len(s) > 24 {
		s = s[:24] + "..."
	}
	return strconv.Quote(s)
}

// readTrackFile reads path and parses it like keepalived.
func readTrackFile(path string) (v int, digits, inRange bool, err error) {
	b, err := readLimited(path)
	if err != nil {
		return 0, false, false, err
	}
	v64, digits, inRange := parseCLong(b)
	return int(v64), digits, inRange, nil
}

// readLimited reads at most fileReadLimit bytes. O_NONBLOCK so that a FIFO
// put at the path cannot hang the tracker; only regular files are read.
func readLimited(path string) ([]byte, error) {
	fd, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	if fi, err := fd.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	return io.ReadAll(io.LimitReader(fd, fileReadLimit))
}

// parseCLong parses like C strtol(s, &end, 0) and then checks the result
// against the range of a C int, as keepalived does. digits reports whether
// any digit was consumed (strtol returns 0 either way).
func parseCLong(b []byte) (v int64, digits, inRange bool) {
	i := 0
	for i < len(b) && isCSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	base := int64(10)
	if i+1 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') && i+2 < len(b) && digitVal(b[i+2]) < 16 {
		base, i = 16, i+2
	} else if i < len(b) && b[i] == '0' {
		base = 8
	}
	const limit = int64(1) << 31 // |INT_MIN|; anything larger is out of range
	var mag int64
	for ; i < len(b) && int64(digitVal(b[i])) < base; i++ {
		digits = true
		if mag <= limit {
			mag = mag*base + int64(digitVal(b[i]))
		}
	}
	if neg {
		mag = -mag
	}
	return mag, digits, mag >= -limit && mag < limit
}

// digitVal is the value of a hex digit, or 99.
func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

// isCSpace is C isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func trimCSpace(s string) string {
	for len(s) > 0 && isCSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// cString is the NUL-terminated (and NUL-padded) name of an inotify event.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
