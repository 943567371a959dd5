package world

import (
	"fmt"
	"sort"
	"strings"
)

// Reach is a directed reachability relation between nodes: the set of
// links (from, to) that are cut. The zero value cuts nothing. Every
// partition shape — halves, bridges, rings, one-way — is a Reach.
type Reach struct {
	cut map[[2]NodeID]bool
}

// Cut blocks messages from a to b (one direction).
func (r *Reach) Cut(a, b NodeID) {
	if r.cut == nil {
		r.cut = map[[2]NodeID]bool{}
	}
	r.cut[[2]NodeID{a, b}] = true
}

// CutBoth blocks messages between a and b in both directions.
func (r *Reach) CutBoth(a, b NodeID) { r.Cut(a, b); r.Cut(b, a) }

// Allows reports whether a message from a reaches b.
func (r Reach) Allows(a, b NodeID) bool { return !r.cut[[2]NodeID{a, b}] }

// Empty reports whether nothing is cut.
func (r Reach) Empty() bool { return len(r.cut) == 0 }

// Links returns the cut links, sorted.
func (r Reach) Links() [][2]NodeID {
	out := make([][2]NodeID, 0, len(r.cut))
	for l := range r.cut {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return out[i][1] < out[j][1]
	})
	return out
}

// Groups returns a Reach that splits nodes into the given groups: nodes in
// different groups cannot talk in either direction. Nodes in no group are
// not cut from anyone.
func Groups(groups ...[]NodeID) Reach {
	var r Reach
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					r.CutBoth(a, b)
				}
			}
		}
	}
	return r
}

// String lists the cut links compactly, e.g. "n1->n2 n1<->n3".
func (r Reach) String() string {
	if r.Empty() {
		return "connected"
	}
	var parts []string
	for _, l := range r.Links() {
		a, b := l[0], l[1]
		if r.cut[[2]NodeID{b, a}] {
			if a < b {
				parts = append(parts, fmt.Sprintf("%s<->%s", a, b))
			}
			continue
		}
		parts = append(parts, fmt.Sprintf("%s->%s", a, b))
	}
	return strings.Join(parts, " ")
}
