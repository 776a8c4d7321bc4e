package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestClientSocket: a client in a named namespace (its namespace file the
// same inode as DIR/NAME, as `ip netns exec NAME` leaves it) asks the
// daemon of net_namespace NAME when its socket exists; otherwise, and in an
// unnamed namespace, the default socket.
func TestClientSocket(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "netns")
	run := filepath.Join(tmp, "run", "govrrp")
	for _, d := range []string{dir, filepath.Join(run, "blue")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self := filepath.Join(tmp, "self-net")
	other := filepath.Join(tmp, "other-net")
	for _, f := range []string{self, other} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(other, filepath.Join(dir, "red")); err != nil {
		t.Fatal(err)
	}
	def := filepath.Join(run, "govrrp.sock")
	blue := filepath.Join(run, "blue", "govrrp.sock")

	if got := clientSocket(def, dir, self); got != def {
		t.Errorf("unnamed namespace: %s, want the default %s", got, def)
	}
	if err := os.Link(self, filepath.Join(dir, "blue")); err != nil {
		t.Fatal(err)
	}
	if got := clientSocket(def, dir, self); got != def {
		t.Errorf("in blue, no daemon of net_namespace blue: %s, want the default %s", got, def)
	}
	if err := os.WriteFile(blue, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(def, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := clientSocket(def, dir, self); got != blue {
		t.Errorf("in blue with blue's daemon: %s, want %s", got, blue)
	}
	if got := clientSocket(def, dir, other+"-none"); got != def {
		t.Errorf("namespace file unreadable: %s, want the default", got)
	}
}
