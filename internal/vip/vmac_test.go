package vip

import (
	"errors"
	"net"
	"testing"
)

func TestVMACMAC(t *testing.T) {
	for _, c := range []struct {
		v    VMAC
		want string
	}{
		{VMAC{VRID: 51}, "00:00:5e:00:01:33"},
		{VMAC{VRID: 255, IPv6: true}, "00:00:5e:00:02:ff"},
		{VMAC{VRID: 1}, "00:00:5e:00:01:01"},
	} {
		if got := c.v.MAC().String(); got != c.want {
			t.Errorf("MAC(%+v) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestVMACValidate(t *testing.T) {
	for _, v := range []VMAC{
		{Name: "", Parent: "eth0", VRID: 1},
		{Name: "vrrp.1", Parent: "", VRID: 1},
		{Name: "averyverylongname0", Parent: "eth0", VRID: 1},
		{Name: "eth0", Parent: "eth0", VRID: 1},
		{Name: "vrrp.0", Parent: "eth0", VRID: 0},
	} {
		if err := v.validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("validate(%+v) = %v, want ErrInvalid", v, err)
		}
	}
	if err := (VMAC{Name: "vrrp.1", Parent: "eth0", VRID: 1}).validate(); err != nil {
		t.Errorf("valid VMAC refused: %v", err)
	}
}

func TestVMACGivenMAC(t *testing.T) {
	v := VMAC{VRID: 3, Addr: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x09}}
	if got := v.MAC().String(); got != "02:00:00:00:00:09" {
		t.Errorf("MAC with use_vmac MAC = %s, want the configured 02:00:00:00:00:09", got)
	}
}
