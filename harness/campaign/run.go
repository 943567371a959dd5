package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/gitstamp"
	"github.com/splitbrain/splitbrain/model"
)

// Options say how a campaign runs, as opposed to what it runs (Params).
type Options struct {
	// Exe is the splitbrain binary each run executes (default: this
	// program, os.Executable).
	Exe string
	// Results is the results root; the campaign lands in
	// <Results>/campaigns/<UTC time>/ (default "results").
	Results string
	// Command is how the campaign was started, for the record.
	Command string
	// Progress receives progress output: a progress bar when Terminal is
	// set, else one plain line a run. Nil: none.
	Progress io.Writer
	Terminal bool
}

// Run runs the campaign: the shard's runs of the matrix, Workers at a
// time, each a child process `splitbrain run … --results
// <campaign>/runs/<key>` (one simulation per process: nothing shared, so
// each run is exactly its seed's). index.json is rewritten as each run
// ends, so a campaign that is killed still says what it did; summary.html
// is written at the end. Cancelling ctx (SIGINT) kills the children and
// writes what is done, with Interrupted set. The error is for campaigns
// that could not run at all (bad parameters, no results directory).
func Run(ctx context.Context, p Params, o Options) (*Index, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", harness.ErrUsage, err)
	}
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("campaign: finding the splitbrain binary: %w", err)
		}
		o.Exe = exe
	}
	if o.Results == "" {
		o.Results = "results"
	}
	started := time.Now()
	x := &Index{Version: indexVersion, Command: o.Command, Params: p, Fingerprint: p.Fingerprint(),
		Started: started.UTC(), Planned: p.Total(), Git: gitstamp.Read(ctx, ""), Runs: []Entry{}}
	if x.Planned > 0 && p.Shard.N > 1 {
		x.Planned = len(p.Planned())
	}
	suffix := ""
	if p.Shard.N > 1 {
		suffix = fmt.Sprintf("-shard-%d-of-%d", p.Shard.I, p.Shard.N)
	}
	dir, id, err := newCampaignDir(o.Results, campaignID(started, suffix), true)
	if err != nil {
		return nil, fmt.Errorf("campaign directory: %w", err)
	}
	x.ID, x.dir = id, dir
	if err := x.write(); err != nil {
		return nil, err
	}

	prog := newProgress(o.Progress, o.Terminal, x.Planned, time.Duration(p.Budget))
	specs := make(chan Spec)
	go produce(ctx, &p, started, specs)
	done := make(chan Entry)
	var wg sync.WaitGroup
	for range p.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range specs {
				if e, ok := runOne(ctx, &p, o.Exe, dir, s); ok {
					done <- e
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	var writeErr error
	for e := range done {
		x.Runs = append(x.Runs, e)
		if err := x.write(); err != nil && writeErr == nil {
			writeErr = err
		}
		prog.done(e, x.Totals)
	}
	x.Interrupted = ctx.Err() != nil
	x.Finished = time.Now().UTC()
	x.WallSeconds = x.Finished.Sub(started).Seconds()
	prog.finish(x.Totals, x.Interrupted)
	if err := x.write(); err != nil && writeErr == nil {
		writeErr = err
	}
	if err := writeSummary(x); err != nil && writeErr == nil {
		writeErr = err
	}
	if writeErr != nil {
		return x, fmt.Errorf("campaign: writing %s: %w", dir, writeErr)
	}
	return x, nil
}

// produce hands out the shard's runs in order until the list ends, the
// budget is spent or ctx is cancelled. The first run is handed out
// whatever the budget, so that a campaign with a budget runs at least one
// run on any machine, however loaded.
func produce(ctx context.Context, p *Params, started time.Time, specs chan<- Spec) {
	defer close(specs)
	var budget <-chan time.Time
	if p.Budget > 0 {
		t := time.NewTimer(time.Duration(p.Budget) - time.Since(started))
		defer t.Stop()
		budget = t.C
	}
	total := p.Total()
	first := true
	for i := 0; total < 0 || i < total; i++ {
		if !p.Shard.Has(i) {
			continue
		}
		wait := budget
		if first {
			wait, first = nil, false
		}
		select {
		case specs <- p.Spec(i):
		case <-wait:
			return
		case <-ctx.Done():
			return
		}
	}
}

// campaignID names a campaign by its UTC start time.
func campaignID(t time.Time, suffix string) string {
	return t.UTC().Format("20060102T150405Z") + suffix
}

// newCampaignDir creates <root>/campaigns/<id>/ (with a numeric suffix if
// it exists) and, for a campaign that runs, its runs/ directory.
func newCampaignDir(root, id string, runs bool) (dir, name string, err error) {
	base := filepath.Join(root, "campaigns")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", "", err
	}
	for i := 1; ; i++ {
		name = id
		if i > 1 {
			name = fmt.Sprintf("%s-%d", id, i)
		}
		dir = filepath.Join(base, name)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			if runs {
				err = os.Mkdir(filepath.Join(dir, RunsDir), 0o755)
			}
			return dir, name, err
		}
		if !errors.Is(err, os.ErrExist) {
			return "", "", err
		}
	}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// runOne runs one child and reads its verdict; ok is false if the
// campaign was interrupted while it ran.
func runOne(ctx context.Context, p *Params, exe, dir string, s Spec) (Entry, bool) {
	e := Entry{Index: s.Index, Key: s.Key, Cell: s.Cell.Label(), Nemesis: s.Cell.Nemesis, Scenario: s.Cell.Scenario,
		Seed: s.Seed, Bugs: p.Bugs, FaultKinds: []string{}}
	root := filepath.Join(dir, RunsDir, s.Key)
	args := p.args(s, root)
	e.Repro = "splitbrain " + strings.Join(quoteArgs(args[:len(args)-2]), " ")
	if !p.AllArtefacts {
		args = append(args, "--artefacts-on-failure")
	}
	e.Dir = filepath.Join(RunsDir, s.Key)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return runError(e, err.Error()), true
	}
	out, err := os.Create(filepath.Join(root, OutputFile))
	if err != nil {
		return runError(e, err.Error()), true
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	ownProcessGroup(cmd)
	start := time.Now()
	runErr := cmd.Run()
	exited := time.Now()
	e.WallSeconds = exited.Sub(start).Seconds()
	if ctx.Err() != nil {
		return Entry{}, false
	}
	if cmd.ProcessState != nil {
		e.ExitCode = cmd.ProcessState.ExitCode()
	}
	runDir, err := filepath.EvalSymlinks(filepath.Join(root, "latest"))
	if err != nil {
		return runError(e, childFailure(runErr, filepath.Join(root, OutputFile))), true
	}
	if rel, err := filepath.Rel(dir, runDir); err == nil {
		e.Dir = rel
	}
	r, err := harness.ReadResults(runDir)
	if err != nil {
		return runError(e, childFailure(runErr, filepath.Join(root, OutputFile))), true
	}
	fill(&e, r, runDir)
	if r.Phases != nil {
		e.Phases = &Phases{Start: max(0, r.Started.Sub(start).Seconds()), Phases: *r.Phases,
			Exit: max(0, exited.Sub(r.Finished).Seconds())}
	}
	return e, true
}

// fill sets an entry's verdict, signature and details from results.json.
func fill(e *Entry, r *harness.Results, runDir string) {
	switch r.Valid {
	case model.Valid:
		e.Verdict = Valid
	case model.Invalid:
		e.Verdict = Invalid
	default:
		e.Verdict = Unknown
	}
	if r.ScriptError != "" && r.Valid != model.Invalid {
		e.Verdict = Error
	}
	e.FaultKinds = FaultKinds(r)
	e.Anomaly = Anomaly(r)
	e.Signature = Signature(e.FaultKinds, e.Anomaly)
	e.Explanation = r.Linearizability.Explanation
	switch {
	case e.Explanation == "" && r.Invariants.Violation != nil:
		e.Explanation = r.Invariants.Violation.Error()
	case e.Explanation == "" && r.Liveness.Valid != model.Valid:
		e.Explanation = r.Liveness.Detail
	}
	e.Error = r.Error
	e.Incomplete, e.CheckTimedOut, e.Skipped = r.Incomplete, r.CheckTimedOut, r.Skipped
	if r.Repro != "" {
		e.Repro = r.Repro
	}
	e.TestSeconds = r.TestSeconds
	e.Git = r.Git
	shares := r.Ops.Shares() // also for a results.json written before shares were
	e.Shares, e.LowOKShare = &shares, shares.Low()
	if b, err := os.ReadFile(filepath.Join(runDir, ShrunkFile)); err == nil {
		e.Shrunk = string(b)
	}
}

func runError(e Entry, msg string) Entry {
	e.Verdict, e.Error = Error, msg
	e.Signature = Signature(nil, "run-error")
	return e
}

// childFailure says why a child left no results: its exit and the end of
// its output.
func childFailure(err error, outputPath string) string {
	msg := "the run left no results.json"
	if err != nil {
		msg += " (" + err.Error() + ")"
	}
	if b, rerr := os.ReadFile(outputPath); rerr == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if tail := strings.TrimSpace(strings.Join(lines[max(0, len(lines)-3):], " | ")); tail != "" {
			msg += ": " + tail
		}
	}
	return msg
}

// quoteArgs quotes arguments for a shell where needed.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,@%+-") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return out
}
