package kaconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The SNMP keywords fill GlobalDefs.SNMP as keepalived 2.2.7 reads them:
// enable_snmp_rfc is both RFC MIBs, enable_snmp_keepalived the old name of
// enable_snmp_vrrp.
func TestSNMPDefs(t *testing.T) {
	for _, c := range []struct {
		lines string
		want  SNMPDefs
	}{
		{"", SNMPDefs{}},
		{"enable_snmp_rfc", SNMPDefs{RFCv2: true, RFCv3: true}},
		{"enable_snmp_rfcv2", SNMPDefs{RFCv2: true}},
		{"enable_snmp_rfcv3\nenable_traps", SNMPDefs{RFCv3: true, Traps: true}},
		{"enable_snmp_keepalived\nsnmp_socket tcp:127.0.0.1:705", SNMPDefs{VRRP: true, Socket: "tcp:127.0.0.1:705"}},
		{"enable_snmp_vrrp", SNMPDefs{VRRP: true}},
	} {
		cfg := loadText(t, "global_defs {\n"+c.lines+"\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 192.0.2.1 }\n}\n")
		if d := cmp.Diff(c.want, cfg.Global.SNMP); d != "" {
			t.Errorf("%q (-want +got):\n%s", c.lines, d)
		}
	}
}

// An snmp_socket transport the subagent does not speak is refused by name
// (keepalived would hand it to net-snmp and never connect over it).
func TestSNMPSocketRefused(t *testing.T) {
	for _, addr := range []string{"udp:127.0.0.1:705", "tls:host:705", "nonsense"} {
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		src := "global_defs {\n enable_snmp_rfc\n snmp_socket " + addr + "\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 192.0.2.1 }\n}\n"
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, diags, err := Load(path, LoadOptions{})
		if err == nil || !strings.Contains(fmt.Sprint(err, diags), "snmp_socket") {
			t.Errorf("%s: err %v diags %v, want an snmp_socket error", addr, err, diags)
		}
	}
}
