package snmp

import (
	"slices"
)

// Tree is one moment's MIB: varbinds sorted by name, no duplicates, each
// knowing which part of its name is the object (column or scalar) and
// which the instance (index, or .0). The subagent asks View for a new Tree
// when its last is older than Config.TreeMaxAge.
type Tree struct {
	vbs    []VarBind
	objLen []int // per varbind: sub-identifiers naming the object
}

// Builder collects a Tree's varbinds in any order.
type Builder struct {
	vbs []entry
}

type entry struct {
	vb     VarBind
	objLen int
}

// Grow makes room for n more varbinds.
func (b *Builder) Grow(n int) { b.vbs = slices.Grow(b.vbs, n) }

// Add adds object.index = v.
func (b *Builder) Add(object OID, index []uint32, v Value) {
	b.vbs = append(b.vbs, entry{VarBind{Name: object.Append(index...), Value: v}, len(object)})
}

// Tree sorts what was added; a later duplicate name is dropped (a builder
// bug must not turn into a getnext loop).
func (b *Builder) Tree() Tree {
	// Builders that add in OID order (the VRRP MIBs) skip the sort.
	if !slices.IsSortedFunc(b.vbs, func(x, y entry) int { return x.vb.Name.Compare(y.vb.Name) }) {
		slices.SortStableFunc(b.vbs, func(x, y entry) int { return x.vb.Name.Compare(y.vb.Name) })
	}
	b.vbs = slices.CompactFunc(b.vbs, func(x, y entry) bool { return x.vb.Name.Compare(y.vb.Name) == 0 })
	t := Tree{vbs: make([]VarBind, len(b.vbs)), objLen: make([]int, len(b.vbs))}
	for i, e := range b.vbs {
		t.vbs[i], t.objLen[i] = e.vb, e.objLen
	}
	return t
}

// VarBinds returns every varbind in order.
func (t Tree) VarBinds() []VarBind { return t.vbs }

func (t Tree) search(name OID) (int, bool) {
	return slices.BinarySearchFunc(t.vbs, name, func(vb VarBind, o OID) int { return vb.Name.Compare(o) })
}

// Get answers a Get for name: its value; noSuchInstance when name is an
// instance of an object the tree has other instances of; noSuchObject
// otherwise (RFC 2741 7.2.3.1). Instances of one object are contiguous, so
// the neighbours of name's position are the only candidates.
func (t Tree) Get(name OID) VarBind {
	i, ok := t.search(name)
	if ok {
		return t.vbs[i]
	}
	typ := uint16(typeNoSuchObj)
	for _, j := range []int{i - 1, i} {
		if j >= 0 && j < len(t.vbs) && len(name) > t.objLen[j] && name.HasPrefix(t.vbs[j].Name[:t.objLen[j]]) {
			typ = typeNoSuchInst
		}
	}
	return VarBind{Name: name, Value: Value{Type: typ}}
}

// Next answers one GetNext range: the first name after start (or at start
// when include) and before end (a null end is unbounded), or endOfMibView
// named start (RFC 2741 7.2.3.2).
func (t Tree) Next(r searchRange) VarBind {
	i, ok := t.search(r.Start)
	if ok && !r.Include {
		i++
	}
	if i < len(t.vbs) && (len(r.End) == 0 || t.vbs[i].Name.Compare(r.End) < 0) {
		return t.vbs[i]
	}
	return VarBind{Name: r.Start, Value: Value{Type: typeEndOfView}}
}

// Bulk answers a GetBulk (RFC 2741 7.2.3.3): the first nonRep ranges once,
// then the others maxRep times, each repetition continuing from the name
// the previous one returned, until every repeater is at endOfMibView.
// limit bounds the answer's varbinds.
func (t Tree) Bulk(rs []searchRange, nonRep, maxRep uint16, limit int) []VarBind {
	n := min(int(nonRep), len(rs))
	out := make([]VarBind, 0, min(limit, n+(len(rs)-n)*int(maxRep)))
	for _, r := range rs[:n] {
		out = append(out, t.Next(r))
	}
	rep := slices.Clone(rs[n:])
	for range maxRep {
		if len(rep) == 0 || len(out)+len(rep) > limit {
			break
		}
		done := true
		for j := range rep {
			vb := t.Next(rep[j])
			out = append(out, vb)
			if vb.Value.Type != typeEndOfView {
				done = false
				rep[j].Start, rep[j].Include = vb.Name, false
			}
		}
		if done {
			break
		}
	}
	return out
}
