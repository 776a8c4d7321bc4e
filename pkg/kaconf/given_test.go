package kaconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An invalid virtual_router_id is one error, not also "must be set".
func TestInvalidValueNotAlsoReportedMissing(t *testing.T) {
	src := "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n"
	f, err := ParseBytes("t.conf", []byte(src), ParseOptions{ConfigID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, diags, _ := Build(f.Nodes, LoadOptions{})
	var got []string
	for _, d := range diags {
		if d.Severity == SevError {
			got = append(got, d.String())
		}
	}
	want := []string{"t.conf:3:21: error: virtual_router_id: 300 outside range [1, 255]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
