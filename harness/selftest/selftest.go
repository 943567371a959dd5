// Package selftest proves the harness can fail: for each known-bug
// canary of the reference node it runs generated fault schedules in the
// sim until the harness reports the bug, shrinks the failing schedule to a
// few events, and then runs clean seeds without any bug to count false
// positives.
//
// Detection uses only what a user's run would: the linearizability
// checker, the liveness check and the sim's raft invariants, on schedules
// from the swarm generator restricted to the fault families the canary's
// doc line names (raftkv.Exposers) — never a hand-written schedule.
package selftest

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
	"github.com/splitbrain/splitbrain/workloads"
)

// Options configure a selftest. Zero fields take the defaults noted.
type Options struct {
	// Budget is the wall time each canary may take to be detected
	// (default 30s).
	Budget time.Duration
	// ShrinkBudget bounds the shrinking of each failing schedule (default 20s).
	ShrinkBudget time.Duration
	// CleanSeeds is how many bug-free runs check for false positives
	// (default 20).
	CleanSeeds int
	// Duration is each run's (virtual) length (default 20s).
	Duration time.Duration
	// Canaries to test (default all).
	Canaries []raftkv.Bug
	// Results is where runs land (default a temporary directory, removed
	// afterwards unless Keep).
	Results string
	Keep    bool
	// Progress receives a line per run, if set.
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Budget == 0 {
		o.Budget = 30 * time.Second
	}
	if o.ShrinkBudget == 0 {
		o.ShrinkBudget = 20 * time.Second
	}
	if o.CleanSeeds == 0 {
		o.CleanSeeds = 20
	}
	if o.Duration == 0 {
		o.Duration = 20 * time.Second
	}
	if len(o.Canaries) == 0 {
		o.Canaries = raftkv.AllBugs
	}
}

// Row is one canary's result.
type Row struct {
	Canary     raftkv.Bug    `json:"canary"`
	Families   []string      `json:"families"`
	Detected   bool          `json:"detected"`
	Seeds      int           `json:"seeds_tried"`
	SimTime    time.Duration `json:"sim_time_ns"`
	Wall       time.Duration `json:"wall_ns"`
	Seed       uint64        `json:"seed,omitempty"`
	How        string        `json:"how,omitempty"` // which check caught it
	Original   int           `json:"original_events,omitempty"`
	Shrunk     int           `json:"shrunk_events,omitempty"`
	Schedule   string        `json:"shrunk_schedule,omitempty"`
	ShrinkRuns int           `json:"shrink_runs,omitempty"`
	Repro      string        `json:"repro,omitempty"`
}

// Report is the whole selftest.
type Report struct {
	Rows           []Row    `json:"rows"`
	CleanRuns      int      `json:"clean_runs"`
	FalsePositives int      `json:"false_positives"`
	FalseSeeds     []uint64 `json:"false_positive_seeds,omitempty"`
	CleanUnknown   int      `json:"clean_unknown"`
}

// Detected counts the canaries caught.
func (r *Report) Detected() int {
	n := 0
	for _, row := range r.Rows {
		if row.Detected {
			n++
		}
	}
	return n
}

// OK is the selftest's pass condition: every canary caught, no false
// positives.
func (r *Report) OK() bool { return r.Detected() == len(r.Rows) && r.FalsePositives == 0 }

type runner struct {
	o    Options
	root string
}

// Run runs the selftest.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	root := o.Results
	if root == "" {
		dir, err := os.MkdirTemp("", "splitbrain-selftest-")
		if err != nil {
			return nil, err
		}
		root = dir
		if !o.Keep {
			defer os.RemoveAll(dir)
		}
	}
	r := &runner{o: o, root: root}
	rep := &Report{}
	for _, bug := range o.Canaries {
		if ctx.Err() != nil {
			break
		}
		row, err := r.canary(ctx, bug)
		if err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, row)
	}
	for seed := uint64(1); seed <= uint64(o.CleanSeeds) && ctx.Err() == nil; seed++ {
		res, err := r.run(ctx, harness.Test{Name: "clean", Seed: seed, Nemesis: nemesis.Families()})
		if err != nil {
			return nil, err
		}
		rep.CleanRuns++
		switch res.Valid {
		case model.Invalid:
			rep.FalsePositives++
			rep.FalseSeeds = append(rep.FalseSeeds, seed)
			r.progress("clean seed %d: FALSE POSITIVE: %s", seed, res.Repro)
		case model.Unknown:
			rep.CleanUnknown++
			r.progress("clean seed %d: unknown (%s)", seed, res.Error)
		}
	}
	return rep, ctx.Err()
}

func (r *runner) progress(format string, args ...any) {
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, format+"\n", args...)
	}
}

// Workload is what every selftest run (canary or clean) puts on the
// cluster: more clients than the default and a shorter timeout, so that a
// client stuck on a write to a partitioned node does not keep that node's
// reads away for long — the reads are what expose stale-read canaries.
var Workload = workloads.RegisterOptions{Clients: 20, Timeout: 2 * time.Second}

// run runs one quick sim test and returns its results.
func (r *runner) run(ctx context.Context, t harness.Test) (*harness.Results, error) {
	t.Mode, t.Quick, t.Results = "sim", true, r.root
	t.Workload = Workload
	if t.Duration == 0 {
		t.Duration = harness.Duration(r.o.Duration)
	}
	if t.LivenessBound == 0 {
		t.LivenessBound = harness.Duration(5 * time.Second)
	}
	out, err := harness.Run(ctx, t)
	if err != nil {
		return nil, err
	}
	return out.Results, nil
}

func (r *runner) canary(ctx context.Context, bug raftkv.Bug) (Row, error) {
	row := Row{Canary: bug, Families: raftkv.Exposers[bug]}
	start := time.Now()
	for seed := uint64(1); time.Since(start) < r.o.Budget && ctx.Err() == nil; seed++ {
		t := harness.Test{Name: "selftest-" + string(bug), Seed: seed, Nemesis: row.Families, Bugs: []string{string(bug)}}
		res, err := r.run(ctx, t)
		if err != nil {
			return row, err
		}
		row.Seeds++
		row.SimTime += time.Duration(res.TestSeconds * float64(time.Second))
		if res.Valid != model.Invalid {
			continue
		}
		row.Detected, row.Seed, row.How = true, seed, how(res)
		row.Wall = time.Since(start)
		sched := nemesis.Generate(seed, genOptions(r.o.Duration, row.Families))
		row.Original = len(sched.Events)
		r.progress("%-24s detected by %s at seed %d after %v; shrinking %d events", bug, row.How, seed, row.Wall.Round(time.Millisecond), row.Original)
		shrunk, runs, err := r.shrink(ctx, t, sched)
		if err != nil {
			return row, err
		}
		row.Shrunk, row.Schedule, row.ShrinkRuns = len(shrunk.Events), shrunk.String(), runs
		row.Repro = fmt.Sprintf("splitbrain run --seed %d --time %v --clients %d --op-timeout %v --liveness-bound 5s --bug %s --schedule FILE",
			seed, r.o.Duration, Workload.Clients, Workload.Timeout, bug)
		return row, nil
	}
	row.Wall = time.Since(start)
	r.progress("%-24s NOT detected in %d seeds (%v)", bug, row.Seeds, row.Wall.Round(time.Millisecond))
	return row, nil
}

// genOptions mirrors what harness.Run gives the generator, so that the
// schedule shrunk is the one that failed.
func genOptions(d time.Duration, families []string) nemesis.GenOptions {
	t := harness.Test{Duration: harness.Duration(d), LivenessBound: harness.Duration(5 * time.Second), Nemesis: families}
	t.Defaults()
	return nemesis.GenOptions{Duration: d, FinalHeal: t.FinalHeal(), Kinds: families, Nodes: t.Nodes}
}

// how names the check that caught a run.
func how(res *harness.Results) string {
	var parts []string
	if res.Invariants.Valid == model.Invalid && res.Invariants.Violation != nil {
		parts = append(parts, "invariant "+res.Invariants.Violation.Invariant)
	}
	if res.Linearizability.Valid == model.Invalid {
		parts = append(parts, "linearizability ("+res.Linearizability.Anomaly+")")
	}
	if res.Liveness.Valid == model.Invalid {
		parts = append(parts, "liveness")
	}
	if len(parts) == 0 {
		return "invalid"
	}
	return strings.Join(parts, ", ")
}

// shrink deletes events from a failing schedule while the run (same seed)
// still fails: chunks first, halving the chunk size, then single events,
// until nothing more can go or the budget is spent (pebble's reducer, in
// spirit).
func (r *runner) shrink(ctx context.Context, t harness.Test, s nemesis.Schedule) (nemesis.Schedule, int, error) {
	start := time.Now()
	runs := 0
	fails := func(c nemesis.Schedule) (bool, error) {
		tt := t
		tt.Schedule, tt.Nemesis = &c, nil
		runs++
		res, err := r.run(ctx, tt)
		if err != nil {
			return false, err
		}
		return res.Valid == model.Invalid, nil
	}
	cur := s
	for chunk := max(1, len(cur.Events)/2); chunk >= 1; {
		removed := false
		for i := 0; i < len(cur.Events) && time.Since(start) < r.o.ShrinkBudget && ctx.Err() == nil; {
			cand := nemesis.Schedule{Events: append(append([]nemesis.Event(nil), cur.Events[:i]...), cur.Events[min(len(cur.Events), i+chunk):]...)}
			ok, err := fails(cand)
			if err != nil {
				return cur, runs, err
			}
			if ok {
				cur, removed = cand, true
				continue // try the same position again
			}
			i += chunk
		}
		if time.Since(start) >= r.o.ShrinkBudget || ctx.Err() != nil {
			break
		}
		if !removed {
			if chunk == 1 {
				break
			}
			chunk /= 2
		}
	}
	return cur, runs, nil
}

// Table renders the report as the selftest prints it.
func (r *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s %-9s %5s %9s %9s %7s  %s\n", "canary", "detected", "seeds", "sim time", "wall", "shrunk", "caught by")
	for _, row := range r.Rows {
		det := "no"
		if row.Detected {
			det = "yes"
		}
		shr := "-"
		if row.Detected {
			shr = fmt.Sprintf("%d/%d", row.Shrunk, row.Original)
		}
		fmt.Fprintf(&b, "%-24s %-9s %5d %8.0fs %8.2fs %7s  %s\n", row.Canary, det, row.Seeds, row.SimTime.Seconds(), row.Wall.Seconds(), shr, row.How)
	}
	if walls := r.detectWalls(); len(walls) > 0 {
		fmt.Fprintf(&b, "time to detect: median %.2fs, max %.2fs (wall)\n", walls[len(walls)/2].Seconds(), walls[len(walls)-1].Seconds())
	}
	return b.String()
}

func (r *Report) detectWalls() []time.Duration {
	var ws []time.Duration
	for _, row := range r.Rows {
		if row.Detected {
			ws = append(ws, row.Wall)
		}
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
	return ws
}

// Summary is the selftest's last line.
func (r *Report) Summary() string {
	return fmt.Sprintf("selftest: %d/%d canaries detected, %d false positives in %d clean runs", r.Detected(), len(r.Rows), r.FalsePositives, r.CleanRuns)
}
