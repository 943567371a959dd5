package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/history/jepsen"
	"github.com/splitbrain/splitbrain/model"
)

// CheckFile is the verdict file `check` writes into a run directory it
// re-checks (results.json, the run's own verdict, is left as it was).
const CheckFile = "check.json"

// CheckOptions configure Check.
type CheckOptions struct {
	// Format of a history file: "" (detect), "jsonl", "edn", "jepsen-log".
	Format string
	// Initial is every register's value before the history (nil: absent).
	// Jepsen's cas-register tests usually start at nil; some at "0".
	Initial *string
	// Results is the results root for checks of loose history files
	// (they land in <Results>/check/<UTC timestamp>/).
	Results string
	// LivenessBound overrides the run's (default: the run's, else 10s).
	LivenessBound time.Duration
	// Timeout bounds the linearizability check (0: none).
	Timeout time.Duration
	// NilRead is what an :ok read of nil means in a Jepsen history:
	// "" or "auto" (by format: unknown in EDN, absent in a Jepsen log),
	// "unknown" or "absent"; see jepsen.NilRead. Only for Jepsen formats.
	NilRead string
}

// Check re-checks a stored run directory, or checks a history file (ours,
// or a Jepsen EDN history or log). A run directory's own invariant verdict
// (which only the sim could compute) is carried over. Malformed input is
// an error wrapping *history.ParseError (file and line).
func Check(ctx context.Context, path string, o CheckOptions) (*Outcome, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if o.Results == "" {
		o.Results = "results"
	}
	ao := analyzeOptions{initial: o.Initial, liveness: o.LivenessBound, timeout: o.Timeout, mode: "check"}
	nilRead, err := jepsen.ParseNilRead(o.NilRead)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	var events []history.Event
	var dir string
	var stored *Results
	if st.IsDir() {
		dir = path
		hr, err := history.ReadFile(filepath.Join(dir, HistoryFile))
		if err != nil {
			return nil, err
		}
		events = hr.Events
		if hr.Torn {
			ao.torn = hr.TornLine
		}
		if t, err := ReadTest(dir); err == nil {
			if ao.liveness == 0 {
				ao.liveness = time.Duration(t.LivenessBound)
			}
			ao.mode = t.Mode
		}
		if r, err := ReadResults(dir); err == nil {
			stored = r
			if r.LivenessNotJudged {
				// An imported history, checked before: it still carries no
				// fault information.
				ao.noLiveness = importedLiveness
			}
		}
		if nilRead != jepsen.NilReadAuto {
			return nil, fmt.Errorf("%w: --nil-read applies to Jepsen histories (edn, jepsen-log); a run directory's history.jsonl reads nil as absent", ErrUsage)
		}
	} else {
		format, err := jepsen.ParseFormat(o.Format)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		if format == jepsen.FormatAuto {
			if format, err = jepsen.DetectFile(path); err != nil {
				return nil, err
			}
		}
		if format == jepsen.FormatJSONL {
			if nilRead != jepsen.NilReadAuto {
				return nil, fmt.Errorf("%w: --nil-read applies to Jepsen histories (edn, jepsen-log); JSONL reads nil as absent", ErrUsage)
			}
			hr, err := history.ReadFile(path)
			if err != nil {
				return nil, err
			}
			events = hr.Events
			if hr.Torn {
				ao.torn = hr.TornLine
			}
		} else {
			if events, err = jepsen.ReadFileWith(path, jepsen.Options{Format: format, NilRead: nilRead}); err != nil {
				return nil, err
			}
			ao.noLiveness = importedLiveness
		}
		if dir, err = newRunDir(o.Results, "check", time.Now()); err != nil {
			return nil, err
		}
		if err := history.WriteFile(filepath.Join(dir, HistoryFile), events); err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(path)
		writeFileSync(filepath.Join(dir, ReproFile), []byte(checkRepro(abs, o)+"\n"))
		pointLatest(o.Results, dir)
	}
	if ao.liveness == 0 {
		ao.liveness = model.DefaultLivenessBound
	}
	started := time.Now()
	res := analyze(ctx, dir, events, ao)
	res.Started, res.Finished = started.UTC(), time.Now().UTC()
	res.WallSeconds = res.Finished.Sub(res.Started).Seconds()
	if ao.torn > 0 {
		// Noted after analyze, so the verdict stands: a torn tail is what
		// a killed writer leaves, not a broken run.
		res.Error = joinErr(res.Error, fmt.Sprintf("torn final line %d dropped (the writer was killed mid-line); the rest was checked", ao.torn))
	}
	out := filepath.Join(dir, ResultsFile)
	if stored != nil {
		res.Name, res.Mode, res.Seed, res.Nodes, res.Bugs = stored.Name, stored.Mode, stored.Seed, stored.Nodes, stored.Bugs
		res.Repro, res.Schedule, res.FaultKinds = stored.Repro, stored.Schedule, stored.FaultKinds
		if !stored.Invariants.Skipped && stored.Invariants.Checked != nil || stored.Invariants.Violation != nil {
			res.Invariants = stored.Invariants
		}
		// The convergence check, like the invariants, saw the live
		// members: carried over.
		res.System, res.SystemVersion, res.ReadConsistency, res.Convergence = stored.System, stored.SystemVersion, stored.ReadConsistency, stored.Convergence
		res.Valid = res.Linearizability.Valid.And(res.Liveness.Valid).And(res.Invariants.Valid).And(res.convergenceValidity())
		out = filepath.Join(dir, CheckFile)
	} else if st.IsDir() {
		// A run killed before it wrote its verdict: results.json is ours
		// to write.
		res.Error = joinErr(res.Error, "the run has no results.json (it was killed before the end)")
	} else {
		res.Name, res.Mode = "check", "check"
		abs, _ := filepath.Abs(path)
		res.Repro = checkRepro(abs, o)
	}
	if err := writeJSON(out, res); err != nil {
		return nil, err
	}
	return &Outcome{Dir: dir, Results: res}, nil
}

// checkRepro is the command that checks the history file at abs again
// with the same options that decide the verdict.
func checkRepro(abs string, o CheckOptions) string {
	cmd := "splitbrain check"
	if o.Format != "" {
		cmd += " --format " + shellQuote(o.Format)
	}
	if o.Initial != nil {
		cmd += " --initial " + shellQuote(*o.Initial)
	}
	if o.NilRead != "" && o.NilRead != "auto" {
		cmd += " --nil-read " + shellQuote(o.NilRead)
	}
	if o.LivenessBound != 0 {
		cmd += " --liveness-bound " + o.LivenessBound.String()
	}
	return cmd + " " + shellQuote(abs)
}

// importedLiveness is why liveness is not judged on a Jepsen history.
const importedLiveness = "not judged: a Jepsen history carries no fault information splitbrain can pair into fault windows " +
	"(what a nemesis op such as :start does depends on the nemesis), so there is no final heal to recover from; " +
	"Jepsen's own checkers do not judge liveness either. Counted as valid."

// notJudgedLiveness is the liveness verdict of a history that cannot be
// judged for liveness: valid, with why in Detail.
func notJudgedLiveness(events []history.Event, bound time.Duration, why string) model.Liveness {
	l := model.Liveness{Valid: model.Valid, Bound: int64(bound), FirstOKRead: -1, FirstOKWrite: -1, Detail: why}
	if len(events) > 0 {
		l.HistoryEnd = events[len(events)-1].Time
	}
	return l
}
