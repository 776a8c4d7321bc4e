package daemon

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/govrrp/govrrp/internal/transport"
)

// fakeSysctl is an in-memory /proc/sys that logs writes.
type fakeSysctl struct {
	mu     sync.Mutex
	vals   map[string]string
	writes []string
}

func (f *fakeSysctl) Get(k string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vals[k]
	if !ok {
		return "", fmt.Errorf("no such key %s", k)
	}
	return v, nil
}

func (f *fakeSysctl) Set(k, v string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vals[k] = v
	f.writes = append(f.writes, k+"="+v)
	return nil
}

// keepalived's promote_secondaries: set to 1 on the instance's interface at
// start, the old value back at exit; nothing touched without the keyword or
// when it is already 1.
func TestPromoteSecondaries(t *testing.T) {
	const key = "net/ipv4/conf/eth0/promote_secondaries"
	for _, tc := range []struct {
		name, extra, before string
		want                []string
	}{
		{"set and restored", "promote_secondaries", "0", []string{key + "=1", key + "=0"}},
		{"already 1: untouched", "promote_secondaries", "1", nil},
		{"without the keyword", "", "0", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seg := transport.NewSegment()
				f := &fakeSysctl{vals: map[string]string{key: tc.before}}
				n := newNode(t, seg, "192.0.2.11", fmt.Sprintf(twoNodeConf, "BACKUP", 100, "1", tc.extra), nil)
				n.d.promote.ops = f
				n.start()
				time.Sleep(time.Second)
				f.mu.Lock()
				running := f.vals[key]
				f.mu.Unlock()
				if want := map[bool]string{true: "1", false: tc.before}[tc.extra != ""]; running != want {
					t.Errorf("while running: %s, want %s", running, want)
				}
				n.stop(t)
				if d := cmp.Diff(tc.want, f.writes); d != "" {
					t.Errorf("writes (-want +got):\n%s", d)
				}
			})
		})
	}
}
