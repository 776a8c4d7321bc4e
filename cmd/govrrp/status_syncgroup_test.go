package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/govrrp/govrrp/internal/control"
)

func TestPrintSyncGroups(t *testing.T) {
	var b bytes.Buffer
	printSyncGroups(&b, &control.Status{Instances: []control.Instance{{Name: "VI_3", State: "MASTER"}}})
	if b.Len() != 0 {
		t.Errorf("no groups printed %q, want nothing", b.String())
	}
	st := &control.Status{Instances: []control.Instance{
		{Name: "VI_1", State: "MASTER", SyncGroup: "G"}, {Name: "VI_2", State: "MASTER", SyncGroup: "G"},
		{Name: "VI_3", State: "BACKUP", SyncGroup: "H"}, {Name: "VI_4", State: "FAULT", SyncGroup: "H"},
	}}
	printSyncGroups(&b, st)
	got := strings.Fields(b.String())
	want := strings.Fields("SYNC GROUP STATE MEMBERS G MASTER VI_1=MASTER,VI_2=MASTER H MIXED VI_3=BACKUP,VI_4=FAULT")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
}
