package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/gitstamp"
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
	// Timeout bounds the whole check, reading the history included, in
	// wall time (0: none): past it the verdict is at best unknown and says
	// the check timed out (Results.CheckTimedOut), and artefacts not drawn
	// by then are skipped (Results.Skipped).
	Timeout time.Duration
	// NilRead is what an :ok read of nil means in a Jepsen history:
	// "" or "auto" (by format: unknown in EDN, absent in a Jepsen log),
	// "unknown" or "absent"; see jepsen.NilRead. Only for Jepsen formats.
	NilRead string
}

// notChecked is the liveness detail of a check that timed out before it.
const notChecked = "not checked: the check timed out while reading the history"

// ErrNoOperations is a history with no client operations: there is
// nothing to check (in any format: an empty JSONL file, [] in EDN).
var ErrNoOperations = errors.New("no operations")

// Check re-checks a stored run directory, or checks a history file (ours,
// or a Jepsen EDN history or log). A run directory's own invariant verdict
// (which only the sim could compute) is carried over, and so are the
// record that the run was cut short and the world's own failure
// (Results.RunError: the verdict stays at best unknown); the verdict goes
// to check.json and results.json is never touched. A run directory
// without results.json is a run killed before it finished (or one still
// running): what it recorded is checked, its name, seed and nodes come
// from test.json, and the verdict is at best unknown (Results.Incomplete
// says why).
//
// Malformed input is an error wrapping *history.ParseError (file and
// line); a history without client operations is ErrNoOperations.
// o.Timeout bounds the whole check, reading included.
func Check(ctx context.Context, path string, o CheckOptions) (*Outcome, error) {
	started := time.Now()
	switch {
	case o.Timeout < 0:
		return nil, usagef("check timeout must be positive (or 0 for none), got %v", o.Timeout)
	case o.LivenessBound < 0:
		return nil, usagef("liveness bound must be positive, got %v", o.LivenessBound)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if o.Results == "" {
		o.Results = "results"
	}
	ao := analyzeOptions{initial: o.Initial, liveness: o.LivenessBound, timeout: o.Timeout, start: started, mode: "check"}
	deadline := ao.deadline()
	nilRead, err := jepsen.ParseNilRead(o.NilRead)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	var sv *survey      // the first pass over the history
	var histPath string // the history checked, in dir
	var dir string
	var stored *Results
	var record *testRecord
	readTimedOut := false
	if st.IsDir() {
		dir = path
		histPath = filepath.Join(dir, HistoryFile)
		sv, err = surveyHistory(histPath, deadline)
		switch {
		case errors.Is(err, errCheckDeadline):
			readTimedOut = true
		case err != nil:
			return nil, err
		}
		if sv.torn > 0 {
			ao.torn = sv.torn
		}
		if r, err := readTestRecord(dir); err == nil {
			record = r
			if ao.liveness == 0 {
				ao.liveness = time.Duration(r.LivenessBound)
			}
			ao.mode, ao.nodes = r.Mode, r.Nodes
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
		if !readTimedOut && sv.clients == 0 {
			return nil, fmt.Errorf("%s: %w: the history has no client operations to check", filepath.Join(dir, HistoryFile), ErrNoOperations)
		}
	} else {
		var events []history.Event // a Jepsen history, read into memory
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
			sv, err = surveyHistory(path, deadline)
			switch {
			case errors.Is(err, errCheckDeadline):
				readTimedOut = true
			case err != nil:
				return nil, err
			}
			if sv.torn > 0 {
				ao.torn = sv.torn
			}
		} else {
			events, err = readJepsen(path, jepsen.Options{Format: format, NilRead: nilRead}, deadline)
			switch {
			case errors.Is(err, errCheckDeadline):
				readTimedOut = true
			case err != nil:
				return nil, err
			}
			ao.noLiveness = importedLiveness
		}
		if !readTimedOut && (sv != nil && sv.clients == 0 || sv == nil && !hasOperations(events)) {
			return nil, fmt.Errorf("%s: %w: the history has no client operations to check", path, ErrNoOperations)
		}
		if dir, err = newRunDir(o.Results, "check", time.Now()); err != nil {
			return nil, err
		}
		histPath = filepath.Join(dir, HistoryFile)
		switch {
		case readTimedOut:
		case sv != nil: // ours: copied a line at a time
			if err := copyHistory(histPath, path, deadline); errors.Is(err, errCheckDeadline) {
				readTimedOut = true
			} else if err != nil {
				return nil, err
			}
		default:
			if err := history.WriteFile(histPath, events); err != nil {
				return nil, err
			}
			if sv, err = surveyHistory(histPath, deadline); errors.Is(err, errCheckDeadline) {
				readTimedOut = true
			} else if err != nil {
				return nil, err
			}
		}
		abs, _ := filepath.Abs(path)
		writeFileSync(filepath.Join(dir, ReproFile), []byte(checkRepro(abs, o)+"\n"))
		pointLatest(o.Results, dir)
	}
	if ao.liveness == 0 {
		ao.liveness = model.DefaultLivenessBound
	}
	var res *Results
	if readTimedOut {
		res = &Results{Dir: dir, Valid: model.Unknown, CheckTimedOut: timedOut(o.Timeout, "while reading the history"),
			Liveness: model.Liveness{Valid: model.Unknown, Detail: notChecked},
			Git:      gitstamp.Read(context.WithoutCancel(ctx), "")}
	} else {
		res = analyze(ctx, dir, histPath, sv, ao)
	}
	res.Started, res.Finished = started.UTC(), time.Now().UTC()
	res.WallSeconds = res.Finished.Sub(res.Started).Seconds()
	if ao.torn > 0 {
		// Noted after analyze, so the verdict stands: a torn tail is what
		// a killed writer leaves, not a broken run.
		res.Error = joinErr(res.Error, fmt.Sprintf("torn final line %d dropped (the writer was killed mid-line); the rest was checked", ao.torn))
	}
	out := filepath.Join(dir, ResultsFile)
	switch {
	case stored != nil:
		res.Name, res.Mode, res.Seed, res.Nodes, res.Bugs = stored.Name, stored.Mode, stored.Seed, stored.Nodes, stored.Bugs
		res.Repro, res.Schedule, res.FaultKinds = stored.Repro, stored.Schedule, stored.FaultKinds
		if !stored.Invariants.Skipped && stored.Invariants.Checked != nil || stored.Invariants.Violation != nil {
			res.Invariants = stored.Invariants
		}
		// The convergence check, like the invariants, saw the live
		// members: carried over.
		res.System, res.SystemVersion, res.ReadConsistency, res.Convergence = stored.System, stored.SystemVersion, stored.ReadConsistency, stored.Convergence
		res.Valid = res.Linearizability.Valid.And(res.Liveness.Valid).And(res.Invariants.Valid).And(res.convergenceValidity())
		res.Incomplete, res.ScriptError = stored.Incomplete, stored.ScriptError
		if res.RunError = carriedRunError(stored, res.Error); res.RunError != "" {
			// The world failed during the run: the history cannot show it,
			// so the re-check must not forget it.
			res.Error = joinErr(res.Error, res.RunError)
		}
		if (res.ScriptError != "" || res.RunError != "") && res.Valid == model.Valid {
			res.Valid = model.Unknown
		}
		out = filepath.Join(dir, CheckFile)
	case st.IsDir():
		// A run killed before it wrote its verdict (or still running):
		// results.json stays the run's to write.
		out = filepath.Join(dir, CheckFile)
		planned := "its planned length is not known (no test.json)"
		if record != nil {
			res.Name, res.Mode, res.Seed, res.Nodes, res.Bugs = record.Name, record.Mode, record.Seed, record.Nodes, record.Bugs
			res.Repro = record.Repro
			planned = fmt.Sprintf("of the %v test", time.Duration(record.Duration))
			if res.Mode == "sim" {
				res.Invariants = Invariants{Valid: model.Unknown, Detail: "not known: the run was killed before it recorded them"}
			}
		}
		if _, err := os.Stat(filepath.Join(dir, ScheduleFile)); err == nil {
			res.Schedule = ScheduleFile
		}
		if sv != nil {
			res.FaultKinds = recordedFamilies(sv.nemesis())
		}
		res.Incomplete = fmt.Sprintf("the run has no results.json: it was killed (or is still running); its history ends after %s %s",
			secondsText(res.TestSeconds), planned)
		res.Valid = res.Linearizability.Valid.And(res.Liveness.Valid).And(res.Invariants.Valid)
	default:
		res.Name, res.Mode = "check", "check"
		abs, _ := filepath.Abs(path)
		res.Repro = checkRepro(abs, o)
	}
	res.capVerdict()
	if err := writeJSON(out, res); err != nil {
		return nil, err
	}
	return &Outcome{Dir: dir, Results: res}, nil
}

// carriedRunError is the failure of the run itself that a re-check
// carries over from the stored results.json: its run_error, or, in a
// results.json that a run wrote before run_error was, its error unless
// that is only what the re-check finds again (rechecked: the re-check's
// own errors) or the scenario's error (carried as such). A results.json
// that check wrote (of a history file) holds no run's error.
func carriedRunError(stored *Results, rechecked string) string {
	switch {
	case stored.RunError != "":
		return stored.RunError
	case stored.Error == "", stored.Mode == "check", strings.Contains(rechecked, stored.Error),
		stored.ScriptError != "" && stored.Error == "scenario: "+stored.ScriptError:
		return ""
	}
	return stored.Error
}

// hasOperations reports whether a history has a client operation.
func hasOperations(events []history.Event) bool {
	for _, e := range events {
		if e.Process != history.Nemesis {
			return true
		}
	}
	return false
}

// readTestRecord reads a run directory's test.json with what Run adds to
// the Test (the repro command).
func readTestRecord(dir string) (*testRecord, error) {
	b, err := os.ReadFile(filepath.Join(dir, TestFile))
	if err != nil {
		return nil, err
	}
	var r testRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, TestFile), err)
	}
	return &r, nil
}

// deadlineReader fails its reads once the deadline has passed: the
// check's time bound covers reading the history too.
type deadlineReader struct {
	r        io.Reader
	deadline time.Time
}

func (d deadlineReader) Read(p []byte) (int, error) {
	if !d.deadline.IsZero() && !time.Now().Before(d.deadline) {
		return 0, errCheckDeadline
	}
	return d.r.Read(p)
}

// readJepsen reads a Jepsen history, stopping at the deadline (an error
// wrapping errCheckDeadline).
func readJepsen(path string, o jepsen.Options, deadline time.Time) ([]history.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jepsen.ReadWith(deadlineReader{f, deadline}, path, o)
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
