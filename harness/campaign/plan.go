package campaign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/nemesis"
)

// Params says what a campaign runs: a matrix of cells (fault mixes or
// scenarios) × seeds, each run a child `splitbrain run`.
type Params struct {
	Mode string `json:"mode"` // sim or process
	// System is the system under test of every run ("" the reference
	// node): run --system.
	System string `json:"system,omitempty"`
	// Seeds is the number of seeds per cell (FirstSeed, FirstSeed+1, …);
	// 0 with a Budget means as many as the budget allows.
	Seeds     int              `json:"seeds"`
	FirstSeed uint64           `json:"first_seed"`
	Budget    harness.Duration `json:"budget,omitempty"` // wall-clock time to keep starting runs
	// Nemesis lists the fault mixes, each a set of fault families for the
	// generated schedules; Scenarios lists Lua scripts instead. One of the
	// two makes the cells.
	Nemesis   [][]string       `json:"nemesis,omitempty"`
	Scenarios []string         `json:"scenarios,omitempty"`
	Bugs      []string         `json:"bugs,omitempty"`
	Time      harness.Duration `json:"time,omitempty"` // test length of each run (0: run's default)
	// RunArgs are further flags passed to every run verbatim (after "--"
	// on the command line), e.g. --nodes 3.
	RunArgs []string `json:"run_args,omitempty"`
	Workers int      `json:"workers"`
	// AllArtefacts draws every run's plots and timeline; by default only
	// the runs that do not pass draw them (run --artefacts-on-failure).
	AllArtefacts bool  `json:"all_artefacts,omitempty"`
	Shard        Shard `json:"shard"`
}

// DefaultParams are what `splitbrain campaign` runs when no flag says
// otherwise: the sim, seeds 1–20, one cell with the fault families a
// plain `splitbrain run` uses, a worker per CPU. `selftest --defaults`
// starts from them too, so that the bug-finding power it measures is the
// power of the campaign a user runs.
func DefaultParams() Params {
	var t harness.Test
	t.Defaults()
	return Params{Mode: "sim", Seeds: 20, FirstSeed: 1, Nemesis: [][]string{t.Nemesis}, Workers: runtime.NumCPU()}
}

// Shard is the part of the run list one machine runs: runs whose index in
// the full list is I-1 modulo N. The zero value (or 1/1) is everything.
type Shard struct {
	I int `json:"i"` // 1-based
	N int `json:"n"`
}

func (s Shard) String() string {
	if s.N <= 1 {
		return "1/1"
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Has reports whether the run at index belongs to the shard.
func (s Shard) Has(index int) bool { return s.N <= 1 || index%s.N == s.I-1 }

// ParseShard reads "i/n" with 1 ≤ i ≤ n (a CI matrix or a Kubernetes
// indexed job: --shard $((JOB_COMPLETION_INDEX+1))/N).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("--shard %q: want i/n with 1 ≤ i ≤ n, like 1/4 (shards are numbered from 1)", s)
	}
	return Shard{I: i, N: n}, nil
}

// ParseSets reads fault mixes: sets separated by ';', the kinds of a set
// by ',' or '+': "partition;kill;partition,kill,pause". A kind is a fault
// family, a partition family narrowed to one shape ("partition:one-way"),
// or "all" (every family). Kinds are put in the documented order within a
// set and duplicate sets dropped, so equal mixes have one spelling.
func ParseSets(s string) ([][]string, error) {
	fams := nemesis.Families()
	rank := func(k string) int {
		fam, _, _ := strings.Cut(k, ":")
		return slices.Index(fams, fam)
	}
	var out [][]string
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		set := map[string]bool{}
		for _, f := range strings.FieldsFunc(part, func(r rune) bool { return r == ',' || r == '+' }) {
			f = strings.TrimSpace(f)
			switch {
			case f == "":
			case f == "all":
				for _, x := range fams {
					set[x] = true
				}
			case nemesis.ValidKind(f) == nil:
				set[f] = true
			default:
				return nil, fmt.Errorf("--nemesis %q: unknown fault family %q in the set %q (want families from %s, partition:<shape>, or all; sets separated by ';', families by ',')",
					s, f, part, strings.Join(fams, ", "))
			}
		}
		if len(set) == 0 {
			return nil, fmt.Errorf("--nemesis %q: the set %q names no family", s, part)
		}
		list := make([]string, 0, len(set))
		for k := range set {
			list = append(list, k)
		}
		slices.SortFunc(list, func(a, b string) int {
			if ra, rb := rank(a), rank(b); ra != rb {
				return ra - rb
			}
			return strings.Compare(a, b)
		})
		if key := strings.Join(list, ","); !seen[key] {
			seen[key] = true
			out = append(out, list)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--nemesis %q: no fault set (e.g. \"partition;kill;partition,kill,pause\")", s)
	}
	return out, nil
}

// ExpandScenarios resolves glob patterns to a sorted list of files.
func ExpandScenarios(patterns []string) ([]string, error) {
	var out []string
	for _, p := range patterns {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("--scenario %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("--scenario %q matches no file", p)
		}
		out = append(out, m...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Cell is one column of the matrix: a fault mix or a scenario.
type Cell struct {
	Nemesis  []string `json:"nemesis,omitempty"`
	Scenario string   `json:"scenario,omitempty"`
}

// Label names the cell for people: "partition,kill" or the script path.
func (c Cell) Label() string {
	if c.Scenario != "" {
		return c.Scenario
	}
	return strings.Join(c.Nemesis, ",")
}

// slug names the cell in a directory name.
func (c Cell) slug() string {
	if c.Scenario != "" {
		return strings.TrimSuffix(filepath.Base(c.Scenario), filepath.Ext(c.Scenario))
	}
	return strings.ReplaceAll(strings.Join(c.Nemesis, "+"), ":", ".")
}

// Cells returns the matrix's cells in order.
func (p *Params) Cells() []Cell {
	if len(p.Scenarios) > 0 {
		out := make([]Cell, len(p.Scenarios))
		for i, s := range p.Scenarios {
			out[i] = Cell{Scenario: s}
		}
		return out
	}
	out := make([]Cell, len(p.Nemesis))
	for i, n := range p.Nemesis {
		out[i] = Cell{Nemesis: n}
	}
	return out
}

// Spec is one run of the plan.
type Spec struct {
	Index int    // position in the full (unsharded) list
	Key   string // unique in the plan: the run's directory under runs/
	Cell  Cell
	Seed  uint64
}

// Spec returns the run at index of the full list: seed by seed, every
// cell for each seed, so that a budget that ends early has covered every
// cell about equally.
func (p *Params) Spec(index int) Spec {
	cells := p.Cells()
	c := cells[index%len(cells)]
	seed := p.FirstSeed + uint64(index/len(cells))
	slugs := uniqueSlugs(cells)
	return Spec{Index: index, Cell: c, Seed: seed, Key: fmt.Sprintf("%s-s%d", slugs[index%len(cells)], seed)}
}

// uniqueSlugs names the cells for directories, disambiguating equal names
// (two scenarios named nightly.lua in different directories).
func uniqueSlugs(cells []Cell) []string {
	out := make([]string, len(cells))
	count := map[string]int{}
	for i, c := range cells {
		s := c.slug()
		count[s]++
		if count[s] > 1 {
			s = fmt.Sprintf("%s.%d", s, count[s])
		}
		out[i] = s
	}
	return out
}

// Total is the number of runs of the full list; -1 when unbounded (a
// budget without a seed count).
func (p *Params) Total() int {
	if p.Seeds == 0 {
		return -1
	}
	return p.Seeds * len(p.Cells())
}

// Planned lists the shard's runs (for a bounded plan).
func (p *Params) Planned() []Spec {
	var out []Spec
	for i := 0; i < p.Total(); i++ {
		if p.Shard.Has(i) {
			out = append(out, p.Spec(i))
		}
	}
	return out
}

// Validate reports what cannot run.
func (p *Params) Validate() error {
	if p.Mode != "sim" && p.Mode != "process" {
		return fmt.Errorf("--mode %q: want sim or process", p.Mode)
	}
	if p.Seeds < 0 {
		return fmt.Errorf("--seeds %d: want a positive number", p.Seeds)
	}
	if p.Seeds == 0 && p.Budget <= 0 {
		return errors.New("give --seeds N or --budget DURATION")
	}
	if p.FirstSeed == 0 {
		return errors.New("--first-seed must be at least 1 (seed 0 means a random seed to run)")
	}
	if len(p.Nemesis) > 0 && len(p.Scenarios) > 0 {
		return errors.New("--nemesis and --scenario are alternatives: a run follows a generated schedule or a script")
	}
	if len(p.Nemesis) == 0 && len(p.Scenarios) == 0 {
		return errors.New("no cells: give --nemesis SETS or --scenario GLOB")
	}
	if p.Workers < 1 {
		return fmt.Errorf("--workers %d: want at least 1", p.Workers)
	}
	if p.Shard.N > 1 && (p.Shard.I < 1 || p.Shard.I > p.Shard.N) {
		return fmt.Errorf("--shard %s: want i/n with 1 ≤ i ≤ n", p.Shard)
	}
	for _, a := range p.RunArgs {
		for _, own := range []string{"--seed", "--results", "--nemesis", "--scenario", "--schedule", "--mode", "--time", "--bug", "--system"} {
			if a == own || strings.HasPrefix(a, own+"=") {
				return fmt.Errorf("run flag %s after -- is set by the campaign itself (use the campaign's flag)", own)
			}
		}
	}
	return nil
}

// Fingerprint identifies the full run list: campaigns (shards) with the
// same fingerprint ran parts of the same matrix and can be merged. The
// budget, workers and shard do not change which run has which index.
func (p *Params) Fingerprint() string {
	q := *p
	q.Budget, q.Workers, q.Shard, q.AllArtefacts = 0, 0, Shard{}, false
	b, _ := json.Marshal(q)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// args are the child's arguments for spec, results under root.
func (p *Params) args(s Spec, root string) []string {
	a := []string{"run", "--seed", strconv.FormatUint(s.Seed, 10)}
	if p.Mode != "sim" {
		a = append(a, "--mode", p.Mode)
	}
	if p.System != "" {
		a = append(a, "--system", p.System)
	}
	if p.Time > 0 {
		a = append(a, "--time", time.Duration(p.Time).String())
	}
	if s.Cell.Scenario != "" {
		a = append(a, "--scenario", s.Cell.Scenario)
	} else {
		a = append(a, "--nemesis", strings.Join(s.Cell.Nemesis, ","))
	}
	for _, b := range p.Bugs {
		a = append(a, "--bug", b)
	}
	a = append(a, p.RunArgs...)
	return append(a, "--results", root)
}
