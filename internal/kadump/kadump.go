package kadump

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/govrrp/govrrp/internal/control"
	"github.com/govrrp/govrrp/pkg/kaconf"
)

// Kind is one of keepalived's dump files.
type Kind uint8

const (
	// Data is SIGUSR1's keepalived.data: configuration and state.
	Data Kind = iota + 1
	// Stats is SIGUSR2's (and STATS_CLEAR's) keepalived.stats: counters.
	Stats
	// JSON is the JSON signal's keepalived.json: instances with counters.
	JSON
)

func (k Kind) String() string {
	switch k {
	case Data:
		return "data"
	case Stats:
		return "stats"
	case JSON:
		return "json"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// FileMode is the mode keepalived 2.2.7 gives its dump files (0666 under its
// umask 0177).
const FileMode os.FileMode = 0o600

// ErrKind is returned for a Kind that is none of Data, Stats, JSON.
var ErrKind = errors.New("kadump: unknown dump kind")

// DefaultDir is where keepalived 2.2.7 writes the files: $TMPDIR when it is
// set and not empty, else /tmp.
func DefaultDir() string {
	if d := os.Getenv("TMPDIR"); d != "" {
		return d
	}
	return "/tmp"
}

// FileName is the name keepalived 2.2.7 gives the file of kind k:
// keepalived.data, keepalived.stats, keepalived.json. With data_use_instance
// in global_defs the .data file (only it) becomes keepalived.NS_INSTANCE.data,
// keepalived.NS.data or keepalived.INSTANCE.data, NS being net_namespace and
// INSTANCE the top-level instance name (paths.txt).
func FileName(k Kind, cfg *kaconf.Config) string {
	switch k {
	case Data:
		if cfg != nil && useInstance(cfg) {
			ns, inst := netNamespace(cfg), cfg.Pid.Instance
			switch {
			case ns != "" && inst != "":
				return "keepalived." + ns + "_" + inst + ".data"
			case ns != "" || inst != "":
				return "keepalived." + ns + inst + ".data"
			}
		}
		return "keepalived.data"
	case Stats:
		return "keepalived.stats"
	case JSON:
		return "keepalived.json"
	}
	return ""
}

// Write renders kind k to w.
func Write(w io.Writer, k Kind, st control.Status, cfg *kaconf.Config) error {
	switch k {
	case Data:
		return WriteData(w, st, cfg)
	case Stats:
		return WriteStats(w, st)
	case JSON:
		return WriteJSON(w, st, cfg)
	}
	return fmt.Errorf("%w %d", ErrKind, uint8(k))
}

// Dump writes the file of kind k into dir (DefaultDir when empty) and returns
// its path. The content is rendered first; the file is then written to a
// temporary file beside it (mode FileMode) and renamed into place, so a
// reader never sees a partial file. For STATS_CLEAR, call Dump(Stats, ...)
// with the cleared view and then start a new StatsBaseline (see there).
//
// Dump only reads st and cfg; the daemon calls it from a goroutine with a
// snapshot.
func Dump(k Kind, dir string, st control.Status, cfg *kaconf.Config) (path string, err error) {
	name := FileName(k, cfg)
	if name == "" {
		return "", fmt.Errorf("%w %d", ErrKind, uint8(k))
	}
	if dir == "" {
		dir = DefaultDir()
	}
	var buf bytes.Buffer
	if err := Write(&buf, k, st, cfg); err != nil {
		return "", err
	}
	path = filepath.Join(dir, name)
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return "", fmt.Errorf("kadump: %w", err)
	}
	return path, nil
}

// writeAtomic is keepalived's fopen_safe: create PATH.XXXXXX exclusively in
// the same directory, write, chmod, rename over path.
func writeAtomic(path string, b []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(FileMode); err != nil {
		return err
	}
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// otherArg is the first argument of a parsed-only line (top level or
// global_defs) with keyword kw, or "".
// netNamespace is the top-level net_namespace (typed since govrrp acts on
// it), or a global_defs one kept raw.
func netNamespace(cfg *kaconf.Config) string {
	if cfg.Ifaces.NetNamespace != "" {
		return cfg.Ifaces.NetNamespace
	}
	return otherArg(cfg, "net_namespace")
}

func otherArg(cfg *kaconf.Config, kw string) string {
	for _, r := range cfg.Global.Other {
		if len(r.Words) >= 2 && r.Words[0] == kw {
			return r.Words[1]
		}
	}
	return ""
}

// useInstance reports global_defs data_use_instance [BOOL].
func useInstance(cfg *kaconf.Config) bool {
	for _, r := range cfg.Global.Other {
		if len(r.Words) == 0 || r.Words[0] != "data_use_instance" {
			continue
		}
		if len(r.Words) == 1 {
			return true
		}
		switch strings.ToLower(r.Words[1]) {
		case "false", "no", "off", "0":
			return false
		}
		return true
	}
	return false
}
