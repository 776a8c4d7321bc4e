package kaconf

import (
	"strings"
	"testing"
)

// BenchmarkBuildJunk: a file of misspelt keywords (suggestion work bounded).
func BenchmarkBuildJunk(b *testing.B) {
	src := "vrrp_instance VI {\n" + strings.Repeat("priorty_and_some_more_text 1\nadvert_inx 2\n", 5000) + "}\n"
	f, err := ParseBytes("b.conf", []byte(src), ParseOptions{ConfigID: "x"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		Build(f.Nodes, LoadOptions{})
	}
}

// BenchmarkBuildInstances: 255 instances with tracks, the size of a large site.
func BenchmarkBuildInstances(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("vrrp_script s {\nscript /bin/true\nweight 2\n}\n")
	for i := 1; i <= 255; i++ {
		sb.WriteString("vrrp_instance VI_" + itoa(int64(i)) + " {\ninterface eth0\nvirtual_router_id " + itoa(int64(i)) +
			"\npriority 100\ntrack_script {\ns\n}\nvirtual_ipaddress {\n192.0.2." + itoa(int64(i)) + "\n}\n}\n")
	}
	f, err := ParseBytes("b.conf", []byte(sb.String()), ParseOptions{ConfigID: "x"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := Build(f.Nodes, LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
