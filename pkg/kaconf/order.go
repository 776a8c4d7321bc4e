package kaconf

import (
	"cmp"
	"slices"
)

// Compare orders positions as the files were read: by file name, then line
// and column.
func (p Pos) Compare(q Pos) int {
	return cmp.Or(cmp.Compare(p.File, q.File), cmp.Compare(p.Line, q.Line), cmp.Compare(p.Col, q.Col))
}

// InFileOrder returns the values of a map of named definitions (Scripts,
// TrackFiles, SyncGroups, ...) in the order the file defines them; pos
// gives a definition's position.
func InFileOrder[T any](m map[string]*T, pos func(*T) Pos) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *T) int { return pos(a).Compare(pos(b)) })
	return out
}
