package fsm

import (
	"net/netip"
	"testing"
	"time"
)

func kinds(ds []Directive) []string {
	var out []string
	for _, d := range ds {
		out = append(out, strconv3(d.Member)+":"+d.Event.Kind.String())
	}
	return out
}

func strconv3(i int) string { return string(rune('0' + i)) }

func TestSyncGroupPolicy(t *testing.T) {
	g := Group{Name: "G"}
	b := func(n string, want bool) Member { return Member{Name: n, State: Backup, WantMaster: want} }
	m := func(n string) Member { return Member{Name: n, State: Master} }
	f := func(n, why string) Member { return Member{Name: n, State: Fault, OwnFault: why} }
	cases := []struct {
		name string
		got  []string
		want []string
	}{
		{"want alone: other still hears a master", kinds(g.OnWantMaster([]Member{b("A", true), b("B", false)}, 0, "down")), nil},
		{"last to want takes all", kinds(g.OnWantMaster([]Member{b("A", true), b("B", true)}, 1, "down")), []string{"0:go-master", "1:go-master"}},
		{"group already master", kinds(g.OnWantMaster([]Member{m("A"), b("B", true)}, 1, "down")), []string{"1:go-master"}},
		{"faulted member blocks", kinds(g.OnWantMaster([]Member{f("A", "if down"), b("B", true)}, 1, "down")), nil},
		{"demotion pulls masters", kinds(g.OnStateChange([]Member{b("A", false), m("B"), m("C")}, 0, Master, Backup)), []string{"1:force-backup", "2:force-backup"}},
		{"fault from master: no backup directive", kinds(g.OnStateChange([]Member{{Name: "A", State: Fault}, m("B")}, 0, Master, Fault)), nil},
		{"owner master pulls backups", kinds(g.OnStateChange([]Member{m("A"), b("B", false)}, 0, Backup, Master)), []string{"1:go-master"}},
		{"backup to backup nothing", kinds(g.OnStateChange([]Member{b("A", false), m("B")}, 0, Fault, Backup)), nil},
	}
	for _, c := range cases {
		if len(c.got) != len(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
			continue
		}
		for i := range c.got {
			if c.got[i] != c.want[i] {
				t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
			}
		}
	}
}

func TestSyncGroupFaultAndState(t *testing.T) {
	g := Group{Name: "G"}
	ms := []Member{{Name: "A", State: Fault, OwnFault: "interface a down"}, {Name: "B", State: Backup}}
	if got := g.GroupFault(ms, 1); got != `sync group G: A in FAULT (interface a down)` {
		t.Errorf("B's group fault = %q", got)
	}
	if got := g.GroupFault(ms, 0); got != "" {
		t.Errorf("A's own fault is not a group fault: %q", got)
	}
	for _, c := range []struct {
		ms   []Member
		want State
		ok   bool
	}{
		{ms, Fault, true},
		{[]Member{{State: Master}, {State: Master}}, Master, true},
		{[]Member{{State: Backup}, {State: Master}}, Backup, false},
		{[]Member{{State: Backup}, {State: Backup}}, Backup, true},
		{[]Member{{State: Initialize}, {State: Initialize}}, Initialize, true},
	} {
		s, ok := g.State(c.ms)
		if ok != c.ok || (ok && s != c.want) {
			t.Errorf("State(%v) = %v,%v; want %v,%v", c.ms, s, ok, c.want, c.ok)
		}
	}
}

// A sync member's master-down expiry asks (ActWantMaster) and stays Backup;
// GoMaster then makes it Master; a master heard meanwhile cancels the wish.
func TestSyncMemberMachine(t *testing.T) {
	m := New(Config{Version: 3, Priority: 100, AdverInt: time.Second, Preempt: true, PrimaryAddr: netip.MustParseAddr("192.0.2.1")})
	m.SetSyncMember(true)
	m.Handle(Startup(), nil)
	acts := m.Handle(TimerFired(TimerMasterDown, m.TimerGen(TimerMasterDown)), nil)
	if m.State() != Backup || !m.WantsMaster() || !hasKind(acts, ActWantMaster) || !hasKind(acts, ActArmTimer) {
		t.Fatalf("after expiry: state %v want %v acts %v", m.State(), m.WantsMaster(), acts)
	}
	m.Handle(Advert(200, time.Second, netip.MustParseAddr("192.0.2.2")), nil)
	if m.WantsMaster() {
		t.Fatal("an advert from a master must cancel the wish")
	}
	m.Handle(TimerFired(TimerMasterDown, m.TimerGen(TimerMasterDown)), nil)
	acts = m.Handle(GoMaster("group"), nil)
	if m.State() != Master || !hasKind(acts, ActAddVIPs) {
		t.Fatalf("GoMaster: state %v acts %v", m.State(), acts)
	}
	// Demoted by a better advert: the wish that made it Master is spent.
	m.Handle(Advert(200, time.Second, netip.MustParseAddr("192.0.2.2")), nil)
	if m.State() != Backup || m.WantsMaster() {
		t.Fatalf("after demotion: state %v, wants MASTER %v; want Backup, false", m.State(), m.WantsMaster())
	}
	m.Handle(GoMaster("group again"), nil)
	acts = m.Handle(ForceBackup("group"), nil)
	if m.State() != Backup || !hasKind(acts, ActRemoveVIPs) || hasKind(acts, ActSendAdvert) {
		t.Fatalf("ForceBackup: state %v acts %v", m.State(), acts)
	}
	if acts := m.Handle(ForceBackup("again"), nil); len(acts) != 0 {
		t.Errorf("ForceBackup of a Backup does nothing, got %v", acts)
	}
	m.SetSyncMember(false)
	m.Handle(TimerFired(TimerMasterDown, m.TimerGen(TimerMasterDown)), nil)
	if m.State() != Master {
		t.Errorf("outside a group the expiry takes MASTER, state %v", m.State())
	}
}

func hasKind(acts []Action, k ActionKind) bool {
	for _, a := range acts {
		if a.Kind == k {
			return true
		}
	}
	return false
}
