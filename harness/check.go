package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
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
			ao.mode, ao.nodes = t.Mode, t.Nodes
		}
		if r, err := ReadResults(dir); err == nil {
			stored = r
		}
	} else {
		format, err := jepsen.ParseFormat(o.Format)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		if format == jepsen.FormatAuto {
			if format, err = detect(path); err != nil {
				return nil, err
			}
		}
		if format == jepsen.Format("jsonl") {
			hr, err := history.ReadFile(path)
			if err != nil {
				return nil, err
			}
			events = hr.Events
			if hr.Torn {
				ao.torn = hr.TornLine
			}
		} else if events, err = jepsen.ReadFile(path, format); err != nil {
			return nil, err
		}
		if dir, err = newRunDir(o.Results, "check", time.Now()); err != nil {
			return nil, err
		}
		if err := history.WriteFile(filepath.Join(dir, HistoryFile), events); err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(path)
		writeFileSync(filepath.Join(dir, ReproFile), []byte("splitbrain check "+shellQuote(abs)+"\n"))
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
		res.Valid = res.Linearizability.Valid.And(res.Liveness.Valid).And(res.Invariants.Valid)
		out = filepath.Join(dir, CheckFile)
	} else if st.IsDir() {
		// A run killed before it wrote its verdict: results.json is ours
		// to write.
		res.Error = joinErr(res.Error, "the run has no results.json (it was killed before the end)")
	} else {
		res.Name, res.Mode = "check", "check"
		abs, _ := filepath.Abs(path)
		res.Repro = "splitbrain check " + shellQuote(abs)
	}
	if err := writeJSON(out, res); err != nil {
		return nil, err
	}
	return &Outcome{Dir: dir, Results: res}, nil
}

func detect(path string) (jepsen.Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, jepsen.DetectSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	format, err := jepsen.Detect(head[:n])
	if err != nil {
		return "", &history.ParseError{File: path, Line: 1, Msg: err.Error()}
	}
	return format, nil
}
