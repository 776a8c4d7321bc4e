package kaconf

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGlibcRandom: the first outputs of random() after srandom(seed), as
// printed by a C program against this machine's glibc.
func TestGlibcRandom(t *testing.T) {
	for seed, want := range map[uint32][]int{
		0:          {1804289383, 846930886, 1681692777}, // srandom(0) is srandom(1)
		1:          {1804289383, 846930886, 1681692777},
		42:         {71876166, 708592740, 1483128881},
		4294967295: {254925627, 1205188300, 366127624},
	} {
		g := newGlibcRandom(seed)
		got := []int{g.next(), g.next(), g.next()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("seed %d (-want +got):\n%s", seed, diff)
		}
	}
}

// TestRandomSeed: random_seed makes ${_RANDOM} repeatable, from its line on:
// 42 gives random() 71876166, 708592740 -> 300 + r % 101 = 321, 371; a
// reference before the seed line comes from the unseeded source.
func TestRandomSeed(t *testing.T) {
	src := "a ${_RANDOM 300 400}\nglobal_defs {\n random_seed 42\n}\nb ${_RANDOM 300 400}\nc ${_RANDOM 300 400}\n"
	fs := memFS{"/k.conf": src}
	o := fs.options("n")
	o.Random = func() int { return 7 }
	f, err := ParseFile("/k.conf", o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a 307", "global_defs {}", ">random_seed 42", "b 321", "c 371"}
	if diff := cmp.Diff(want, flat(f.Nodes)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The same file twice: the same values.
	f2, err := ParseFile("/k.conf", o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(flat(f.Nodes), flat(f2.Nodes)); diff != "" {
		t.Errorf("second parse differs (-first +second):\n%s", diff)
	}
	// On one line with its block, as keepalived reads it too.
	one := memFS{"/k.conf": "global_defs { random_seed 42 }\nb ${_RANDOM 300 400}\n"}
	f4, err := ParseFile("/k.conf", one.options("n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := flat(f4.Nodes)[2]; got != "b 321" {
		t.Errorf("after global_defs { random_seed 42 }: %q, want b 321", got)
	}
	// A value that is not a 32-bit number seeds nothing (the keyword check reports it).
	bad := memFS{"/k.conf": strings.Replace(src, "42", "x", 1)}
	ob := bad.options("n")
	ob.Random = func() int { return 7 }
	f3, _ := ParseFile("/k.conf", ob)
	if got := flat(f3.Nodes)[3]; got != "b 307" {
		t.Errorf("after random_seed x: %q, want the unseeded b 307", got)
	}
}
