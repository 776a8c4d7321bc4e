package dbusapi

import (
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Names and paths keepalived 2.2.7 uses. dbus_service_name changes only the
// bus name: the object paths stay under /org/keepalived/Vrrp1 (observed).
const (
	DefaultServiceName = "org.keepalived.Vrrp1"
	BasePath           = "/org/keepalived/Vrrp1"
	VrrpPath           = dbus.ObjectPath(BasePath + "/Vrrp")
	InstanceRoot       = BasePath + "/Instance"
	VrrpIface          = "org.keepalived.Vrrp1.Vrrp"
	InstanceIface      = "org.keepalived.Vrrp1.Instance"
	propsIface         = "org.freedesktop.DBus.Properties"
	introIface         = "org.freedesktop.DBus.Introspectable"
)

// keepalived's state numbers as VrrpStatusChange and State carry them
// (VRRP_STATE_*); StateStop is what every instance signals when keepalived
// stops (98, observed).
const (
	StateInit   uint32 = 0
	StateBackup uint32 = 1
	StateMaster uint32 = 2
	StateFault  uint32 = 3
	StateStop   uint32 = 98
)

// StateName is the string half of the State property ("Backup", "Master",
// "Fault" observed on keepalived 2.2.7).
func StateName(code uint32) string {
	switch code {
	case StateInit:
		return "Init"
	case StateBackup:
		return "Backup"
	case StateMaster:
		return "Master"
	case StateFault:
		return "Fault"
	}
	return "Unknown"
}

// Key identifies an instance object as keepalived does: the instance's
// configured interface (the base interface for use_vmac, observed), VRID and
// address family.
type Key struct {
	Interface string
	VRID      uint8
	IPv6      bool
}

// Path is the instance's object path. Characters an object path cannot hold
// ('-', '.', '@' ... anything but [A-Za-z0-9_]) become '_': keepalived
// exports dbh-va as dbh_va and dbh.m-1 as dbh_m_1 (observed).
func (k Key) Path() dbus.ObjectPath {
	fam := "IPv4"
	if k.IPv6 {
		fam = "IPv6"
	}
	return dbus.ObjectPath(InstanceRoot + "/" + pathElement(k.Interface) + "/" + strconv.Itoa(int(k.VRID)) + "/" + fam)
}

func pathElement(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && (r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
			continue
		}
		b.WriteByte('_')
	}
	return b.String()
}

// Instance is what the daemon tells the server about one instance.
type Instance struct {
	Key   Key
	Name  string // vrrp_instance NAME: the Name property
	State uint32 // keepalived's number (StateBackup ...)
}
