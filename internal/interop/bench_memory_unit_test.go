package interop

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/netlab"
)

// A smaps excerpt as Linux 6.18 writes it: a file mapping, an anonymous
// one and [heap], each with more fields than Rss.
const smapsSample = `00400000-00c00000 r-xp 00000000 fd:00 1234   /usr/sbin/govrrp
Size:               8192 kB
Rss:                6448 kB
Pss:                3224 kB
00c00000-00d00000 r--p 00800000 fd:00 1234   /usr/sbin/govrrp
Rss:                 100 kB
c000000000-c004000000 rw-p 00000000 00:00 0 
Size:              65536 kB
Rss:                9740 kB
7f0000000000-7f0000100000 rw-p 00000000 00:00 0 
Rss:                  12 kB
01f00000-01f21000 rw-p 00000000 00:00 0                                  [heap]
Rss:                   8 kB
`

func TestParseSmapsByMapping(t *testing.T) {
	t.Parallel()
	got, err := parseSmapsByMapping(strings.NewReader(smapsSample))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"govrrp r-xp": 6448, "govrrp r--p": 100, "anon": 9752, "[heap]": 8}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parseSmapsByMapping (-want +got):\n%s", d)
	}
}

func TestParseSmapsRollup(t *testing.T) {
	t.Parallel()
	in := "00400000-7ffd1a7f0000 ---p 00000000 00:00 0                          [rollup]\n" +
		"Rss:               24912 kB\nPss:               16742 kB\nPss_Anon:           9896 kB\nAnonymous:          9896 kB\nVmFlags: rd\n"
	got, err := parseSmapsRollup(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"Rss": 24912, "Pss": 16742, "Pss_Anon": 9896, "Anonymous": 9896}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parseSmapsRollup (-want +got):\n%s", d)
	}
}

// TestPageGroupSharedOnce: two processes of one binary (as keepalived's
// parent and VRRP child are) share its pages and libc's; their Rss sum
// counts those twice, pageGroup once. Needs root (page frame numbers).
func TestPageGroupSharedOnce(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("pagemap frame numbers need root")
	}
	var pids []int
	for range 2 {
		c := exec.Command("sleep", "30")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
		pids = append(pids, c.Process.Pid)
	}
	// Both must have mapped their libraries before they are compared.
	var rss int64
	for _, pid := range pids {
		var m map[string]int64
		err := netlab.WaitFor(context.Background(), 5*time.Second, 10*time.Millisecond, func() (bool, error) {
			maps, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
			if err != nil {
				return false, err
			}
			m, err = smapsRollup(pid)
			return err == nil && strings.Contains(string(maps), "libc"), err
		})
		if err != nil {
			t.Fatalf("sleep %d: %v", pid, err)
		}
		rss += m["Rss"]
	}
	g, err := pageGroup(pids)
	if err != nil {
		t.Fatal(err)
	}
	distinct := g.distinctAnon + g.distinctFile
	if distinct <= 0 || distinct >= rss {
		t.Errorf("distinct pages of two sleeps = %d kB, want > 0 and < their Rss sum %d kB (shared pages once)", distinct, rss)
	}
	if g.uniqueAnon > g.distinctAnon || g.uniqueFile > g.distinctFile {
		t.Errorf("daemon-only pages exceed distinct ones: %+v", g)
	}
}
