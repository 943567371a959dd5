package selftest

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/sim"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
	"github.com/splitbrain/splitbrain/workloads"
)

// Options configure a selftest. Zero fields take the defaults noted.
// Every budget counts seeds or runs, never wall time, so that a selftest
// gives the same result on any machine.
type Options struct {
	// Seeds is how many seeds (1, 2, …) each search of a canary may try
	// (default 100).
	Seeds int
	// ShrinkRuns bounds the runs spent shrinking each failing schedule
	// (default 100).
	ShrinkRuns int
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
	// Progress receives a line per search, if set.
	Progress io.Writer
}

// Defaults of Options.
const (
	DefaultSeeds      = 100
	DefaultShrinkRuns = 100
	DefaultCleanSeeds = 20
	DefaultDuration   = 20 * time.Second
)

func (o *Options) defaults() {
	if o.Seeds == 0 {
		o.Seeds = DefaultSeeds
	}
	if o.ShrinkRuns == 0 {
		o.ShrinkRuns = DefaultShrinkRuns
	}
	if o.CleanSeeds == 0 {
		o.CleanSeeds = DefaultCleanSeeds
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if len(o.Canaries) == 0 {
		o.Canaries = raftkv.AllBugs
	}
}

// Search is one search for a canary: seeds 1, 2, … until a run fails or
// the seeds are spent.
type Search struct {
	Detected bool          `json:"detected"`
	Seeds    int           `json:"seeds_tried"`
	SimTime  time.Duration `json:"sim_time_ns"` // simulated time of every run tried
	// Seed is the seed of the first failing run; Signature what failed in
	// it (see Signature), How every check that caught it, and DetectedAt
	// when (simulated) the run saw its first anomaly (see DetectionTime).
	Seed       uint64        `json:"seed,omitempty"`
	Signature  string        `json:"signature,omitempty"`
	How        string        `json:"how,omitempty"`
	DetectedAt time.Duration `json:"detected_at_ns,omitempty"`
	Repro      string        `json:"repro,omitempty"` // the failing run
}

// Row is one canary's result: the search with every check (embedded) and
// the search with the consequence checks alone.
type Row struct {
	Canary   raftkv.Bug `json:"canary"`
	Families []string   `json:"families"`
	Search
	// Consequences is the search without the mechanism invariants
	// (sim.MechanismInvariants).
	Consequences Search `json:"consequences"`
	// The shrunk schedule of the first failing run: it fails with the
	// same Signature. ShrunkRepro replays it, saved as FILE.
	Original    int    `json:"original_events,omitempty"`
	Shrunk      int    `json:"shrunk_events,omitempty"`
	Schedule    string `json:"shrunk_schedule,omitempty"`
	ShrinkRuns  int    `json:"shrink_runs,omitempty"`
	ShrunkRepro string `json:"shrunk_repro,omitempty"`
	// Wall is the wall time of both searches and the shrinking. It is
	// reported, never judged.
	Wall time.Duration `json:"wall_ns"`
}

// Report is the whole selftest.
type Report struct {
	Rows           []Row         `json:"rows"`
	Seeds          int           `json:"seeds"` // per search
	CleanRuns      int           `json:"clean_runs"`
	FalsePositives int           `json:"false_positives"`
	FalseSeeds     []uint64      `json:"false_positive_seeds,omitempty"`
	CleanUnknown   int           `json:"clean_unknown"`
	Wall           time.Duration `json:"wall_ns"`
}

// Detected counts the canaries caught (with every check).
func (r *Report) Detected() int {
	n := 0
	for _, row := range r.Rows {
		if row.Detected {
			n++
		}
	}
	return n
}

// ConsequenceDetected counts the canaries the consequence checks alone
// caught.
func (r *Report) ConsequenceDetected() int {
	n := 0
	for _, row := range r.Rows {
		if row.Consequences.Detected {
			n++
		}
	}
	return n
}

// OK is the selftest's pass condition: every canary caught, no false
// positives. What the consequence checks alone catch is reported, not
// judged.
func (r *Report) OK() bool { return r.Detected() == len(r.Rows) && r.FalsePositives == 0 }

type runner struct {
	o    Options
	root string
}

// Run runs the selftest.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if o.Seeds < 1 || o.ShrinkRuns < 0 || o.CleanSeeds < 0 {
		return nil, fmt.Errorf("%w: selftest wants at least one seed per search and no negative budget (seeds %d, shrink runs %d, clean seeds %d)",
			harness.ErrUsage, o.Seeds, o.ShrinkRuns, o.CleanSeeds)
	}
	started := time.Now()
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
	rep := &Report{Seeds: o.Seeds}
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
	rep.Wall = time.Since(started)
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

// LivenessBound is the liveness bound of every selftest run.
const LivenessBound = 5 * time.Second

// test is the Test of one selftest run, as run does it.
func (r *runner) test(t harness.Test) harness.Test {
	t.Mode, t.Quick, t.Results = "sim", true, r.root
	t.Workload = Workload
	if t.Duration == 0 {
		t.Duration = harness.Duration(r.o.Duration)
	}
	if t.LivenessBound == 0 {
		t.LivenessBound = harness.Duration(LivenessBound)
	}
	return t
}

// run runs one quick sim test and returns its results.
func (r *runner) run(ctx context.Context, t harness.Test) (*harness.Results, error) {
	out, err := harness.Run(ctx, r.test(t))
	if err != nil {
		return nil, err
	}
	return out.Results, nil
}

// canary searches for bug with every check, shrinks the failing schedule,
// and searches again with the consequence checks alone.
func (r *runner) canary(ctx context.Context, bug raftkv.Bug) (Row, error) {
	start := time.Now()
	row := Row{Canary: bug, Families: raftkv.Exposers[bug]}
	t := harness.Test{Name: "selftest-" + string(bug), Nemesis: row.Families, Bugs: []string{string(bug)}}
	var err error
	if row.Search, err = r.search(ctx, t); err != nil {
		return row, err
	}
	if row.Detected {
		r.progress("%-24s detected by %s at seed %d; shrinking", bug, row.How, row.Seed)
		t.Seed = row.Seed
		sched, shrunk, runs, err := r.shrinkRun(ctx, t, row.Signature)
		if err != nil {
			return row, err
		}
		row.Original, row.Shrunk, row.Schedule, row.ShrinkRuns = len(sched.Events), len(shrunk.Events), shrunk.String(), runs
		rt := r.test(t)
		rt.Schedule, rt.Nemesis = &shrunk, nil
		rt.Defaults()
		row.ShrunkRepro = rt.ReproCommand("FILE")
	} else {
		r.progress("%-24s NOT detected in %d seeds", bug, row.Seeds)
	}
	t.Seed = 0
	t.SkipInvariants = sim.MechanismInvariants
	if row.Consequences, err = r.search(ctx, t); err != nil {
		return row, err
	}
	if row.Consequences.Detected {
		r.progress("%-24s consequence checks alone: detected by %s at seed %d", bug, row.Consequences.How, row.Consequences.Seed)
	} else {
		r.progress("%-24s consequence checks alone: NOT detected in %d seeds", bug, row.Consequences.Seeds)
	}
	row.Wall = time.Since(start)
	return row, nil
}

// shrinkRun shrinks the generated schedule of t (its seed's), whose run
// failed with signature want: it returns that schedule and the shrunk one,
// which fails with the same signature, and the runs spent.
func (r *runner) shrinkRun(ctx context.Context, t harness.Test, want string) (orig, shrunk nemesis.Schedule, runs int, err error) {
	orig = nemesis.Generate(t.Seed, genOptions(r.test(t)))
	shrunk, runs, err = nemesis.Shrink(orig, want, r.o.ShrinkRuns, func(c nemesis.Schedule) (string, error) {
		tt := t
		tt.Schedule, tt.Nemesis = &c, nil
		res, err := r.run(ctx, tt)
		if err != nil {
			return "", err
		}
		return Signature(res), nil
	}, func() bool { return ctx.Err() != nil })
	return orig, shrunk, runs, err
}

// search runs t with seeds 1, 2, … until a run fails or the seeds are
// spent.
func (r *runner) search(ctx context.Context, t harness.Test) (Search, error) {
	var s Search
	for seed := uint64(1); seed <= uint64(r.o.Seeds) && ctx.Err() == nil; seed++ {
		t.Seed = seed
		res, err := r.run(ctx, t)
		if err != nil {
			return s, err
		}
		s.Seeds++
		s.SimTime += time.Duration(res.TestSeconds * float64(time.Second))
		if res.Valid != model.Invalid {
			continue
		}
		rt := r.test(t)
		rt.Defaults()
		s.Detected, s.Seed, s.Signature, s.How = true, seed, Signature(res), how(res)
		s.DetectedAt, s.Repro = DetectionTime(res), rt.ReproCommand("")
		return s, nil
	}
	return s, nil
}

// genOptions is what harness.Run gives the generator for t, so that the
// schedule shrunk is the one that failed.
func genOptions(t harness.Test) nemesis.GenOptions {
	t.Defaults()
	return nemesis.GenOptions{Duration: time.Duration(t.Duration), FinalHeal: t.FinalHeal(), Kinds: t.Nemesis, Nodes: t.Nodes}
}

// DetectionTime is when (simulated time since the start of the test) a
// failing run saw its first anomaly: the invariant violation, the return
// of the operation the linearizability checker blames, or — for liveness,
// which is decided by the whole run — the end of the test; the earliest
// of those that failed. 0 for a run that did not fail.
func DetectionTime(res *harness.Results) time.Duration {
	if res.Valid != model.Invalid {
		return 0
	}
	end := time.Duration(res.TestSeconds * float64(time.Second))
	at := end
	if res.Invariants.Valid == model.Invalid && res.Invariants.Violation != nil {
		at = min(at, res.Invariants.Violation.Time)
	}
	if res.Linearizability.Valid == model.Invalid && res.Linearizability.AnomalyTime > 0 {
		at = min(at, time.Duration(res.Linearizability.AnomalyTime))
	}
	return at
}
