package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/splitbrain/splitbrain/harness/gitstamp"
	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/report"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/model"
)

type analyzeOptions struct {
	// convergence is the world's end-of-test convergence check (nil: none,
	// as for a history checked on its own).
	convergence *world.Convergence
	initial     *string
	liveness    time.Duration
	// timeout is the check's time bound (0: none), counted from start
	// (the zero time: from the call of analyze).
	timeout time.Duration
	start   time.Time
	checks  map[string]int
	limits  map[string]string // invariants the world could not check in full, and why
	runErr  error
	mode    string
	nodes   int // the initial cluster size; 0 if unknown
	torn    int
	quick   bool // verdict only: no plots, timeline or diagram
	// noLiveness, when set, says why the history cannot be judged for
	// liveness (an imported Jepsen history: see check.go); liveness is
	// then valid with that Detail, and Results.LivenessNotJudged is set.
	noLiveness string
}

// deadline is when the check's time bound runs out (zero: never).
func (o analyzeOptions) deadline() time.Time {
	if o.timeout <= 0 {
		return time.Time{}
	}
	start := o.start
	if start.IsZero() {
		start = time.Now()
	}
	return start.Add(o.timeout)
}

// errCheckDeadline is the check's time bound running out while the
// history is read.
var errCheckDeadline = errors.New("the check's time bound ran out")

// timedOut is the message of a check that ran out of its time bound.
func timedOut(timeout time.Duration, what string) string {
	return fmt.Sprintf("check timed out after %v %s", timeout, what)
}

// analyze checks a history and writes the artefacts next to it:
// linearizability.html on failure, the plots and the timeline. With a
// time bound (o.timeout), the whole of it is bounded: the linearizability
// search stops at the deadline (undecided keys make the verdict unknown,
// and Results.CheckTimedOut says so), and artefacts not finished by then
// are skipped (Results.Skipped). The linear passes (liveness, statistics)
// always run: they are what the verdict needs besides the search.
func analyze(ctx context.Context, dir string, events []history.Event, o analyzeOptions) *Results {
	deadline := o.deadline()
	res := &Results{Dir: dir, HistoryOps: len(events), TornLine: o.torn}
	if len(events) > 0 {
		res.TestSeconds = time.Duration(events[len(events)-1].Time).Seconds()
	}
	html := filepath.Join(dir, LinearHTML)
	if o.quick {
		html = ""
	}
	lin, err := model.CheckLinearizable(events, model.Options{Initial: o.initial, Deadline: deadline, HTMLPath: html})
	if err != nil {
		res.Error = joinErr(res.Error, "linearizability check: "+err.Error())
	}
	res.Linearizability = lin
	if undecided := countUndecided(lin); undecided > 0 && !deadline.IsZero() {
		res.CheckTimedOut = timedOut(o.timeout, fmt.Sprintf("with %d of %d keys undecided", undecided, len(lin.Keys)))
	}
	if html != "" && lin.Valid == model.Invalid && lin.HTML == "" && err == nil {
		res.Skipped = append(res.Skipped, LinearHTML+": "+timedOut(o.timeout, "before the diagram was drawn"))
	}
	res.Ops = model.ComputeStats(events)
	res.Shares = res.Ops.Shares()
	res.LowOKShare = res.Shares.Low()
	if o.nodes > 0 {
		d := model.NoNodeUp(events, o.nodes)
		res.NoNodeUp = &d
	}
	if o.noLiveness != "" {
		res.Liveness, res.LivenessNotJudged = notJudgedLiveness(events, o.liveness, o.noLiveness), true
	} else {
		res.Liveness = model.CheckLiveness(events, o.liveness)
	}
	res.Faults = countFaults(events)
	res.Invariants = invariantVerdict(o.mode, o.checks, o.runErr)
	if len(o.limits) > 0 {
		res.Invariants.Limits = o.limits
		res.Invariants.Detail += "; " + limitsText(o.limits)
	}
	if o.runErr != nil {
		var iv *world.InvariantError
		if !errors.As(o.runErr, &iv) {
			res.RunError = o.runErr.Error()
			res.Error = joinErr(res.Error, res.RunError)
		}
	}
	if o.convergence != nil {
		c := *o.convergence
		res.Convergence = &c
	}
	res.Valid = lin.Valid.And(res.Liveness.Valid).And(res.Invariants.Valid).And(res.convergenceValidity())
	if res.Error != "" && res.Valid == model.Valid {
		// The run broke: a valid history of a broken run proves little.
		res.Valid = model.Unknown
	}
	res.capVerdict()
	// The stamp is wanted even when ctx was cancelled (an interrupted run).
	res.Git = gitstamp.Read(context.WithoutCancel(ctx), "")
	if o.quick {
		return res
	}
	writeArtefacts(dir, events, deadline, o.timeout, res)
	return res
}

func countUndecided(lin model.Linearizability) int {
	n := 0
	for _, k := range lin.Keys {
		if k.Valid == model.Unknown {
			n++
		}
	}
	return n
}

// artefact is one file (or set of files) for people, drawn from the
// history.
type artefact struct {
	name string                              // as Skipped names it
	draw func(into string) ([]string, error) // writes into the directory into, returns the files written
	done func(files []string, err error)     // records the outcome in Results
	out  chan drawn                          // filled by the drawing goroutine
}

// drawn is what drawing an artefact gave.
type drawn struct {
	files []string
	err   error
}

// writeArtefacts draws the plots and the timeline into dir. Without a
// deadline it simply draws them. With one, it waits for them no longer
// than the deadline: they are drawn, one after the other, by a goroutine
// into a private directory under dir and moved into place as each is
// finished; at the deadline the rest are recorded as skipped and the
// private directory is removed, so that the drawing still under way (which
// cannot be interrupted) fails to write anything and ends.
func writeArtefacts(dir string, events []history.Event, deadline time.Time, timeout time.Duration, res *Results) {
	arts := []*artefact{
		{name: "latency.png, rate.png", draw: func(into string) ([]string, error) { return report.WritePlots(into, events) },
			done: func(files []string, err error) {
				if err != nil {
					res.Error = joinErr(res.Error, "plots: "+err.Error())
					return
				}
				res.Plots = files
			}},
		{name: TimelineFile, draw: func(into string) ([]string, error) {
			err := report.WriteTimeline(filepath.Join(into, TimelineFile), events, report.TimelineOptions{Title: filepath.Base(dir), Focus: -1})
			return []string{TimelineFile}, err
		}, done: func(_ []string, err error) {
			if err != nil {
				res.Error = joinErr(res.Error, "timeline: "+err.Error())
				return
			}
			res.Timeline = TimelineFile
		}},
	}
	if deadline.IsZero() {
		for _, a := range arts {
			a.done(a.draw(dir))
		}
		return
	}
	skip := func(from int) {
		for _, a := range arts[from:] {
			res.Skipped = append(res.Skipped, a.name+": "+timedOut(timeout, "before it was drawn"))
		}
	}
	if !time.Now().Before(deadline) {
		skip(0)
		return
	}
	private, err := os.MkdirTemp(dir, ".artefacts-")
	if err != nil {
		res.Error = joinErr(res.Error, "artefacts: "+err.Error())
		return
	}
	var abandoned atomic.Bool
	for _, a := range arts {
		a.out = make(chan drawn, 1)
	}
	go func() {
		defer func() {
			if abandoned.Load() {
				os.RemoveAll(private)
			}
		}()
		for _, a := range arts {
			if abandoned.Load() {
				return
			}
			files, err := a.draw(private)
			a.out <- drawn{files, err}
		}
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for i, a := range arts {
		select {
		case r := <-a.out:
			if r.err == nil {
				for _, f := range r.files {
					if err := os.Rename(filepath.Join(private, f), filepath.Join(dir, f)); err != nil && r.err == nil {
						r.err = err
					}
				}
			}
			a.done(r.files, r.err)
		case <-timer.C:
			abandoned.Store(true)
			removeDir(private)
			skip(i)
			return
		}
	}
	os.RemoveAll(private)
}

// removeDir removes a directory that another goroutine may still be
// writing into: files created while it is being removed make RemoveAll
// fail, so it tries again; once the directory is gone nothing more can be
// created in it.
func removeDir(path string) {
	for i := 0; i < 100; i++ {
		if err := os.RemoveAll(path); err == nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func invariantVerdict(mode string, checks map[string]int, runErr error) Invariants {
	var iv *world.InvariantError
	if errors.As(runErr, &iv) {
		return Invariants{Valid: model.Invalid, Checked: checks, Violation: iv, Detail: iv.Error()}
	}
	if len(checks) == 0 {
		return Invariants{Valid: model.Valid, Skipped: true, Detail: "not checked: the " + mode + " world cannot see inside its nodes"}
	}
	total := 0
	for _, n := range checks {
		total += n
	}
	return Invariants{Valid: model.Valid, Checked: checks, Detail: fmt.Sprintf("%d invariants held over %d checks", len(checks), total)}
}
