package nemesis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/splitbrain/splitbrain/harness/world"
)

func ids(n int) []world.NodeID {
	out := make([]world.NodeID, n)
	for i := range out {
		out[i] = world.NodeID(i + 1)
	}
	return out
}

// hears returns the nodes whose messages reach b (b included).
func hears(r world.Reach, nodes []world.NodeID, b world.NodeID) []world.NodeID {
	var out []world.NodeID
	for _, a := range nodes {
		if a == b || r.Allows(a, b) {
			out = append(out, a)
		}
	}
	return out
}

// components returns the groups of a Reach that is a set of undirected
// cuts between groups: nodes that reach each other both ways.
func connected(r world.Reach, a, b world.NodeID) bool { return r.Allows(a, b) && r.Allows(b, a) }

func TestMajoritiesRing(t *testing.T) {
	for n := 3; n <= 9; n++ {
		for seed := uint64(0); seed < 5; seed++ {
			nodes := ids(n)
			r, desc, err := buildPartition(MajoritiesRing, shapeInput{nodes: nodes, rng: rand.New(rand.NewPCG(seed, 1))})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]world.NodeID{}
			for _, b := range nodes {
				h := hears(r, nodes, b)
				if len(h) != n/2+1 {
					t.Fatalf("n=%d %s: %s hears %v, want exactly a majority (%d)", n, desc, b, h, n/2+1)
				}
				key := fmt.Sprint(h)
				if other, dup := seen[key]; dup {
					t.Fatalf("n=%d %s: %s and %s hear the same majority %v", n, desc, other, b, h)
				}
				seen[key] = b
			}
			if (n/2+1)%2 == 1 {
				// An odd majority: the windows are symmetric, so every cut
				// is two-way and "reaches" equals "hears".
				for _, a := range nodes {
					for _, b := range nodes {
						if r.Allows(a, b) != r.Allows(b, a) {
							t.Fatalf("n=%d %s: %s->%s is one-way", n, desc, a, b)
						}
					}
				}
			}
		}
	}
}

func TestGroupShapes(t *testing.T) {
	for n := 1; n <= 9; n++ {
		nodes := ids(n)
		leader := world.NodeID(1 + (n / 2))
		for _, tc := range []struct {
			shape Shape
			want  []world.NodeID // nodes that must be together with the first group's members
			size  int            // size of the group containing probe
			probe world.NodeID
		}{
			{Halves, nodes[:n/2], n / 2, 1},
			{IsolateLeader, nil, 1, leader},
			{LeaderMinority, nil, max(1, (n-1)/2), leader},
			{LeaderMajority, nil, n/2 + 1, leader},
		} {
			if tc.size == 0 {
				continue
			}
			r, desc, err := buildPartition(tc.shape, shapeInput{nodes: nodes, leader: leader, rng: rand.New(rand.NewPCG(uint64(n), 2))})
			if err != nil {
				t.Fatal(err)
			}
			var group []world.NodeID
			for _, b := range nodes {
				if connected(r, tc.probe, b) {
					group = append(group, b)
				}
			}
			if len(group) != tc.size {
				t.Errorf("n=%d %s: group of %s is %v, want %d nodes", n, desc, tc.probe, group, tc.size)
			}
			if tc.want != nil && !slices.Equal(group, tc.want) {
				t.Errorf("n=%d %s: first group %v, want %v", n, desc, group, tc.want)
			}
			// Everyone outside the group hears everyone else outside it.
			for _, a := range nodes {
				for _, b := range nodes {
					in := slices.Contains(group, a) == slices.Contains(group, b)
					if connected(r, a, b) != in || r.Allows(a, b) != in {
						t.Fatalf("n=%d %s: %s->%s allowed=%v, want %v", n, desc, a, b, r.Allows(a, b), in)
					}
				}
			}
		}
	}
}

func TestLeaderMinorityFiveNodes(t *testing.T) {
	nodes := ids(5)
	r, desc, err := buildPartition(LeaderMinority, shapeInput{nodes: nodes, leader: 4, rng: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		t.Fatal(err)
	}
	if h := hears(r, nodes, 4); len(h) != 2 {
		t.Fatalf("%s: the old leader hears %v, want itself and one other", desc, h)
	}
	if _, _, err := buildPartition(LeaderMinority, shapeInput{nodes: nodes, rng: rand.New(rand.NewPCG(1, 1))}); err == nil {
		t.Fatal("leader-minority without a leader: no error")
	}
}

func TestBridgeMinorityThirdRandomHalves(t *testing.T) {
	for n := 3; n <= 9; n++ {
		nodes := ids(n)
		rng := rand.New(rand.NewPCG(uint64(n), 3))
		r, desc, err := buildPartition(Bridge, shapeInput{nodes: nodes, rng: rng})
		if err != nil {
			t.Fatal(err)
		}
		var bridges []world.NodeID
		for _, b := range nodes {
			if len(hears(r, nodes, b)) == n {
				bridges = append(bridges, b)
			}
		}
		if len(bridges) != 1 {
			t.Fatalf("n=%d %s: nodes hearing everyone %v, want exactly the bridge", n, desc, bridges)
		}
		for _, b := range nodes {
			if b != bridges[0] {
				if h := len(hears(r, nodes, b)); h != (n-1)/2+1 && h != n-1-(n-1)/2+1 {
					t.Fatalf("n=%d %s: %s hears %d nodes, want its half and the bridge", n, desc, b, h)
				}
			}
		}
		r, desc, _ = buildPartition(MinorityThird, shapeInput{nodes: nodes, rng: rng})
		small := n
		for _, b := range nodes {
			small = min(small, len(hears(r, nodes, b)))
		}
		if small != max(1, n/3) {
			t.Fatalf("n=%d %s: smallest side %d, want %d", n, desc, small, max(1, n/3))
		}
		r, desc, _ = buildPartition(RandomHalves, shapeInput{nodes: nodes, rng: rng})
		small = n
		for _, b := range nodes {
			small = min(small, len(hears(r, nodes, b)))
		}
		if small != n/2 {
			t.Fatalf("n=%d %s: smallest side %d, want %d", n, desc, small, n/2)
		}
	}
}

func TestOneWayCutsOneDirection(t *testing.T) {
	nodes := ids(5)
	a, b := []world.NodeID{1}, []world.NodeID{2, 3}
	r, desc, err := buildPartition(OneWay, shapeInput{nodes: nodes, a: a, b: b, rng: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Links(); !slices.Equal(got, [][2]world.NodeID{{1, 2}, {1, 3}}) {
		t.Fatalf("%s: cut links %v, want exactly n1->n2 n1->n3", desc, got)
	}
	if !r.Allows(2, 1) || !r.Allows(3, 1) || r.Allows(1, 2) {
		t.Fatalf("%s: wrong direction", desc)
	}
}
