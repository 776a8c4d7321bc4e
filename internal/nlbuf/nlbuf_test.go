package nlbuf

import "testing"

// TestMonitor: a set value is read back; 0 and negative sizes clear it.
func TestMonitor(t *testing.T) {
	t.Cleanup(func() { SetMonitor(0, false) })
	if _, ok := Monitor(); ok {
		t.Fatal("set before anything set it")
	}
	SetMonitor(3_000_000, true)
	if b, ok := Monitor(); !ok || b != (Buf{Size: 3_000_000, Force: true}) {
		t.Errorf("Monitor() = %+v, %v; want {3000000 true}, true", b, ok)
	}
	for _, size := range []int{0, -1} {
		SetMonitor(4, true)
		SetMonitor(size, true)
		if b, ok := Monitor(); ok {
			t.Errorf("after SetMonitor(%d): %+v still set", size, b)
		}
	}
}
