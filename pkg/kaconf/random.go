package kaconf

import (
	"strconv"
)

// randomSeed acts on global_defs' "random_seed N" as the parser makes it
// (include.go: globalNode): the ${_RANDOM} references after it come from a
// generator seeded with N, so the same file always expands the same way
// (keepalived's man page: "to make configurations repeatable"). The
// generator is glibc's random() after srandom(N), the one keepalived uses,
// so a seeded file gives the values keepalived's documented behaviour gives.
// Observed: keepalived 2.2.7 itself does not honour the seed (two starts of
// one file with random_seed 42 expand ${_RANDOM 1 200} differently, at
// start-up and after a reload); README lists the difference. A bad value is
// left to the keyword check (reloadcfg.go).
func (p *pp) randomSeed(n *Node) {
	if len(n.Args) != 1 {
		return
	}
	v, err := strconv.ParseUint(n.Args[0].Text, 10, 32)
	if err != nil {
		return
	}
	p.rnd = newGlibcRandom(uint32(v)).next
}

// glibcRandom is the additive feedback generator of glibc's random() in its
// default TYPE_3 state (degree 31, separation 3), seeded as srandom seeds it:
// the algorithm is the published one (Park–Miller minimal standard for the
// initial table, then r[i] = r[i-31] + r[i-3], output r[i] >> 1).
type glibcRandom struct {
	r [34]int32 // the last 34 values, a ring indexed by i % 34
	i int
}

func newGlibcRandom(seed uint32) *glibcRandom {
	g := &glibcRandom{}
	s := int32(seed)
	if s == 0 {
		s = 1
	}
	g.r[0] = s
	for i := 1; i < 31; i++ {
		// 16807 * r[i-1] % (2^31 - 1) without overflow (Schrage).
		hi, lo := g.r[i-1]/127773, g.r[i-1]%127773
		w := 16807*lo - 2836*hi
		if w < 0 {
			w += 2147483647
		}
		g.r[i] = w
	}
	for i := 31; i < 34; i++ {
		g.r[i] = g.r[i-31]
	}
	g.i = 34
	for k := 0; k < 310; k++ { // srandom discards the first 310 outputs
		g.step()
	}
	return g
}

func (g *glibcRandom) step() int32 {
	v := g.r[(g.i-31)%34] + g.r[(g.i-3)%34] // wraps as glibc's uint32 sum does
	g.r[g.i%34] = v
	g.i++
	return v
}

// next is random(): 31 bits.
func (g *glibcRandom) next() int { return int(uint32(g.step()) >> 1) }
