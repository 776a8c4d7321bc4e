package daemon

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/govrrp/govrrp/internal/transport"
)

// net_namespace cannot change on reload (keepalived.conf(5)): adding,
// changing or removing it is refused with the line, and the running
// configuration stays; the same namespace reloads fine.
func TestReloadRefusesNetNamespaceChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg := transport.NewSegment()
		conf := fmt.Sprintf(twoNodeConf, "MASTER", 150, "1", "")
		a := startNode(t, seg, "192.0.2.11", "net_namespace blue\n"+conf)
		time.Sleep(5 * time.Second)
		for _, tt := range []struct{ name, conf, err string }{
			{"changed", "net_namespace red\n" + conf, `:1:1: net_namespace cannot be changed on reload (running in "blue", the file now says "red")`},
			{"removed", conf, `net_namespace cannot be changed on reload (running in "blue", the file now says "")`},
			{"same", "net_namespace blue\n" + conf, ""},
		} {
			out := reloadNode(t, a, tt.conf)
			switch {
			case tt.err == "" && out.err != nil:
				t.Errorf("%s: reload refused: %v", tt.name, out.err)
			case tt.err != "" && (out.err == nil || !strings.Contains(out.err.Error(), tt.err)):
				t.Errorf("%s: reload error = %v, want it to contain %q", tt.name, out.err, tt.err)
			}
			if a.state() != "MASTER" {
				t.Fatalf("%s: a = %s after the reload, want MASTER", tt.name, a.state())
			}
		}
		a.stop(t)
	})
}
