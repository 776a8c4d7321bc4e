package daemon

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govrrp/govrrp/internal/snmp"
)

// TestKATracksOwnWeight: a tracked script, file or process without a weight
// of its own shows the object's (weight and reverse), one with a weight
// keeps it, as keepalived 2.2.7's vrrpTracked*Table rows read (the wire
// comparison is internal/interop's TestSNMPKeepalivedMIB).
func TestKATracksOwnWeight(t *testing.T) {
	cfg := loadConf(t, `vrrp_script chk {
    script "/bin/true"
    weight -20 reverse
}
vrrp_script chk2 {
    script "/bin/true"
    weight -20 reverse
}
vrrp_track_file tf {
    file /tmp/govrrp-kamib-tf
    weight 3 reverse
}
vrrp_track_process tp {
    process sshd
    weight 5
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    track_script {
        chk
        chk2 weight 7
    }
    track_file {
        tf
    }
    track_process {
        tp
    }
    virtual_ipaddress {
        192.0.2.100
    }
}
`)
	c := cfg.Instances[0]
	got := [][]snmp.KATrack{
		kaTracks(c.TrackScripts, scriptWeight(cfg)),
		kaTracks(c.TrackFiles, fileWeight(cfg)),
		kaTracks(c.TrackProcesses, processWeight(cfg)),
	}
	want := [][]snmp.KATrack{
		{{Name: "chk", Weight: -20, Reverse: true}, {Name: "chk2", Weight: 7}},
		{{Name: "tf", Weight: 3, Reverse: true}},
		{{Name: "tp", Weight: 5}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tracked rows (-want +got):\n%s", d)
	}
	if w, r := scriptWeight(cfg)("undefined"); w != 0 || r {
		t.Errorf("an undefined script's weight %d, reverse %v; want 0, false", w, r)
	}
}
