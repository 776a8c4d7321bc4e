package dbusapi

import (
	"github.com/godbus/dbus/v5"
)

// Handler carries the methods that change something to the daemon. Each
// must only queue the request (a typed event for the loop) and return.
type Handler interface {
	PrintData()
	PrintStats(clear bool)
	Reload()
	SendGarp(Key)
}

// vrrpObj is /org/keepalived/Vrrp1/Vrrp. keepalived replies at once and does
// the work on its own thread; so does this.
type vrrpObj struct{ s *Server }

func (o vrrpObj) PrintData() *dbus.Error {
	o.s.log.Info("D-Bus: printing VRRP data on request")
	o.s.h.PrintData()
	return nil
}

func (o vrrpObj) PrintStats() *dbus.Error {
	o.s.log.Info("D-Bus: printing VRRP stats on request")
	o.s.h.PrintStats(false)
	return nil
}

func (o vrrpObj) PrintStatsClear() *dbus.Error {
	o.s.log.Info("D-Bus: printing and clearing VRRP stats on request")
	o.s.h.PrintStats(true)
	return nil
}

func (o vrrpObj) ReloadConfig() *dbus.Error {
	o.s.log.Info("D-Bus: reload on request")
	o.s.h.Reload()
	return nil
}

// instanceObj is one instance's org.keepalived.Vrrp1.Instance.
type instanceObj struct {
	s   *Server
	key Key
}

// SendGarp asks for one gratuitous ARP / NA per VIP; keepalived sends them
// only while it holds the VIPs (master), and says nothing otherwise.
func (o instanceObj) SendGarp() *dbus.Error {
	o.s.h.SendGarp(o.key)
	return nil
}

// nameValue is Name as keepalived sends it: "(s)".
type nameValue struct{ Name string }

// stateValue is State's "(us)".
type stateValue struct {
	Code uint32
	Name string
}

// propsObj is org.freedesktop.DBus.Properties of one object; errors carry
// GDBus's names and texts, as keepalived answers them.
type propsObj struct {
	s    *Server
	path dbus.ObjectPath
	// iface is the object's own interface; "" for the Vrrp object, which
	// has no properties.
	iface    string
	instance bool
}

func (p propsObj) props() (map[string]dbus.Variant, bool) {
	if !p.instance {
		return map[string]dbus.Variant{}, true
	}
	e, ok := p.s.entry(p.path)
	if !ok {
		return nil, false
	}
	return map[string]dbus.Variant{
		// keepalived 2.2.7 sends Name as "(s)", not the "s" its
		// introspection declares (observed with busctl); clients read that.
		"Name":  dbus.MakeVariant(nameValue{e.Name}),
		"State": dbus.MakeVariant(stateValue{e.State, StateName(e.State)}),
	}, true
}

func (p propsObj) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	if iface != p.iface {
		return dbus.Variant{}, noInterface(iface)
	}
	m, ok := p.props()
	if v, has := m[name]; ok && has {
		return v, nil
	}
	return dbus.Variant{}, noProperty(name)
}

func (p propsObj) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != p.iface {
		return nil, noInterface(iface)
	}
	m, ok := p.props()
	if !ok {
		return nil, noInterface(iface)
	}
	return m, nil
}

func (p propsObj) Set(iface, name string, _ dbus.Variant) *dbus.Error {
	if iface != p.iface {
		return noInterface(iface)
	}
	if m, _ := p.props(); m != nil {
		if _, has := m[name]; has {
			return invalidArgs("Property “" + name + "” is not writable")
		}
	}
	return noProperty(name)
}

func invalidArgs(msg string) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.InvalidArgs", []any{msg})
}

func noInterface(iface string) *dbus.Error {
	return invalidArgs("No such interface “" + iface + "”")
}
func noProperty(name string) *dbus.Error { return invalidArgs("No such property “" + name + "”") }

// introObj answers Introspect with fixed XML.
type introObj string

func (x introObj) Introspect() (string, *dbus.Error) { return string(x), nil }
