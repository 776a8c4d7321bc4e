package kadump

import (
	"bytes"
	"strings"
	"testing"

	"github.com/govrrp/govrrp/internal/control"
)

// The track_bfd lines of keepalived.data as keepalived 2.2.7 wrote them for
// this file (SIGUSR1, 2026-12-01, /var/tmp/bfdcfg/o.conf): the instance's
// "Tracked BFDs" (the first of a duplicate entry kept, kaconf drops the
// second), and the "VRRP Track BFDs" section with every bfd_instance the
// VRRP side knows — not c1, a checker-only one.
func TestDataTrackBFD(t *testing.T) {
	cfg := loadString(t, `bfd_instance b1 {
    neighbor_ip 192.0.2.2
    weight 10
}
bfd_instance c1 {
    neighbor_ip 192.0.2.3
    checker
}
bfd_instance b3 {
    neighbor_ip 192.0.2.5
}
vrrp_instance VI {
    interface lan0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
    track_bfd {
        b1
    }
}
vrrp_instance VJ {
    interface lan0
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        192.0.2.11/24
    }
    track_bfd {
        b1 weight -7 reverse
    }
}
`)
	st := control.Status{Instances: []control.Instance{{Name: "VI", Interface: "lan0", VRID: 1}, {Name: "VJ", Interface: "lan0", VRID: 2}},
		BFD: []control.BFDSession{{Name: "b1", State: "Down"}, {Name: "b3", State: "Up"}}}
	var b bytes.Buffer
	if err := WriteData(&b, st, cfg); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"   Tracked BFDs :\n     b1: weight 10\n   Using smtp notification",
		"   Tracked BFDs :\n     b1: weight -7 reverse\n",
		"------< VRRP Track BFDs >------\n VRRP Track BFD = b1\n   Weight = 10\n   Bfd is down\n   Tracking VRRP instances :\n" +
			"   Tracking instances :\n     VI, weight 10\n     VJ, weight -7 reverse\n" +
			" VRRP Track BFD = b3\n   Weight = 0\n   Bfd is up\n   Tracking VRRP instances :\n------< Interfaces >------\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks\n%s\nin:\n%s", want, out)
		}
	}
	if strings.Contains(out, "c1") {
		t.Errorf("checker-only bfd_instance in the VRRP dump:\n%s", out)
	}
}
