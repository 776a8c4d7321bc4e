package dbusapi

import (
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"
)

// The XML keepalived's GDBus answers Introspect with: the standard
// interfaces first, then keepalived's own (from its introspection files).
const (
	xmlHeader = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
                      "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<!-- govrrp -->
<node>
`
	xmlStandard = `  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="out"/>
    </method>
    <method name="GetAll">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="a{sv}" name="properties" direction="out"/>
    </method>
    <method name="Set">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="in"/>
    </method>
    <signal name="PropertiesChanged">
      <arg type="s" name="interface_name"/>
      <arg type="a{sv}" name="changed_properties"/>
      <arg type="as" name="invalidated_properties"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg type="s" name="xml_data" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg type="s" name="machine_uuid" direction="out"/>
    </method>
  </interface>
`
	xmlVrrp = `  <interface name="org.keepalived.Vrrp1.Vrrp">
    <method name="PrintData">
    </method>
    <method name="PrintStats">
    </method>
    <method name="PrintStatsClear">
    </method>
    <method name="ReloadConfig">
    </method>
    <signal name="VrrpStarted">
    </signal>
    <signal name="VrrpReloaded">
    </signal>
    <signal name="VrrpStopped">
    </signal>
  </interface>
`
	xmlInstance = `  <interface name="org.keepalived.Vrrp1.Instance">
    <method name="SendGarp">
    </method>
    <signal name="VrrpStatusChange">
      <arg type="u" name="status">
      </arg>
    </signal>
    <property type="s" name="Name" access="read">
    </property>
    <property type="(us)" name="State" access="read">
    </property>
  </interface>
`
	xmlFooter = "</node>\n"
)

// nodeXML is an intermediate node's answer: its children, sorted.
func nodeXML(children []string) string {
	var b strings.Builder
	b.WriteString(xmlHeader)
	for _, c := range children {
		b.WriteString(`  <node name="` + c + `"/>` + "\n")
	}
	b.WriteString(xmlFooter)
	return b.String()
}

func objectXML(iface string) string { return xmlHeader + xmlStandard + iface + xmlFooter }

// tree is every intermediate node of the exported objects, with its
// children: what keepalived's GDBus lists for /, /org, ... /Instance/IF/VRID.
func tree(leaves []dbus.ObjectPath) map[dbus.ObjectPath][]string {
	kids := map[dbus.ObjectPath]map[string]bool{}
	for _, leaf := range leaves {
		p := string(leaf)
		for p != "/" {
			i := strings.LastIndexByte(p, '/')
			parent := p[:i]
			if parent == "" {
				parent = "/"
			}
			if kids[dbus.ObjectPath(parent)] == nil {
				kids[dbus.ObjectPath(parent)] = map[string]bool{}
			}
			kids[dbus.ObjectPath(parent)][p[i+1:]] = true
			p = parent
		}
	}
	out := make(map[dbus.ObjectPath][]string, len(kids))
	leafSet := map[dbus.ObjectPath]bool{}
	for _, l := range leaves {
		leafSet[l] = true
	}
	for p, m := range kids {
		if leafSet[p] {
			continue // an object with children is not one keepalived makes
		}
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		slices.Sort(names)
		out[p] = names
	}
	return out
}
