package nemesis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/splitbrain/splitbrain/harness/world"
)

// shapeInput is what a partition shape is built from, resolved at
// execution time.
type shapeInput struct {
	nodes  []world.NodeID // the members, sorted
	leader world.NodeID   // 0 if none
	a, b   []world.NodeID // isolate: a; one-way: a -/-> b
	rng    *rand.Rand
}

// buildPartition computes the reachability of a shape and a description
// of it with the resolved nodes.
func buildPartition(shape Shape, in shapeInput) (world.Reach, string, error) {
	n := len(in.nodes)
	shuffled := func() []world.NodeID {
		s := slices.Clone(in.nodes)
		in.rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		return s
	}
	groups := func(gs ...[]world.NodeID) (world.Reach, string, error) {
		parts := make([]string, len(gs))
		for i, g := range gs {
			parts[i] = fmtIDs(g)
		}
		return world.Groups(gs...), string(shape) + " " + strings.Join(parts, " | "), nil
	}
	others := func(except []world.NodeID) []world.NodeID {
		var out []world.NodeID
		for _, id := range in.nodes {
			if !slices.Contains(except, id) {
				out = append(out, id)
			}
		}
		return out
	}
	// withLeader returns the leader plus k other nodes drawn at random.
	withLeader := func(k int) []world.NodeID {
		rest := others([]world.NodeID{in.leader})
		in.rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		k = max(0, min(k, len(rest)))
		return append([]world.NodeID{in.leader}, rest[:k]...)
	}
	switch shape {
	case Halves:
		return groups(in.nodes[:n/2], in.nodes[n/2:])
	case RandomHalves:
		s := shuffled()
		return groups(s[:n/2], s[n/2:])
	case Isolate:
		return groups(in.a, others(in.a))
	case IsolateLeader, LeaderMinority, LeaderMajority:
		if in.leader == 0 {
			return world.Reach{}, "", fmt.Errorf("%s: no leader", shape)
		}
		var g []world.NodeID
		switch shape {
		case IsolateLeader:
			g = []world.NodeID{in.leader}
		case LeaderMinority:
			g = withLeader((n-1)/2 - 1)
		default:
			g = withLeader(n / 2)
		}
		return groups(g, others(g))
	case MinorityThird:
		s := shuffled()
		k := max(1, n/3)
		return groups(s[:k], s[k:])
	case Bridge:
		// Two halves that cannot talk, and one node that talks to both.
		s := shuffled()
		if n < 3 {
			return world.Reach{}, "", fmt.Errorf("bridge: needs at least 3 nodes, have %d", n)
		}
		bridge, rest := s[0], s[1:]
		left, right := rest[:len(rest)/2], rest[len(rest)/2:]
		r := world.Groups(left, right)
		return r, fmt.Sprintf("bridge %s <%s> %s", fmtIDs(left), bridge, fmtIDs(right)), nil
	case MajoritiesRing:
		return majoritiesRing(shuffled())
	case OneWay:
		var r world.Reach
		for _, x := range in.a {
			for _, y := range in.b {
				if x != y {
					r.Cut(x, y)
				}
			}
		}
		return r, fmt.Sprintf("one-way %s -/-> %s: %s", fmtIDs(in.a), fmtIDs(in.b), r), nil
	}
	return world.Reach{}, "", fmt.Errorf("unknown shape %q", shape)
}

// majoritiesRing places the nodes on a ring (in the given order) and lets
// each hear only the m = ⌊n/2⌋+1 consecutive nodes around it: positions
// i-⌊(m-1)/2⌋ … i+⌊m/2⌋. Each node then hears a majority, and for n ≥ 3 no
// two hear the same one. With an even m the window is lopsided, so some
// cuts are one-way.
func majoritiesRing(ring []world.NodeID) (world.Reach, string, error) {
	n := len(ring)
	m := n/2 + 1
	var r world.Reach
	for i, to := range ring {
		hears := map[world.NodeID]bool{}
		for d := -(m - 1) / 2; d <= m/2; d++ {
			hears[ring[((i+d)%n+n)%n]] = true
		}
		for _, from := range ring {
			if !hears[from] {
				r.Cut(from, to)
			}
		}
	}
	return r, fmt.Sprintf("majorities-ring %s: %s", fmtIDs(ring), r), nil
}

func fmtIDs(ids []world.NodeID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}
