package kaconf

import (
	"fmt"
	"strings"
	"testing"
)

// instancesConfig writes n VRRP instances in the usual keepalived shape.
func instancesConfig(n int) []byte {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id bench\n}\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
    state BACKUP
    interface veth%d
    virtual_router_id %d
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret%d
    }
    virtual_ipaddress {
        192.0.2.%d/24 dev veth%d # service address
    }
    notify_master "/usr/local/bin/notify.sh MASTER VI_%d"
}
`, i, i%16, i%255+1, 100+i%100, i, i%250+1, i%16, i)
	}
	return []byte(b.String())
}

func BenchmarkParse1000Instances(b *testing.B) {
	src := instancesConfig(1000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := ParseBytes("bench.conf", src, ParseOptions{ConfigID: "bench"})
		if err != nil || len(f.Nodes) != 1001 {
			b.Fatalf("parse: %v", err)
		}
	}
}
