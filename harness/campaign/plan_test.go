package campaign

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestParseSets(t *testing.T) {
	cases := []struct {
		in   string
		want string // sets joined by ';'
	}{
		{"partition", "partition"},
		{"partition;kill;partition,kill,pause", "partition;kill;partition,kill,pause"},
		{"kill,partition", "partition,kill"},                // documented order
		{"kill+partition; ;kill", "partition,kill;kill"},    // '+' as ',', blanks skipped
		{"partition,kill;kill,partition", "partition,kill"}, // duplicates dropped
		{"all", "partition,packet,kill,pause,clock,disk,membership,snapshot"},
		{"all;kill", "partition,packet,kill,pause,clock,disk,membership,snapshot;kill"},
		{"kill,partition:one-way", "partition:one-way,kill"},
		{"partition:one-way,partition,kill", "partition,partition:one-way,kill"},
	}
	for _, c := range cases {
		got, err := ParseSets(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if s := joinSets(got); s != c.want {
			t.Errorf("%q: got %q, want %q", c.in, s, c.want)
		}
	}
	for in, want := range map[string]string{
		"partiton":     `unknown fault family "partiton" in the set "partiton"`,
		"kill;;":       "",
		"":             `no fault set`,
		";":            `no fault set`,
		"kill;clocks":  `unknown fault family "clocks"`,
		"partition,,x": `unknown fault family "x"`,
		"kill:one-way": `unknown fault family "kill:one-way"`,
		"partition:x":  `unknown fault family "partition:x"`,
	} {
		_, err := ParseSets(in)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

func joinSets(sets [][]string) string {
	parts := make([]string, len(sets))
	for i, s := range sets {
		parts[i] = strings.Join(s, ",")
	}
	return strings.Join(parts, ";")
}

// FuzzParseSets: any input parses or fails with a message naming it; what
// parses is canonical (printing and parsing again gives the same sets).
func FuzzParseSets(f *testing.F) {
	for _, s := range []string{"partition", "partition;kill;partition,kill,pause", "all", "x", ";;", "kill+pause", "disk,membership;snapshot"} {
		f.Add(s)
	}
	f.Add("partition:one-way,kill;partition:bridge")
	f.Fuzz(func(t *testing.T, in string) {
		sets, err := ParseSets(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("--nemesis %q: ", in)) {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		again, err := ParseSets(joinSets(sets))
		if err != nil || !slices.EqualFunc(sets, again, slices.Equal) {
			t.Fatalf("%q -> %q -> %q, %v", in, joinSets(sets), joinSets(again), err)
		}
	})
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string]Shard{"1/1": {1, 1}, "2/4": {2, 4}, "4/4": {4, 4}} {
		if got, err := ParseShard(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"0/4", "5/4", "1/0", "a/b", "1", "1/2/3", "-1/2", ""} {
		if _, err := ParseShard(in); err == nil || !strings.Contains(err.Error(), "1 ≤ i ≤ n") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// TestShardsCoverThePlan: for any matrix and any number of shards, the
// shards' run lists are disjoint and together are exactly the full list,
// and each is the same every time it is computed (so machines agree).
func TestShardsCoverThePlan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ncells := rapid.IntRange(1, 6).Draw(t, "cells")
		p := Params{Mode: "sim", Seeds: rapid.IntRange(1, 40).Draw(t, "seeds"),
			FirstSeed: rapid.Uint64Range(1, 1e12).Draw(t, "first"), Workers: 1}
		if rapid.Bool().Draw(t, "scenarios") {
			for i := range ncells {
				p.Scenarios = append(p.Scenarios, fmt.Sprintf("dir%d/s.lua", i%2)) // equal base names
			}
		} else {
			fams := []string{"partition", "kill", "pause", "clock", "disk", "packet"}
			for i := range ncells {
				p.Nemesis = append(p.Nemesis, fams[:i+1])
			}
		}
		full := p.Planned()
		if len(full) != p.Total() || p.Total() != p.Seeds*ncells {
			t.Fatalf("full list has %d runs, want %d", len(full), p.Seeds*ncells)
		}
		keys := map[string]bool{}
		for i, s := range full {
			if s.Index != i || keys[s.Key] {
				t.Fatalf("run %d: index %d, key %q (duplicate: %v)", i, s.Index, s.Key, keys[s.Key])
			}
			keys[s.Key] = true
		}
		n := rapid.IntRange(1, 12).Draw(t, "shards")
		seen := map[int]int{}
		for i := 1; i <= n; i++ {
			q := p
			q.Shard = Shard{I: i, N: n}
			part := q.Planned()
			if !slices.EqualFunc(part, q.Planned(), func(a, b Spec) bool { return a.Key == b.Key && a.Seed == b.Seed }) {
				t.Fatal("a shard's list changed between two computations")
			}
			for _, s := range part {
				if prev, dup := seen[s.Index]; dup {
					t.Fatalf("run %d is in shards %d and %d", s.Index, prev, i)
				}
				seen[s.Index] = i
				if full[s.Index].Key != s.Key || full[s.Index].Seed != s.Seed || full[s.Index].Cell.Label() != s.Cell.Label() {
					t.Fatalf("shard %d/%d run %d is %+v, the full list has %+v", i, n, s.Index, s, full[s.Index])
				}
			}
			if q.Fingerprint() != p.Fingerprint() {
				t.Fatal("sharding changed the fingerprint")
			}
		}
		if len(seen) != len(full) {
			t.Fatalf("the shards cover %d of %d runs", len(seen), len(full))
		}
	})
}

func TestSpecOrderAndArgs(t *testing.T) {
	p := Params{Mode: "sim", Seeds: 2, FirstSeed: 7, Nemesis: [][]string{{"partition"}, {"kill", "pause"}}, Bugs: []string{"local-reads"},
		Time: 20e9, RunArgs: []string{"--nodes", "3"}, Workers: 1}
	var got []string
	for _, s := range p.Planned() {
		got = append(got, s.Key+" "+strings.Join(p.args(s, "R"), " "))
	}
	want := []string{
		"partition-s7 run --seed 7 --time 20s --nemesis partition --bug local-reads --nodes 3 --results R",
		"kill+pause-s7 run --seed 7 --time 20s --nemesis kill,pause --bug local-reads --nodes 3 --results R",
		"partition-s8 run --seed 8 --time 20s --nemesis partition --bug local-reads --nodes 3 --results R",
		"kill+pause-s8 run --seed 8 --time 20s --nemesis kill,pause --bug local-reads --nodes 3 --results R",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s := Params{Mode: "process", Seeds: 1, FirstSeed: 1, Scenarios: []string{"a/x.lua", "b/x.lua"}, Workers: 1}
	specs := s.Planned()
	if specs[0].Key != "x-s1" || specs[1].Key != "x.2-s1" || strings.Join(s.args(specs[1], "R"), " ") != "run --seed 1 --mode process --scenario b/x.lua --results R" {
		t.Fatalf("scenario specs %+v, args %q", specs, s.args(specs[1], "R"))
	}
	e := Params{Mode: "process", System: "etcd@debian", Seeds: 1, FirstSeed: 3, Nemesis: [][]string{{"all"}}, Workers: 1}
	if got := strings.Join(e.args(e.Planned()[0], "R"), " "); got != "run --seed 3 --mode process --system etcd@debian --nemesis all --results R" {
		t.Fatalf("system args %q", got)
	}
}

func TestValidate(t *testing.T) {
	ok := Params{Mode: "sim", Seeds: 1, FirstSeed: 1, Nemesis: [][]string{{"kill"}}, Workers: 1}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Params){
		"mode":         func(p *Params) { p.Mode = "vm" },
		"no seeds":     func(p *Params) { p.Seeds = 0 },
		"seed 0":       func(p *Params) { p.FirstSeed = 0 },
		"both":         func(p *Params) { p.Scenarios = []string{"x.lua"} },
		"neither":      func(p *Params) { p.Nemesis = nil },
		"workers":      func(p *Params) { p.Workers = 0 },
		"own run flag": func(p *Params) { p.RunArgs = []string{"--seed=3"} },
		"own system":   func(p *Params) { p.RunArgs = []string{"--system", "etcd"} },
	} {
		p := ok
		mut(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	b := ok
	b.Seeds, b.Budget = 0, 1e9
	if err := b.Validate(); err != nil || b.Total() != -1 {
		t.Fatalf("budget without seeds: %v, total %d", err, b.Total())
	}
}
