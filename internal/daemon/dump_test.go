package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
)

// keepalived's DATA, STATS and JSON signals write its dump files into
// $TMPDIR (else /tmp); STATS_CLEAR writes the stats and later dumps count
// from there.
func TestDumpSignalsWriteKeepalivedFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	seg := transport.NewSegment()
	fast := strings.Replace(strings.Replace(twoNodeConfFor("MASTER", 150), "%s", "version 3", 1), "advert_int 1", "advert_int 0.1", 1)
	a := startNode(t, seg, "192.0.2.11", fast)
	defer func() { a.cancel(); <-a.done }()
	for end := time.Now().Add(5 * time.Second); publishedState(a) != "MASTER" && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
	}
	wait := func(name, want string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), want) {
				os.Remove(path)
				return string(b)
			}
		}
		t.Fatalf("%s with %q not written", path, want)
		return ""
	}
	for _, c := range []struct {
		sig        os.Signal
		file, want string
	}{
		{sigData, "keepalived.data", "VRRP Topology"},
		{sigStats, "keepalived.stats", "VRRP Instance: VI_1"},
		{sigJSON, "keepalived.json", `"iname":"VI_1"`},
	} {
		a.d.events <- loopEvent{do: func() { a.d.onDumpSignal(c.sig) }}
		wait(c.file, c.want)
	}
	a.d.events <- loopEvent{do: func() { a.d.onDumpSignal(sigStatsClear) }}
	wait("keepalived.stats", "VRRP Instance: VI_1")
}
