package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	// onFailure draws the plots and the timeline only if the verdict is
	// not valid (after the check, instead of beside it).
	onFailure bool
	// phases, if set, gets the check's and the artefacts' wall times.
	phases *Phases
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

// analyze checks the history at path (in a run directory: dir's
// history.jsonl), which a survey has read once already, and writes the
// artefacts next to it: linearizability.html on failure, the plots and
// the timeline. The linearizability check and the artefacts read the file
// again side by side (see passes.go), so that two cores are used and
// memory does not grow with the history. With a time bound (o.timeout),
// the whole of it is bounded: the linearizability search stops at the
// deadline (undecided keys make the verdict unknown, and
// Results.CheckTimedOut says so), and artefacts not finished by then are
// skipped (Results.Skipped). The linear passes (liveness, statistics)
// come from the survey: they are what the verdict needs besides the
// search.
func analyze(ctx context.Context, dir, path string, sv *survey, o analyzeOptions) *Results {
	deadline := o.deadline()
	res := &Results{Dir: dir, HistoryOps: int(sv.events), TornLine: o.torn}
	if sv.events > 0 {
		res.TestSeconds = time.Duration(sv.last.Time).Seconds()
	}
	html := filepath.Join(dir, LinearHTML)
	var arts *artefacts
	switch {
	case o.quick:
		html = ""
	case !o.onFailure:
		arts = startArtefacts(dir, path, sv.reportInfo(), deadline)
	}
	checkStarted := time.Now()
	lin, err := checkFile(path, sv, model.Options{Initial: o.initial, Deadline: deadline, HTMLPath: html}, deadline)
	if err != nil {
		res.Error = joinErr(res.Error, "linearizability check: "+err.Error())
	}
	if arts != nil {
		arts.focus <- blamed(lin)
	}
	res.Linearizability = lin
	if undecided := countUndecided(lin); undecided > 0 && !deadline.IsZero() {
		res.CheckTimedOut = timedOut(o.timeout, fmt.Sprintf("with %d of %d keys undecided", undecided, len(lin.Keys)))
	}
	if html != "" && lin.Valid == model.Invalid && lin.HTML == "" && err == nil {
		res.Skipped = append(res.Skipped, LinearHTML+": "+timedOut(o.timeout, "before the diagram was drawn"))
	}
	res.Ops = sv.stats.Stats()
	res.Shares = res.Ops.Shares()
	res.LowOKShare = res.Shares.Low()
	live := sv.live.Events() // every nemesis event and what liveness needs of the rest
	if o.nodes > 0 {
		d := model.NoNodeUp(live, o.nodes)
		res.NoNodeUp = &d
	}
	if o.noLiveness != "" {
		res.Liveness, res.LivenessNotJudged = notJudgedLiveness(live, o.liveness, o.noLiveness), true
	} else {
		res.Liveness = model.CheckLiveness(live, o.liveness)
	}
	res.Faults = countFaults(live)
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
		} else if res.Liveness.Valid == model.Unknown {
			// The sim stops at the first violation: the faults never
			// ended, and there is nothing to judge recovery by.
			res.Liveness.Detail = fmt.Sprintf("not judged: the simulation stopped at the invariant violation at %.3fs, before the faults ended", iv.Time.Seconds())
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
	artsStarted := time.Now()
	if o.onFailure && !o.quick {
		if res.Valid == model.Valid {
			res.ArtefactsNotDrawn = "not drawn: the run is valid, and plots and timeline were wanted on failure only (--artefacts-on-failure)"
		} else {
			arts = startArtefacts(dir, path, sv.reportInfo(), deadline)
			arts.focus <- blamed(lin)
		}
	}
	if arts != nil {
		arts.finish(dir, deadline, o.timeout, res)
	}
	if o.phases != nil {
		o.phases.Check = artsStarted.Sub(checkStarted).Seconds()
		o.phases.Artefacts = time.Since(artsStarted).Seconds()
	}
	return res
}

// blamed is the history index of the operation lin's explanation blames,
// or -1.
func blamed(lin model.Linearizability) int64 {
	if lin.BlamedIndex != nil {
		return *lin.BlamedIndex
	}
	return -1
}

// analyzeRun checks the history a run just recorded in dir, and returns
// the verdict and the run's nemesis events. The survey, a linear pass, is
// not bounded by the check's time bound: like liveness and the statistics
// it always runs (a run's history is its own, read as fast as it was
// written); the search and the artefacts are.
func analyzeRun(ctx context.Context, dir string, o analyzeOptions) (*Results, []history.Event) {
	if o.start.IsZero() {
		o.start = time.Now()
	}
	path := filepath.Join(dir, HistoryFile)
	sv, err := surveyHistory(path, time.Time{})
	if err != nil {
		// The history this run wrote cannot be read back: nothing can be
		// said of it.
		res := &Results{Dir: dir, Valid: model.Unknown, Error: "reading the history back: " + err.Error(),
			Liveness:   model.Liveness{Valid: model.Unknown, Detail: "not checked: the history could not be read"},
			Invariants: invariantVerdict(o.mode, o.checks, o.runErr),
			Git:        gitstamp.Read(context.WithoutCancel(ctx), "")}
		var iv *world.InvariantError
		if o.runErr != nil && !errors.As(o.runErr, &iv) {
			res.RunError = o.runErr.Error()
			res.Error = joinErr(res.Error, res.RunError)
		}
		return res, nil
	}
	if sv.torn > 0 {
		o.torn = sv.torn
	}
	return analyze(ctx, dir, path, sv, o), sv.nemesis()
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

// artefacts are the files for people drawn from the history — the plots
// and the timeline — in one more pass over it, on a goroutine of their
// own, side by side with the linearizability check. Without a deadline
// they are drawn into dir. With one, they are drawn into a private
// directory under dir and moved into place if they are finished by the
// deadline; at the deadline the rest are recorded as skipped and the
// private directory is removed, so that the drawing still under way
// (which cannot be interrupted) fails to write anything and ends.
type artefacts struct {
	into      string     // where they are drawn
	private   bool       // into is a private directory
	focus     chan int64 // the operation the timeline's index points at (-1: none), once the check knows it
	out       chan drawn // the plots, then the timeline
	abandoned atomic.Bool
	err       error // could not start
}

// drawn is what drawing an artefact gave.
type drawn struct {
	files []string
	err   error
}

func startArtefacts(dir, path string, info report.HistoryInfo, deadline time.Time) *artefacts {
	a := &artefacts{into: dir, focus: make(chan int64, 1), out: make(chan drawn, 2)}
	if !deadline.IsZero() {
		private, err := os.MkdirTemp(dir, ".artefacts-")
		if err != nil {
			a.err = err
			return a
		}
		a.into, a.private = private, true
	}
	go a.draw(path, info, deadline, filepath.Base(dir))
	return a
}

// draw reads the history once for both artefacts: the plots are written
// when it is read, the timeline's pages as they complete and its index
// once the check has named the operation to point at.
func (a *artefacts) draw(path string, info report.HistoryInfo, deadline time.Time, title string) {
	defer func() {
		if a.abandoned.Load() && a.private {
			os.RemoveAll(a.into)
		}
	}()
	plots := report.NewPlotter(info)
	tl := report.NewTimelineWriter(filepath.Join(a.into, TimelineFile), info, report.TimelineOptions{Title: title, Focus: -1})
	err := func() error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		s := history.NewScanner(deadlineReader{f, deadline}, path)
		for s.Scan() {
			if a.abandoned.Load() {
				return errCheckDeadline
			}
			plots.Add(s.Event())
			tl.Add(s.Event())
		}
		return s.Err()
	}()
	if err != nil {
		tl.Abort()
		a.out <- drawn{err: err}
		a.out <- drawn{err: err}
		return
	}
	files, err := plots.Write(a.into)
	a.out <- drawn{files, err}
	tl.SetFocus(<-a.focus)
	files, err = tl.Close()
	a.out <- drawn{topLevel(files), err}
}

// topLevel names the entries of dir that files (relative paths) are in:
// the files themselves, or their directories.
func topLevel(files []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range files {
		top := strings.SplitN(filepath.ToSlash(f), "/", 2)[0]
		if !seen[top] {
			seen[top] = true
			out = append(out, top)
		}
	}
	return out
}

// finish waits for the artefacts (no longer than the deadline) and
// records them in res.
func (a *artefacts) finish(dir string, deadline time.Time, timeout time.Duration, res *Results) {
	names := []string{"latency.png, rate.png", TimelineFile}
	done := []func(files []string, err error){
		func(files []string, err error) {
			if err != nil {
				res.Error = joinErr(res.Error, "plots: "+err.Error())
				return
			}
			res.Plots = files
		},
		func(_ []string, err error) {
			if err != nil {
				res.Error = joinErr(res.Error, "timeline: "+err.Error())
				return
			}
			res.Timeline = TimelineFile
		},
	}
	if a.err != nil {
		res.Error = joinErr(res.Error, "artefacts: "+a.err.Error())
		return
	}
	skip := func(from int) {
		for _, n := range names[from:] {
			res.Skipped = append(res.Skipped, n+": "+timedOut(timeout, "before it was drawn"))
		}
	}
	var timer <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timer = t.C
	}
	for i := range names {
		select {
		case r := <-a.out:
			if errors.Is(r.err, errCheckDeadline) {
				a.abandon()
				skip(i)
				return
			}
			if r.err == nil && a.private {
				for _, f := range r.files {
					if err := os.Rename(filepath.Join(a.into, f), filepath.Join(dir, f)); err != nil && r.err == nil {
						r.err = err
					}
				}
			}
			done[i](r.files, r.err)
		case <-timer:
			a.abandon()
			skip(i)
			return
		}
	}
	if a.private {
		os.RemoveAll(a.into)
	}
}

// abandon stops waiting for the drawing: its private directory goes.
func (a *artefacts) abandon() {
	a.abandoned.Store(true)
	if a.private {
		removeDir(a.into)
	}
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
